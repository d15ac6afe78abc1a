package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestCICommands(t *testing.T) {
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

	// Classes: list, show, create from a YAML file.
	if out := ok("ci-class", "list"); !strings.Contains(out, "business_service") || !strings.Contains(out, "load_balancer") {
		t.Fatalf("ci-class list: %q", out)
	}
	if out := ok("ci-class", "show", "server", "-o", "json"); !strings.Contains(out, `"serial"`) {
		t.Fatalf("ci-class show: %q", out)
	}
	file := filepath.Join(t.TempDir(), "rack.yaml")
	if err := os.WriteFile(file, []byte("key: rack\nname: Rack\nattributes:\n  - {key: room, type: string, required: true}\n  - {key: units, type: number}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok("ci-class", "create", "--file", file)
	if code, _, errs := run(t, env, "ci-class", "create", "--file", file); code != 1 || !strings.Contains(errs, "key") {
		t.Fatalf("duplicate class: %d %q", code, errs)
	}

	// CIs: create with attributes, list and search, update, history, delete.
	out := ok("ci", "create", "--class", "server", "--name", "db-host-1", "--attr", "ip=10.0.0.5", "--attr", "cpus=8", "--env", "staging",
		"--lifecycle", "planned", "-o", "json")
	id := regexp.MustCompile(`"id": (\d+)`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("created: %q", out)
	}
	if code, _, errs := run(t, env, "ci", "create", "--class", "server", "--name", "x", "--attr", "ip=nope", "--attr", "colour=red"); code != 1 ||
		!strings.Contains(errs, "attributes.ip") || !strings.Contains(errs, "attributes.colour") {
		t.Fatalf("bad attributes: %d %q", code, errs)
	}
	ok("ci", "create", "--class", "rack", "--name", "R1", "--attr", "room=A")
	if out := ok("ci", "list", "--attr", "ip=10.0.0.5"); !strings.Contains(out, "db-host-1") || strings.Contains(out, "R1") {
		t.Fatalf("ci list --attr: %q", out)
	}
	if out := ok("ci", "list", "--prefix", "db-", "--class", "server"); !strings.Contains(out, "db-host-1") {
		t.Fatalf("ci list --prefix: %q", out)
	}
	if out := ok("ci", "list", "--q", "host", "--env", "production"); strings.Contains(out, "db-host-1") {
		t.Fatalf("ci list --env: %q", out)
	}
	ok("ci", "update", id[1], "--lifecycle", "in_use", "--unset", "cpus", "--attr", "os=Debian")
	if code, _, errs := run(t, env, "ci", "update", id[1], "--lifecycle", "planned"); code != 1 || !strings.Contains(errs, "lifecycle") {
		t.Fatalf("bad transition: %d %q", code, errs)
	}
	if out := ok("ci", "show", id[1], "-o", "json"); !strings.Contains(out, `"os": "Debian"`) || strings.Contains(out, `"cpus"`) ||
		!strings.Contains(out, `"lifecycle": "in_use"`) {
		t.Fatalf("ci show: %q", out)
	}
	if out := ok("ci", "history", id[1]); !strings.Contains(out, "attributes.cpus") || !strings.Contains(out, "lifecycle") {
		t.Fatalf("ci history: %q", out)
	}
	ok("ci", "delete", id[1])
	if code, _, _ := run(t, env, "ci", "show", id[1]); code != 1 {
		t.Fatal("a deleted CI is still shown")
	}
	if code, _, errs := run(t, env, "ci-class", "delete", "rack"); code != 1 || !strings.Contains(errs, "CIs") {
		t.Fatalf("delete a class with CIs: %d %q", code, errs)
	}
}
