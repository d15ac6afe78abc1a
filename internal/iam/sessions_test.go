package iam_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestSessions(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.App.IAM
		ctx := context.Background()
		user := func(t *testing.T) testkit.User {
			srv := *s
			srv.T = t
			return srv.NewUser(iam.RoleResponder)
		}

		t.Run("login, session, logout", func(t *testing.T) {
			u := user(t)
			res, err := svc.Login(ctx, " "+strings.ToUpper(u.Email)+" ", u.Password, "192.0.2.1", "test-agent")
			if err != nil || res.MFAPending || res.Secret == "" {
				t.Fatalf("login: %+v %v", res, err)
			}
			sess, err := svc.Session(ctx, res.Secret)
			if err != nil || sess.UserID != u.ID || sess.CSRF == "" || sess.Principal.Role != iam.RoleResponder || sess.Principal.Email != u.Email {
				t.Fatalf("session %+v %v", sess, err)
			}
			if _, err := svc.Session(ctx, res.Secret+"x"); !errs.Is(err, errs.KindUnauthenticated) {
				t.Fatalf("a wrong cookie: %v", err)
			}
			if err := svc.Logout(ctx, res.Secret); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Session(ctx, res.Secret); !errs.Is(err, errs.KindUnauthenticated) {
				t.Fatalf("after logout: %v", err)
			}
			if err := svc.Logout(ctx, res.Secret); err != nil {
				t.Fatalf("logging out twice: %v", err)
			}
		})

		t.Run("wrong passwords and odd input are refused, never errors", func(t *testing.T) {
			u := user(t)
			for _, c := range []struct{ email, password string }{
				{u.Email, "wrong password"},
				{u.Email, ""},
				{"nobody@example.com", u.Password},
				{"", ""},
				{"nul\x00@example.com", u.Password},
				{"bad\xff\xfe@example.com", u.Password},
				{u.Email + "\x00", u.Password},
			} {
				_, err := svc.Login(ctx, c.email, c.password, "192.0.2.77", "test")
				if !errs.Is(err, errs.KindUnauthenticated) && !errs.Is(err, errs.KindRateLimited) {
					t.Errorf("login %q: %v; want unauthenticated", c.email, err)
				}
				s.Clock.Advance(time.Minute) // stay under the rate limit
			}
		})

		t.Run("failures are audited and rate limited", func(t *testing.T) {
			u := user(t)
			ip := "192.0.2.10"
			for i := range 5 {
				if _, err := svc.Login(ctx, u.Email, "wrong", ip, "test"); !errs.Is(err, errs.KindUnauthenticated) {
					t.Fatalf("attempt %d: %v", i+1, err)
				}
			}
			_, err := svc.Login(ctx, u.Email, u.Password, ip, "test")
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.KindRateLimited || e.RetryAfter <= 0 {
				t.Fatalf("sixth attempt: %v", err)
			}
			// Another address is limited too: the account has had its tries.
			if _, err := svc.Login(ctx, u.Email, u.Password, "192.0.2.11", "test"); !errs.Is(err, errs.KindRateLimited) {
				t.Fatalf("from another address: %v", err)
			}
			s.Clock.Advance(time.Duration(e.RetryAfter) * time.Second)
			if _, err := svc.Login(ctx, u.Email, u.Password, ip, "test"); err != nil {
				t.Fatalf("after waiting: %v", err)
			}
			var n int
			if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'session.login_failed' AND object_id = $1", u.Email).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 5 {
				t.Fatalf("%d failures audited; want 5", n)
			}
		})

		t.Run("a long user agent in any script is stored", func(t *testing.T) {
			u := user(t)
			agents := []string{
				strings.Repeat("a", 299) + "é" + strings.Repeat("b", 50), // the cut falls inside a character
				strings.Repeat("日本", 200),
				"bad \xff\xfe agent",
				"nul \x00 agent",
			}
			for _, ua := range agents {
				if _, err := svc.Login(ctx, u.Email, u.Password, "192.0.2.20", ua); err != nil {
					t.Errorf("login with user agent %.20q…: %v", ua, err)
				}
			}
		})

		t.Run("sessions end", func(t *testing.T) {
			u := user(t)
			login := func() string {
				res, err := svc.Login(ctx, u.Email, u.Password, "192.0.2.30", "test")
				if err != nil {
					t.Fatal(err)
				}
				return res.Secret
			}
			idle := login()
			busy := login()
			for range 5 {
				s.Clock.Advance(iam.SessionIdle / 2)
				if _, err := svc.Session(ctx, busy); err != nil {
					t.Fatalf("a session in use ended: %v", err)
				}
			}
			if _, err := svc.Session(ctx, idle); !errs.Is(err, errs.KindUnauthenticated) {
				t.Fatalf("an idle session lives on: %v", err)
			}
			for {
				s.Clock.Advance(iam.SessionIdle / 2)
				if _, err := svc.Session(ctx, busy); err != nil {
					break
				}
			}
			disabled := login()
			c := testkit.Server(*s)
			c.T = t
			c.Do("PATCH", "/api/v1/users/"+itoa(u.ID), s.AdminToken, map[string]any{"disabled": true}).Want(200)
			if _, err := svc.Session(ctx, disabled); !errs.Is(err, errs.KindUnauthenticated) {
				t.Fatalf("a disabled user's session lives on: %v", err)
			}
			if _, err := svc.Login(ctx, u.Email, u.Password, "192.0.2.31", "test"); !errs.Is(err, errs.KindUnauthenticated) {
				t.Fatalf("a disabled user signed in: %v", err)
			}
			if _, err := svc.PruneSessions(ctx); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("a new password ends the other sessions", func(t *testing.T) {
			u := user(t)
			here, err := svc.Login(ctx, u.Email, u.Password, "192.0.2.40", "here")
			if err != nil {
				t.Fatal(err)
			}
			there, err := svc.Login(ctx, u.Email, u.Password, "192.0.2.41", "there")
			if err != nil {
				t.Fatal(err)
			}
			pw := "a-brand-new-password"
			self := iam.WithPrincipal(ctx, iam.Principal{UserID: u.ID, Email: u.Email, Role: iam.RoleResponder})
			if _, err := svc.UpdateUser(self, u.ID, iam.UserPatch{Password: &pw, KeepSession: here.Secret}, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Session(ctx, here.Secret); err != nil {
				t.Fatalf("the session that changed the password ended: %v", err)
			}
			if _, err := svc.Session(ctx, there.Secret); !errs.Is(err, errs.KindUnauthenticated) {
				t.Fatalf("another session outlived the password change: %v", err)
			}
			// Through the API (no session to keep) every session ends.
			c := testkit.Server(*s)
			c.T = t
			c.Do("PATCH", "/api/v1/users/"+itoa(u.ID), u.Token, map[string]any{"password": "yet-another-password"}).Want(200)
			if _, err := svc.Session(ctx, here.Secret); !errs.Is(err, errs.KindUnauthenticated) {
				t.Fatalf("a session outlived a password change through the API: %v", err)
			}
		})
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
