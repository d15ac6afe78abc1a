package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

type userDoc struct {
	ID          int64     `json:"id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	HasPassword bool      `json:"has_password"`
	TOTPEnabled bool      `json:"totp_enabled"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
	Version     int64     `json:"version"`
}

func TestUsers(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		admin := s.AdminToken

		t.Run("create", func(t *testing.T) {
			c := on(t, s)
			r := c.do("POST", "/api/v1/users", admin, map[string]any{"email": " Ada@Example.COM ", "name": " Ada Lovelace ",
				"role": "responder", "password": "analytical-engine"}).Want(201)
			var u userDoc
			r.JSON(&u)
			if u.ID < 1 || u.Email != "ada@example.com" || u.Name != "Ada Lovelace" || u.Role != "responder" || !u.HasPassword ||
				u.TOTPEnabled || u.Disabled || u.Version != 1 || !u.CreatedAt.Equal(s.Clock.Now()) {
				t.Fatalf("created %+v", u)
			}
			if r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != path("/api/v1/users/%d", u.ID) {
				t.Fatalf("headers %v", r.Header)
			}
			var got userDoc
			c.do("GET", path("/api/v1/users/%d", u.ID), admin, nil).Want(200).JSON(&got)
			if got != u {
				t.Fatalf("read back %+v; created %+v", got, u)
			}
			var me userDoc
			c.do("GET", "/api/v1/users/me", admin, nil).Want(200).JSON(&me)
			if me.ID != s.AdminID || me.Email != testkit.AdminEmail || me.Role != "admin" {
				t.Fatalf("me %+v", me)
			}
			// The role defaults to viewer; a user without a password acts through tokens only.
			c.do("POST", "/api/v1/users", admin, map[string]any{"email": "bob@example.com", "name": "Bob"}).Want(201).JSON(&u)
			if u.Role != "viewer" || u.HasPassword {
				t.Fatalf("defaults %+v", u)
			}
		})

		t.Run("duplicate email", func(t *testing.T) {
			c := on(t, s)
			c.do("POST", "/api/v1/users", admin, map[string]any{"email": "carol@example.com", "name": "Carol"}).Want(201)
			before := c.snapshot()
			for _, email := range []string{"carol@example.com", "CAROL@example.com", " carol@example.com"} {
				wantProblem(c.do("POST", "/api/v1/users", admin, map[string]any{"email": email, "name": "Carol 2"}), 409, "email")
			}
			other := id(c.do("POST", "/api/v1/users", admin, map[string]any{"email": "dave@example.com", "name": "Dave"}).Want(201))
			wantProblem(c.do("PATCH", path("/api/v1/users/%d", other), admin, map[string]any{"email": "carol@example.com"}), 409, "email")
			if after := c.snapshot(); after.users != before.users+1 || after.audit != before.audit+1 {
				t.Fatalf("duplicates wrote: %+v → %+v", before, after)
			}
		})

		t.Run("a token acts with its user's role", func(t *testing.T) {
			c := on(t, s)
			viewer := c.user(iam.RoleViewer)
			responder := c.user(iam.RoleResponder)
			manager := c.user(iam.RoleManager)
			body := map[string]any{"email": "eve@example.com", "name": "Eve", "role": "viewer"}
			for _, u := range []testkit.User{viewer, responder, manager} {
				wantProblem(c.do("POST", "/api/v1/users", u.Token, body), 403)
			}
			if c.count("SELECT COUNT(*) FROM users WHERE email = 'eve@example.com'") != 0 {
				t.Fatal("a refused request created a user")
			}
			c.do("GET", "/api/v1/users", viewer.Token, nil).Want(200)
			wantProblem(c.do("POST", "/api/v1/teams", responder.Token, map[string]any{"name": "Nope"}), 403)
			c.do("POST", "/api/v1/teams", manager.Token, map[string]any{"name": "Managers"}).Want(201)
			// A role change takes effect on the next request.
			c.do("PATCH", path("/api/v1/users/%d", viewer.ID), admin, map[string]any{"role": "admin"}).Want(200)
			c.do("POST", "/api/v1/users", viewer.Token, body).Want(201)
			c.do("PATCH", path("/api/v1/users/%d", viewer.ID), admin, map[string]any{"role": "viewer"}).Want(200)
			wantProblem(c.do("POST", "/api/v1/users", viewer.Token, map[string]any{"email": "eve2@example.com", "name": "Eve"}), 403)
		})

		t.Run("list and filter", func(t *testing.T) {
			c := on(t, s)
			team := id(c.do("POST", "/api/v1/teams", admin, map[string]any{"name": "Filter"}).Want(201))
			m := c.user(iam.RoleManager)
			c.do("POST", path("/api/v1/teams/%d/members", team), admin, map[string]any{"user_id": m.ID}).Want(201)
			all, next := items(c.do("GET", "/api/v1/users?limit=1000", admin, nil).Want(200))
			if next != "" || int64(len(all)) != c.count("SELECT COUNT(*) FROM users") {
				t.Fatalf("%d users, next %q", len(all), next)
			}
			for i := 1; i < len(all); i++ {
				if all[i]["id"].(float64) <= all[i-1]["id"].(float64) {
					t.Fatal("users are not ordered by id")
				}
			}
			check := func(q string, want func(u map[string]any) bool) {
				t.Helper()
				l, _ := items(c.do("GET", "/api/v1/users?limit=1000&"+q, admin, nil).Want(200))
				n := 0
				for _, u := range all {
					if want(u) {
						n++
					}
				}
				if len(l) != n || n == 0 {
					t.Errorf("%s: %d users; want %d", q, len(l), n)
				}
				for _, u := range l {
					if !want(u) {
						t.Errorf("%s: %v does not match", q, u)
					}
				}
			}
			check("role=manager", func(u map[string]any) bool { return u["role"] == "manager" })
			check("q=ADA", func(u map[string]any) bool {
				return strings.Contains(strings.ToLower(u["name"].(string)+u["email"].(string)), "ada")
			})
			check("q=example.com&role=admin", func(u map[string]any) bool { return u["role"] == "admin" })
			check(path("team=%d", team), func(u map[string]any) bool { return u["id"] == float64(m.ID) })
			l, _ := items(c.do("GET", "/api/v1/users?q=nobody-has-this", admin, nil).Want(200))
			if len(l) != 0 {
				t.Fatalf("q matched %v", l)
			}
			// q is text, not a pattern: LIKE's wildcards match only themselves.
			under := id(c.do("POST", "/api/v1/users", admin, map[string]any{"email": "under_score@example.com", "name": "Under Score"}).Want(201))
			for _, q := range []string{"_", "r_s", "%5F"} {
				l, _ = items(c.do("GET", "/api/v1/users?q="+q, admin, nil).Want(200))
				if len(l) != 1 || l[0]["id"] != float64(under) {
					t.Fatalf("q=%s matched %d users", q, len(l))
				}
			}
			l, _ = items(c.do("GET", "/api/v1/users?q=%25", admin, nil).Want(200))
			if len(l) != 0 {
				t.Fatalf("q=%% matched %d users", len(l))
			}
		})

		t.Run("ETag and If-Match", func(t *testing.T) {
			c := on(t, s)
			u := id(c.do("POST", "/api/v1/users", admin, map[string]any{"email": "frank@example.com", "name": "Frank"}).Want(201))
			p := path("/api/v1/users/%d", u)
			etag := c.do("GET", p, admin, nil).Want(200).Header.Get("ETag")
			if etag != `"1"` {
				t.Fatalf("ETag %q", etag)
			}
			r := c.do("PATCH", p, admin, map[string]any{"name": "Frank 2"}, "If-Match", etag).Want(200)
			if r.Header.Get("ETag") != `"2"` {
				t.Fatalf("ETag after a change %q", r.Header.Get("ETag"))
			}
			before := c.snapshot()
			wantProblem(c.do("PATCH", p, admin, map[string]any{"name": "Stale"}, "If-Match", etag), 412)
			var got userDoc
			c.do("GET", p, admin, nil).Want(200).JSON(&got)
			if got.Name != "Frank 2" || got.Version != 2 || c.snapshot() != before {
				t.Fatalf("a stale write changed something: %+v", got)
			}
			c.do("PATCH", p, admin, map[string]any{"name": "Frank 3"}, "If-Match", `W/"2"`).Want(200)
			c.do("PATCH", p, admin, map[string]any{"name": "Frank 4"}, "If-Match", "*").Want(200)
			c.do("PATCH", p, admin, map[string]any{"name": "Frank 5"}).Want(200)
			wantProblem(c.do("PATCH", p, admin, map[string]any{"name": "x"}, "If-Match", `"0"`), 400, "If-Match")
			c.do("GET", p, admin, nil).Want(200).JSON(&got)
			if got.Version != 5 || got.Name != "Frank 5" {
				t.Fatalf("after the changes %+v", got)
			}
		})

		t.Run("self-service", func(t *testing.T) {
			c := on(t, s)
			u := c.user(iam.RoleViewer)
			other := c.user(iam.RoleViewer)
			var got userDoc
			c.do("PATCH", "/api/v1/users/me", u.Token, map[string]any{"name": "New Name"}).Want(200).JSON(&got)
			if got.Name != "New Name" || got.Role != "viewer" {
				t.Fatalf("%+v", got)
			}
			c.do("PATCH", path("/api/v1/users/%d", u.ID), u.Token, map[string]any{"password": "a-new-password"}).Want(200)
			if _, err := s.App.IAM.Login(context.Background(), u.Email, "a-new-password", "127.0.0.9", "test"); err != nil {
				t.Fatalf("sign in with the new password: %v", err)
			}
			if _, err := s.App.IAM.Login(context.Background(), u.Email, u.Password, "127.0.0.9", "test"); !errs.Is(err, errs.KindUnauthenticated) {
				t.Fatalf("the old password still works: %v", err)
			}
			before := c.snapshot()
			for _, body := range []map[string]any{{"role": "admin"}, {"role": "viewer"}, {"email": "new@example.com"}, {"disabled": true},
				{"name": "ok", "role": "manager"}} {
				wantProblem(c.do("PATCH", "/api/v1/users/me", u.Token, body), 403)
			}
			wantProblem(c.do("PATCH", path("/api/v1/users/%d", other.ID), u.Token, map[string]any{"name": "Hijacked"}), 403)
			wantProblem(c.do("PATCH", path("/api/v1/users/%d", s.AdminID), u.Token, map[string]any{"password": "hijacked-password"}), 403)
			if c.snapshot() != before {
				t.Fatal("a refused change wrote")
			}
			c.do("GET", path("/api/v1/users/%d", other.ID), u.Token, nil).Want(200).JSON(&got)
			if got.Name == "Hijacked" {
				t.Fatal("changed another user")
			}
		})

		t.Run("delete", func(t *testing.T) {
			c := on(t, s)
			u := c.user(iam.RoleResponder)
			manager := c.user(iam.RoleManager)
			wantProblem(c.do("DELETE", path("/api/v1/users/%d", u.ID), manager.Token, nil), 403)
			c.do("DELETE", path("/api/v1/users/%d", u.ID), admin, nil).Want(204)
			wantProblem(c.do("GET", path("/api/v1/users/%d", u.ID), admin, nil), 404)
			wantProblem(c.do("GET", "/api/v1/users/me", u.Token, nil), 401)
			wantProblem(c.do("DELETE", path("/api/v1/users/%d", u.ID), admin, nil), 404)
			if n := c.count("SELECT COUNT(*) FROM api_tokens WHERE user_id = $1", u.ID); n != 0 {
				t.Fatalf("%d tokens of a deleted user remain", n)
			}
		})

		t.Run("the last admin stays", func(t *testing.T) {
			c := on(t, s)
			// Users made by other subtests may be admins: only the first admin is left enabled.
			l, _ := items(c.do("GET", "/api/v1/users?role=admin&limit=1000", admin, nil).Want(200))
			for _, u := range l {
				if int64(u["id"].(float64)) != s.AdminID {
					c.do("PATCH", path("/api/v1/users/%v", u["id"]), admin, map[string]any{"role": "viewer"}).Want(200)
				}
			}
			me := path("/api/v1/users/%d", s.AdminID)
			before := c.snapshot()
			wantProblem(c.do("DELETE", me, admin, nil), 409)
			wantProblem(c.do("PATCH", me, admin, map[string]any{"disabled": true}), 409)
			wantProblem(c.do("PATCH", "/api/v1/users/me", admin, map[string]any{"role": "manager"}), 409)
			if c.snapshot() != before {
				t.Fatal("a refused change wrote")
			}
			// A disabled admin does not count.
			other := c.user(iam.RoleAdmin)
			c.do("PATCH", path("/api/v1/users/%d", other.ID), admin, map[string]any{"disabled": true}).Want(200)
			wantProblem(c.do("GET", "/api/v1/users/me", other.Token, nil), 401)
			wantProblem(c.do("PATCH", me, admin, map[string]any{"disabled": true}), 409)
			// With a second enabled admin, either may go.
			c.do("PATCH", path("/api/v1/users/%d", other.ID), admin, map[string]any{"disabled": false}).Want(200)
			c.do("GET", "/api/v1/users/me", other.Token, nil).Want(200)
			c.do("PATCH", path("/api/v1/users/%d", other.ID), admin, map[string]any{"role": "viewer"}).Want(200)
			wantProblem(c.do("PATCH", me, admin, map[string]any{"role": "viewer"}), 409)
			third := c.user(iam.RoleAdmin)
			c.do("DELETE", path("/api/v1/users/%d", third.ID), admin, nil).Want(204)
			wantProblem(c.do("DELETE", me, admin, nil), 409)
		})

		t.Run("TOTP", func(t *testing.T) {
			c := on(t, s)
			u := c.user(iam.RoleViewer)
			other := c.user(iam.RoleViewer)
			wantProblem(c.do("POST", "/api/v1/users/me/totp/confirm", u.Token, map[string]any{"code": "123456"}), 409)
			wantProblem(c.do("POST", path("/api/v1/users/%d/totp", other.ID), u.Token, nil), 403)

			var e struct {
				Secret string `json:"secret"`
				URI    string `json:"otpauth_uri"`
			}
			c.do("POST", "/api/v1/users/me/totp", u.Token, nil).Want(201).JSON(&e)
			if e.Secret == "" || !strings.HasPrefix(e.URI, "otpauth://totp/") || !strings.Contains(e.URI, e.Secret) {
				t.Fatalf("enrolment %+v", e)
			}
			code, err := iam.TOTPCode(e.Secret, s.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			wantProblem(c.do("POST", "/api/v1/users/me/totp/confirm", u.Token, map[string]any{"code": wrongCode(t, e.Secret, s.Clock.Now())}), 400, "code")
			var got userDoc
			r := c.do("POST", "/api/v1/users/me/totp/confirm", u.Token, map[string]any{"code": code}).Want(200)
			r.JSON(&got)
			if !got.TOTPEnabled || r.Header.Get("ETag") != fmt.Sprintf(`"%d"`, got.Version) {
				t.Fatalf("after confirming: %+v %v", got, r.Header)
			}
			wantProblem(c.do("POST", "/api/v1/users/me/totp", u.Token, nil), 409)

			// The code that confirmed the enrolment does not sign in.
			ctx := context.Background()
			login := func() string {
				t.Helper()
				res, err := s.App.IAM.Login(ctx, u.Email, u.Password, "127.0.0.2", "test")
				if err != nil || !res.MFAPending {
					t.Fatalf("login: %+v %v", res, err)
				}
				return res.Secret
			}
			sess := login()
			if err := s.App.IAM.CompleteMFA(ctx, sess, code, "127.0.0.2"); !errs.Is(err, errs.KindInvalid) {
				t.Fatalf("a used code was accepted again: %v", err)
			}
			s.Clock.Advance(30 * time.Second)
			next, _ := iam.TOTPCode(e.Secret, s.Clock.Now())
			if err := s.App.IAM.CompleteMFA(ctx, sess, next, "127.0.0.2"); err != nil {
				t.Fatalf("a fresh code: %v", err)
			}
			if err := s.App.IAM.CompleteMFA(ctx, login(), next, "127.0.0.2"); !errs.Is(err, errs.KindInvalid) {
				t.Fatalf("a code signed in twice: %v", err)
			}

			// An admin may turn it off; the user is then back to a password.
			wantProblem(c.do("DELETE", path("/api/v1/users/%d/totp", u.ID), other.Token, nil), 403)
			c.do("DELETE", path("/api/v1/users/%d/totp", u.ID), admin, nil).Want(204)
			c.do("GET", path("/api/v1/users/%d", u.ID), admin, nil).Want(200).JSON(&got)
			if got.TOTPEnabled {
				t.Fatal("still enabled")
			}
			if res, err := s.App.IAM.Login(ctx, u.Email, u.Password, "127.0.0.2", "test"); err != nil || res.MFAPending {
				t.Fatalf("login without a second factor: %+v %v", res, err)
			}
			var actions []string
			l, _ := items(c.do("GET", path("/api/v1/audit?object_type=user&object_id=%d&action=user.totp.", u.ID), admin, nil).Want(200))
			for _, e := range l {
				actions = append(actions, e["action"].(string))
			}
			if strings.Join(actions, " ") != "user.totp.disable user.totp.enable user.totp.start" {
				t.Fatalf("audit %v", actions)
			}
		})
	})
}

// wrongCode is a 6-digit code that is not valid at t (nor one step around it).
func wrongCode(t *testing.T, secret string, at time.Time) string {
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, _ := iam.TOTPCode(secret, at.Add(d))
		valid[c] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	t.Fatal("no wrong code")
	return ""
}

// TestLastAdminUnderConcurrency: two admins demote each other at the same
// moment; one of them must stay admin.
func TestLastAdminUnderConcurrency(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		a := testkit.User{ID: s.AdminID, Token: s.AdminToken}
		b := c.user(iam.RoleAdmin)
		for round := range 10 {
			bodies := []struct {
				by, target testkit.User
				body       map[string]any
			}{
				{a, b, map[string]any{"role": "viewer"}},
				{b, a, map[string]any{"disabled": true}},
			}
			if round%2 == 1 {
				bodies[1].body = map[string]any{"role": "manager"}
			}
			statuses := make([]int, 2)
			done := make(chan struct{})
			start := make(chan struct{})
			for i, x := range bodies {
				go func() {
					defer func() { done <- struct{}{} }()
					<-start
					statuses[i] = rawStatus(s, "PATCH", path("/api/v1/users/%d", x.target.ID), x.by.Token, x.body)
				}()
			}
			close(start)
			<-done
			<-done
			admins := c.count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled")
			if admins < 1 {
				t.Fatalf("round %d: answers %v left no enabled admin", round, statuses)
			}
			for _, st := range statuses {
				if st != 200 && st != 409 && st != 401 && st != 403 {
					t.Fatalf("round %d: answers %v", round, statuses)
				}
			}
			// Both admins again for the next round.
			for _, u := range []testkit.User{a, b} {
				if _, err := s.App.DB.W.Exec("UPDATE users SET role = 'admin', disabled = $1 WHERE id = $2", false, u.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
