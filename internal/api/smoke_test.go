package api_test

import (
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestSmoke(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		s.Do("GET", "/healthz", "", nil).Want(200)
		s.Do("GET", "/readyz", "", nil).Want(200)
		s.Do("GET", "/api/v1/users", "", nil).Want(401).Problem()
		u := s.NewUser("viewer")
		p := s.Do("POST", "/api/v1/users", u.Token, map[string]any{"email": "x@example.com", "name": "X", "role": "viewer"}).Want(403).Problem()
		_ = p
		s.Do("POST", "/api/v1/teams", s.AdminToken, map[string]any{"name": "Ops"}).Want(201)
		l := s.Do("GET", "/api/v1/audit", s.AdminToken, nil).Want(200).Map()
		if len(l["items"].([]any)) < 3 {
			t.Fatalf("audit: %v", l)
		}
		r := s.Do("GET", "/api/v1/audit/verify", s.AdminToken, nil).Want(200).Map()
		if r["ok"] != true {
			t.Fatalf("verify: %v", r)
		}
	})
}
