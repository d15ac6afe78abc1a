package notify_test

import (
	"context"
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

func intp(n int) *int { return &n }

// TestRulesFor: the outbox reads a user's rules by delay, then id, each with
// its whole method (signing secret, headers and rate window included).
func TestRulesFor(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		ctx := context.Background() // Steady itself: no access checks
		cs := s.App.Contacts
		u, other := s.NewUser(iam.RoleResponder), s.NewUser(iam.RoleViewer)

		email, err := cs.CreateMethod(ctx, u.ID, notify.NewMethod{Kind: notify.KindEmail, Address: u.Email, Label: "work"})
		if err != nil {
			t.Fatal(err)
		}
		hook, err := cs.CreateMethod(ctx, u.ID, notify.NewMethod{Kind: notify.KindWebhook, Address: "https://hooks.example.com/x",
			Headers: map[string]string{"authorization": "Bearer t"}, RateLimit: intp(3), RateWindowSeconds: intp(120)})
		if err != nil {
			t.Fatal(err)
		}
		if hook.Secret == "" || email.Secret != "" || hook.Method.Secret != hook.Secret {
			t.Fatalf("secrets: webhook %q, email %q", hook.Secret, email.Secret)
		}
		otherHook, err := cs.CreateMethod(ctx, other.ID, notify.NewMethod{Kind: notify.KindSlack, Address: "https://hooks.slack.com/services/x"})
		if err != nil {
			t.Fatal(err)
		}
		add := func(m int64, delay int) notify.Rule {
			t.Helper()
			r, err := cs.CreateRule(ctx, u.ID, notify.NewRule{MethodID: m, DelayMinutes: delay})
			if err != nil {
				t.Fatalf("rule %d after %d: %v", m, delay, err)
			}
			return r
		}
		r15 := add(hook.ID, 15)
		r5b := add(email.ID, 5)
		r0 := add(email.ID, 0)
		r5a := add(hook.ID, 5)
		if _, err := cs.CreateRule(ctx, other.ID, notify.NewRule{MethodID: otherHook.ID}); err != nil {
			t.Fatal(err)
		}

		// The outbox reads inside its own transaction.
		var got []notify.Rule
		if err := s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			got, err = cs.RulesFor(ctx, tx, u.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want := []int64{r0.ID, r5b.ID, r5a.ID, r15.ID}
		if len(got) != len(want) {
			t.Fatalf("%d rules; want %d: %+v", len(got), len(want), got)
		}
		for i, r := range got {
			if r.ID != want[i] {
				t.Fatalf("rule %d is %d; want the order %v", i, r.ID, want)
			}
			if r.Method.ID != r.MethodID || r.Method.UserID != u.ID || r.UserID != u.ID {
				t.Fatalf("rule %d: method %+v", r.ID, r.Method)
			}
		}
		h := got[2].Method
		if h.Kind != notify.KindWebhook || h.Secret != hook.Secret || h.RateLimit != 3 || h.RateWindow != 2*time.Minute ||
			h.RateWindowSeconds != 120 || h.Headers["Authorization"] != "Bearer t" || h.Address != "https://hooks.example.com/x" {
			t.Fatalf("webhook method as the outbox sees it: %+v", h)
		}
		e := got[0].Method
		if e.Kind != notify.KindEmail || e.Address != u.Email || e.RateLimit != notify.DefaultMethodRateLimit ||
			e.RateWindow != 10*time.Minute || e.Headers == nil || e.Label != "work" {
			t.Fatalf("email method as the outbox sees it: %+v", e)
		}
		if none, err := cs.RulesFor(ctx, s.App.DB.R, s.AdminID); err != nil || none == nil || len(none) != 0 {
			t.Fatalf("rules of a user without any: %v, %v", none, err)
		}

		m, err := cs.MethodByID(ctx, s.App.DB.R, hook.ID)
		if err != nil || m.Secret != hook.Secret || m.RateWindow != 2*time.Minute {
			t.Fatalf("MethodByID: %+v, %v", m, err)
		}
		if _, err := cs.MethodByID(ctx, s.App.DB.R, 999999); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("MethodByID of nothing: %v", err)
		}

		// A deleted user takes their methods and rules along.
		s.Do("DELETE", "/api/v1/users/"+strconv.FormatInt(u.ID, 10), s.AdminToken, nil).Want(204)
		var n int
		if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM notification_rules WHERE user_id = $1", u.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d rules of a deleted user (%v)", n, err)
		}
		if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM contact_methods WHERE user_id = $1", u.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d methods of a deleted user (%v)", n, err)
		}
	})
}

// TestContactAccess: the store itself refuses other users, whatever calls it.
func TestContactAccess(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	cs := s.App.Contacts
	u, other := s.NewUser(iam.RoleManager), s.NewUser(iam.RoleViewer)
	as := func(id int64, role iam.Role) context.Context {
		return iam.WithPrincipal(context.Background(), iam.Principal{UserID: id, Name: "x", Role: role})
	}
	m, err := cs.CreateMethod(as(u.ID, iam.RoleManager), u.ID, notify.NewMethod{Kind: notify.KindEmail, Address: "u@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"list": func() error { _, err := cs.Methods(as(other.ID, iam.RoleViewer), u.ID); return err }(),
		"create": func() error {
			_, err := cs.CreateMethod(as(other.ID, iam.RoleViewer), u.ID, notify.NewMethod{Kind: "email", Address: "x@example.com"})
			return err
		}(),
		"update": func() error {
			_, err := cs.UpdateMethod(as(other.ID, iam.RoleViewer), u.ID, m.ID, notify.MethodPatch{}, 0)
			return err
		}(),
		"delete": cs.DeleteMethod(as(other.ID, iam.RoleViewer), u.ID, m.ID),
		"rule": func() error {
			_, err := cs.CreateRule(as(other.ID, iam.RoleViewer), u.ID, notify.NewRule{MethodID: m.ID})
			return err
		}(),
		// A manager is no admin.
		"manager": func() error { _, err := cs.Methods(as(other.ID, iam.RoleManager), u.ID); return err }(),
		// A token without a user is nobody's self.
		"userless": func() error { _, err := cs.Methods(as(0, iam.RoleManager), u.ID); return err }(),
	} {
		if !errs.Is(err, errs.KindForbidden) {
			t.Errorf("%s: %v; want forbidden", name, err)
		}
	}
	if l, err := cs.Methods(as(0, iam.RoleAdmin), u.ID); err != nil || len(l) != 1 {
		t.Fatalf("an admin token: %v, %v", l, err)
	}
	if notify.RuleDelayText(0) != "at once" || notify.RuleDelayText(5) != "after 5 minutes" || notify.RuleDelayText(90) != "after 1 hour 30 minutes" {
		t.Fatalf("delay texts: %q %q %q", notify.RuleDelayText(0), notify.RuleDelayText(5), notify.RuleDelayText(90))
	}
}
