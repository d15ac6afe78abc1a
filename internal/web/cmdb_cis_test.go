package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestCMDBPages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Web shop")
		m := signIn(t, s, s.NewUser(iam.RoleManager))
		v := signIn(t, s, s.NewUser(iam.RoleViewer))

		// The landing page lists the service's CI, with counts per class.
		m.get("/cmdb").want(200).has("<h1>CMDB</h1>", `aria-current="page">CMDB</a>`, "Web shop", "Business service", `href="/cmdb/cis/new"`)
		v.get("/cmdb").want(200).lacks(`href="/cmdb/cis/new"`)

		// New CI: first the class, then its attributes.
		m.get("/cmdb/cis/new").want(200).has("Choose a class", `<option value="server">Server</option>`)
		form := m.get("/cmdb/cis/new?class=database").want(200).has("Attributes of a Database", `name="attr.engine"`,
			`<option value="postgresql">postgresql</option>`, `name="attr.version"`)
		// Bad input is shown on the form, under each field.
		form.submit("/cmdb/cis", "class", "database", "name", "", "environment", "moon", "lifecycle", "in_use", "attr.engine", "dbase").
			want(http.StatusBadRequest).has("Please correct what is marked below.", "Name is required", "Engine must be one of", "Environment must be one of")
		page := form.submit("/cmdb/cis", "class", "database", "name", "orders-db", "environment", "production", "lifecycle", "planned",
			"attr.engine", "postgresql", "attr.version", "16").redirects("/cmdb/cis/").want(200)
		page.has("Created Database orders-db.", "<h1>orders-db</h1>", "postgresql", "planned", "Set In use", "Set Retired", "No relationships.",
			"No open incidents name this CI.", "attributes.engine")
		id := page.find(`action="/cmdb/cis/(\d+)/lifecycle"`)

		// Lifecycle buttons follow the allowed transitions.
		page = page.submit("/cmdb/cis/"+id+"/lifecycle", "lifecycle", "in_use", "version", page.find(`name="version" value="(\d+)"`)).
			redirects("/cmdb/cis/"+id).want(200).has("orders-db is now in use.", "Set Maintenance")
		page.submit("/cmdb/cis/"+id+"/lifecycle", "lifecycle", "planned", "version", "0").want(http.StatusBadRequest).has("cannot go from in_use to planned")

		// Edit: attributes are replaced by the form's; a stale version is caught.
		edit := m.get("/cmdb/cis/"+id+"/edit").want(200).has(`value="orders-db"`, `value="16"`)
		ver := edit.find(`name="version" value="(\d+)"`)
		edit.submit("/cmdb/cis/"+id+"/edit", "version", ver, "name", "orders-db-1", "environment", "staging", "attr.engine", "mysql", "attr.version", "").
			redirects("/cmdb/cis/"+id).want(200).has("Saved orders-db-1.", "mysql", "staging", "orders-db-1").lacks("<dt>Version</dt>")
		edit.submit("/cmdb/cis/"+id+"/edit", "version", ver, "name", "again", "environment", "staging").
			want(http.StatusPreconditionFailed).has("Someone changed this CI")

		// Search by name and attribute, filter by class.
		m.get("/cmdb?q=orders").want(200).has("orders-db-1").lacks("Web shop</a></th>")
		m.get("/cmdb?attr=engine:mysql").want(200).has("orders-db-1")
		m.get("/cmdb?attr=engine:oracle").want(200).has("No CI matches this search.")
		m.get("/cmdb?attr=bad").want(http.StatusBadRequest).has("Attr must be key:value")
		m.get("/cmdb?class=business_service").want(200).has("Web shop").lacks("orders-db-1</a>")

		// Viewers read, with no forms to write.
		v.get("/cmdb/cis/"+id).want(200).has("orders-db-1").lacks("Set Maintenance", "Delete CI", "Edit CI")
		v.get("/cmdb/cis/new").want(http.StatusForbidden)

		// The service's CI links to the service and cannot be deleted here.
		var ciID int64
		if err := s.App.DB.R.QueryRow("SELECT ci_id FROM services WHERE id = $1", svc.ID).Scan(&ciID); err != nil {
			t.Fatal(err)
		}
		m.get(fmt.Sprintf("/cmdb/cis/%d", ciID)).want(200).has(fmt.Sprintf(`href="/services/%d"`, svc.ID)).lacks("Delete CI")

		// Delete.
		page = m.get("/cmdb/cis/" + id).want(200)
		page.submit("/cmdb/cis/" + id + "/delete").redirects("/cmdb").want(200).has("Deleted orders-db-1.")
		m.get("/cmdb/cis/" + id).want(http.StatusNotFound)

		// Classes.
		m.get("/cmdb/classes").want(200).has("CI classes", "Load balancer", "Virtual IP", "Built in")
		m.get("/cmdb/classes/server").want(200).has("<h1>Server</h1>", "Serial number", "unique", `href="/cmdb/cis/new?class=server"`)
		m.get("/cmdb/classes/nope").want(http.StatusNotFound)
		if strings.Contains(m.get("/cmdb/classes/server").Body, "steady ci-class update") {
			t.Error("a built-in class offers to be changed")
		}
	})
}
