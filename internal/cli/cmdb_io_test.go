package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestCMDBFileCommands(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s %s", args, code, out, errs)
		}
		return out
	}
	estate := filepath.Join("..", "cmdb", "testdata", "estate.csv")
	out := ok("ci", "import", estate, "--dry-run")
	if !strings.Contains(out, "Dry run, nothing changed: 22 rows, 22 created") || !strings.Contains(out, "create  database") {
		t.Fatalf("dry run: %q", out)
	}
	if out := ok("ci", "import", estate); !strings.Contains(out, "Imported: 22 rows, 22 created") || !strings.Contains(out, "25 created") {
		t.Fatalf("import: %q", out)
	}
	if out := ok("ci", "import", estate); !strings.Contains(out, "22 unchanged") {
		t.Fatalf("second import: %q", out)
	}

	// Errors name the row and the field; the exit status says so.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- {class: server, name: good, external_id: g, source: cli}\n- {class: server, name: bad, attributes: {ip: nowhere}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, env, "ci", "import", bad)
	if code == 0 || !strings.Contains(errs, "row 2, attributes.ip: must be an IP address") {
		t.Fatalf("bad file: %d %q", code, errs)
	}
	code, out, _ = run(t, env, "ci", "import", bad, "--valid-only")
	if code == 0 || !strings.Contains(out, "1 created") || !strings.Contains(out, "error: row 2, attributes.ip: must be an IP address") {
		t.Fatalf("valid only: %d %q", code, out)
	}

	// Export, in every format, imports back unchanged.
	for _, f := range []string{"csv", "json", "yaml"} {
		file := filepath.Join(dir, "cis."+f)
		ok("ci", "export", "--file", file)
		if out := ok("ci", "import", file, "--dry-run"); !strings.Contains(out, "0 created, 0 updated, 23 unchanged, 0 with errors; relationships: 0 created, 25 unchanged") {
			t.Fatalf("%s round trip: %q", f, out)
		}
	}
	if out := ok("ci", "export", "--class", "database", "--format", "json"); !strings.Contains(out, `"db-orders"`) || strings.Contains(out, "vm-app-1\"") {
		t.Fatalf("export databases: %q", out)
	}

	// Discovery and the configuration audit.
	feed := filepath.Join(dir, "feed.json")
	if err := os.WriteFile(feed, []byte(`[{"class": "server", "name": "seen", "external_id": "s1"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := ok("cmdb", "discover", "scanner", feed); !strings.Contains(out, "created") || !strings.Contains(out, "1") {
		t.Fatalf("discover: %q", out)
	}
	out = ok("cmdb", "audit")
	if !strings.Contains(out, "production_without_owner") || !strings.Contains(out, "is in production and has no owner team") {
		t.Fatalf("audit: %q", out)
	}
	if out := ok("cmdb", "audit", "--rule", "service_without_dependencies"); !strings.Contains(out, "No findings.") || strings.Contains(out, "not_seen") {
		t.Fatalf("audit one rule: %q", out)
	}
	if code, _, errs := run(t, env, "cmdb", "audit", "--rule", "nonsense"); code == 0 || !strings.Contains(errs, "rule") {
		t.Fatalf("bad rule: %d %q", code, errs)
	}
}
