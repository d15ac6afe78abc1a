package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestScheduleCommands(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		return out
	}
	newUser := func(name, email string) string {
		var u struct {
			ID int64 `json:"id"`
		}
		s.Do("POST", "/api/v1/users", s.AdminToken, map[string]any{"email": email, "name": name, "role": "responder"}).Want(201).JSON(&u)
		return itoa(u.ID)
	}
	alice, bob := newUser("Alice Archer", "alice@example.com"), newUser("Bob Baker", "bob@example.com")

	dir := t.TempDir()
	yamlFile := filepath.Join(dir, "primary.yaml")
	if err := os.WriteFile(yamlFile, []byte(`name: Primary
time_zone: UTC
description: payments
layers:
  - name: Daily
    start: "2026-01-05T09:00"
    shift_unit: day
    participants: [`+alice+`, `+bob+`]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := ok("schedule", "create", "--file", yamlFile); !strings.Contains(out, "Primary") {
		t.Fatalf("create: %q", out)
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"name": "Bad", "time_zone": "Nowhere/Special", "layers": []}`), 0o600)
	if code, _, errs := run(t, env, "schedule", "create", "--file", bad); code != 1 || !strings.Contains(errs, "time_zone") {
		t.Fatalf("bad create: %d %q", code, errs)
	}
	if out := ok("schedule", "list"); !strings.Contains(out, "Primary") || !strings.Contains(out, "TIME ZONE") {
		t.Fatalf("list: %q", out)
	}
	out := ok("schedule", "show", "primary", "--days", "3")
	if !strings.Contains(out, "Primary  (UTC)") || !strings.Contains(out, "ON CALL") || !strings.Contains(out, "Daily") ||
		!(strings.Contains(out, "Alice Archer") && strings.Contains(out, "Bob Baker")) {
		t.Fatalf("show: %q", out)
	}
	if out := ok("oncall", "now"); !strings.Contains(out, "Primary") || !(strings.Contains(out, "Alice Archer") || strings.Contains(out, "Bob Baker")) {
		t.Fatalf("oncall now: %q", out)
	}

	// An override, named by email, with times in the schedule's zone.
	from := s.Clock.Now().UTC().Add(time.Hour).Truncate(time.Minute)
	start, end := from.Format("2006-01-02T15:04"), from.Add(2*time.Hour).Format("2006-01-02T15:04")
	if code, _, errs := run(t, env, "override", "add", "--schedule", "Primary", "--user", "nobody@example.com", "--start", start, "--end", end); code != 1 ||
		!strings.Contains(errs, "no user") {
		t.Fatalf("unknown user: %d %q", code, errs)
	}
	if code, _, errs := run(t, env, "override", "add", "--schedule", "Primary", "--user", "me", "--start", "soon", "--end", end); code != 2 ||
		!strings.Contains(errs, "--start") {
		t.Fatalf("bad start: %d %q", code, errs)
	}
	ok("override", "add", "--schedule", "Primary", "--user", "alice@example.com", "--replaces", "Bob Baker", "--start", start, "--end", end, "--note", "swap")
	if out := ok("override", "list", "--schedule", "1"); !strings.Contains(out, "Alice Archer") || !strings.Contains(out, "swap") {
		t.Fatalf("override list: %q", out)
	}
	if out := ok("oncall", "now", "--at", from.Add(time.Hour).Format(time.RFC3339)); !strings.Contains(out, "Alice Archer <alice@example.com> (override)") {
		t.Fatalf("oncall now during the override: %q", out)
	}
	if out := ok("oncall", "now", "-o", "json"); !strings.Contains(out, `"schedule_name": "Primary"`) {
		t.Fatalf("oncall now as JSON: %q", out)
	}
	if out := ok("override", "delete", "--schedule", "Primary", "1"); !strings.Contains(out, "removed override 1") {
		t.Fatalf("override delete: %q", out)
	}
	if code, _, errs := run(t, env, "schedule", "show", "Secondary"); code != 1 || !strings.Contains(errs, "no schedule is called") {
		t.Fatalf("unknown schedule: %d %q", code, errs)
	}
	if out := ok("schedule", "delete", "Primary"); !strings.Contains(out, "deleted schedule Primary") {
		t.Fatalf("delete: %q", out)
	}
}
