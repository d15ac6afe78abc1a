package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestServiceAlertEventCommands(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}

		code, out, errs := run(t, env, "service", "create", "Checkout", "--description", "Takes the money", "--criticality", "critical",
			"--label", "tier=1", "--label", "region=eu", "--group-by", "alertname,instance", "--group-window", "10m", "-o", "json")
		if code != 0 {
			t.Fatalf("service create: %d %s", code, errs)
		}
		var svc struct {
			ID          int64             `json:"id"`
			Criticality string            `json:"criticality"`
			Labels      map[string]string `json:"labels"`
			GroupBy     []string          `json:"group_by"`
			GroupWindow int               `json:"group_window_seconds"`
			Version     int64             `json:"version"`
			Description string            `json:"description"`
		}
		if err := json.Unmarshal([]byte(out), &svc); err != nil || svc.ID == 0 || svc.Criticality != "critical" || svc.Labels["region"] != "eu" ||
			len(svc.GroupBy) != 2 || svc.GroupWindow != 600 {
			t.Fatalf("service create output %q: %v", out, err)
		}
		sid := itoa(svc.ID)
		code, out, _ = run(t, env, "service", "list")
		if code != 0 || !strings.Contains(out, "Checkout") || !strings.Contains(out, "CRITICALITY") {
			t.Fatalf("service list: %d %q", code, out)
		}
		code, out, _ = run(t, env, "service", "get", sid, "-o", "yaml")
		if code != 0 || !strings.Contains(out, "name: Checkout") {
			t.Fatalf("service get: %d %q", code, out)
		}
		code, out, errs = run(t, env, "service", "update", sid, "--description", "Takes all the money", "--label", "tier=0", "-o", "json")
		svc.Labels = nil
		_ = json.Unmarshal([]byte(out), &svc)
		if code != 0 || svc.Description != "Takes all the money" || len(svc.Labels) != 1 || svc.Labels["tier"] != "0" || svc.Version != 2 {
			t.Fatalf("service update: %d %q %q", code, out, errs)
		}
		if code, _, _ = run(t, env, "service", "update", sid); code != 2 {
			t.Fatalf("update without flags: exit %d, want 2", code)
		}
		if code, _, _ = run(t, env, "service", "create", "Bad", "--label", "novalue"); code != 2 {
			t.Fatalf("a label without =: exit %d, want 2", code)
		}
		code, _, errs = run(t, env, "service", "create", "Worse", "--criticality", "huge")
		if code != 1 || !strings.Contains(errs, "criticality:") {
			t.Fatalf("bad criticality: %d %q", code, errs)
		}

		code, out, errs = run(t, env, "service", "key", "create", sid, "--name", "prometheus", "-o", "json")
		var key struct {
			ID  int64  `json:"id"`
			Key string `json:"key"`
		}
		if err := json.Unmarshal([]byte(out), &key); code != 0 || err != nil || len(key.Key) != 32 {
			t.Fatalf("key create: %d %q %q", code, out, errs)
		}
		code, out, _ = run(t, env, "service", "key", "list", sid)
		if code != 0 || !strings.Contains(out, "prometheus") || !strings.Contains(out, key.Key) {
			t.Fatalf("key list: %d %q", code, out)
		}

		// Events go in with the integration key, not the API token.
		code, out, errs = run(t, map[string]string{"STEADY_SERVER": s.URL}, "event", "send", "--key", key.Key, "--summary", "disk full on db-1",
			"--dedup-key", "disk", "--severity", "critical", "--host", "db-1", "--label", "mount=/var")
		if code != 0 || !strings.Contains(out, "DEDUP KEY") || !strings.Contains(out, "disk") || !strings.Contains(out, "created") {
			t.Fatalf("event send: %d %q %q", code, out, errs)
		}
		keyEnv := map[string]string{"STEADY_SERVER": s.URL, "STEADY_INTEGRATION_KEY": key.Key}
		code, out, _ = run(t, keyEnv, "event", "send", "--summary", "disk full on db-1", "--dedup-key", "disk", "-o", "json")
		if code != 0 || !strings.Contains(out, `"change": "updated"`) {
			t.Fatalf("event send with the key from the environment: %d %q", code, out)
		}
		code, out, _ = run(t, keyEnv, "event", "send", "--summary", "no key given")
		if code != 0 || !strings.Contains(out, "created") {
			t.Fatalf("event send without a dedup key: %d %q", code, out)
		}
		code, out, _ = run(t, env, "alert", "list", "--service", sid, "--status", "triggered")
		if code != 0 || !strings.Contains(out, "disk full on db-1") || !strings.Contains(out, "SEVERITY") {
			t.Fatalf("alert list: %d %q", code, out)
		}
		var alerts struct {
			Items []struct {
				ID       int64  `json:"id"`
				DedupKey string `json:"dedup_key"`
				Count    int    `json:"count"`
				Severity string `json:"severity"`
			} `json:"items"`
		}
		code, out, _ = run(t, env, "alert", "list", "--service", sid, "-o", "json")
		if err := json.Unmarshal([]byte(out), &alerts); code != 0 || err != nil || len(alerts.Items) != 2 || alerts.Items[1].DedupKey != "disk" || alerts.Items[1].Count != 2 {
			t.Fatalf("alert list json: %d %q", code, out)
		}
		code, out, _ = run(t, env, "alert", "get", itoa(alerts.Items[1].ID))
		if code != 0 || !strings.Contains(out, "last_event") || !strings.Contains(out, "dedup_key:") {
			t.Fatalf("alert get: %d %q", code, out)
		}
		code, out, _ = run(t, keyEnv, "event", "send", "--action", "resolve", "--dedup-key", "disk")
		if code != 0 || !strings.Contains(out, "resolved") {
			t.Fatalf("resolve: %d %q", code, out)
		}
		code, out, _ = run(t, env, "alert", "list", "--service", sid, "--status", "open")
		if code != 0 || strings.Contains(out, "disk full") || !strings.Contains(out, "no key given") {
			t.Fatalf("open alerts: %d %q", code, out)
		}

		// Refusals say what is wrong.
		code, _, errs = run(t, map[string]string{"STEADY_SERVER": s.URL}, "event", "send", "--summary", "x")
		if code != 2 || !strings.Contains(errs, "--key") {
			t.Fatalf("no key: %d %q", code, errs)
		}
		code, _, errs = run(t, keyEnv, "event", "send", "--summary", "x", "--action", "explode")
		if code != 2 || !strings.Contains(errs, "--action") {
			t.Fatalf("bad action: %d %q", code, errs)
		}
		code, _, errs = run(t, keyEnv, "event", "send")
		if code != 1 || !strings.Contains(errs, "summary") {
			t.Fatalf("a trigger without summary: %d %q", code, errs)
		}
		code, _, errs = run(t, map[string]string{"STEADY_SERVER": s.URL, "STEADY_INTEGRATION_KEY": s.AdminToken}, "event", "send", "--summary", "x")
		if code != 1 || !strings.Contains(errs, "refused the integration key") {
			t.Fatalf("an API token as key: %d %q", code, errs)
		}
		code, out, _ = run(t, env, "service", "key", "revoke", sid, itoa(key.ID))
		if code != 0 || !strings.Contains(out, "revoked_at") {
			t.Fatalf("key revoke: %d %q", code, out)
		}
		code, _, errs = run(t, keyEnv, "event", "send", "--summary", "after revoke")
		if code != 1 || !strings.Contains(errs, "refused the integration key") {
			t.Fatalf("a revoked key: %d %q", code, errs)
		}
		code, out, _ = run(t, env, "service", "delete", sid)
		if code != 0 || !strings.Contains(out, "deleted service "+sid) {
			t.Fatalf("service delete: %d %q", code, out)
		}
		code, _, errs = run(t, env, "service", "get", sid)
		if code != 1 || !strings.Contains(errs, "not found") {
			t.Fatalf("deleted service: %d %q", code, errs)
		}
	})
}
