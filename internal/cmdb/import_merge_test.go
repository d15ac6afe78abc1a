package cmdb_test

import (
	"testing"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/service"
	"github.com/steadyhq/steady/internal/testkit"
)

// An import or a discovery feed changes only what it holds: a column
// missing from the header (a key missing from an item) keeps the stored
// value, an empty one clears it; attributes likewise, one by one.
func TestImportKeepsFieldsItLeavesOut(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newIOEnv(t, d)
		team, err := e.s.App.IAM.CreateTeam(ioManager, iam.NewTeam{Name: "Payments"})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := e.s.App.Services.Create(ioManager, service.Fields{Name: ptr("Checkout"), TeamID: &team.ID})
		if err != nil {
			t.Fatal(err)
		}
		serviceTeam := func() *int64 {
			t.Helper()
			got, err := e.s.App.Services.Get(ioManager, svc.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.TeamID
		}

		// No team column: the service and its CI keep their team.
		res := e.mustImport("class,name,location\nbusiness_service,Checkout,dc-1\n", "csv")
		wantCounts(t, res.Counts, cmdb.ImportCounts{Rows: 1, Updated: 1})
		c := e.ci("Checkout")
		if c.TeamID == nil || *c.TeamID != team.ID || c.Location != "dc-1" {
			t.Fatalf("CI after an import without a team column: %+v", c)
		}
		if tid := serviceTeam(); tid == nil || *tid != team.ID {
			t.Fatalf("the service lost its team: %v", tid)
		}
		// An empty team clears it; the location, not in the file, stays.
		e.mustImport("class,name,team\nbusiness_service,Checkout,\n", "csv")
		if c = e.ci("Checkout"); c.TeamID != nil || c.Location != "dc-1" {
			t.Fatalf("CI after an empty team: %+v", c)
		}
		if tid := serviceTeam(); tid != nil {
			t.Fatalf("the service kept its team: %v", *tid)
		}

		// Attributes: only the columns of the file change.
		e.mustImport("class,name,external_id,source,location,attr.ip,attr.os,attr.cpus\nserver,db-1,s1,inv,dc-2,10.0.0.1,debian,8\n", "csv")
		e.mustImport("class,name,external_id,source,attr.os\nserver,db-1,s1,inv,ubuntu\n", "csv")
		c = e.ci("inv:s1")
		if c.Location != "dc-2" || c.Attributes["ip"] != "10.0.0.1" || c.Attributes["os"] != "ubuntu" || c.Attributes["cpus"] == nil {
			t.Fatalf("server after a partial import: %+v", c)
		}
		e.mustImport("class,name,external_id,source,attr.ip,location\nserver,db-1,s1,inv,,\n", "csv")
		c = e.ci("inv:s1")
		if _, has := c.Attributes["ip"]; has || c.Location != "" || c.Attributes["os"] != "ubuntu" {
			t.Fatalf("server after emptying ip and location: %+v", c)
		}
		// JSON: null removes an attribute, the keys left out stay.
		res = e.mustImport(`[{"class": "server", "external_id": "s1", "source": "inv", "attributes": {"os": null}}]`, "json")
		c = e.ci("inv:s1")
		if _, has := c.Attributes["os"]; has || c.Attributes["cpus"] == nil || c.Name != "db-1" {
			t.Fatalf("server after a JSON item without name: %+v", c)
		}
		if res.Rows[0].Name != "db-1" || res.Rows[0].Class != "server" {
			t.Fatalf("the row of an item without name: %+v", res.Rows[0])
		}

		// Discovery: a feed without team or location keeps what was set by hand.
		e.discover("scan", `[{"class": "server", "name": "h1", "external_id": "h1", "attributes": {"ip": "10.1.0.1", "os": "debian"}}]`)
		h := e.ci("scan:h1")
		if _, err := e.st.UpdateCI(ioManager, h.ID, cmdb.CIPatch{TeamID: &team.ID, Location: ptr("rack 7")}, 0); err != nil {
			t.Fatal(err)
		}
		res2 := e.discover("scan", `[{"class": "server", "name": "h1", "external_id": "h1", "attributes": {"ip": "10.1.0.2"}}]`)
		wantDiscovery(t, res2, 0, 1, 0, 0, 0, 0)
		h = e.ci("scan:h1")
		if h.TeamID == nil || *h.TeamID != team.ID || h.Location != "rack 7" || h.Attributes["ip"] != "10.1.0.2" || h.Attributes["os"] != "debian" {
			t.Fatalf("discovered CI after a feed without team and location: %+v", h)
		}
		// The same feed again changes nothing.
		wantDiscovery(t, e.discover("scan", `[{"class": "server", "name": "h1", "external_id": "h1", "attributes": {"ip": "10.1.0.2"}}]`), 0, 0, 1, 0, 0, 0)
	})
}
