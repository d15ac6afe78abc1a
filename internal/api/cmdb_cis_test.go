package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestCIClassesAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := s.AdminToken
		manager, viewer := c.user(iam.RoleManager), c.user(iam.RoleViewer)

		l, _ := items(c.do("GET", "/api/v1/ci-classes", viewer.Token, nil).Want(200))
		keys := map[string]bool{}
		for _, k := range l {
			keys[k["key"].(string)] = true
		}
		for _, want := range []string{"business_service", "application", "service_instance", "server", "virtual_machine", "container",
			"database", "network_device", "load_balancer", "storage", "cloud_resource"} {
			if !keys[want] {
				t.Errorf("no built-in class %s", want)
			}
		}

		rack := map[string]any{"key": "rack", "name": "Rack", "attributes": []map[string]any{
			{"key": "room", "type": "string", "required": true}, {"key": "kind", "type": "enum", "enum": []string{"open", "closed"}},
			{"key": "pdu", "type": "ref", "ref_class": "network_device"}}}
		wantProblem(c.do("POST", "/api/v1/ci-classes", manager.Token, rack), 403)
		got := c.do("POST", "/api/v1/ci-classes", admin, rack).Want(201).Map()
		if got["builtin"] != false || len(got["attributes"].([]any)) != 3 || got["ci_count"] != 0.0 {
			t.Fatalf("created class: %v", got)
		}
		wantProblem(c.do("POST", "/api/v1/ci-classes", admin, rack), 409, "key")
		wantProblem(c.do("POST", "/api/v1/ci-classes", admin, map[string]any{"key": "new", "name": "New"}), 400, "key")
		wantProblem(c.do("POST", "/api/v1/ci-classes", admin, map[string]any{"key": "Bad Key", "name": "x", "attributes": []map[string]any{
			{"key": "a", "type": "colour"}, {"key": "b", "type": "enum"}, {"key": "c", "type": "ref", "ref_class": "nope"}, {"key": "a", "type": "string"}}}),
			400, "key", "attributes[0].type", "attributes[1].enum", "attributes[2].ref_class", "attributes[3].key")

		// Built-in classes are read-only.
		wantProblem(c.do("PUT", "/api/v1/ci-classes/server", admin, map[string]any{"name": "Box"}), 409)
		wantProblem(c.do("DELETE", "/api/v1/ci-classes/server", admin, nil), 409)

		r0 := id(c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "rack", "name": "R0", "attributes": map[string]any{"room": "B", "kind": "open"}}).Want(201))

		// Replace with If-Match.
		r := c.do("GET", "/api/v1/ci-classes/rack", viewer.Token, nil).Want(200)
		etag := r.Header.Get("ETag")
		upd := map[string]any{"name": "Rack", "attributes": []map[string]any{{"key": "room", "type": "string", "required": true}, {"key": "units", "type": "number"}}}
		c.do("PUT", "/api/v1/ci-classes/rack", admin, upd, "If-Match", etag).Want(200)
		wantProblem(c.do("PUT", "/api/v1/ci-classes/rack", admin, upd, "If-Match", etag), 412)

		// A value of an attribute the class no longer has goes on the next write.
		if a := c.do("PATCH", path("/api/v1/cis/%d", r0), manager.Token, map[string]any{"location": "hall 2"}).Want(200).Map()["attributes"].(map[string]any); a["kind"] != nil || a["room"] != "B" {
			t.Fatalf("attributes after the class changed: %v", a)
		}
		wantProblem(c.do("PATCH", path("/api/v1/cis/%d", r0), manager.Token, map[string]any{"attributes": map[string]any{"kind": "open"}}), 400, "attributes.kind")
		c.do("DELETE", path("/api/v1/cis/%d", r0), manager.Token, nil).Want(204)

		// A class with CIs cannot be deleted.
		ci := id(c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "rack", "name": "R1", "attributes": map[string]any{"room": "A", "units": 42}}).Want(201))
		if n := c.do("GET", "/api/v1/ci-classes/rack", viewer.Token, nil).Want(200).Map()["ci_count"]; n != 1.0 {
			t.Fatalf("ci_count %v", n)
		}
		wantProblem(c.do("DELETE", "/api/v1/ci-classes/rack", admin, nil), 409)
		c.do("DELETE", path("/api/v1/cis/%d", ci), manager.Token, nil).Want(204)
		c.do("DELETE", "/api/v1/ci-classes/rack", admin, nil).Want(204)
		wantProblem(c.do("GET", "/api/v1/ci-classes/rack", viewer.Token, nil), 404)
	})
}

func TestCIsAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		manager, viewer := c.user(iam.RoleManager), c.user(iam.RoleViewer)
		team := id(c.do("POST", "/api/v1/teams", s.AdminToken, map[string]any{"name": "Platform"}).Want(201))

		host := c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "server", "name": "db-host-1", "team_id": team,
			"environment": "production", "location": "Berlin DC1", "source": "csv", "external_id": "srv-1",
			"attributes": map[string]any{"ip": "10.0.0.5", "os": "Debian 12", "cpus": 16, "serial": "SN-1"}}).Want(201)
		hostID := id(host)
		if host.Header.Get("Location") != path("/api/v1/cis/%d", hostID) || host.Header.Get("ETag") == "" {
			t.Fatalf("create headers: %v", host.Header)
		}
		// Bad input names every field, and stores nothing.
		before := c.count("SELECT COUNT(*) FROM cis")
		wantProblem(c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "server", "name": "x", "environment": "moon",
			"attributes": map[string]any{"ip": "not-an-ip", "cpus": "many", "colour": "red", "serial": "sn-1"}}),
			400, "environment", "attributes.ip", "attributes.cpus", "attributes.colour", "attributes.serial")
		wantProblem(c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "database", "name": "x",
			"attributes": map[string]any{"engine": "dbase"}}), 400, "attributes.engine")
		wantProblem(c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "nope", "name": "x"}), 400, "class")
		wantProblem(c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "server", "name": "x", "lifecycle": "disposed"}), 400, "lifecycle")
		wantProblem(c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "server", "name": "x", "source": "csv", "external_id": "srv-1"}), 409, "external_id")
		wantProblem(c.do("POST", "/api/v1/cis", viewer.Token, map[string]any{"class": "server", "name": "x"}), 403)
		if after := c.count("SELECT COUNT(*) FROM cis"); after != before {
			t.Fatalf("refused CIs were stored: %d → %d", before, after)
		}

		// A database whose host attribute … the built-in classes have no ref, so make one.
		c.do("POST", "/api/v1/ci-classes", s.AdminToken, map[string]any{"key": "db_instance", "name": "DB instance", "attributes": []map[string]any{
			{"key": "host", "type": "ref", "ref_class": "server", "required": true}, {"key": "since", "type": "date"}, {"key": "docs", "type": "url"},
			{"key": "replicated", "type": "boolean"}}}).Want(201)
		inst := c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "db_instance", "name": "orders-db",
			"attributes": map[string]any{"host": "db-host-1", "since": "2024-01-31", "docs": "https://wiki.example.com/orders", "replicated": true}}).Want(201).Map()
		if inst["attributes"].(map[string]any)["host"] != float64(hostID) {
			t.Fatalf("a ref is stored as the id: %v", inst["attributes"])
		}
		wantProblem(c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "db_instance", "name": "x",
			"attributes": map[string]any{"host": "nowhere", "since": "31.01.2024", "docs": "wiki/orders", "replicated": "perhaps"}}),
			400, "attributes.host", "attributes.since", "attributes.docs", "attributes.replicated")
		instID := int64(inst["id"].(float64))

		// PATCH with If-Match; lifecycle transitions; history.
		r := c.do("GET", path("/api/v1/cis/%d", hostID), viewer.Token, nil).Want(200)
		etag := r.Header.Get("ETag")
		c.do("PATCH", path("/api/v1/cis/%d", hostID), manager.Token, map[string]any{"lifecycle": "maintenance",
			"attributes": map[string]any{"os": "Debian 13", "cpus": nil}}, "If-Match", etag).Want(200)
		wantProblem(c.do("PATCH", path("/api/v1/cis/%d", hostID), manager.Token, map[string]any{"location": "x"}, "If-Match", etag), 412)
		wantProblem(c.do("PATCH", path("/api/v1/cis/%d", hostID), manager.Token, map[string]any{"lifecycle": "planned"}), 400, "lifecycle")
		wantProblem(c.do("PATCH", path("/api/v1/cis/%d", hostID), manager.Token, map[string]any{"attributes": map[string]any{"ip": "300.1.1.1"}}), 400, "attributes.ip")
		got := c.do("GET", path("/api/v1/cis/%d", hostID), viewer.Token, nil).Want(200).Map()
		attrs := got["attributes"].(map[string]any)
		if got["lifecycle"] != "maintenance" || attrs["os"] != "Debian 13" || attrs["cpus"] != nil || attrs["ip"] != "10.0.0.5" {
			t.Fatalf("patched CI: %v", got)
		}
		h, _ := items(c.do("GET", path("/api/v1/cis/%d/history?limit=1000", hostID), viewer.Token, nil).Want(200))
		var fields []string
		for _, e := range h {
			fields = append(fields, fmt.Sprint(e["field"], ":", e["before"], ">", e["after"], ":", e["actor_name"]))
		}
		all := strings.Join(fields, " ")
		for _, w := range []string{"lifecycle:in_use>maintenance:" + manager.Email, "attributes.os:Debian 12>Debian 13:" + manager.Email,
			"attributes.cpus:16><nil>:" + manager.Email, "name:<nil>>db-host-1:" + manager.Email} {
			if !strings.Contains(all, w) {
				t.Errorf("history lacks %q: %s", w, all)
			}
		}
		if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'ci.%'"); n < 3 {
			t.Errorf("audit entries for CIs: %d", n)
		}

		// Search: by name prefix, substring, attribute; filters; paging by name.
		for i := range 5 {
			c.do("POST", "/api/v1/cis", manager.Token, map[string]any{"class": "virtual_machine", "name": fmt.Sprintf("web-%02d", i),
				"environment": []string{"production", "staging"}[i%2], "attributes": map[string]any{"ip": fmt.Sprintf("10.1.0.%d", i), "os": "Ubuntu"}}).Want(201)
		}
		names := func(q string) string {
			l, _ := items(c.do("GET", "/api/v1/cis?"+q, viewer.Token, nil).Want(200))
			var out []string
			for _, it := range l {
				out = append(out, it["name"].(string))
			}
			return strings.Join(out, ",")
		}
		for q, want := range map[string]string{
			"prefix=WEB-0":                       "web-00,web-01,web-02,web-03,web-04",
			"q=b-03":                             "web-03",
			"q=host":                             "db-host-1",
			"attr=ip:10.1.0.2":                   "web-02",
			"attr=os:ubuntu&environment=staging": "web-01,web-03",
			"attr=ip:10.1.0.*&limit=2":           "web-00,web-01",
			"class=db_instance":                  "orders-db",
			"lifecycle=maintenance":              "db-host-1",
			"team=" + fmt.Sprint(team):           "db-host-1",
			"attr=host:" + fmt.Sprint(hostID):    "orders-db",
			"missing=true":                       "",
		} {
			if got := names(q); got != want {
				t.Errorf("GET /api/v1/cis?%s: %s, want %s", q, got, want)
			}
		}
		wantProblem(c.do("GET", "/api/v1/cis?attr=nocolon", viewer.Token, nil), 400, "attr")
		wantProblem(c.do("GET", "/api/v1/cis?class=nope", viewer.Token, nil), 400, "class")
		wantProblem(c.do("GET", "/api/v1/cis?after=bogus", viewer.Token, nil), 400, "after")
		var walked []string
		after := ""
		for range 10 {
			q := "prefix=web&limit=2"
			if after != "" {
				q += "&after=" + url.QueryEscape(after)
			}
			l, next := items(c.do("GET", "/api/v1/cis?"+q, viewer.Token, nil).Want(200))
			for _, it := range l {
				walked = append(walked, it["name"].(string))
			}
			if after = next; after == "" {
				break
			}
		}
		if strings.Join(walked, ",") != "web-00,web-01,web-02,web-03,web-04" {
			t.Fatalf("paged: %v", walked)
		}

		// Deleting the host clears the reference to it.
		c.do("DELETE", path("/api/v1/cis/%d", hostID), manager.Token, nil).Want(204)
		wantProblem(c.do("GET", path("/api/v1/cis/%d", hostID), viewer.Token, nil), 404)
		if a := c.do("GET", path("/api/v1/cis/%d", instID), viewer.Token, nil).Want(200).Map()["attributes"].(map[string]any); a["host"] != nil {
			t.Fatalf("reference kept: %v", a)
		}
	})
}

// TestServicesAreCIs: a service's CI follows it through create, rename,
// team change and delete; the CI cannot be deleted on its own.
func TestServicesAreCIs(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := s.AdminToken
		team := id(c.do("POST", "/api/v1/teams", admin, map[string]any{"name": "Shop"}).Want(201))
		svc := c.do("POST", "/api/v1/services", admin, map[string]any{"name": "Checkout", "team_id": team}).Want(201).Map()
		ciID, ok := svc["ci_id"].(float64)
		if !ok {
			t.Fatalf("no ci_id: %v", svc)
		}
		svcID := int64(svc["id"].(float64))
		ci := c.do("GET", path("/api/v1/cis/%d", int64(ciID)), admin, nil).Want(200).Map()
		if ci["class"] != "business_service" || ci["name"] != "Checkout" || ci["team_id"] != float64(team) || ci["service_id"] != float64(svcID) {
			t.Fatalf("service CI: %v", ci)
		}
		// Rename and team change follow, with history.
		c.do("PATCH", path("/api/v1/services/%d", svcID), admin, map[string]any{"name": "Checkout API", "team_id": 0}).Want(200)
		ci = c.do("GET", path("/api/v1/cis/%d", int64(ciID)), admin, nil).Want(200).Map()
		if ci["name"] != "Checkout API" || ci["team_id"] != nil {
			t.Fatalf("after service update: %v", ci)
		}
		h, _ := items(c.do("GET", path("/api/v1/cis/%d/history", int64(ciID)), admin, nil).Want(200))
		if len(h) < 2 || h[0]["field"] == nil {
			t.Fatalf("history: %v", h)
		}
		// Renaming the CI renames the service; its class is fixed.
		c.do("PATCH", path("/api/v1/cis/%d", int64(ciID)), admin, map[string]any{"name": "Checkout"}).Want(200)
		if n := c.do("GET", path("/api/v1/services/%d", svcID), admin, nil).Want(200).Map()["name"]; n != "Checkout" {
			t.Fatalf("service name after CI rename: %v", n)
		}
		wantProblem(c.do("PATCH", path("/api/v1/cis/%d", int64(ciID)), admin, map[string]any{"class": "application"}), 400, "class")
		other := s.NewService("Payments")
		wantProblem(c.do("PATCH", path("/api/v1/cis/%d", int64(ciID)), admin, map[string]any{"name": other.Name}), 409, "name")
		// The CI goes with its service only.
		wantProblem(c.do("DELETE", path("/api/v1/cis/%d", int64(ciID)), admin, nil), 409)
		c.do("DELETE", path("/api/v1/services/%d", svcID), admin, nil).Want(204)
		wantProblem(c.do("GET", path("/api/v1/cis/%d", int64(ciID)), admin, nil), 404)
		l, _ := items(c.do("GET", "/api/v1/cis?class=business_service", admin, nil).Want(200))
		if len(l) != 1 || l[0]["name"] != "Payments" {
			t.Fatalf("business services: %v", l)
		}
	})
}
