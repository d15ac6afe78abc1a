package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestIncidentCommands(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("billing")
		env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken, "STEADY_INTEGRATION_KEY": svc.Key}
		if code, _, errs := run(t, env, "event", "send", "--summary", "Invoice run failed", "--severity", "critical", "--dedup-key", "inv"); code != 0 {
			t.Fatalf("event send: %s", errs)
		}
		code, out, errs := run(t, env, "incident", "list", "--status", "open")
		if code != 0 || !strings.Contains(out, "Invoice run failed") || !strings.Contains(out, "triggered") {
			t.Fatalf("list: %d %q %q", code, out, errs)
		}
		code, out, _ = run(t, env, "incident", "list", "-o", "json")
		var l struct{ Items []struct{ Number string } }
		if json.Unmarshal([]byte(out), &l); code != 0 || len(l.Items) != 1 {
			t.Fatalf("list json: %q", out)
		}
		num := l.Items[0].Number
		if code, out, errs = run(t, env, "incident", "ack", num); code != 0 || !strings.Contains(out, "acknowledged") {
			t.Fatalf("ack: %q %q", out, errs)
		}
		if code, _, errs = run(t, env, "incident", "note", num, "follow-up: alert earlier"); code != 0 {
			t.Fatalf("note: %s", errs)
		}
		if code, out, errs = run(t, env, "incident", "resolve", num, "--note", "re-ran the invoices"); code != 0 || !strings.Contains(out, "re-ran the invoices") {
			t.Fatalf("resolve: %q %q", out, errs)
		}
		code, out, _ = run(t, env, "incident", "timeline", num)
		if code != 0 || !strings.Contains(out, "acknowledged") || !strings.Contains(out, "follow-up: alert earlier") {
			t.Fatalf("timeline: %q", out)
		}
		code, out, _ = run(t, env, "incident", "report", num)
		if code != 0 || !strings.Contains(out, "# "+num+": Invoice run failed") || !strings.Contains(out, "- [ ] follow-up: alert earlier") {
			t.Fatalf("report: %q", out)
		}
		code, out, _ = run(t, env, "incident", "search", "invoices")
		if code != 0 || !strings.Contains(out, num) {
			t.Fatalf("search: %q", out)
		}
		if code, _, errs = run(t, env, "incident", "close", num); code != 0 {
			t.Fatalf("close: %s", errs)
		}
		code, _, errs = run(t, env, "incident", "ack", num)
		if code != 1 || !strings.Contains(errs, "closed") {
			t.Fatalf("ack of a closed incident: %d %q", code, errs)
		}
		if code, out, errs = run(t, env, "incident", "create", "--title", "Phones down in the call centre", "--impact", "1", "--urgency", "1"); code != 0 || !strings.Contains(out, "P1") {
			t.Fatalf("create: %q %q", out, errs)
		}
		if code, _, _ = run(t, env, "incident", "show", "INC-9999"); code != 1 {
			t.Fatal("an unknown incident must fail")
		}
	})
}
