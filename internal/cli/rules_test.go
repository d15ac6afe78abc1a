package cli_test

import (
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestRuleCommands(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	svc := s.NewService("api")
	env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		return out
	}
	ok("rule", "create", "--name", "drop staging", "--condition", `labels.env == "staging"`, "--drop")
	if out := ok("rule", "list"); !strings.Contains(out, "drop staging") {
		t.Fatalf("rule list: %q", out)
	}
	if out := ok("rule", "test", `labels.env == "staging"`, "--label", "env=staging"); !strings.Contains(out, "matches") || strings.Contains(out, "does not") {
		t.Fatalf("rule test: %q", out)
	}
	if code, _, errs := run(t, env, "rule", "create", "--name", "bad", "--condition", "labels.env ==", "--suppress"); code != 1 || !strings.Contains(errs, "condition") {
		t.Fatalf("bad condition: %d %q", code, errs)
	}
	ok("silence", "create", `{alertname="DiskFull"}`, "--for", "2h", "--comment", "replacing disks")
	if out := ok("silence", "list"); !strings.Contains(out, "replacing disks") {
		t.Fatalf("silence list: %q", out)
	}
	ok("maintenance", "create", "--name", "patching", "--days", "sun", "--at", "02:00", "--minutes", "90", "--tz", "Europe/Berlin", "--service", itoa(svc.ID))
	if out := ok("maintenance", "list"); !strings.Contains(out, "patching") {
		t.Fatalf("maintenance list: %q", out)
	}
	ok("inhibit", "create", "--name", "node down", "--source", `{alertname="NodeDown"}`, "--target", `{alertname="PodDown"}`, "--equal", "node")
	if out := ok("inhibit", "list", "-o", "json"); !strings.Contains(out, "NodeDown") {
		t.Fatalf("inhibit list: %q", out)
	}
	ok("inhibit", "delete", "1")
	ok("silence", "expire", "1")
}
