package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

type tokenDoc struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`
	UserID     *int64     `json:"user_id"`
	Role       *string    `json:"role"`
	CreatedBy  string     `json:"created_by"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	Token      string     `json:"token"`
}

func TestTokens(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := s.AdminToken
		viewer := c.user(iam.RoleViewer)
		manager := c.user(iam.RoleManager)

		create := func(c *client, token string, body map[string]any) tokenDoc {
			c.t.Helper()
			var tk tokenDoc
			r := c.do("POST", "/api/v1/tokens", token, body).Want(201)
			r.JSON(&tk)
			if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Location") != path("/api/v1/tokens/%d", tk.ID) {
				c.t.Fatalf("headers %v", r.Header)
			}
			return tk
		}
		me := func(c *client, token string) userDoc {
			c.t.Helper()
			var u userDoc
			c.do("GET", "/api/v1/users/me", token, nil).Want(200).JSON(&u)
			return u
		}

		t.Run("anyone makes tokens for themselves", func(t *testing.T) {
			c := on(t, s)
			tk := create(c, viewer.Token, map[string]any{"name": "laptop", "user_id": viewer.ID})
			if !strings.HasPrefix(tk.Token, iam.TokenPrefix+"_") || !strings.HasPrefix(tk.Hint, tk.Token[:8]) || strings.Contains(tk.Hint, tk.Token) ||
				tk.UserID == nil || *tk.UserID != viewer.ID || tk.Role != nil || tk.RevokedAt != nil || tk.CreatedBy != "user:"+viewer.Email {
				t.Fatalf("created %+v", tk)
			}
			if u := me(c, tk.Token); u.ID != viewer.ID {
				t.Fatalf("the token acts as %+v", u)
			}
			// The secret is stored only as a hash.
			if n := c.count("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1 OR hint = $1", tk.Token); n != 0 {
				t.Fatal("the secret is stored")
			}
			var got tokenDoc
			r := c.do("GET", path("/api/v1/tokens/%d", tk.ID), viewer.Token, nil).Want(200)
			r.JSON(&got)
			if got.Token != "" || strings.Contains(string(r.Body), tk.Token) || got.LastUsedAt == nil {
				t.Fatalf("read back %s", r.Body)
			}
		})

		t.Run("a token never has more than its creator", func(t *testing.T) {
			c := on(t, s)
			before := c.snapshot()
			wantProblem(c.do("POST", "/api/v1/tokens", viewer.Token, map[string]any{"name": "theirs", "user_id": manager.ID}), 403)
			wantProblem(c.do("POST", "/api/v1/tokens", viewer.Token, map[string]any{"name": "service", "role": "viewer"}), 403)
			wantProblem(c.do("POST", "/api/v1/tokens", viewer.Token, map[string]any{"name": "up", "user_id": viewer.ID, "role": "admin"}), 403)
			wantProblem(c.do("POST", "/api/v1/tokens", manager.Token, map[string]any{"name": "up", "user_id": manager.ID, "role": "admin"}), 403)
			if c.snapshot() != before {
				t.Fatal("a refused token was written")
			}
			// A token limited below its user's role acts with the limit.
			low := create(c, manager.Token, map[string]any{"name": "read-only", "user_id": manager.ID, "role": "viewer"})
			wantProblem(c.do("POST", "/api/v1/teams", low.Token, map[string]any{"name": "Limited"}), 403)
			c.do("POST", "/api/v1/teams", manager.Token, map[string]any{"name": "Unlimited"}).Want(201)
			adminLimited := create(c, admin, map[string]any{"name": "admin as manager", "user_id": s.AdminID, "role": "manager"})
			wantProblem(c.do("POST", "/api/v1/users", adminLimited.Token, map[string]any{"email": "x@example.com", "name": "X"}), 403)
		})

		t.Run("an admin makes tokens for others and for no one", func(t *testing.T) {
			c := on(t, s)
			forViewer := create(c, admin, map[string]any{"name": "for viewer", "user_id": viewer.ID})
			if u := me(c, forViewer.Token); u.ID != viewer.ID {
				t.Fatalf("acts as %+v", u)
			}
			svc := create(c, admin, map[string]any{"name": "ci", "role": "manager"})
			if svc.UserID != nil || svc.Role == nil || *svc.Role != "manager" {
				t.Fatalf("service token %+v", svc)
			}
			team := id(c.do("POST", "/api/v1/teams", svc.Token, map[string]any{"name": "Made by CI"}).Want(201))
			wantProblem(c.do("POST", "/api/v1/users", svc.Token, map[string]any{"email": "y@example.com", "name": "Y"}), 403)
			wantProblem(c.do("GET", "/api/v1/users/me", svc.Token, nil), 404)
			l, _ := items(c.do("GET", "/api/v1/tokens", svc.Token, nil).Want(200))
			if len(l) != 0 {
				t.Fatalf("a token without a user sees tokens: %v", l)
			}
			e, _ := items(c.do("GET", path("/api/v1/audit?object_type=team&object_id=%d", team), admin, nil).Want(200))
			if len(e) != 1 || e[0]["actor_type"] != "token" || e[0]["actor_id"] != path("%d", svc.ID) || e[0]["actor_name"] != "ci" {
				t.Fatalf("audit of a token's action: %v", e)
			}
		})

		t.Run("non-admins see only their own tokens", func(t *testing.T) {
			c := on(t, s)
			mine := create(c, manager.Token, map[string]any{"name": "mine", "user_id": manager.ID})
			theirs := create(c, viewer.Token, map[string]any{"name": "theirs", "user_id": viewer.ID})
			for _, q := range []string{"", path("?user=%d", viewer.ID), "?limit=1000"} {
				l, _ := items(c.do("GET", "/api/v1/tokens"+q, manager.Token, nil).Want(200))
				if len(l) == 0 {
					t.Fatalf("%q: no tokens", q)
				}
				for _, tk := range l {
					if tk["user_id"] != float64(manager.ID) {
						t.Fatalf("%q: a manager sees %v", q, tk)
					}
					if _, ok := tk["token"]; ok {
						t.Fatal("a list shows a secret")
					}
				}
			}
			wantProblem(c.do("GET", path("/api/v1/tokens/%d", theirs.ID), manager.Token, nil), 404)
			wantProblem(c.do("DELETE", path("/api/v1/tokens/%d", theirs.ID), manager.Token, nil), 404)
			me(c, theirs.Token)
			c.do("GET", path("/api/v1/tokens/%d", mine.ID), manager.Token, nil).Want(200)
			// An admin sees everyone's, and filters by user.
			all, _ := items(c.do("GET", "/api/v1/tokens?limit=1000", admin, nil).Want(200))
			if int64(len(all)) != c.count("SELECT COUNT(*) FROM api_tokens") {
				t.Fatalf("an admin sees %d tokens", len(all))
			}
			l, _ := items(c.do("GET", path("/api/v1/tokens?user=%d&limit=1000", viewer.ID), admin, nil).Want(200))
			if int64(len(l)) != c.count("SELECT COUNT(*) FROM api_tokens WHERE user_id = $1", viewer.ID) {
				t.Fatalf("filtered %v", l)
			}
			c.do("GET", path("/api/v1/tokens/%d", theirs.ID), admin, nil).Want(200)
		})

		t.Run("revoke", func(t *testing.T) {
			c := on(t, s)
			tk := create(c, viewer.Token, map[string]any{"name": "to revoke", "user_id": viewer.ID})
			me(c, tk.Token)
			var got tokenDoc
			c.do("DELETE", path("/api/v1/tokens/%d", tk.ID), viewer.Token, nil).Want(200).JSON(&got)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(s.Clock.Now()) {
				t.Fatalf("revoked %+v", got)
			}
			wantProblem(c.do("GET", "/api/v1/users/me", tk.Token, nil), 401)
			s.Clock.Advance(time.Minute)
			var again tokenDoc
			c.do("DELETE", path("/api/v1/tokens/%d", tk.ID), viewer.Token, nil).Want(200).JSON(&again)
			if again.RevokedAt == nil || !again.RevokedAt.Equal(*got.RevokedAt) {
				t.Fatalf("revoking twice moved revoked_at: %+v", again)
			}
			if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action = 'token.revoke' AND object_id = $1", path("%d", tk.ID)); n != 1 {
				t.Fatalf("%d revoke entries; want 1", n)
			}
			wantProblem(c.do("DELETE", "/api/v1/tokens/999999", admin, nil), 404)
			// A token may revoke itself.
			self := create(c, viewer.Token, map[string]any{"name": "self", "user_id": viewer.ID})
			c.do("DELETE", path("/api/v1/tokens/%d", self.ID), self.Token, nil).Want(200)
			wantProblem(c.do("GET", "/api/v1/users/me", self.Token, nil), 401)
		})

		t.Run("expiry", func(t *testing.T) {
			c := on(t, s)
			wantProblem(c.do("POST", "/api/v1/tokens", viewer.Token, map[string]any{"name": "past", "user_id": viewer.ID,
				"expires_at": s.Clock.Now().Add(-time.Second).Format(time.RFC3339Nano)}), 400, "expires_at")
			tk := create(c, viewer.Token, map[string]any{"name": "hour", "user_id": viewer.ID,
				"expires_at": s.Clock.Now().Add(time.Hour).Format(time.RFC3339)})
			if tk.ExpiresAt == nil {
				t.Fatal("no expires_at")
			}
			me(c, tk.Token)
			s.Clock.Advance(59 * time.Minute)
			me(c, tk.Token)
			s.Clock.Advance(2 * time.Minute)
			p := wantProblem(c.do("GET", "/api/v1/users/me", tk.Token, nil), 401)
			if !strings.Contains(p.Detail, "expired") {
				t.Fatalf("detail %q", p.Detail)
			}
		})

		t.Run("a disabled user's tokens are refused", func(t *testing.T) {
			c := on(t, s)
			u := c.user(iam.RoleManager)
			me(c, u.Token)
			c.do("PATCH", path("/api/v1/users/%d", u.ID), admin, map[string]any{"disabled": true}).Want(200)
			wantProblem(c.do("GET", "/api/v1/users/me", u.Token, nil), 401)
			wantProblem(c.do("POST", "/api/v1/teams", u.Token, map[string]any{"name": "Ghost"}), 401)
			c.do("PATCH", path("/api/v1/users/%d", u.ID), admin, map[string]any{"disabled": false}).Want(200)
			me(c, u.Token)
		})
	})
}
