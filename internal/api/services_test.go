package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

type serviceDoc struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	TeamID      *int64            `json:"team_id"`
	Criticality string            `json:"criticality"`
	Labels      map[string]string `json:"labels"`
	AutoResolve bool              `json:"auto_resolve"`
	GroupBy     []string          `json:"group_by"`
	GroupWindow int               `json:"group_window_seconds"`
	Version     int64             `json:"version"`
}

type keyDoc struct {
	ID         int64      `json:"id"`
	ServiceID  int64      `json:"service_id"`
	Name       string     `json:"name"`
	Key        string     `json:"key"`
	CreatedBy  string     `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func TestServices(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := s.AdminToken
		manager := c.user(iam.RoleManager)
		responder := c.user(iam.RoleResponder)
		viewer := c.user(iam.RoleViewer)
		team := id(c.do("POST", "/api/v1/teams", admin, map[string]any{"name": "Payments"}).Want(201))

		t.Run("create, read, change, delete", func(t *testing.T) {
			c := on(t, s)
			r := c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": " Checkout API ", "description": "Takes the money",
				"team_id": team, "criticality": "critical", "labels": map[string]string{"tier": "1"}, "group_by": []string{"alertname"}}).Want(201)
			var sv serviceDoc
			r.JSON(&sv)
			if sv.ID == 0 || sv.Name != "Checkout API" || sv.TeamID == nil || *sv.TeamID != team || sv.Criticality != "critical" ||
				sv.Labels["tier"] != "1" || !sv.AutoResolve || sv.GroupWindow != 300 || sv.GroupBy[0] != "alertname" || sv.Version != 1 ||
				r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != path("/api/v1/services/%d", sv.ID) {
				t.Fatalf("created %+v %v", sv, r.Header)
			}
			var got serviceDoc
			c.do("GET", path("/api/v1/services/%d", sv.ID), viewer.Token, nil).Want(200).JSON(&got)
			if got.Name != sv.Name || got.Version != 1 {
				t.Fatalf("read %+v", got)
			}
			// Defaults.
			var plain serviceDoc
			c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "Plain"}).Want(201).JSON(&plain)
			if plain.Criticality != "medium" || plain.TeamID != nil || plain.Labels == nil || plain.GroupBy == nil || !plain.AutoResolve {
				t.Fatalf("defaults %+v", plain)
			}

			r = c.do("PATCH", path("/api/v1/services/%d", sv.ID), manager.Token, map[string]any{"description": "Takes all the money", "team_id": 0},
				"If-Match", `"1"`).Want(200)
			r.JSON(&got)
			if got.Description != "Takes all the money" || got.TeamID != nil || got.Name != "Checkout API" || got.Version != 2 || r.Header.Get("ETag") != `"2"` {
				t.Fatalf("changed %+v %v", got, r.Header)
			}
			wantProblem(c.do("PATCH", path("/api/v1/services/%d", sv.ID), manager.Token, map[string]any{"name": "Stale"}, "If-Match", `"1"`), 412)
			wantProblem(c.do("PATCH", path("/api/v1/services/%d", sv.ID), manager.Token, map[string]any{"name": "Plain"}), 409, "name")
			wantProblem(c.do("PATCH", path("/api/v1/services/%d", sv.ID), responder.Token, map[string]any{"name": "x"}), 403)
			wantProblem(c.do("PATCH", "/api/v1/services/999999", manager.Token, map[string]any{"name": "x"}), 404)

			c.do("DELETE", path("/api/v1/services/%d", sv.ID), manager.Token, nil).Want(204)
			wantProblem(c.do("GET", path("/api/v1/services/%d", sv.ID), viewer.Token, nil), 404)
			wantProblem(c.do("DELETE", path("/api/v1/services/%d", sv.ID), manager.Token, nil), 404)
			a := c.do("GET", path("/api/v1/audit?object_type=service&object_id=%d", sv.ID), admin, nil).Want(200).Map()
			if n := len(a["items"].([]any)); n != 3 {
				t.Fatalf("%d audit entries; want create, update, delete", n)
			}
		})

		t.Run("validation", func(t *testing.T) {
			c := on(t, s)
			before := c.snapshot()
			services := c.count("SELECT COUNT(*) FROM services")
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, map[string]any{}), 400, "name")
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "  "}), 400, "name")
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": strings.Repeat("n", 201)}), 400, "name")
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "x", "criticality": "huge", "labels": map[string]string{"bad label": "x"},
				"group_window_seconds": -1, "group_by": []string{"no good"}}), 400, "criticality", "labels.bad label", "group_window_seconds", "group_by")
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "Orphan", "team_id": 999999}), 400, "team_id")
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "x", "owner": "me"}), 400, "owner")
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, `{"name": 5}`), 400, "name")
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, `{"name": "NUL\u0000"}`), 400, "name")
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, `{"name": "N", "description": "\u0000", "labels": {"a": "\u0000"}}`), 400, "description", "labels.a")
			wantProblem(c.do("POST", "/api/v1/services", responder.Token, map[string]any{"name": "Mine"}), 403)
			c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "Unique"}).Want(201)
			wantProblem(c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "Unique"}), 409, "name")
			wantProblem(c.do("GET", "/api/v1/services?team=ops", viewer.Token, nil), 400, "team")
			wantProblem(c.do("GET", "/api/v1/services/abc", viewer.Token, nil), 404)
			if c.count("SELECT COUNT(*) FROM services") != services+1 || c.snapshot().audit != before.audit+1 {
				t.Fatal("a refused request wrote")
			}
		})

		t.Run("list and filters", func(t *testing.T) {
			c := on(t, s)
			c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "Ledger", "team_id": team}).Want(201)
			c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "Search"}).Want(201)
			l, next := items(c.do("GET", path("/api/v1/services?team=%d", team), viewer.Token, nil).Want(200))
			if len(l) != 1 || l[0]["name"] != "Ledger" || next != "" {
				t.Fatalf("team filter %v", l)
			}
			if l, _ = items(c.do("GET", "/api/v1/services?q=SEAR", viewer.Token, nil).Want(200)); len(l) != 1 || l[0]["name"] != "Search" {
				t.Fatalf("q filter %v", l)
			}
		})

		t.Run("integration keys", func(t *testing.T) {
			c := on(t, s)
			sv := id(c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "Keyed"}).Want(201))
			other := id(c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "Other"}).Want(201))
			var k keyDoc
			r := c.do("POST", path("/api/v1/services/%d/integration-keys", sv), manager.Token, map[string]any{"name": "prometheus"}).Want(201)
			r.JSON(&k)
			if len(k.Key) != 32 || k.Name != "prometheus" || k.ServiceID != sv || k.RevokedAt != nil || k.LastUsedAt != nil ||
				k.CreatedBy != "user:"+manager.Email || r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("created %+v %v", k, r.Header)
			}
			// No body makes a key called default.
			var dflt keyDoc
			c.do("POST", path("/api/v1/services/%d/integration-keys", sv), manager.Token, nil).Want(201).JSON(&dflt)
			if dflt.Name != "default" || dflt.Key == k.Key {
				t.Fatalf("default %+v", dflt)
			}
			wantProblem(c.do("POST", path("/api/v1/services/%d/integration-keys", sv), manager.Token, map[string]any{"name": strings.Repeat("k", 201)}), 400, "name")
			wantProblem(c.do("POST", path("/api/v1/services/%d/integration-keys", sv), manager.Token, map[string]any{"nmae": "x"}), 400, "nmae")
			wantProblem(c.do("POST", path("/api/v1/services/%d/integration-keys", sv), manager.Token, `{"name": "a\u0000"}`), 400, "name")
			wantProblem(c.do("POST", "/api/v1/services/999999/integration-keys", manager.Token, nil), 404)
			wantProblem(c.do("POST", path("/api/v1/services/%d/integration-keys", sv), responder.Token, nil), 403)
			// Keys are credentials: viewers and responders do not see them.
			wantProblem(c.do("GET", path("/api/v1/services/%d/integration-keys", sv), viewer.Token, nil), 403)
			wantProblem(c.do("GET", path("/api/v1/services/%d/integration-keys", sv), responder.Token, nil), 403)

			c.do("POST", "/api/v1/events", k.Key, map[string]any{"summary": "used"}).Want(202)
			r = c.do("GET", path("/api/v1/services/%d/integration-keys", sv), manager.Token, nil).Want(200)
			var l struct {
				Items []keyDoc `json:"items"`
				Next  string   `json:"next"`
			}
			r.JSON(&l)
			if len(l.Items) != 2 || l.Items[0].ID != k.ID || l.Items[0].LastUsedAt == nil || l.Next != "" || r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("list %+v %v", l, r.Header)
			}

			wantProblem(c.do("DELETE", path("/api/v1/services/%d/integration-keys/%d", other, k.ID), manager.Token, nil), 404)
			wantProblem(c.do("DELETE", path("/api/v1/services/%d/integration-keys/999999", sv), manager.Token, nil), 404)
			var rev keyDoc
			c.do("DELETE", path("/api/v1/services/%d/integration-keys/%d", sv, k.ID), manager.Token, nil).Want(200).JSON(&rev)
			if rev.RevokedAt == nil || rev.ID != k.ID {
				t.Fatalf("revoked %+v", rev)
			}
			// Revoking twice changes nothing.
			var again keyDoc
			c.do("DELETE", path("/api/v1/services/%d/integration-keys/%d", sv, k.ID), manager.Token, nil).Want(200).JSON(&again)
			if again.RevokedAt == nil || !again.RevokedAt.Equal(*rev.RevokedAt) {
				t.Fatalf("revoked again %+v", again)
			}
			wantProblem(c.do("POST", "/api/v1/events", k.Key, map[string]any{"summary": "after"}), 401)
			c.do("POST", "/api/v1/events", dflt.Key, map[string]any{"summary": "other key"}).Want(202)

			// Deleting a service takes its keys and alerts with it.
			c.do("DELETE", path("/api/v1/services/%d", sv), manager.Token, nil).Want(204)
			if n := c.count("SELECT COUNT(*) FROM integration_keys WHERE service_id = $1", sv); n != 0 {
				t.Fatalf("%d keys left", n)
			}
			if n := c.count("SELECT COUNT(*) FROM alerts WHERE service_id = $1", sv); n != 0 {
				t.Fatalf("%d alerts left", n)
			}
			wantProblem(c.do("POST", "/api/v1/events", dflt.Key, map[string]any{"summary": "gone"}), 401)
		})
	})
}

// TestAlerts: filters and paging of the alert list, and one alert.
func TestAlerts(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		a, b := s.NewService("Alpha"), s.NewService("Beta")
		send := func(sv testkit.Service, body any) {
			c.t.Helper()
			c.do("POST", "/api/v1/events", sv.Key, body).Want(202)
		}
		for i := range 6 {
			send(a, map[string]any{"summary": "alpha", "dedup_key": path("a-%d", i)})
		}
		send(a, map[string]any{"action": "acknowledge", "dedup_key": "a-1"})
		send(a, []map[string]any{{"action": "resolve", "dedup_key": "a-2"}, {"action": "resolve", "dedup_key": "a-3"}})
		for i := range 3 {
			send(b, map[string]any{"summary": "beta", "dedup_key": path("b-%d", i), "severity": "critical"})
		}
		// The same key on two services is two alerts.
		send(b, map[string]any{"summary": "shared", "dedup_key": "a-0"})

		ids := func(l []alertDoc) []int64 {
			var out []int64
			for _, x := range l {
				out = append(out, x.ID)
			}
			return out
		}
		all := c.alerts("")
		if len(all) != 10 {
			t.Fatalf("%d alerts", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Fatalf("not newest first: %v", ids(all))
			}
		}
		for q, want := range map[string]int{
			path("service=%d", a.ID):                               6,
			path("service=%d", b.ID):                               4,
			"status=triggered":                                     7,
			"status=acknowledged":                                  1,
			"status=resolved":                                      2,
			"status=open":                                          8,
			path("service=%d&status=open", a.ID):                   4,
			"dedup_key=a-0":                                        2,
			path("service=%d&dedup_key=a-0", b.ID):                 1,
			path("service=%d&status=resolved", b.ID):               0,
			"service=999999":                                       0,
			"dedup_key=nothing":                                    0,
			path("service=%d&dedup_key=a-2&status=resolved", a.ID): 1,
		} {
			got := c.alerts(q)
			if len(got) != want {
				t.Errorf("%s: %d alerts; want %d", q, len(got), want)
			}
			for _, x := range got {
				if strings.Contains(q, "status=triggered") && x.Status != "triggered" || strings.Contains(q, "status=open") && x.Status == "resolved" {
					t.Errorf("%s: %+v", q, x)
				}
			}
		}
		one := c.alerts("status=acknowledged")[0]
		if one.DedupKey != "a-1" || one.AcknowledgedAt == nil || one.ServiceID != a.ID || one.LastEvent != nil {
			t.Fatalf("acknowledged %+v", one)
		}
		got := c.alert(one.ID)
		if got.LastEvent == nil || got.LastEvent.Summary != "alpha" || got.LastEvent.Action != "trigger" || got.Count != 1 {
			t.Fatalf("one alert %+v", got)
		}
		wantProblem(c.do("GET", "/api/v1/alerts/999999", s.AdminToken, nil), 404)
		wantProblem(c.do("GET", "/api/v1/alerts/x", s.AdminToken, nil), 404)
		wantProblem(c.do("GET", "/api/v1/alerts?status=closed", s.AdminToken, nil), 400, "status")
		wantProblem(c.do("GET", "/api/v1/alerts?service=alpha", s.AdminToken, nil), 400, "service")
		wantProblem(c.do("GET", "/api/v1/alerts?dedup_key="+strings.Repeat("k", 256), s.AdminToken, nil), 400, "dedup_key")
		wantProblem(c.do("GET", "/api/v1/alerts?after=bad", s.AdminToken, nil), 400, "after")
		wantProblem(c.do("GET", "/api/v1/alerts?dedup_key=%00", s.AdminToken, nil), 400, "dedup_key")

		// Pages join up to the whole list, newest first, with a filter too.
		for _, q := range []string{"", "status=open&"} {
			var seen []int64
			after := ""
			for range 20 {
				r := c.do("GET", "/api/v1/alerts?"+q+"limit=3"+map[bool]string{true: "&after=" + after}[after != ""], s.AdminToken, nil).Want(200)
				page, next := items(r)
				for _, x := range page {
					seen = append(seen, int64(x["id"].(float64)))
				}
				if next == "" {
					break
				}
				after = next
			}
			want := ids(c.alerts(strings.TrimSuffix(q, "&")))
			if len(seen) != len(want) {
				t.Fatalf("%q: paged %v; whole %v", q, seen, want)
			}
			for i := range want {
				if seen[i] != want[i] {
					t.Fatalf("%q: paged %v; whole %v", q, seen, want)
				}
			}
		}
	})
}
