package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// apiCI creates a CI through the API as the first admin.
func apiCI(t *testing.T, s *testkit.Server, class, name string) int64 {
	t.Helper()
	var c struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", "/api/v1/cis", s.AdminToken, map[string]any{"class": class, "name": name}).Want(201).JSON(&c)
	return c.ID
}

func apiRelate(t *testing.T, s *testkit.Server, src int64, typ string, dst int64) {
	t.Helper()
	s.Do("POST", "/api/v1/relations", s.AdminToken, map[string]any{"source_id": src, "type": typ, "target_id": dst}).Want(201)
}

func TestImpactAndMapPages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		shop := apiCI(t, s, "business_service", "Shop")
		app := apiCI(t, s, "application", "shop-app")
		pool := apiCI(t, s, "load_balancer", "shop-pool")
		web1, web2 := apiCI(t, s, "service_instance", "web-1"), apiCI(t, s, "service_instance", "web-2")
		vm := apiCI(t, s, "virtual_machine", "vm-1")
		apiRelate(t, s, shop, "depends_on", app)
		apiRelate(t, s, app, "depends_on", pool)
		apiRelate(t, s, web1, "member_of", pool)
		apiRelate(t, s, web2, "member_of", pool)
		apiRelate(t, s, web1, "runs_on", vm)

		m := signIn(t, s, s.NewUser(iam.RoleManager))
		impact := fmt.Sprintf("/cmdb/cis/%d/impact", vm)
		p := m.get(impact).want(200).has("Impact of vm-1", `aria-current="page">CMDB</a>`, "If vm-1 fails", "1 business service impacted",
			"Shop", "web-1", "has web-1 as a member", "shop-pool", "4 CIs affected", "Add a relationship",
			`web-1</a> <span class="muted small">(runs_on)</span> → `, `shop-pool</a> <span class="muted small">(member_of)</span> → `)
		p.before("web-1", "shop-pool").before("shop-pool", "shop-app")

		// Add a relationship by name; mistakes come back on the form.
		p.submit(fmt.Sprintf("/cmdb/cis/%d/relations", vm), "source", "web-2", "type", "runs_on", "target", "vm-1").
			redirects(impact).want(200).has("Added: web-2 runs_on vm-1.")
		p.submit(fmt.Sprintf("/cmdb/cis/%d/relations", vm), "source", "web-2", "type", "runs_on", "target", "nope").
			want(http.StatusBadRequest).has("Please correct what is marked below.", `Target CI "nope" not found`, `value="web-2"`)
		p.submit(fmt.Sprintf("/cmdb/cis/%d/relations", vm), "source", "vm-1", "type", "depends_on", "target", "Shop").
			want(http.StatusBadRequest).has("would close a cycle", "vm-1 ("+fmt.Sprint(vm)+") depends_on Shop")
		p.submit(fmt.Sprintf("/cmdb/cis/%d/relations", vm), "source", "web-2", "type", "runs_on", "target", "vm-1").
			want(http.StatusConflict).has("Web-2 already runs_on vm-1")

		// The pool needs one of its two members: vm-1 takes both down.
		pp := m.get(fmt.Sprintf("/cmdb/cis/%d/impact", pool)).want(200).has("2 members and no redundancy rule")
		pp.submit(fmt.Sprintf("/cmdb/cis/%d/redundancy", pool), "min_up", "1").redirects(fmt.Sprintf("/cmdb/cis/%d/impact", pool)).
			want(200).has("It now stays up while at least 1 of its 2 members are up.", "stays up while at least 1 of its 2 members are up")
		m.get(fmt.Sprintf("/cmdb/cis/%d/impact?depth=10", web1)).want(200).has("No business service impacted", "within depth 10")
		m.get(impact).want(200).has("1 business service impacted")
		pp.submit(fmt.Sprintf("/cmdb/cis/%d/redundancy", pool), "min_up", "none").want(http.StatusBadRequest).has("must be a whole number")
		pp.submit(fmt.Sprintf("/cmdb/cis/%d/redundancy/delete", pool)).redirects(fmt.Sprintf("/cmdb/cis/%d/impact", pool)).
			want(200).has("Removed the redundancy rule")
		m.get(fmt.Sprintf("/cmdb/cis/%d/impact?depth=10", web1)).want(200).has("1 business service impacted")

		// Remove a relationship.
		p = m.get(impact).want(200)
		relID := p.find(`action="/cmdb/cis/\d+/relations/(\d+)/delete" data-confirm="Remove the relationship web-2 runs_on vm-1\?"`)
		p.submit(fmt.Sprintf("/cmdb/cis/%d/relations/%s/delete", vm, relID)).redirects(impact).want(200).
			has("Removed: web-2 runs_on vm-1.")
		m.get(impact + "?depth=0").want(http.StatusBadRequest)

		// Viewers see, and cannot change.
		v := signIn(t, s, s.NewUser(iam.RoleViewer))
		vp := v.get(impact).want(200).has("If vm-1 fails").lacks("Add a relationship", "Remove<span")
		vp.submit(fmt.Sprintf("/cmdb/cis/%d/relations", vm), "source", "web-2", "type", "runs_on", "target", "vm-1").want(http.StatusForbidden)
		vp.submit(fmt.Sprintf("/cmdb/cis/%d/redundancy", pool), "min_up", "1").want(http.StatusForbidden)

		// The service map.
		mp := v.get("/cmdb/map?ci="+url.QueryEscape("Shop")).want(200).has("Service map of Shop", "<svg", "<title>Shop depends_on shop-app</title>",
			"<title>web-1 member_of shop-pool</title>", "5 CIs", `marker-end="url(#map-arrow)"`)
		if strings.Count(mp.Body, "<rect ") != 5 {
			t.Fatalf("the map draws %d boxes", strings.Count(mp.Body, "<rect "))
		}
		// Shop is above the app, the app above the pool, the pool above its members.
		y := func(name string) string {
			return mp.find(`<title>` + name + ` \([a-z_]+, production\)</title>\s*<rect x="\d+" y="(\d+)"`)
		}
		if !(atoi(y("Shop")) < atoi(y("shop-app")) && atoi(y("shop-app")) < atoi(y("shop-pool")) && atoi(y("shop-pool")) < atoi(y("web-1"))) {
			t.Fatalf("layers: Shop %s, app %s, pool %s, web-1 %s", y("Shop"), y("shop-app"), y("shop-pool"), y("web-1"))
		}
		v.get(fmt.Sprintf("/cmdb/map?ci=%d&depth=1", vm)).want(200).has("Service map of vm-1", "<title>web-1 runs_on vm-1</title>").lacks("shop-app (")
		v.get("/cmdb/map").want(200).has("Business services", `href="/cmdb/map?ci=`+fmt.Sprint(shop)+`"`)
		v.get("/cmdb/map?ci=nope").want(http.StatusNotFound).has(`CI "nope" not found`)
		v.get("/cmdb/map?ci=Shop&depth=99").want(http.StatusBadRequest)
	})
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}
