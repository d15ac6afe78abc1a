package cli_test

import (
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestRelationAndImpactCommands(t *testing.T) {
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
	for _, ci := range [][2]string{{"business_service", "Shop"}, {"application", "shop-app"}, {"load_balancer", "shop-pool"},
		{"service_instance", "web-1"}, {"service_instance", "web-2"}, {"virtual_machine", "vm-1"}} {
		s.Do("POST", "/api/v1/cis", s.AdminToken, map[string]any{"class": ci[0], "name": ci[1]}).Want(201)
	}
	ok("relation", "add", "Shop", "depends_on", "shop-app")
	ok("relation", "add", "shop-app", "depends_on", "shop-pool")
	ok("relation", "add", "web-1", "member_of", "shop-pool")
	ok("relation", "add", "web-2", "member_of", "shop-pool")
	if out := ok("relation", "add", "web-1", "runs_on", "vm-1"); !strings.Contains(out, "runs_on") || !strings.Contains(out, "vm-1") {
		t.Fatalf("relation add: %q", out)
	}
	if code, _, errs := run(t, env, "relation", "add", "vm-1", "depends_on", "Shop"); code != 1 || !strings.Contains(errs, "cycle") ||
		!strings.Contains(errs, "has member web-1") {
		t.Fatalf("a cycle: %d %q", code, errs)
	}
	if code, _, errs := run(t, env, "relation", "add", "vm-1", "lives_on", "Shop"); code != 1 || !strings.Contains(errs, "type") {
		t.Fatalf("a bad type: %d %q", code, errs)
	}
	if code, _, _ := run(t, env, "relation", "add", "vm-1", "depends_on"); code != 2 {
		t.Fatalf("two arguments: exit %d", code)
	}
	out := ok("relation", "list", "shop-pool")
	if !strings.Contains(out, "SOURCE NAME") || strings.Count(out, "member_of") != 2 || !strings.Contains(out, "shop-app") {
		t.Fatalf("relation list: %q", out)
	}

	out = ok("impact", "vm-1")
	for _, want := range []string{"vm-1 (virtual_machine): 4 CIs affected if it fails (depth 5)", "web-1", "shop-pool", "member_of",
		"Impacted business services: Shop"} {
		if !strings.Contains(out, want) {
			t.Fatalf("impact: %q lacks %q", out, want)
		}
	}
	if out := ok("impact", "vm-1", "--depth", "2"); !strings.Contains(out, "2 CIs affected") || !strings.Contains(out, "Impacted business services: none") {
		t.Fatalf("impact to depth 2: %q", out)
	}
	if out := ok("impact", "Shop", "--upstream"); !strings.Contains(out, "5 CIs depended on") || !strings.Contains(out, "vm-1") {
		t.Fatalf("upstream: %q", out)
	}
	if out := ok("impact", "vm-1", "-o", "json"); !strings.Contains(out, `"services"`) || !strings.Contains(out, `"paths"`) {
		t.Fatalf("impact as JSON: %q", out)
	}
	if code, _, errs := run(t, env, "impact", "no-such-ci"); code != 1 || !strings.Contains(errs, "no-such-ci") {
		t.Fatalf("impact of nothing: %d %q", code, errs)
	}
	if code, _, errs := run(t, env, "impact", "vm-1", "--depth", "30"); code != 1 || !strings.Contains(errs, "depth") {
		t.Fatalf("impact too deep: %d %q", code, errs)
	}

	// Redundancy: one of two members is enough.
	if out := ok("relation", "redundancy", "shop-pool", "1"); !strings.Contains(out, "min_up:   1") && !strings.Contains(out, "1") {
		t.Fatalf("redundancy: %q", out)
	}
	if out := ok("impact", "vm-1"); !strings.Contains(out, "1 CI affected") || !strings.Contains(out, "Impacted business services: none") {
		t.Fatalf("impact with redundancy: %q", out)
	}
	if out := ok("relation", "redundancy", "shop-pool"); !strings.Contains(out, "members") {
		t.Fatalf("redundancy shown: %q", out)
	}
	ok("relation", "redundancy", "shop-pool", "--clear")
	if out := ok("impact", "vm-1"); !strings.Contains(out, "Impacted business services: Shop") {
		t.Fatalf("impact without the rule: %q", out)
	}
	id := strings.Fields(strings.Split(ok("relation", "list", "vm-1"), "\n")[1])[0]
	ok("relation", "delete", id)
	if out := ok("impact", "vm-1"); !strings.Contains(out, "0 CIs affected") {
		t.Fatalf("after removing the relation: %q", out)
	}
}
