package api_test

import (
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestRulesAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		manager, responder, viewer := c.user(iam.RoleManager), c.user(iam.RoleResponder), c.user(iam.RoleViewer)
		svc := s.NewService("api")

		// Event rules.
		r := c.do("POST", "/api/v1/rules", manager.Token, map[string]any{"name": "drop test noise", "condition": `labels.env == "test"`,
			"actions": map[string]any{"drop": true}}).Want(201).Map()
		if r["enabled"] != true || r["id"] == nil {
			t.Fatalf("created rule: %v", r)
		}
		rid := int64(r["id"].(float64))
		wantProblem(c.do("POST", "/api/v1/rules", manager.Token, map[string]any{"name": "x", "condition": "labels.env ==",
			"actions": map[string]any{"suppress": true}}), 400, "condition")
		wantProblem(c.do("POST", "/api/v1/rules", manager.Token, map[string]any{"name": "x", "condition": "true",
			"actions": map[string]any{"suppress": true}, "service_id": 424242}), 400, "service_id")
		wantProblem(c.do("POST", "/api/v1/rules", responder.Token, map[string]any{"name": "x", "condition": "true", "actions": map[string]any{"drop": true}}), 403)
		c.do("PUT", path("/api/v1/rules/%d", rid), manager.Token, map[string]any{"name": "drop test noise", "condition": `labels.env in ["test", "dev"]`,
			"actions": map[string]any{"drop": true}, "enabled": false}).Want(200)
		got := c.do("GET", path("/api/v1/rules/%d", rid), viewer.Token, nil).Want(200).Map()
		if got["enabled"] != false || got["condition"] != `labels.env in ["test", "dev"]` {
			t.Fatalf("updated rule: %v", got)
		}
		l, _ := items(c.do("GET", "/api/v1/rules", viewer.Token, nil).Want(200))
		if len(l) != 1 {
			t.Fatalf("rules: %v", l)
		}
		res := c.do("POST", "/api/v1/rules/test", viewer.Token, map[string]any{"condition": `summary contains "disk" && severity == "critical"`,
			"event": map[string]any{"summary": "disk full", "severity": "critical"}}).Want(200).Map()
		if res["matched"] != true {
			t.Fatalf("test: %v", res)
		}
		c.do("DELETE", path("/api/v1/rules/%d", rid), manager.Token, nil).Want(204)
		wantProblem(c.do("DELETE", path("/api/v1/rules/%d", rid), manager.Token, nil), 404)

		// Silences: matchers as a string, ended by DELETE.
		si := c.do("POST", "/api/v1/silences", responder.Token, map[string]any{"matchers": `{alertname="DiskFull", host=~"db-.*"}`,
			"ends_at": s.Clock.Now().Add(2 * time.Hour).Format(time.RFC3339), "comment": "replacing disks"}).Want(201).Map()
		if m := si["matchers"].([]any); len(m) != 2 || si["created_by"] != responder.Email {
			t.Fatalf("silence: %v", si)
		}
		wantProblem(c.do("POST", "/api/v1/silences", responder.Token, map[string]any{"matchers": []string{`a=~".*"`},
			"ends_at": s.Clock.Now().Add(time.Hour).Format(time.RFC3339), "comment": "everything"}), 400)
		wantProblem(c.do("POST", "/api/v1/silences", responder.Token, map[string]any{"matchers": `{a="b"}`,
			"ends_at": s.Clock.Now().Add(-time.Hour).Format(time.RFC3339), "comment": "past"}), 400, "ends_at")
		sid := int64(si["id"].(float64))
		c.do("DELETE", path("/api/v1/silences/%d", sid), responder.Token, nil).Want(204)
		if l, _ := items(c.do("GET", "/api/v1/silences", viewer.Token, nil).Want(200)); len(l) != 0 {
			t.Fatalf("active silences after expiry: %v", l)
		}
		if l, _ := items(c.do("GET", "/api/v1/silences?expired=true", viewer.Token, nil).Want(200)); len(l) != 1 {
			t.Fatalf("all silences: %v", l)
		}

		// Maintenance windows: recurring, in a time zone.
		w := c.do("POST", "/api/v1/maintenance-windows", manager.Token, map[string]any{"name": "Sunday patching", "time_zone": "Europe/Berlin",
			"recurrence": map[string]any{"days": []string{"sun"}, "start_time": "02:00", "duration_minutes": 120}, "service_ids": []int64{svc.ID}}).Want(201).Map()
		wid := int64(w["id"].(float64))
		wantProblem(c.do("POST", "/api/v1/maintenance-windows", manager.Token, map[string]any{"name": "bad", "time_zone": "Mars/Base",
			"recurrence": map[string]any{"days": []string{"sun"}, "start_time": "02:00", "duration_minutes": 120}}), 400, "time_zone")
		c.do("PUT", path("/api/v1/maintenance-windows/%d", wid), manager.Token, map[string]any{"name": "Sunday patching", "time_zone": "Europe/Berlin",
			"recurrence": map[string]any{"days": []string{"sun", "sat"}, "start_time": "03:00", "duration_minutes": 60}, "service_ids": []int64{svc.ID}}).Want(200)
		c.do("GET", path("/api/v1/maintenance-windows/%d", wid), viewer.Token, nil).Want(200)
		c.do("DELETE", path("/api/v1/maintenance-windows/%d", wid), manager.Token, nil).Want(204)

		// Inhibit rules.
		ir := c.do("POST", "/api/v1/inhibit-rules", manager.Token, map[string]any{"name": "node down mutes pods",
			"source_matchers": `{alertname="NodeDown"}`, "target_matchers": []string{`alertname="PodDown"`}, "equal": []string{"node"}}).Want(201).Map()
		c.do("DELETE", path("/api/v1/inhibit-rules/%d", int64(ir["id"].(float64))), manager.Token, nil).Want(204)
		wantProblem(c.do("POST", "/api/v1/inhibit-rules", manager.Token, map[string]any{"name": "x", "source_matchers": "{", "target_matchers": "{a=\"b\"}"}), 400)

		if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'rule.%' OR action LIKE 'silence.%' OR action LIKE 'maintenance%' OR action LIKE 'inhibit%'"); n < 8 {
			t.Fatalf("%d audit entries for rule changes", n)
		}
	})
}
