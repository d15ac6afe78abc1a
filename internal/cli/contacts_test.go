package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestContactCommands(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	u := s.NewUser(iam.RoleViewer)
	env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": u.Token}
	adminEnv := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}
	ok := func(env map[string]string, args ...string) (string, string) {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		return out, errs
	}
	var created struct {
		ID                int64             `json:"id"`
		UserID            int64             `json:"user_id"`
		Secret            string            `json:"secret"`
		Headers           map[string]string `json:"headers"`
		RateLimit         int               `json:"rate_limit"`
		RateWindowSeconds int               `json:"rate_window_seconds"`
	}
	decode := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
	}

	// The caller's own methods by default.
	out, _ := ok(env, "contact", "add", "--kind", "email", "--address", "me@example.com", "--label", "work", "-o", "json")
	decode(out, &created)
	email := created.ID
	if created.UserID != u.ID || created.RateLimit != 10 || created.RateWindowSeconds != 600 || created.Secret != "" {
		t.Fatalf("email method: %+v", created)
	}
	out, errs := ok(env, "contact", "add", "--kind", "webhook", "--address", "https://hooks.example.com/x",
		"--header", "Authorization=Bearer a=b", "--rate-limit", "3", "--rate-window", "2m")
	if !strings.Contains(out, "secret:") || !strings.Contains(errs, "shown only now") {
		t.Fatalf("webhook add: %q %q", out, errs)
	}
	out, _ = ok(env, "contact", "list", "-o", "json")
	var l struct {
		Items []struct {
			ID                int64             `json:"id"`
			Kind              string            `json:"kind"`
			Headers           map[string]string `json:"headers"`
			RateLimit         int               `json:"rate_limit"`
			RateWindowSeconds int               `json:"rate_window_seconds"`
		} `json:"items"`
	}
	decode(out, &l)
	if len(l.Items) != 2 || l.Items[1].Kind != "webhook" || l.Items[1].Headers["Authorization"] != "Bearer a=b" ||
		l.Items[1].RateLimit != 3 || l.Items[1].RateWindowSeconds != 120 {
		t.Fatalf("contact list: %+v", l)
	}
	hook := l.Items[1].ID
	if out, _ := ok(env, "contact", "list"); !strings.Contains(out, "me@example.com") || !strings.Contains(out, "RATE WINDOW SECONDS") {
		t.Fatalf("contact list table: %q", out)
	}
	ok(env, "contact", "update", itoa(email), "--label", "personal", "--rate-window", "1h")
	if out, _ := ok(env, "contact", "get", itoa(email)); !strings.Contains(out, "personal") || !strings.Contains(out, "3600") {
		t.Fatalf("contact get after update: %q", out)
	}
	ok(env, "contact", "update", itoa(hook), "--clear-headers")
	if out, _ := ok(env, "contact", "get", itoa(hook), "-o", "json"); !strings.Contains(out, `"headers": {}`) {
		t.Fatalf("headers not cleared: %q", out)
	}
	out, errs = ok(env, "contact", "rotate-secret", itoa(hook), "-o", "json")
	decode(out, &created)
	if created.Secret == "" || !strings.Contains(errs, "shown only now") {
		t.Fatalf("rotate-secret: %q %q", out, errs)
	}

	// Mistakes: the server's field, or a usage error before any request.
	if code, _, e := run(t, env, "contact", "add", "--kind", "email", "--address", "not-an-email"); code != 1 || !strings.Contains(e, "address") {
		t.Fatalf("bad address: %d %q", code, e)
	}
	if code, _, e := run(t, env, "contact", "add", "--kind", "webhook", "--address", "https://h.example/", "--header", "X-Steady-Event=x"); code != 1 ||
		!strings.Contains(e, "X-Steady-Event") {
		t.Fatalf("reserved header: %d %q", code, e)
	}
	if code, _, e := run(t, env, "contact", "add", "--kind", "webhook", "--address", "https://h.example/", "--header", "novalue"); code != 2 ||
		!strings.Contains(e, "Name=value") {
		t.Fatalf("bad --header: %d %q", code, e)
	}
	if code, _, e := run(t, env, "contact", "update", itoa(email)); code != 2 || !strings.Contains(e, "nothing to change") {
		t.Fatalf("empty update: %d %q", code, e)
	}

	// Rules: "email at once, webhook after 5 minutes".
	ok(env, "notification-rule", "add", "--contact", itoa(hook), "--delay", "5m")
	ok(env, "notification-rule", "add", "--contact", itoa(email))
	out, _ = ok(env, "notification-rule", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "email") || !strings.Contains(lines[2], "webhook") || !strings.Contains(lines[2], " 5") {
		t.Fatalf("rule list: %q", out)
	}
	if code, _, e := run(t, env, "notification-rule", "add", "--contact", itoa(hook), "--delay", "90s"); code != 2 || !strings.Contains(e, "whole number of minutes") {
		t.Fatalf("delay in seconds: %d %q", code, e)
	}
	if code, _, e := run(t, env, "notification-rule", "add", "--contact", itoa(hook), "--delay", "25h"); code != 1 || !strings.Contains(e, "delay_minutes") {
		t.Fatalf("delay over a day: %d %q", code, e)
	}

	// Another user's methods: refused to them, open to an admin with --user.
	other := s.NewUser(iam.RoleResponder)
	otherEnv := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": other.Token}
	if code, _, e := run(t, otherEnv, "contact", "list", "--user", itoa(u.ID)); code != 1 || !strings.Contains(e, "own") {
		t.Fatalf("other user's list: %d %q", code, e)
	}
	if out, _ := ok(adminEnv, "contact", "list", "--user", itoa(u.ID)); !strings.Contains(out, "me@example.com") {
		t.Fatalf("admin list: %q", out)
	}
	if out, _ := ok(adminEnv, "notification-rule", "list", "--user", itoa(u.ID), "-o", "json"); strings.Count(out, `"delay_minutes"`) != 2 {
		t.Fatalf("admin rule list: %q", out)
	}

	// Deleting a method deletes its rules.
	if out, _ := ok(env, "contact", "delete", itoa(hook)); !strings.Contains(out, "and its notification rules") {
		t.Fatalf("delete: %q", out)
	}
	out, _ = ok(env, "notification-rule", "list", "-o", "json")
	var rules struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	decode(out, &rules)
	if len(rules.Items) != 1 {
		t.Fatalf("rules after deleting the webhook: %q", out)
	}
	if out, _ := ok(env, "notification-rule", "delete", itoa(rules.Items[0].ID)); !strings.Contains(out, "deleted notification rule") {
		t.Fatalf("rule delete: %q", out)
	}
}

func TestContactTestCommand(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}
	code, out, errs := run(t, env, "contact", "add", "--kind", "email", "--address", "admin@example.com", "-o", "json")
	if code != 0 {
		t.Fatalf("add: %s", errs)
	}
	var m struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, env, "contact", "test", itoa(m.ID))
	if code != 0 || !strings.Contains(out, "kind:") || !strings.Contains(out, "test") {
		t.Fatalf("contact test: %d %q %q", code, out, errs)
	}
}
