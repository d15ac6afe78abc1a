package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/api"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// snapshot counts what a request could have written.
type snapshot struct{ users, teams, members, tokens, audit int64 }

func (c *client) snapshot() snapshot {
	c.t.Helper()
	return snapshot{
		users:   c.count("SELECT COUNT(*) FROM users"),
		teams:   c.count("SELECT COUNT(*) FROM teams"),
		members: c.count("SELECT COUNT(*) FROM team_members"),
		tokens:  c.count("SELECT COUNT(*) FROM api_tokens"),
		audit:   c.count("SELECT COUNT(*) FROM audit_log"),
	}
}

// TestBadInput sends broken requests: each is a 4xx problem document that
// names what is wrong, none is a 500, and none writes anything.
func TestBadInput(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := s.AdminToken
		team := id(c.do("POST", "/api/v1/teams", admin, map[string]any{"name": "Input"}).Want(201))
		viewer := c.user(iam.RoleViewer)
		longName := strings.Repeat("n", 201)

		cases := []struct {
			name    string
			method  string
			path    string
			body    string
			headers []string
			status  int
			fields  []string
		}{
			// Not JSON, or not one object.
			{name: "malformed JSON", method: "POST", path: "/api/v1/users", body: `{"email": "a@example.com", "name":`, status: 400, fields: []string{"body"}},
			{name: "syntax error", method: "POST", path: "/api/v1/users", body: `{email: "a@example.com"}`, status: 400, fields: []string{"body"}},
			{name: "empty body", method: "POST", path: "/api/v1/users", body: ``, status: 400, fields: []string{"body"}},
			{name: "array", method: "POST", path: "/api/v1/users", body: `[]`, status: 400, fields: []string{"body"}},
			{name: "string", method: "POST", path: "/api/v1/users", body: `"user"`, status: 400, fields: []string{"body"}},
			{name: "trailing data", method: "POST", path: "/api/v1/users", body: `{"email":"t@example.com","name":"T"} {}`, status: 400, fields: []string{"body"}},
			{name: "trailing garbage", method: "POST", path: "/api/v1/teams", body: `{"name":"T"} x`, status: 400, fields: []string{"body"}},

			// Unknown fields and wrong types name the field.
			{name: "unknown field", method: "POST", path: "/api/v1/users", body: `{"email":"u@example.com","name":"U","is_admin":true}`, status: 400, fields: []string{"is_admin"}},
			{name: "unknown field in patch", method: "PATCH", path: "/api/v1/users/me", body: `{"nmae":"x"}`, status: 400, fields: []string{"nmae"}},
			{name: "email not a string", method: "POST", path: "/api/v1/users", body: `{"email":5,"name":"U"}`, status: 400, fields: []string{"email"}},
			{name: "name an array", method: "POST", path: "/api/v1/users", body: `{"email":"u@example.com","name":["U"]}`, status: 400, fields: []string{"name"}},
			{name: "role a number", method: "POST", path: "/api/v1/users", body: `{"email":"u@example.com","name":"U","role":3}`, status: 400, fields: []string{"role"}},
			{name: "disabled a string", method: "PATCH", path: "/api/v1/users/me", body: `{"disabled":"yes"}`, status: 400, fields: []string{"disabled"}},
			{name: "user_id a string", method: "POST", path: "/api/v1/tokens", body: `{"name":"t","user_id":"1"}`, status: 400, fields: []string{"user_id"}},
			{name: "user_id a fraction", method: "POST", path: path("/api/v1/teams/%d/members", team), body: `{"user_id":1.5}`, status: 400, fields: []string{"user_id"}},
			{name: "user_id too big", method: "POST", path: path("/api/v1/teams/%d/members", team), body: `{"user_id":1e30}`, status: 400, fields: []string{"user_id"}},
			{name: "code a number", method: "POST", path: "/api/v1/users/me/totp/confirm", body: `{"code":123456}`, status: 400, fields: []string{"code"}},

			// Invalid values.
			{name: "bad email", method: "POST", path: "/api/v1/users", body: `{"email":"not-an-email","name":"U"}`, status: 400, fields: []string{"email"}},
			{name: "email with a display name", method: "POST", path: "/api/v1/users", body: `{"email":"Ada <ada@example.com>","name":"U"}`, status: 400, fields: []string{"email"}},
			{name: "missing email", method: "POST", path: "/api/v1/users", body: `{"name":"U"}`, status: 400, fields: []string{"email"}},
			{name: "unknown role", method: "POST", path: "/api/v1/users", body: `{"email":"u@example.com","name":"U","role":"root"}`, status: 400, fields: []string{"role"}},
			{name: "role in capitals", method: "POST", path: "/api/v1/users", body: `{"email":"u@example.com","name":"U","role":"ADMIN"}`, status: 400, fields: []string{"role"}},
			{name: "short password", method: "POST", path: "/api/v1/users", body: `{"email":"u@example.com","name":"U","password":"short"}`, status: 400, fields: []string{"password"}},
			{name: "empty name", method: "POST", path: "/api/v1/users", body: `{"email":"u@example.com","name":"   "}`, status: 400, fields: []string{"name"}},
			{name: "long name", method: "POST", path: "/api/v1/users", body: `{"email":"u@example.com","name":"` + longName + `"}`, status: 400, fields: []string{"name"}},
			{name: "every field wrong", method: "POST", path: "/api/v1/users", body: `{"email":"x","name":"","role":"god","password":"123"}`, status: 400,
				fields: []string{"email", "name", "role", "password"}},
			{name: "NUL in a name", method: "POST", path: "/api/v1/users", body: `{"email":"nul@example.com","name":"a\u0000b"}`, status: 400, fields: []string{"name"}},
			{name: "NUL in a team name", method: "POST", path: "/api/v1/teams", body: `{"name":"ops\u0000"}`, status: 400, fields: []string{"name"}},
			{name: "NUL in a description", method: "POST", path: "/api/v1/teams", body: `{"name":"NUL team","description":"a\u0000"}`, status: 400, fields: []string{"description"}},
			{name: "NUL in an email", method: "POST", path: "/api/v1/users", body: `{"email":"a\u0000@example.com","name":"A"}`, status: 400, fields: []string{"email"}},
			{name: "newline in a name", method: "PATCH", path: "/api/v1/users/me", body: `{"name":"two\nlines"}`, status: 400, fields: []string{"name"}},
			{name: "NUL in a token name", method: "POST", path: "/api/v1/tokens", body: `{"name":"\u0000","user_id":1}`, status: 400, fields: []string{"name"}},
			{name: "empty team name", method: "POST", path: "/api/v1/teams", body: `{"name":""}`, status: 400, fields: []string{"name"}},
			{name: "long description", method: "POST", path: "/api/v1/teams", body: `{"name":"D","description":"` + strings.Repeat("d", 2001) + `"}`, status: 400, fields: []string{"description"}},
			{name: "empty name in patch", method: "PATCH", path: path("/api/v1/teams/%d", team), body: `{"name":""}`, status: 400, fields: []string{"name"}},
			{name: "short password in patch", method: "PATCH", path: "/api/v1/users/me", body: `{"password":"1234567"}`, status: 400, fields: []string{"password"}},
			{name: "bad role in patch", method: "PATCH", path: path("/api/v1/users/%d", viewer.ID), body: `{"role":"owner"}`, status: 400, fields: []string{"role"}},
			{name: "token without name or user", method: "POST", path: "/api/v1/tokens", body: `{}`, status: 400, fields: []string{"name", "user_id"}},
			{name: "token with unknown role", method: "POST", path: "/api/v1/tokens", body: `{"name":"t","role":"root"}`, status: 400, fields: []string{"role"}},
			{name: "token for no user", method: "POST", path: "/api/v1/tokens", body: `{"name":"t","user_id":999999}`, status: 400, fields: []string{"user_id"}},
			{name: "token expired already", method: "POST", path: "/api/v1/tokens", body: `{"name":"t","user_id":1,"expires_at":"2000-01-01T00:00:00Z"}`, status: 400, fields: []string{"expires_at"}},
			// encoding/json does not say which field a time came in: the problem names the body.
			{name: "token expiry not a time", method: "POST", path: "/api/v1/tokens", body: `{"name":"t","user_id":1,"expires_at":"tomorrow"}`, status: 400, fields: []string{"body"}},
			{name: "unknown team role", method: "POST", path: path("/api/v1/teams/%d/members", team), body: fmt.Sprintf(`{"user_id":%d,"team_role":"boss"}`, viewer.ID), status: 400, fields: []string{"team_role"}},
			{name: "member who is no user", method: "POST", path: path("/api/v1/teams/%d/members", team), body: `{"user_id":999999}`, status: 400, fields: []string{"user_id"}},
			{name: "member without user", method: "POST", path: path("/api/v1/teams/%d/members", team), body: `{}`, status: 400, fields: []string{"user_id"}},

			// Content type.
			{name: "text/plain", method: "POST", path: "/api/v1/teams", body: `{"name":"Plain"}`, headers: []string{"Content-Type", "text/plain"}, status: 400, fields: []string{"Content-Type"}},
			{name: "form", method: "POST", path: "/api/v1/users", body: `email=a@example.com`, headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 400, fields: []string{"Content-Type"}},
			{name: "xml", method: "PATCH", path: "/api/v1/users/me", body: `<name>x</name>`, headers: []string{"Content-Type", "application/xml"}, status: 400, fields: []string{"Content-Type"}},

			// Query parameters and headers.
			{name: "limit zero", method: "GET", path: "/api/v1/users?limit=0", status: 400, fields: []string{"limit"}},
			{name: "limit too big", method: "GET", path: "/api/v1/teams?limit=1001", status: 400, fields: []string{"limit"}},
			{name: "limit not a number", method: "GET", path: "/api/v1/tokens?limit=lots", status: 400, fields: []string{"limit"}},
			{name: "garbage cursor", method: "GET", path: "/api/v1/audit?after=garbage", status: 400, fields: []string{"after"}},
			{name: "unknown role filter", method: "GET", path: "/api/v1/users?role=root", status: 400, fields: []string{"role"}},
			{name: "team filter not a number", method: "GET", path: "/api/v1/users?team=ops", status: 400, fields: []string{"team"}},
			{name: "user filter not a number", method: "GET", path: "/api/v1/tokens?user=me", status: 400, fields: []string{"user"}},
			{name: "since not a time", method: "GET", path: "/api/v1/audit?since=yesterday", status: 400, fields: []string{"since"}},
			{name: "since and until not times", method: "GET", path: "/api/v1/audit?since=x&until=y", status: 400, fields: []string{"since", "until"}},
			{name: "NUL in a query", method: "GET", path: "/api/v1/users?q=%00", status: 400, fields: []string{"q"}},
			{name: "bad UTF-8 in a query", method: "GET", path: "/api/v1/teams?q=%FF", status: 400, fields: []string{"q"}},
			{name: "bad UTF-8 in an audit filter", method: "GET", path: "/api/v1/audit?action=%C3", status: 400, fields: []string{"action"}},
			{name: "If-Match not an ETag", method: "PATCH", path: "/api/v1/users/me", body: `{"name":"x"}`, headers: []string{"If-Match", "yesterday"}, status: 400, fields: []string{"If-Match"}},
			{name: "long Idempotency-Key", method: "POST", path: "/api/v1/teams", body: `{"name":"Key"}`, headers: []string{"Idempotency-Key", strings.Repeat("k", 256)}, status: 400, fields: []string{"Idempotency-Key"}},
			{name: "Idempotency-Key not ASCII", method: "POST", path: "/api/v1/teams", body: `{"name":"Key"}`, headers: []string{"Idempotency-Key", "k\xff\xfe"}, status: 400, fields: []string{"Idempotency-Key"}},

			// Bad ids.
			{name: "id not a number", method: "GET", path: "/api/v1/teams/ops", status: 404},
			{name: "id zero", method: "GET", path: "/api/v1/users/0", status: 404},
			{name: "id too big", method: "GET", path: "/api/v1/tokens/99999999999999999999", status: 404},
			{name: "no such team", method: "PATCH", path: "/api/v1/teams/999999", body: `{"name":"x"}`, status: 404},
			{name: "no such user", method: "DELETE", path: "/api/v1/users/999999", status: 404},
			{name: "me is not deletable by name", method: "DELETE", path: "/api/v1/users/me", status: 404},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := on(t, s)
				before := c.snapshot()
				var body any
				if tc.body != "" || tc.method == "POST" || tc.method == "PATCH" {
					body = []byte(tc.body)
				}
				r := c.do(tc.method, tc.path, admin, body, tc.headers...)
				wantProblem(r, tc.status, tc.fields...)
				if after := c.snapshot(); after != before {
					t.Fatalf("a failed request wrote: %+v → %+v", before, after)
				}
			})
		}

		t.Run("body over the limit", func(t *testing.T) {
			c := on(t, s)
			before := c.snapshot()
			big := `{"name":"` + strings.Repeat("x", api.DefaultBodyLimit) + `"}`
			for _, p := range []string{"/api/v1/teams", "/api/v1/users", "/api/v1/tokens"} {
				wantProblem(c.do("POST", p, admin, big), 413)
				wantProblem(c.do("POST", p, admin, big, "Idempotency-Key", "big-"+p), 413)
				// Without a Content-Length the limit holds while reading.
				r := c.stream("POST", p, admin, strings.NewReader(big))
				wantProblem(r, 413)
			}
			wantProblem(c.stream("PATCH", "/api/v1/users/me", admin, strings.NewReader(big)), 413)
			// No token and too big: nothing is read, nothing is written.
			if r := c.do("POST", "/api/v1/teams", "", big); r.Status != 413 && r.Status != 401 {
				t.Fatalf("%d", r.Status)
			}
			if after := c.snapshot(); after != before {
				t.Fatalf("an oversized request wrote: %+v → %+v", before, after)
			}
			// Just under the limit is fine (and then refused for what it says).
			ok := `{"name":"` + strings.Repeat("x", 201) + `","description":"` + strings.Repeat(" ", api.DefaultBodyLimit-300) + `"}`
			wantProblem(c.do("POST", "/api/v1/teams", admin, ok), 400, "name")
		})

		t.Run("media types are case-insensitive", func(t *testing.T) {
			c := on(t, s)
			c.do("POST", "/api/v1/teams", admin, `{"name":"Cased"}`, "Content-Type", "Application/JSON; charset=UTF-8").Want(201)
			c.do("POST", "/api/v1/teams", admin, `{"name":"Problem+JSON"}`, "Content-Type", "application/merge-patch+json").Want(201)
		})

		t.Run("a token's role is checked before the body", func(t *testing.T) {
			c := on(t, s)
			wantProblem(c.do("POST", "/api/v1/users", viewer.Token, `{"email":`), 403)
		})
	})
}

// stream sends body without a Content-Length (chunked).
func (c *client) stream(method, p, token string, body io.Reader) *testkit.Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.URL+p, io.MultiReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return c.send(req)
}

// send sends a prepared request and checks the answer against the document.
func (c *client) send(req *http.Request) *testkit.Response {
	c.t.Helper()
	resp, err := c.s.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	r := &testkit.Response{T: c.t, Status: resp.StatusCode, Header: resp.Header, Body: b}
	if r.Status >= 500 {
		c.t.Errorf("%s %s: %d; body: %s", req.Method, req.URL, r.Status, b)
	}
	c.sp.checkResponse(c.t, req.Method, req.URL.RequestURI(), r.Status, r.Header, bytes.Clone(b))
	return r
}
