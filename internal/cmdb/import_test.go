package cmdb_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

var ioManager = iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "importer@example.com", Role: iam.RoleManager})

// ioEnv is a test server and helpers for import, export and discovery.
type ioEnv struct {
	t  *testing.T
	s  *testkit.Server
	st *cmdb.Store
}

func newIOEnv(t *testing.T, d db.Dialect) *ioEnv {
	s := testkit.Start(t, d)
	return &ioEnv{t: t, s: s, st: s.App.CMDB}
}

func (e *ioEnv) imp(file, format string, opts ...func(*cmdb.ImportOptions)) (cmdb.ImportResult, error) {
	e.t.Helper()
	o := cmdb.ImportOptions{Format: format}
	for _, f := range opts {
		f(&o)
	}
	return e.st.Import(ioManager, strings.NewReader(file), o)
}

func (e *ioEnv) mustImport(file, format string, opts ...func(*cmdb.ImportOptions)) cmdb.ImportResult {
	e.t.Helper()
	res, err := e.imp(file, format, opts...)
	if err != nil {
		e.t.Fatalf("import: %v", err)
	}
	return res
}

func dryRun(o *cmdb.ImportOptions)    { o.DryRun = true }
func validOnly(o *cmdb.ImportOptions) { o.ValidOnly = true }

func (e *ioEnv) n(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.s.App.DB.R.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (e *ioEnv) ci(ref string) cmdb.CI {
	e.t.Helper()
	c, err := e.st.FindCI(ioManager, e.s.App.DB.R, ref)
	if err != nil {
		e.t.Fatalf("find %s: %v", ref, err)
	}
	return c
}

// related lists "type target-name" of a CI's outgoing relations.
func (e *ioEnv) related(id int64) []string {
	e.t.Helper()
	rows, err := e.s.App.DB.R.Query(`SELECT r.type, t.name FROM ci_relations r JOIN cis t ON t.id = r.target_id
		WHERE r.source_id = $1 ORDER BY r.type, t.name`, id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, typ+" "+name)
	}
	return out
}

func wantCounts(t *testing.T, got cmdb.ImportCounts, want cmdb.ImportCounts) {
	t.Helper()
	if got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
}

const estateCSV = "testdata/estate.csv"

func readEstate(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(estateCSV)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The same small estate in the three formats: the app is written before
// the VM it runs on (a forward reference), the VM names its server by
// external id, the app names the database by name.
const (
	smallCSV = `class,name,external_id,source,environment,lifecycle,ip,attr.os,version,rel.runs_on,rel.depends_on
application,shop,app-1,inv,production,in_use,,,1.2,vm-1,orders-db
virtual_machine,vm-one,vm-1,inv,production,in_use,10.0.0.1,debian,,,
database,orders-db,,,staging,planned,,,16,,
`
	smallJSON = `{"items": [
  {"class": "application", "name": "shop", "external_id": "app-1", "source": "inv", "environment": "production",
   "attributes": {"version": "1.2"}, "relations": {"runs_on": ["vm-1"], "depends_on": "orders-db"}},
  {"class": "virtual_machine", "name": "vm-one", "external_id": "vm-1", "source": "inv", "attributes": {"ip": "10.0.0.1", "os": "debian"}},
  {"class": "database", "name": "orders-db", "environment": "staging", "lifecycle": "planned", "attributes": {"version": 16}}
]}`
	smallYAML = `items:
  - class: application
    name: shop
    external_id: app-1
    source: inv
    attributes: {version: "1.2"}
    relations:
      runs_on: [vm-1]
      depends_on: [orders-db]
  - class: virtual_machine
    name: vm-one
    external_id: vm-1
    source: inv
    attributes:
      ip: 10.0.0.1
      os: debian
  - class: database
    name: orders-db
    environment: staging
    lifecycle: planned
    attributes:
      version: 16
`
)

func TestImportFormats(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newIOEnv(t, d)
		for i, tc := range []struct{ format, file string }{{"csv", smallCSV}, {"json", smallJSON}, {"yaml", smallYAML}} {
			t.Run(tc.format, func(t *testing.T) {
				e.t = t
				res := e.mustImport(tc.file, tc.format)
				want := cmdb.ImportCounts{Rows: 3, Created: 3, RelationsCreated: 2}
				if i > 0 { // the same CIs again, from another format
					want = cmdb.ImportCounts{Rows: 3, Unchanged: 3, RelationsUnchanged: 2}
				}
				wantCounts(t, res.Counts, want)
				if !res.Applied || res.DryRun || len(res.Errors) != 0 {
					t.Fatalf("result %+v", res)
				}
				app := e.ci("inv:app-1")
				if app.Class != "application" || app.Attributes["version"] != "1.2" || app.Environment != "production" {
					t.Fatalf("app %+v", app)
				}
				vm := e.ci("inv:vm-1")
				if vm.Attributes["ip"] != "10.0.0.1" || vm.Name != "vm-one" {
					t.Fatalf("vm %+v", vm)
				}
				db := e.ci("orders-db")
				if db.Lifecycle != "planned" || db.Environment != "staging" || db.ExternalID != nil || db.Attributes["version"] != "16" {
					t.Fatalf("db %+v", db)
				}
				if got := strings.Join(e.related(app.ID), ","); got != "depends_on orders-db,runs_on vm-one" {
					t.Fatalf("relations %s", got)
				}
			})
		}
		e.t = t
		// A second import is unchanged, and so is guessing the format.
		res := e.mustImport(smallCSV, "")
		wantCounts(t, res.Counts, cmdb.ImportCounts{Rows: 3, Unchanged: 3, RelationsUnchanged: 2})
		if res.Format != "csv" {
			t.Fatalf("guessed %s", res.Format)
		}
		if n := e.n("SELECT COUNT(*) FROM cis WHERE name IN ('shop', 'vm-one', 'orders-db')"); n != 3 {
			t.Fatalf("%d CIs", n)
		}
		// One audit entry per applied import.
		if n := e.n("SELECT COUNT(*) FROM audit_log WHERE action = 'ci.import'"); n != 4 {
			t.Fatalf("%d import audit entries", n)
		}
	})
}

func TestImportDryRunAndDiff(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newIOEnv(t, d)
		res := e.mustImport(smallCSV, "csv", dryRun)
		wantCounts(t, res.Counts, cmdb.ImportCounts{Rows: 3, Created: 3, RelationsCreated: 2})
		if res.Applied || !res.DryRun || res.Rows[0].CIID != 0 || res.Rows[0].Action != "create" || res.Rows[0].Row != 2 {
			t.Fatalf("dry run %+v", res)
		}
		if n := e.n("SELECT COUNT(*) FROM cis WHERE source = 'inv' OR name = 'orders-db'"); n != 0 {
			t.Fatalf("a dry run wrote %d CIs", n)
		}
		if n := e.n("SELECT COUNT(*) FROM audit_log WHERE action = 'ci.import'"); n != 0 {
			t.Fatal("a dry run was audited")
		}
		e.mustImport(smallCSV, "csv")
		before := e.n("SELECT COUNT(*) FROM ci_history")
		changed := strings.Replace(smallCSV, "10.0.0.1,debian", "10.0.0.2,debian", 1)
		changed = strings.Replace(changed, "orders-db,,,staging", "orders-db,,,production", 1)
		res = e.mustImport(changed, "csv", dryRun)
		wantCounts(t, res.Counts, cmdb.ImportCounts{Rows: 3, Updated: 2, Unchanged: 1, RelationsUnchanged: 2})
		vm := res.Rows[1]
		if vm.Action != "update" || vm.CIID == 0 || len(vm.Changes) != 1 || vm.Changes[0].Field != "attributes.ip" ||
			vm.Changes[0].Before != "10.0.0.1" || vm.Changes[0].After != "10.0.0.2" {
			t.Fatalf("vm diff %+v", vm)
		}
		if res.Rows[2].Changes[0].Field != "environment" || res.Rows[0].Action != "unchanged" {
			t.Fatalf("rows %+v", res.Rows)
		}
		if e.ci("inv:vm-1").Attributes["ip"] != "10.0.0.1" || e.n("SELECT COUNT(*) FROM ci_history") != before {
			t.Fatal("the dry run changed the CMDB")
		}
		res = e.mustImport(changed, "csv")
		wantCounts(t, res.Counts, cmdb.ImportCounts{Rows: 3, Updated: 2, Unchanged: 1, RelationsUnchanged: 2})
		if e.ci("inv:vm-1").Attributes["ip"] != "10.0.0.2" {
			t.Fatal("not applied")
		}
	})
}

func TestImportErrors(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newIOEnv(t, d)
		file := `class,name,external_id,source,team,lifecycle,ip,rel.runs_on
virtual_machine,vm-a,a,x,,,10.0.0.1,
virtual_machine,vm-b,b,x,,,not-an-ip,
server,srv-c,c,x,Nobody,,10.0.0.3,
virtual_machine,vm-d,d,x,,,10.0.0.4,nowhere
gizmo,thing,e,x,,,,
virtual_machine,vm-f,a,x,,,10.0.0.6,
virtual_machine,vm-g,g,x,,,10.0.0.7,b
virtual_machine,vm-h,h,x,,sleeping,10.0.0.8,a
`
		want := []string{"row 3, attributes.ip: must be an IP address", "row 4, team: names no team: Nobody",
			"row 6, class: names no class: gizmo", "row 7, external_id: repeats row 2", "row 9, lifecycle: must be one of planned, in_use, maintenance, retired, disposed",
			"row 5, relations.runs_on: names no CI: nowhere", "row 8, relations.runs_on: names the CI of row 3, which has errors"}
		check := func(res cmdb.ImportResult) {
			t.Helper()
			var got []string
			for _, ie := range res.Errors {
				got = append(got, ie.String())
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
		// A dry run lists every error and changes nothing.
		res := e.mustImport(file, "csv", dryRun)
		check(res)
		wantCounts(t, res.Counts, cmdb.ImportCounts{Rows: 8, Created: 3, Failed: 5, RelationsFailed: 2})
		// Applying all or nothing refuses, naming each row and field.
		_, err := e.imp(file, "csv")
		ee, ok := errs.As(err)
		if !ok || ee.Kind != errs.KindInvalid || len(ee.Fields) != 7 || ee.Fields[0].Field != "row 3, attributes.ip" {
			t.Fatalf("all or nothing: %v", err)
		}
		if n := e.n("SELECT COUNT(*) FROM cis WHERE source = 'x'"); n != 0 {
			t.Fatalf("an import with errors wrote %d CIs", n)
		}
		// valid_only applies the valid rows (and their relations) and reports the rest.
		res = e.mustImport(file, "csv", validOnly)
		check(res)
		if !res.Applied || e.n("SELECT COUNT(*) FROM cis WHERE source = 'x'") != 3 {
			t.Fatalf("valid only: %+v", res.Counts)
		}

		// A file that cannot be read at all is refused whole.
		for name, tc := range map[string]struct {
			file, format, field string
			kind                errs.Kind
		}{
			"no class column":     {"name\nx\n", "csv", "row 1, class", errs.KindInvalid},
			"unknown relation":    {"class,name,rel.owns\nserver,x,y\n", "csv", "row 1, rel.owns", errs.KindInvalid},
			"repeated column":     {"class,name,ip,attr.ip\n", "csv", "row 1, attr.ip", errs.KindInvalid},
			"bad quotes":          {"class,name\nserver,\"x\n", "csv", "row 2", errs.KindInvalid},
			"json syntax":         {`[{"class": "server",}]`, "json", "body", errs.KindInvalid},
			"json top level":      {`{"things": []}`, "json", "things", errs.KindInvalid},
			"yaml syntax":         {"items: [a\n", "yaml", "body", errs.KindInvalid},
			"relations list type": {`{"items": [], "relations": [{"source": "a", "type": "owns", "target": "b"}]}`, "json", "relations[0].type", errs.KindInvalid},
			"format":              {"x", "xml", "format", errs.KindInvalid},
		} {
			_, err := e.imp(tc.file, tc.format)
			ee, ok := errs.As(err)
			if !ok || ee.Kind != tc.kind || len(ee.Fields) == 0 || ee.Fields[0].Field != tc.field {
				t.Errorf("%s: %v", name, err)
			}
		}
		// Item errors in JSON name the item and the field.
		res = e.mustImport(`[{"class": "server", "name": "s", "colour": "red", "attributes": {"cpus": "many"}}]`, "json", dryRun)
		if len(res.Errors) != 1 || res.Errors[0].String() != "row 1, colour: is not a known field" {
			t.Fatalf("json errors %v", res.Errors)
		}
		res = e.mustImport(`[{"class": "server", "name": "s", "attributes": {"cpus": "many", "size": 1}}]`, "json", dryRun)
		if len(res.Errors) != 2 || res.Errors[0].String() != "row 1, attributes.cpus: must be a number" ||
			res.Errors[1].Field != "attributes.size" {
			t.Fatalf("json errors %v", res.Errors)
		}
		// A bare column that the row's class lacks.
		res = e.mustImport("class,name,engine\nserver,s1,postgresql\n", "csv", dryRun)
		if len(res.Errors) != 1 || res.Errors[0].String() != "row 2, engine: is not an attribute of class server (nor a known column)" {
			t.Fatalf("bare column %v", res.Errors)
		}
		// Viewers may not import.
		if _, err := e.st.Import(viewerCtx(), strings.NewReader(smallCSV), cmdb.ImportOptions{Format: "csv"}); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a viewer imports: %v", err)
		}
	})
}

func TestImportRelationsAndMatching(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newIOEnv(t, d)
		res := e.mustImport(readEstate(t), "csv")
		wantCounts(t, res.Counts, cmdb.ImportCounts{Rows: 22, Created: 22, RelationsCreated: 25})
		if got := strings.Join(e.related(e.ci("estate:shop-api").ID), ","); got != "depends_on db-orders,depends_on payments-api,runs_on vm-app-1" {
			t.Fatalf("shop-api: %s", got)
		}
		if got := strings.Join(e.related(e.ci("lb-2").ID), ","); got != "member_of web-lb" {
			t.Fatalf("lb-2: %s", got)
		}
		// The file's relations list, a cycle refused with its row, and a
		// row without external id matched by class and name.
		res = e.mustImport(`{"items": [{"class": "database", "name": "db-search", "source": "estate", "external_id": "db-search", "location": "dc-1",
			"attributes": {"engine": "redis", "version": "7.4"}, "relations": {"runs_on": ["db-host-2"]}},
			{"class": "server", "name": "db-host-2", "location": "dc-1", "attributes": {"ip": "10.0.3.2", "os": "debian 12", "cpus": 16, "serial": "SN-DB-0002"},
			 "relations": {"depends_on": ["db-search"]}}],
			"relations": [{"source": "search-api", "type": "connects_to", "target": "estate:db-orders"},
			              {"source": "nothing", "type": "depends_on", "target": "db-orders"}]}`, "json", validOnly)
		want := []string{"row 2, relations.depends_on: would close a cycle", "relations[1].source: names no CI: nothing"}
		if len(res.Errors) != 2 || !strings.HasPrefix(res.Errors[0].String(), want[0]) || res.Errors[1].String() != want[1] {
			t.Fatalf("errors %v", res.Errors)
		}
		wantCounts(t, res.Counts, cmdb.ImportCounts{Rows: 2, Updated: 1, Unchanged: 1, RelationsCreated: 1, RelationsUnchanged: 1, RelationsFailed: 2})
		host := e.ci("db-host-2")
		if host.ExternalID == nil || *host.ExternalID != "db-host-2" || host.Source != "estate" {
			t.Fatalf("matching by class and name lost the external id: %+v", host)
		}
		if got := strings.Join(e.related(e.ci("search-api").ID), ","); got != "connects_to db-orders,depends_on db-search,runs_on vm-app-3" {
			t.Fatalf("search-api: %s", got)
		}
		// Two CIs of one class with one name: a row without external id is ambiguous.
		e.mustImport("class,name,external_id\nserver,twin,t1\nserver,twin,t2\n", "csv")
		res = e.mustImport("class,name\nserver,twin\n", "csv", dryRun)
		if len(res.Errors) != 1 || res.Errors[0].Field != "name" {
			t.Fatalf("ambiguous name: %v", res.Errors)
		}
	})
}

func TestExportRoundTrip(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newIOEnv(t, d)
		e.mustImport(readEstate(t), "csv")
		// A team, a CI by hand with a relation to a CI of another source,
		// and two CIs that share a name.
		team, err := e.s.App.IAM.CreateTeam(iam.WithPrincipal(context.Background(), iam.Principal{UserID: e.s.AdminID, Role: iam.RoleAdmin}),
			iam.NewTeam{Name: "Platform"})
		if err != nil {
			t.Fatal(err)
		}
		e.mustImport(`[{"class": "storage", "name": "backup-array", "team": "platform", "location": "dc-2", "attributes": {"capacity_gb": 2048.5}},
			{"class": "storage", "name": "twin"}, {"class": "server", "name": "twin", "external_id": "tw", "source": "other"},
			{"class": "application", "name": "reporting", "relations": {"backed_up_by": ["backup-array"], "depends_on": ["estate:db-orders", "other:tw"]}}]`, "json")
		if e.ci("backup-array").TeamID == nil || *e.ci("backup-array").TeamID != team.ID {
			t.Fatal("team by name")
		}
		for _, format := range cmdb.Formats {
			items, err := e.st.Export(ioManager, cmdb.ExportFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := cmdb.WriteItems(&buf, format, items); err != nil {
				t.Fatal(err)
			}
			res := e.mustImport(buf.String(), format, dryRun)
			total := e.n("SELECT COUNT(*) FROM cis")
			rels := e.n("SELECT COUNT(*) FROM ci_relations")
			wantCounts(t, res.Counts, cmdb.ImportCounts{Rows: total, Unchanged: total, RelationsUnchanged: rels})
		}
		// A selection.
		items, err := e.st.Export(ioManager, cmdb.ExportFilter{Class: "database", Q: "db-"})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 3 || items[0].Relations["runs_on"][0] != "db-host-1" {
			t.Fatalf("databases: %+v", items)
		}
		items, _ = e.st.Export(ioManager, cmdb.ExportFilter{Team: "Platform"})
		if len(items) != 1 || items[0].Name != "backup-array" || items[0].Team != "Platform" {
			t.Fatalf("by team: %+v", items)
		}
		items, _ = e.st.Export(ioManager, cmdb.ExportFilter{IDs: []int64{e.ci("reporting").ID}})
		if len(items) != 1 || strings.Join(items[0].Relations["depends_on"], ";") != "estate:db-orders;other:tw" {
			t.Fatalf("by id: %+v", items)
		}
		var buf bytes.Buffer
		_ = cmdb.WriteItems(&buf, "csv", items)
		if !strings.HasPrefix(buf.String(), "class,name,external_id,source,team,environment,location,lifecycle,rel.depends_on,rel.backed_up_by\n") {
			t.Fatalf("csv header: %s", buf.String())
		}
		if _, err := e.st.Export(ioManager, cmdb.ExportFilter{Team: "nobody"}); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("unknown team: %v", err)
		}
	})
}
