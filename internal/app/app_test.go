package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "steady.yaml")
	os.WriteFile(file, []byte("listen: 0.0.0.0:9000\ndata: /from/file\nlog_level: debug\n"), 0o600)
	o := app.Defaults()
	if err := o.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STEADY_DATA": "/from/env", "STEADY_DEMO": "true"}
	if err := o.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if o.Listen != "0.0.0.0:9000" || o.DataDir != "/from/env" || o.LogLevel != "debug" || !o.Demo {
		t.Fatalf("precedence: %+v", o)
	}
	os.WriteFile(file, []byte("lisen: typo\n"), 0o600)
	if err := (&app.Options{}).LoadFile(file); err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Fatalf("an unknown key must be named: %v", err)
	}
	bad := map[string]string{"STEADY_DEMO": "maybe"}
	if err := o.LoadEnv(func(k string) string { return bad[k] }); err == nil {
		t.Fatal("STEADY_DEMO=maybe must be refused")
	}
	o.TLSCert = "cert.pem"
	if err := o.Validate(); err == nil {
		t.Fatal("a certificate without a key must be refused")
	}
}

// A second server on the same data directory is refused: two writers on one
// SQLite file would break the single-writer design.
func TestDataDirectoryIsLocked(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	o := app.Defaults()
	o.DataDir, o.Listen = s.DataDir, "127.0.0.1:0"
	if _, err := app.New(context.Background(), o, app.Env{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second server on one directory: %v", err)
	}
}

func TestRestartKeepsData(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		s.Do("POST", "/api/v1/teams", s.AdminToken, map[string]any{"name": "Survivors"}).Want(201)
		s = s.Restart()
		var l struct{ Items []struct{ Name string } }
		s.Do("GET", "/api/v1/teams", s.AdminToken, nil).Want(200).JSON(&l)
		if len(l.Items) != 1 || l.Items[0].Name != "Survivors" {
			t.Fatalf("after restart: %+v", l)
		}
		// The bootstrap happened once: still one admin, the same token works.
		var u struct{ Items []struct{ Email string } }
		s.Do("GET", "/api/v1/users?role=admin", s.AdminToken, nil).Want(200).JSON(&u)
		if len(u.Items) != 1 {
			t.Fatalf("admins after restart: %+v", u)
		}
	})
}

// Events answered 202 are committed: they are there after a restart, and
// the restarted server takes events again.
func TestEventsSurviveRestart(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Durable")
		for i := range 3 {
			s.Do("POST", "/v2/enqueue", "", map[string]any{"routing_key": svc.Key, "event_action": "trigger", "dedup_key": "same",
				"payload": map[string]any{"summary": "s", "source": "h", "severity": "info"}}).Want(202)
			s.Do("POST", "/api/v1/events", svc.Key, map[string]any{"summary": "s", "dedup_key": "other-" + string(rune('a'+i))}).Want(202)
		}
		s = s.Restart()
		var l struct {
			Items []struct {
				DedupKey string `json:"dedup_key"`
				Count    int    `json:"count"`
			} `json:"items"`
		}
		s.Do("GET", "/api/v1/alerts?dedup_key=same", s.AdminToken, nil).Want(200).JSON(&l)
		if len(l.Items) != 1 || l.Items[0].Count != 3 {
			t.Fatalf("after restart: %+v", l)
		}
		s.Do("POST", "/api/v1/events", svc.Key, map[string]any{"summary": "s", "dedup_key": "same"}).Want(202)
		s.Do("GET", "/api/v1/alerts?dedup_key=same", s.AdminToken, nil).Want(200).JSON(&l)
		if len(l.Items) != 1 || l.Items[0].Count != 4 {
			t.Fatalf("after a new event: %+v", l)
		}
	})
}

func TestReadyzReportsADeadDatabase(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	s.Do("GET", "/readyz", "", nil).Want(200)
	s.App.DB.R.Close()
	r := s.Do("GET", "/readyz", "", nil).Want(503)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	r.Problem()
	s.Do("GET", "/healthz", "", nil).Want(200)
}

// With an OTLP endpoint configured, every request becomes a span that reaches
// the collector (here a loopback HTTP receiver) by the time the server stops.
func TestTracesAreExported(t *testing.T) {
	var got atomic.Int64
	var body atomic.Value
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			b, _ := io.ReadAll(r.Body)
			body.Store(string(b))
			got.Add(1)
		}
		w.WriteHeader(200)
	}))
	defer collector.Close()
	s := testkit.Start(t, db.SQLite, testkit.Options{Modify: func(o *app.Options) { o.OTLPEndpoint = collector.URL + "/v1/traces" }})
	s.Do("GET", "/api/v1/users", s.AdminToken, nil).Want(200)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.App.Tracing.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got.Load() == 0 {
		t.Fatal("no spans reached the collector")
	}
	if b, _ := body.Load().(string); !strings.Contains(b, "/api/v1/users") {
		t.Fatalf("the span does not name its route: %q", b)
	}
}

// An event through the PagerDuty endpoint becomes an incident in the same
// commit, and the incident metrics count it.
func TestEventBecomesIncident(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		sv := s.NewService("checkout")
		svc, key := sv.ID, sv.Key
		s.Do("POST", "/v2/enqueue", "", map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": "disk-1",
			"payload": map[string]any{"summary": "Disk full on db-1", "source": "db-1", "severity": "critical"}}).Want(202)
		var n int
		if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM incidents WHERE service_id = $1 AND status = 'triggered' AND title = 'Disk full on db-1'", svc).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d incidents: %v", n, err)
		}
		m := string(s.Do("GET", "/metrics", "", nil).Want(200).Body)
		if !strings.Contains(m, `steady_incidents_open{priority="P2"} 1`) {
			t.Fatalf("open incidents metric missing:\n%s", m)
		}
		// The service's CI depends on nothing yet: one audit finding.
		if !strings.Contains(m, `steady_cmdb_audit_findings{rule="service_without_dependencies"} 1`) {
			t.Fatalf("configuration audit metric missing:\n%s", m)
		}
	})
}
