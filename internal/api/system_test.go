package api_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/api"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestSystem(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)

		t.Run("health, readiness and version need no token", func(t *testing.T) {
			c := on(t, s)
			for _, tok := range []string{"", "stdy_garbage"} {
				if m := c.do("GET", "/healthz", tok, nil).Want(200).Map(); m["status"] != "ok" {
					t.Fatalf("healthz %v", m)
				}
				if m := c.do("GET", "/readyz", tok, nil).Want(200).Map(); m["status"] != "ready" || m["database"] != string(d) {
					t.Fatalf("readyz %v", m)
				}
				if m := c.do("GET", "/api/v1/version", tok, nil).Want(200).Map(); m["version"] == "" || m["database"] != string(d) {
					t.Fatalf("version %v", m)
				}
			}
			c.do("HEAD", "/healthz", "", nil).Want(200)
		})

		t.Run("OpenAPI document", func(t *testing.T) {
			c := on(t, s)
			r := c.do("GET", "/api/v1/openapi.json", "", nil).Want(200)
			if r.Header.Get("Content-Type") != "application/json" || !bytes.Equal(r.Body, api.OpenAPI()) {
				t.Fatalf("served %s, %d bytes", r.Header.Get("Content-Type"), len(r.Body))
			}
			if !json.Valid(r.Body) {
				t.Fatal("not JSON")
			}
		})

		t.Run("metrics", func(t *testing.T) {
			c := on(t, s)
			c.do("GET", "/healthz", "", nil).Want(200)
			c.do("GET", "/api/v1/users/me", s.AdminToken, nil).Want(200)
			c.do("GET", "/api/v1/users/me", "", nil).Want(401)
			c.do("GET", "/api/v1/no-such-thing", "", nil).Want(404)
			body := string(c.do("GET", "/metrics", "", nil).Want(200).Body)
			for _, want := range []string{
				`steady_http_requests_total{code="200",method="GET",route="GET /healthz"}`,
				`steady_http_requests_total{code="200",method="GET",route="GET /api/v1/users/{id}"}`,
				`steady_http_requests_total{code="401",method="GET",route="GET /api/v1/users/{id}"}`,
				`steady_http_request_duration_seconds_bucket{method="GET",route="GET /healthz"`,
				`steady_build_info{version="`,
				`go_sql_open_connections{db_name="steady",pool="write"}`,
				`go_goroutines`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("metrics lack %s", want)
				}
			}
			// Routes are labelled by pattern, never by raw path (no unbounded label values).
			if strings.Contains(body, `route="/api/v1/no-such-thing"`) || strings.Contains(body, `route="GET /api/v1/users/me"`) {
				t.Error("a raw path is a metric label")
			}
		})

		t.Run("request ids", func(t *testing.T) {
			c := on(t, s)
			a := c.do("GET", "/healthz", "", nil).Header.Get("X-Request-Id")
			b := c.do("GET", "/healthz", "", nil).Header.Get("X-Request-Id")
			if a == "" || a == b {
				t.Fatalf("request ids %q and %q", a, b)
			}
			for _, sane := range []string{"abc-123", "trace.id_XYZ", strings.Repeat("a", 64)} {
				if got := c.do("GET", "/healthz", "", nil, "X-Request-Id", sane).Header.Get("X-Request-Id"); got != sane {
					t.Errorf("sane id %q came back as %q", sane, got)
				}
			}
			for _, insane := range []string{"has space", strings.Repeat("a", 65), "semi;colon", "ünicode", "<script>"} {
				got := c.do("GET", "/healthz", "", nil, "X-Request-Id", insane).Header.Get("X-Request-Id")
				if got == insane || !regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`).MatchString(got) {
					t.Errorf("insane id %q came back as %q", insane, got)
				}
			}
			// Problem documents carry the id.
			r := c.do("GET", "/api/v1/users", "", nil, "X-Request-Id", "problem-id-1")
			wantProblem(r, 401)
			var p struct {
				RequestID string `json:"request_id"`
				Instance  string `json:"instance"`
			}
			r.JSON(&p)
			if p.RequestID != "problem-id-1" || p.Instance != "/api/v1/users" {
				t.Fatalf("problem %s", r.Body)
			}
		})

		t.Run("unknown API paths answer with problems", func(t *testing.T) {
			c := on(t, s)
			for _, p := range []string{"/api/v1/nothing", "/api/v2/users", "/api/v1/users/1/nothing", "/api/"} {
				wantProblem(c.do("GET", p, s.AdminToken, nil), 404)
			}
			r := c.do("PUT", "/api/v1/users", s.AdminToken, map[string]any{})
			if r.Status != 404 && r.Status != 405 {
				t.Fatalf("PUT on a GET/POST path: %d", r.Status)
			}
			r.Problem()
		})
	})
}

// TestDatabaseDown: readiness says 503 with Retry-After when the database is
// gone, and health still answers.
func TestDatabaseDown(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		if err := s.App.DB.Close(); err != nil {
			t.Fatal(err)
		}
		r := c.server().Do("GET", "/readyz", "", nil)
		wantProblem(r, 503)
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		c.sp.checkResponse(t, "GET", "/readyz", r.Status, r.Header, r.Body)
		c.do("GET", "/healthz", "", nil).Want(200)
	})
}
