package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// ciOfAlert reads the CI an alert stored (0: none).
func (c *client) ciOfAlert(svc int64, key string) int64 {
	c.t.Helper()
	var ci sql.NullInt64
	if err := c.s.App.DB.R.QueryRow("SELECT ci_id FROM alerts WHERE service_id = $1 AND dedup_key = $2", svc, key).Scan(&ci); err != nil {
		c.t.Fatalf("alert %s: %v", key, err)
	}
	return ci.Int64
}

// relate creates "source type target" through the API.
func (c *client) relate(source int64, typ string, target int64) {
	c.t.Helper()
	c.do("POST", "/api/v1/relations", c.s.AdminToken, map[string]any{"source_id": source, "type": typ, "target_id": target}).Want(201)
}

func TestMappingRules(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		const rulesPath = "/api/v1/cmdb/mapping-rules"
		rules := func() string {
			l, _ := items(c.do("GET", rulesPath, s.AdminToken, nil).Want(200))
			var parts []string
			for _, r := range l {
				p := fmt.Sprintf("%v:%v→%v", r["position"], r["label"], r["match"])
				if r["strip_port"] == true {
					p += ":strip"
				}
				parts = append(parts, p)
			}
			return strings.Join(parts, ",")
		}
		const defaults = "1:ci→name,2:ci→external_id,3:instance→name:strip,4:host→name:strip"
		if got := rules(); got != defaults {
			t.Fatalf("default rules %s", got)
		}

		t.Run("only admins change them, bad input changes nothing", func(t *testing.T) {
			set := map[string]any{"rules": []any{map[string]any{"label": "host", "match": "name"}}}
			for _, role := range []iam.Role{iam.RoleViewer, iam.RoleResponder, iam.RoleManager} {
				u := c.user(role)
				wantProblem(c.do("PUT", rulesPath, u.Token, set), 403)
			}
			wantProblem(c.do("PUT", rulesPath, s.AdminToken, map[string]any{}), 400, "rules")
			wantProblem(c.do("PUT", rulesPath, s.AdminToken, map[string]any{"rules": []any{
				map[string]any{"label": "host", "match": "hostname"},
				map[string]any{"label": "", "match": "name"},
				map[string]any{"label": "bad label", "match": "name"},
				map[string]any{"label": "host", "match": "hostname"},
				map[string]any{"label": "ci", "match": "name"},
				map[string]any{"label": "ci", "match": "name"},
			}}), 400, "rules[0].match", "rules[1].label", "rules[2].label", "rules[5].label")
			wantProblem(c.do("PUT", rulesPath, s.AdminToken, map[string]any{"rules": []any{map[string]any{"label": "x", "match": "name", "extra": 1}}}), 400)
			if got := rules(); got != defaults {
				t.Fatalf("rules after refused writes: %s", got)
			}
		})

		// The estate: two CIs named by events.
		web := id(c.do("POST", "/api/v1/cis", s.AdminToken, map[string]any{"class": "server", "name": "web-1"}).Want(201))
		db1 := id(c.do("POST", "/api/v1/cis", s.AdminToken, map[string]any{"class": "server", "name": "db-1",
			"source": "vcenter", "external_id": "vm-0042"}).Want(201))
		svc := s.NewService("Checkout")
		n := 0
		send := func(labels map[string]string) int64 {
			t.Helper()
			n++
			key := fmt.Sprintf("map-%d", n)
			c.event("/api/v1/events", svc.Key, map[string]any{"summary": "check " + key, "dedup_key": key, "labels": labels}).Want(202)
			return c.ciOfAlert(svc.ID, key)
		}

		t.Run("default rules: label order, strip port, fields", func(t *testing.T) {
			if got := send(map[string]string{"instance": "web-1:9100"}); got != web {
				t.Errorf("instance web-1:9100 → CI %d, want web-1 (%d)", got, web)
			}
			if got := send(map[string]string{"ci": "vm-0042", "instance": "web-1:9100"}); got != db1 {
				t.Errorf("ci vm-0042 (external id) before instance → CI %d, want db-1 (%d)", got, db1)
			}
			if got := send(map[string]string{"ci": "DB-1", "instance": "web-1"}); got != db1 {
				t.Errorf("ci DB-1 (any case) → CI %d, want db-1 (%d)", got, db1)
			}
			if got := send(map[string]string{"ci": "nothing-here", "instance": "web-1"}); got != web {
				t.Errorf("a ci label naming no CI falls through to instance → CI %d, want %d", got, web)
			}
			if got := send(map[string]string{"instance": "unknown:1"}); got != 0 {
				t.Errorf("no CI named → CI %d", got)
			}
			// PagerDuty: no labels; payload.source is the event's host.
			r := c.pd(map[string]any{"routing_key": svc.Key, "event_action": "trigger", "dedup_key": "pd-1",
				"payload": map[string]any{"summary": "disk", "source": "db-1:22", "severity": "error"}}).Want(202)
			_ = r
			if got := c.ciOfAlert(svc.ID, "pd-1"); got != db1 {
				t.Errorf("PagerDuty source db-1:22 → CI %d, want db-1 (%d)", got, db1)
			}
		})

		t.Run("replaced rules apply at once", func(t *testing.T) {
			l, _ := items(c.do("PUT", rulesPath, s.AdminToken, map[string]any{"rules": []any{
				map[string]any{"label": "host", "match": "external_id"},
				map[string]any{"label": "instance", "match": "name"},
			}}).Want(200))
			if len(l) != 2 || l[0]["label"] != "host" || l[1]["position"] != float64(2) || l[1]["strip_port"] != false {
				t.Fatalf("rules %v", l)
			}
			if got := send(map[string]string{"host": "vm-0042", "instance": "web-1"}); got != db1 {
				t.Errorf("host by external id first → CI %d, want %d", got, db1)
			}
			if got := send(map[string]string{"instance": "web-1:9100"}); got != 0 {
				t.Errorf("without strip_port, web-1:9100 names no CI; got %d", got)
			}
			if got := send(map[string]string{"instance": "web-1"}); got != web {
				t.Errorf("instance web-1 → CI %d, want %d", got, web)
			}
			if got := send(map[string]string{"ci": "web-1"}); got != 0 {
				t.Errorf("the ci rule is gone; got %d", got)
			}
			var audited int64
			c.s.App.DB.R.QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'cmdb.mapping_rules.set'").Scan(&audited)
			if audited != 1 {
				t.Errorf("%d audit entries for the change", audited)
			}
			items(c.do("PUT", rulesPath, s.AdminToken, map[string]any{"rules": []any{}}).Want(200))
			if got := send(map[string]string{"host": "vm-0042", "instance": "web-1"}); got != 0 {
				t.Errorf("no rules, yet CI %d", got)
			}
		})
	})
}

type topoDoc struct {
	IncidentID int64 `json:"incident_id"`
	Affected   []topoCI
	Impacted   []topoCI
	RootCauses []topoCI `json:"root_causes"`
}

type topoCI struct {
	CIID      int64  `json:"ci_id"`
	Name      string `json:"name"`
	Class     string `json:"class"`
	ServiceID *int64 `json:"service_id"`
	Rank      int    `json:"rank"`
	Confirmed bool   `json:"confirmed"`
}

func names(l []topoCI) string {
	var out []string
	for _, c := range l {
		out = append(out, c.Name)
	}
	return strings.Join(out, ",")
}

// estate is the acceptance estate: three business services, their
// applications on two hosts, a database host with two databases, a load
// balancer pair.
type estate struct {
	shop, payments, accounts       testkit.Service
	ci                             map[string]int64
	shopCI, paymentsCI, accountsCI int64
}

func buildEstate(c *client) estate {
	c.t.Helper()
	s := c.s
	e := estate{ci: map[string]int64{}}
	e.shop, e.payments, e.accounts = s.NewService("Shop"), s.NewService("Payments"), s.NewService("Accounts")
	svcCI := func(sv testkit.Service) int64 {
		var v struct {
			CIID *int64 `json:"ci_id"`
		}
		c.do("GET", path("/api/v1/services/%d", sv.ID), s.AdminToken, nil).Want(200).JSON(&v)
		if v.CIID == nil {
			c.t.Fatalf("service %s has no CI", sv.Name)
		}
		return *v.CIID
	}
	e.shopCI, e.paymentsCI, e.accountsCI = svcCI(e.shop), svcCI(e.payments), svcCI(e.accounts)
	for _, x := range []struct{ class, name string }{
		{"server", "app-host-1"}, {"server", "app-host-2"}, {"server", "db-host-1"},
		{"database", "orders-db"}, {"database", "payments-db"},
		{"application", "shop-web"}, {"application", "shop-api"}, {"application", "payments-api"}, {"application", "accounts-api"},
		{"load_balancer", "lb-1"}, {"load_balancer", "lb-2"}, {"load_balancer", "shop-lb"},
	} {
		e.ci[x.name] = c.newCI(x.class, x.name)
	}
	ci := e.ci
	for _, r := range []struct {
		src, typ, dst string
	}{
		{"shop-web", "runs_on", "app-host-1"}, {"shop-api", "runs_on", "app-host-1"},
		{"payments-api", "runs_on", "app-host-2"}, {"accounts-api", "runs_on", "app-host-2"},
		{"orders-db", "hosted_on", "db-host-1"}, {"payments-db", "hosted_on", "db-host-1"},
		{"shop-api", "depends_on", "orders-db"}, {"payments-api", "depends_on", "payments-db"},
		{"shop-web", "depends_on", "shop-api"},
		{"lb-1", "member_of", "shop-lb"}, {"lb-2", "member_of", "shop-lb"},
	} {
		c.relate(ci[r.src], r.typ, ci[r.dst])
	}
	c.do("PUT", path("/api/v1/cis/%d/redundancy", ci["shop-lb"]), s.AdminToken, map[string]any{"min_up": 1}).Want(200)
	c.relate(e.shopCI, "depends_on", ci["shop-web"])
	c.relate(e.shopCI, "depends_on", ci["shop-lb"])
	c.relate(e.paymentsCI, "depends_on", ci["payments-api"])
	c.relate(e.accountsCI, "depends_on", ci["accounts-api"])
	return e
}

// am sends one firing Alertmanager alert on instance.
func (c *client) am(key, alertname, instance string) {
	c.t.Helper()
	body := fmt.Sprintf(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":%q,"instance":%q,"severity":"critical"},"annotations":{"summary":"%s on %s"}}]}`,
		alertname, instance, alertname, instance)
	c.do("POST", amPath, "", body, "Authorization", "Bearer "+key).Want(200)
}

// incidentOf returns the incident of the alert on CI ci.
func (c *client) incidentOfCI(ci int64, alertname string) int64 {
	c.t.Helper()
	var inc sql.NullInt64
	err := c.s.App.DB.R.QueryRow("SELECT incident_id FROM alerts WHERE ci_id = $1 AND summary LIKE $2 ORDER BY id DESC LIMIT 1",
		ci, alertname+"%").Scan(&inc)
	if err != nil || !inc.Valid {
		c.t.Fatalf("no incident for the %s alert on CI %d: %v", alertname, ci, err)
	}
	return inc.Int64
}

func (c *client) topology(inc int64) topoDoc {
	c.t.Helper()
	var t topoDoc
	c.do("GET", path("/api/v1/incidents/%d/topology", inc), c.s.AdminToken, nil).Want(200).JSON(&t)
	return t
}

func (c *client) timelineHas(inc int64, text string) bool {
	c.t.Helper()
	l, _ := items(c.do("GET", path("/api/v1/incidents/%d/timeline", inc), c.s.AdminToken, nil).Want(200))
	for _, e := range l {
		if b, _ := e["body"].(string); strings.Contains(b, text) {
			return true
		}
	}
	return false
}

func TestTopologyAwareIncidents(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		e := buildEstate(c)
		ci := e.ci

		var first int64
		t.Run("the database host fails, only its applications alert", func(t *testing.T) {
			// Each application alerts through its own service: grouped by
			// service alone they would be two incidents.
			c.am(e.shop.Key, "HighErrorRate", "shop-api:8080")
			c.am(e.payments.Key, "HighErrorRate", "payments-api:8080")
			a, b := c.incidentOfCI(ci["shop-api"], "HighErrorRate"), c.incidentOfCI(ci["payments-api"], "HighErrorRate")
			if a != b {
				t.Fatalf("shop-api in INC-%d, payments-api in INC-%d: want one incident", a, b)
			}
			first = a
			tp := c.topology(a)
			if got := names(tp.Affected); got != "payments-api,shop-api" {
				t.Errorf("affected %s", got)
			}
			if len(tp.RootCauses) == 0 || tp.RootCauses[0].Name != "db-host-1" || tp.RootCauses[0].Rank != 1 || tp.RootCauses[0].Confirmed {
				t.Errorf("root causes %+v: want db-host-1 first, unconfirmed", tp.RootCauses)
			}
			if got := names(tp.Impacted); got != "Payments,Shop" {
				t.Errorf("impacted %s, want Payments and Shop (Accounts does not depend on the database host)", got)
			}
			for _, x := range tp.Impacted {
				if x.ServiceID == nil || (*x.ServiceID != e.shop.ID && *x.ServiceID != e.payments.ID) {
					t.Errorf("impacted %s has service %v", x.Name, x.ServiceID)
				}
			}
			if !c.timelineHas(a, "joined by topology: payments-api shares db-host-1 with shop-api") {
				t.Errorf("no timeline entry for the join")
			}
			if !c.timelineHas(a, "probable root cause: db-host-1") {
				t.Errorf("no timeline entry naming the probable root cause")
			}
			var count int
			s.App.DB.R.QueryRow("SELECT alert_count FROM incidents WHERE id = $1", a).Scan(&count)
			if count != 2 {
				t.Errorf("alert_count %d", count)
			}
		})

		t.Run("alerts on unrelated CIs stay separate", func(t *testing.T) {
			c.am(e.accounts.Key, "LBDown", "lb-1")
			inc := c.incidentOfCI(ci["lb-1"], "LBDown")
			if inc == first {
				t.Fatalf("lb-1 joined the database incident")
			}
			tp := c.topology(inc)
			if names(tp.Affected) != "lb-1" || len(tp.Impacted) != 0 {
				t.Errorf("lb-1 incident: affected %s, impacted %s (its pair keeps shop-lb up)", names(tp.Affected), names(tp.Impacted))
			}
			// An alert naming no CI changes nothing topological.
			c.event("/api/v1/events", e.payments.Key, map[string]any{"summary": "no CI here", "dedup_key": "no-ci"}).Want(202)
			var n int64
			s.App.DB.R.QueryRow(`SELECT COUNT(*) FROM incident_cis WHERE incident_id =
				(SELECT incident_id FROM alerts WHERE dedup_key = 'no-ci')`).Scan(&n)
			if c.ciOfAlert(e.payments.ID, "no-ci") != 0 || n != 0 {
				t.Errorf("%d CI rows on the incident of an alert without a CI", n)
			}
		})

		t.Run("confirm and correct the root cause", func(t *testing.T) {
			base := path("/api/v1/incidents/%d/root-cause", first)
			viewer, responder := c.user(iam.RoleViewer), c.user(iam.RoleResponder)
			wantProblem(c.do("POST", base, viewer.Token, map[string]any{"ci_id": ci["db-host-1"]}), 403)
			wantProblem(c.do("POST", base, responder.Token, map[string]any{"ci_id": 0}), 400, "ci_id")
			wantProblem(c.do("POST", base, responder.Token, map[string]any{"ci_id": 999999}), 400, "ci_id")
			wantProblem(c.do("POST", "/api/v1/incidents/999999/root-cause", responder.Token, map[string]any{"ci_id": ci["db-host-1"]}), 404)

			var tp topoDoc
			c.do("POST", base, responder.Token, map[string]any{"ci_id": ci["db-host-1"]}).Want(200).JSON(&tp)
			if tp.RootCauses[0].Name != "db-host-1" || !tp.RootCauses[0].Confirmed {
				t.Fatalf("after confirming: %+v", tp.RootCauses)
			}
			if !c.timelineHas(first, "root cause confirmed: db-host-1") {
				t.Errorf("no timeline entry for the confirmation")
			}
			c.do("POST", base, responder.Token, map[string]any{"ci_id": ci["orders-db"]}).Want(200).JSON(&tp)
			if tp.RootCauses[0].Name != "orders-db" || !tp.RootCauses[0].Confirmed || tp.RootCauses[1].Name != "db-host-1" ||
				tp.RootCauses[1].Confirmed || tp.RootCauses[1].Rank != 2 {
				t.Fatalf("after correcting: %+v", tp.RootCauses)
			}
			if !c.timelineHas(first, "root cause corrected: orders-db (was db-host-1)") {
				t.Errorf("no timeline entry for the correction")
			}
			var audited int64
			s.App.DB.R.QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'incident.root_cause'").Scan(&audited)
			if audited != 2 {
				t.Errorf("%d audit entries", audited)
			}
			// A later alert joining keeps the operator's choice first.
			c.am(e.shop.Key, "Slow", "shop-web")
			if got := c.incidentOfCI(ci["shop-web"], "Slow"); got != first {
				t.Errorf("shop-web (depends on shop-api) went to INC-%d", got)
			}
			tp = c.topology(first)
			if tp.RootCauses[0].Name != "orders-db" || !tp.RootCauses[0].Confirmed {
				t.Errorf("the confirmed root cause moved: %+v", tp.RootCauses)
			}
			if got := names(tp.Affected); got != "payments-api,shop-api,shop-web" {
				t.Errorf("affected %s", got)
			}
		})

		t.Run("the database host alerts itself", func(t *testing.T) {
			for _, inc := range []int64{first, c.incidentOfCI(ci["lb-1"], "LBDown")} {
				c.do("POST", path("/api/v1/incidents/%d/resolve", inc), s.AdminToken, map[string]any{"note": "test over"}).Want(200)
			}
			// PagerDuty from the host's monitoring, then the applications.
			c.pd(map[string]any{"routing_key": e.shop.Key, "event_action": "trigger", "dedup_key": "db-host-1-down",
				"payload": map[string]any{"summary": "HostDown db-host-1", "source": "db-host-1", "severity": "critical"}}).Want(202)
			c.am(e.payments.Key, "DBErrors", "payments-api:8080")
			c.am(e.shop.Key, "DBErrors", "shop-api:8080")
			host := c.incidentOfCI(ci["db-host-1"], "HostDown")
			if host == first {
				t.Fatalf("a resolved incident was joined")
			}
			for _, app := range []string{"payments-api", "shop-api"} {
				if got := c.incidentOfCI(ci[app], "DBErrors"); got != host {
					t.Errorf("%s in INC-%d, the host in INC-%d", app, got, host)
				}
			}
			tp := c.topology(host)
			if len(tp.RootCauses) == 0 || tp.RootCauses[0].Name != "db-host-1" {
				t.Errorf("root causes %s", names(tp.RootCauses))
			}
			if got := names(tp.Impacted); got != "Payments,Shop" {
				t.Errorf("impacted %s", got)
			}
			if !c.timelineHas(host, "payments-api depends on db-host-1, which alerts") {
				t.Errorf("no timeline entry for the join")
			}
		})

		t.Run("one batch across services", func(t *testing.T) {
			c.do("POST", path("/api/v1/incidents/%d/resolve", c.incidentOfCI(ci["db-host-1"], "HostDown")), s.AdminToken, nil).Want(200)
			now := s.Clock.Now()
			ev := func(svc testkit.Service, instance string) event.Routed {
				return event.Routed{ServiceID: svc.ID, Event: event.Event{Source: event.SourceGeneric, Action: event.Trigger,
					DedupKey: "batch-" + instance, Summary: "Batch on " + instance, Severity: event.Error,
					Labels: map[string]string{"instance": instance}, OccurredAt: now, ReceivedAt: now}}
			}
			// accounts-api and payments-api both run on app-host-2.
			res, err := s.App.Ingester.Submit(context.Background(), []event.Routed{ev(e.accounts, "accounts-api"), ev(e.payments, "payments-api")})
			if err != nil || len(res) != 2 || res[0].Change != "created" || res[1].Change != "created" {
				t.Fatalf("submit: %v %+v", err, res)
			}
			a, b := c.incidentOfCI(ci["accounts-api"], "Batch"), c.incidentOfCI(ci["payments-api"], "Batch")
			if a != b {
				t.Fatalf("accounts-api in INC-%d, payments-api in INC-%d", a, b)
			}
			tp := c.topology(a)
			if tp.RootCauses[0].Name != "app-host-2" {
				t.Errorf("root causes %s", names(tp.RootCauses))
			}
			if got := names(tp.Impacted); got != "Accounts,Payments" {
				t.Errorf("impacted %s", got)
			}
			if !c.timelineHas(a, "payments-api shares app-host-2 with accounts-api") {
				t.Errorf("no timeline entry for the join")
			}
		})
	})
}
