package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestCMDBTopologyCommands(t *testing.T) {
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
	if out := ok("cmdb", "mapping", "list"); !strings.Contains(out, "instance") || !strings.Contains(out, "external_id") {
		t.Fatalf("mapping list: %q", out)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yaml")
	os.WriteFile(file, []byte("- label: node\n  match: name\n  strip_port: true\n- label: host\n  match: external_id\n"), 0o600)
	if out := ok("cmdb", "mapping", "set", "--file", file); !strings.Contains(out, "node") || strings.Contains(out, "instance") {
		t.Fatalf("mapping set: %q", out)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"rules":[{"label":"x","match":"nope"}]}`), 0o600)
	if code, _, errs := run(t, env, "cmdb", "mapping", "set", "--file", bad); code != 1 || !strings.Contains(errs, "rules[0].match") {
		t.Fatalf("bad rules: %d %q", code, errs)
	}

	// An incident on a CI named through the new rule.
	var ci struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", "/api/v1/cis", s.AdminToken, map[string]any{"class": "server", "name": "node-7"}).Want(201).JSON(&ci)
	svc := s.NewService("api")
	// Event mapping never waits for the graph: it picks up a change made
	// here within moments, in the background. Wait for it once.
	if _, err := s.App.CMDB.FreshGraph(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Do("POST", "/api/v1/events", "", map[string]any{"summary": "down", "labels": map[string]string{"node": "node-7:9100"}},
		"Authorization", "Bearer "+svc.Key).Want(202)
	var inc int64
	if err := s.App.DB.R.QueryRow("SELECT incident_id FROM alerts WHERE ci_id = $1", ci.ID).Scan(&inc); err != nil {
		t.Fatal(err)
	}
	out := ok("cmdb", "topology", fmt.Sprintf("INC-%d", inc))
	if !strings.Contains(out, "Probable root cause:\n  1. node-7 (server") || !strings.Contains(out, "Affected CIs:\n  node-7") {
		t.Fatalf("topology: %q", out)
	}
	out = ok("cmdb", "root-cause", fmt.Sprintf("INC-%d", inc), fmt.Sprint(ci.ID))
	if !strings.Contains(out, "node-7") || !strings.Contains(out, "confirmed") {
		t.Fatalf("root-cause: %q", out)
	}
	if code, _, _ := run(t, env, "cmdb", "root-cause", fmt.Sprintf("INC-%d", inc), "abc"); code == 0 {
		t.Fatal("a CI id that is not a number was accepted")
	}
}
