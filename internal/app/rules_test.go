package app_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// Event rules, silences, maintenance windows and inhibition act on events
// that come in through the real endpoints.
func TestRulesApplyToIngest(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		api, dbs := s.NewService("api"), s.NewService("databases")
		admin := s.AdminToken
		send := func(key string, ev map[string]any) string {
			t.Helper()
			r := s.Do("POST", "/api/v1/events", "", ev, "X-Routing-Key", key).Want(202).Map()
			return r["results"].([]any)[0].(map[string]any)["change"].(string)
		}
		incidents := func(svc int64) int {
			t.Helper()
			var n int
			if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM incidents WHERE service_id = $1", svc).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		s.Do("POST", "/api/v1/rules", admin, map[string]any{"name": "drop test", "condition": `labels.env == "test"`, "actions": map[string]any{"drop": true}}).Want(201)
		s.Do("POST", "/api/v1/rules", admin, map[string]any{"name": "postgres to the DB service", "condition": `labels.component == "postgres"`,
			"actions": map[string]any{"route_to_service_id": dbs.ID, "set_priority": "P1", "add_labels": map[string]string{"routed": "yes"}}}).Want(201)

		if c := send(api.Key, map[string]any{"summary": "noise", "dedup_key": "n1", "labels": map[string]string{"env": "test"}}); c != "dropped" {
			t.Fatalf("drop rule: %s", c)
		}
		var n int
		s.App.DB.R.QueryRow("SELECT COUNT(*) FROM alerts WHERE dedup_key = 'n1'").Scan(&n)
		if n != 0 {
			t.Fatal("a dropped event became an alert")
		}
		send(api.Key, map[string]any{"summary": "replication lag", "dedup_key": "pg1", "labels": map[string]string{"component": "postgres"}})
		var pri, labels string
		if err := s.App.DB.R.QueryRow("SELECT i.priority, a.labels FROM alerts a JOIN incidents i ON i.id = a.incident_id WHERE a.dedup_key = 'pg1' AND a.service_id = $1", dbs.ID).Scan(&pri, &labels); err != nil || pri != "P1" {
			t.Fatalf("re-route and priority: %q %v", pri, err)
		}

		// A silence: the alert is stored, suppressed, and opens no incident
		// until the silence is over and the alert fires again.
		si := s.Do("POST", "/api/v1/silences", admin, map[string]any{"matchers": `{alertname="DiskFull"}`,
			"ends_at": s.Clock.Now().Add(time.Hour).Format(time.RFC3339), "comment": "replacing disks"}).Want(201).Map()
		if c := send(api.Key, map[string]any{"summary": "disk full", "dedup_key": "disk", "labels": map[string]string{"alertname": "DiskFull"}}); c != "created" {
			t.Fatalf("silenced event: %s", c)
		}
		var sup string
		s.App.DB.R.QueryRow("SELECT suppressed FROM alerts WHERE dedup_key = 'disk'").Scan(&sup)
		if sup == "" || incidents(api.ID) != 0 {
			t.Fatalf("silenced alert: suppressed %q, %d incidents", sup, incidents(api.ID))
		}
		s.Do("DELETE", "/api/v1/silences/"+itoa(int64(si["id"].(float64))), admin, nil).Want(204)
		if c := send(api.Key, map[string]any{"summary": "disk full", "dedup_key": "disk", "labels": map[string]string{"alertname": "DiskFull"}}); c != "unsuppressed" {
			t.Fatalf("after the silence: %s", c)
		}
		if incidents(api.ID) != 1 {
			t.Fatal("an alert that fires after its silence opened no incident")
		}

		// A maintenance window on the service, and the severity seen by matchers.
		s.Do("POST", "/api/v1/maintenance-windows", admin, map[string]any{"name": "upgrade", "starts_at": s.Clock.Now().Add(-time.Minute).Format(time.RFC3339),
			"ends_at": s.Clock.Now().Add(time.Hour).Format(time.RFC3339), "service_ids": []int64{dbs.ID}}).Want(201)
		send(dbs.Key, map[string]any{"summary": "db restarting", "dedup_key": "restart"})
		s.App.DB.R.QueryRow("SELECT suppressed FROM alerts WHERE dedup_key = 'restart'").Scan(&sup)
		if sup == "" || incidents(dbs.ID) != 1 {
			t.Fatalf("maintenance: suppressed %q, %d incidents", sup, incidents(dbs.ID))
		}

		// Inhibition: an open NodeDown mutes the PodDown of the same node.
		s.Do("POST", "/api/v1/inhibit-rules", admin, map[string]any{"name": "node down", "source_matchers": `{alertname="NodeDown"}`,
			"target_matchers": `{alertname="PodDown"}`, "equal": []string{"node"}}).Want(201)
		send(api.Key, map[string]any{"summary": "node n1 down", "dedup_key": "node-n1", "labels": map[string]string{"alertname": "NodeDown", "node": "n1"}})
		send(api.Key, map[string]any{"summary": "pod on n1 down", "dedup_key": "pod-n1", "labels": map[string]string{"alertname": "PodDown", "node": "n1"}})
		send(api.Key, map[string]any{"summary": "pod on n2 down", "dedup_key": "pod-n2", "labels": map[string]string{"alertname": "PodDown", "node": "n2"}})
		var inhibited, free string
		s.App.DB.R.QueryRow("SELECT suppressed FROM alerts WHERE dedup_key = 'pod-n1'").Scan(&inhibited)
		s.App.DB.R.QueryRow("SELECT suppressed FROM alerts WHERE dedup_key = 'pod-n2'").Scan(&free)
		if inhibited != "inhibited" || free != "" {
			t.Fatalf("inhibition: n1 %q, n2 %q", inhibited, free)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
