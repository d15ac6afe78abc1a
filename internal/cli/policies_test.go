package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestEscalationPolicyCommands(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}
		ok := func(args ...string) string {
			t.Helper()
			code, out, errs := run(t, env, args...)
			if code != 0 {
				t.Fatalf("%v: %d %s", args, code, errs)
			}
			return out
		}
		alice := s.NewUser(iam.RoleResponder)
		ok("team", "create", "Ops")
		if _, err := s.App.DB.W.Exec(`INSERT INTO schedules (name, description, time_zone, created_at, updated_at)
			VALUES ('Primary', '', 'UTC', 1, 1)`); err != nil {
			t.Fatal(err)
		}

		// Create from flags, targets by name (a user by email) and by id.
		out := ok("escalation-policy", "create", "--name", "Checkout", "--repeat", "1",
			"--level", "5m:user="+alice.Email+",schedule=Primary", "--level", "10:team=Ops,user="+itoa(s.AdminID))
		for _, want := range []string{"Checkout (id 1, version 1)", "Level 1: page user Test responder, schedule Primary; after 5 min → level 2",
			"Level 2: page team Ops, user", "after 10 min → the end of the pass", "Repeat 1 more time(s)"} {
			if !strings.Contains(out, want) {
				t.Fatalf("create output lacks %q:\n%s", want, out)
			}
		}
		// The alias, and JSON output.
		var p struct {
			ID     int64 `json:"id"`
			Levels []struct {
				DelayMinutes int `json:"delay_minutes"`
				Targets      []struct {
					Kind string `json:"kind"`
					ID   int64  `json:"id"`
				} `json:"targets"`
			} `json:"levels"`
		}
		if err := json.Unmarshal([]byte(ok("policy", "show", "1", "-o", "json")), &p); err != nil || len(p.Levels) != 2 ||
			p.Levels[1].DelayMinutes != 10 || p.Levels[0].Targets[0].ID != alice.ID {
			t.Fatalf("show: %+v %v", p, err)
		}

		// Mistakes: usage errors (2) before anything is sent; the server's field errors (1).
		for _, bad := range [][]string{
			{"escalation-policy", "create", "--name", "x", "--level", "5m-user=1"},
			{"escalation-policy", "create", "--name", "x", "--level", "90s:user=1"},
			{"escalation-policy", "create", "--name", "x", "--level", "5m:pager=1"},
			{"escalation-policy", "create"},
		} {
			if code, _, errs := run(t, env, bad...); code != 2 {
				t.Errorf("%v: exit %d, want 2 (%s)", bad, code, errs)
			}
		}
		code, _, errs := run(t, env, "escalation-policy", "create", "--name", "x", "--level", "5m:user=nobody@example.com", "--level", "0m:team=Ops")
		if code != 1 || !strings.Contains(errs, "levels[0].targets[0].name") || !strings.Contains(errs, "levels[1].delay_minutes") {
			t.Fatalf("server-side validation: %d %q", code, errs)
		}

		// Create from a YAML file; replace from a JSON file on stdin is not needed: a file will do.
		dir := t.TempDir()
		yml := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(yml, []byte("name: Storage\ndescription: Disks\nlevels:\n  - delay_minutes: 15\n    targets:\n      - {kind: team, name: Ops}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out := ok("escalation-policy", "create", "--file", yml); !strings.Contains(out, "Storage (id 2") || !strings.Contains(out, "page team Ops") {
			t.Fatalf("create from a file:\n%s", out)
		}
		if out := ok("escalation-policy", "replace", "2", "--file", yml, "--repeat", "3"); !strings.Contains(out, "version 2") ||
			!strings.Contains(out, "Repeat 3") {
			t.Fatalf("replace:\n%s", out)
		}

		// Attach to a service by name, see it in the list, refuse to delete, detach, delete.
		out = ok("service", "create", "Payments", "--escalation-policy", "checkout", "-o", "json")
		var svc struct {
			ID     int64  `json:"id"`
			Policy *int64 `json:"escalation_policy_id"`
		}
		if err := json.Unmarshal([]byte(out), &svc); err != nil || svc.Policy == nil || *svc.Policy != 1 {
			t.Fatalf("service with a policy: %q %v", out, err)
		}
		if code, _, errs := run(t, env, "service", "update", itoa(svc.ID), "--escalation-policy", "Nope"); code != 1 || !strings.Contains(errs, "Nope") {
			t.Fatalf("unknown policy name: %d %q", code, errs)
		}
		if out := ok("escalation-policy", "list"); !strings.Contains(out, "Checkout") || !strings.Contains(out, "Payments") ||
			!strings.Contains(out, "5m: user Test responder, schedule Primary → 10m: team Ops") {
			t.Fatalf("list:\n%s", out)
		}
		if code, _, errs := run(t, env, "escalation-policy", "delete", "1"); code != 1 || !strings.Contains(errs, "Payments") {
			t.Fatalf("delete in use: %d %q", code, errs)
		}
		out = ok("service", "update", itoa(svc.ID), "--escalation-policy", "none", "-o", "json")
		if !strings.Contains(out, `"escalation_policy_id": null`) {
			t.Fatalf("detach: %s", out)
		}
		ok("escalation-policy", "delete", "1")
		if out := ok("policy", "list", "-o", "json"); strings.Contains(out, "Checkout") {
			t.Fatalf("deleted policy still listed: %s", out)
		}
	})
}
