package api_test

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func importCounts(t *testing.T, r *testkit.Response) map[string]any {
	t.Helper()
	m := r.Map()
	c, _ := m["counts"].(map[string]any)
	return c
}

func TestCMDBImportExportAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		manager, viewer := c.user(iam.RoleManager), c.user(iam.RoleViewer)
		estate, err := os.ReadFile("../cmdb/testdata/estate.csv")
		if err != nil {
			t.Fatal(err)
		}
		csv := []string{"Content-Type", "text/csv"}

		// A dry run, then the import, then the same again: unchanged.
		r := c.do("POST", "/api/v1/cis/import?dry_run=true", manager.Token, estate, csv...).Want(200)
		if n := importCounts(t, r); n["created"] != 22.0 || n["relations_created"] != 25.0 || r.Map()["applied"] != false {
			t.Fatalf("dry run: %s", r.Body)
		}
		if n := c.count("SELECT COUNT(*) FROM cis WHERE source = 'estate'"); n != 0 {
			t.Fatalf("the dry run wrote %d CIs", n)
		}
		r = c.do("POST", "/api/v1/cis/import", manager.Token, estate, csv...).Want(200)
		if n := importCounts(t, r); n["created"] != 22.0 || r.Map()["applied"] != true {
			t.Fatalf("import: %s", r.Body)
		}
		r = c.do("POST", "/api/v1/cis/import?format=csv", manager.Token, estate, "Content-Type", "application/octet-stream").Want(200)
		if n := importCounts(t, r); n["unchanged"] != 22.0 || n["relations_unchanged"] != 25.0 {
			t.Fatalf("second import: %s", r.Body)
		}
		wantProblem(c.do("POST", "/api/v1/cis/import", viewer.Token, estate, csv...), 403)

		// JSON and YAML bodies, told by their content type.
		c.do("POST", "/api/v1/cis/import", manager.Token, `[{"class": "server", "name": "j1", "external_id": "j1", "source": "api"}]`).Want(200)
		r = c.do("POST", "/api/v1/cis/import", manager.Token, "items:\n  - {class: server, name: y1, external_id: y1, source: api}\n",
			"Content-Type", "application/yaml").Want(200)
		if n := importCounts(t, r); n["created"] != 1.0 {
			t.Fatalf("yaml: %s", r.Body)
		}

		// Errors: all or nothing names the row and the field; valid_only applies the rest.
		bad := "class,name,external_id,source,ip\nserver,ok-1,ok-1,api,10.0.0.1\nserver,bad-1,bad-1,api,999.1.1.1\n"
		wantProblem(c.do("POST", "/api/v1/cis/import", manager.Token, bad, csv...), 400, "row 3, attributes.ip")
		if n := c.count("SELECT COUNT(*) FROM cis WHERE name = 'ok-1'"); n != 0 {
			t.Fatal("an import with errors wrote a row")
		}
		r = c.do("POST", "/api/v1/cis/import?valid_only=true", manager.Token, bad, csv...).Want(200)
		if errs := r.Map()["errors"].([]any); len(errs) != 1 || c.count("SELECT COUNT(*) FROM cis WHERE name = 'ok-1'") != 1 {
			t.Fatalf("valid only: %s", r.Body)
		}
		wantProblem(c.do("POST", "/api/v1/cis/import?format=xml", manager.Token, bad, csv...), 400, "format")
		wantProblem(c.do("POST", "/api/v1/cis/import?dry_run=perhaps", manager.Token, bad, csv...), 400, "dry_run")
		wantProblem(c.do("POST", "/api/v1/cis/import", manager.Token, "name\nx\n", csv...), 400, "row 1, class")

		// Too large: a body past the limit, and too many rows.
		huge := io.MultiReader(strings.NewReader("class,name\nserver,\""), io.LimitReader(zeros{}, 50<<20+1))
		wantProblem(c.stream("POST", "/api/v1/cis/import?format=csv", manager.Token, huge), 413)
		many := "class,name,external_id\n" + strings.Repeat("server,x,\n", 200_001)
		wantProblem(c.do("POST", "/api/v1/cis/import?format=csv", manager.Token, many, csv...), 413)

		// Export in every format, and the round trip.
		for _, f := range []struct{ format, ctype string }{{"csv", "text/csv; charset=utf-8"}, {"json", "application/json"}, {"yaml", "application/yaml"}} {
			r := c.do("GET", "/api/v1/cis/export?format="+f.format, viewer.Token, nil).Want(200)
			if r.Header.Get("Content-Type") != f.ctype || !strings.Contains(r.Header.Get("Content-Disposition"), "cis."+f.format) {
				t.Fatalf("%s export headers %v", f.format, r.Header)
			}
			back := c.do("POST", "/api/v1/cis/import?dry_run=true&format="+f.format, manager.Token, r.Body, csv...).Want(200)
			n := importCounts(t, back)
			if n["unchanged"] != n["rows"] || n["relations_unchanged"] != 25.0 || n["created"] != 0.0 || n["updated"] != 0.0 {
				t.Fatalf("%s round trip: %v", f.format, n)
			}
		}
		r = c.do("GET", "/api/v1/cis/export?class=database&environment=production", viewer.Token, nil).Want(200)
		if lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n"); len(lines) != 4 ||
			!strings.HasPrefix(lines[0], "class,name,external_id,source,team,environment,location,lifecycle,attr.engine,attr.version,rel.runs_on") {
			t.Fatalf("databases: %s", r.Body)
		}
		r = c.do("GET", "/api/v1/cis/export?format=json&q=shop", viewer.Token, nil).Want(200)
		if items := r.Map()["items"].([]any); len(items) != 3 {
			t.Fatalf("q=shop: %s", r.Body)
		}
		wantProblem(c.do("GET", "/api/v1/cis/export?ids=1,x", viewer.Token, nil), 400, "ids")
		wantProblem(c.do("GET", "/api/v1/cis/export?format=xls", viewer.Token, nil), 400, "format")
		wantProblem(c.do("GET", "/api/v1/cis/export?team=nobody", viewer.Token, nil), 400, "team")
	})
}

// zeros is an endless stream of "a".
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestDiscoveryAndAuditAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		manager, responder, viewer := c.user(iam.RoleManager), c.user(iam.RoleResponder), c.user(iam.RoleViewer)
		feed := `[{"class": "server", "name": "n1", "external_id": "n1"}, {"class": "server", "name": "n2", "external_id": "n2"}]`
		r := c.do("POST", "/api/v1/discovery/scanner", manager.Token, feed).Want(200).Map()
		if r["created"] != 2.0 || r["missing"] != 0.0 || r["source"] != "scanner" {
			t.Fatalf("first feed: %v", r)
		}
		r = c.do("POST", "/api/v1/discovery/scanner?format=yaml", manager.Token, "- {class: server, name: n1, external_id: n1}\n- {class: server, name: n3}\n",
			"Content-Type", "application/yaml").Want(200).Map()
		if r["unchanged"] != 1.0 || r["missing"] != 1.0 || len(r["errors"].([]any)) != 1 {
			t.Fatalf("second feed: %v", r)
		}
		wantProblem(c.do("POST", "/api/v1/discovery/scanner", responder.Token, feed), 403)
		wantProblem(c.do("POST", "/api/v1/discovery/scanner?format=csv", manager.Token, "class,name\n"), 400, "format")
		wantProblem(c.do("POST", "/api/v1/discovery/bad%20source", manager.Token, feed), 400, "source")
		wantProblem(c.do("POST", "/api/v1/discovery/scanner", manager.Token, `{"items": 3}`), 400, "items")

		// The configuration audit: n2 is missing, both servers are in
		// production without an owner.
		rep := c.do("GET", "/api/v1/cmdb/audit", viewer.Token, nil).Want(200).Map()
		counts := rep["counts"].(map[string]any)
		if counts["not_seen"] != 1.0 || counts["production_without_owner"] != 2.0 || len(rep["items"].([]any)) != 3 || rep["not_seen_days"] != 7.0 {
			t.Fatalf("audit: %v", rep)
		}
		l, next := items(c.do("GET", "/api/v1/cmdb/audit?limit=2", viewer.Token, nil).Want(200))
		if len(l) != 2 || next == "" {
			t.Fatalf("page 1: %v %q", l, next)
		}
		l2, next := items(c.do("GET", "/api/v1/cmdb/audit?limit=2&after="+next, viewer.Token, nil).Want(200))
		if len(l2) != 1 || next != "" || l2[0]["rule"] != "not_seen" || l2[0]["ci_name"] != "n2" {
			t.Fatalf("page 2: %v %q", l2, next)
		}
		l, _ = items(c.do("GET", "/api/v1/cmdb/audit?rule=not_seen&not_seen_days=30", viewer.Token, nil).Want(200))
		if len(l) != 1 || !strings.Contains(l[0]["message"].(string), "missing from scanner") {
			t.Fatalf("not_seen: %v", l)
		}
		wantProblem(c.do("GET", "/api/v1/cmdb/audit?rule=everything", viewer.Token, nil), 400, "rule")
		wantProblem(c.do("GET", "/api/v1/cmdb/audit?not_seen_days=0", viewer.Token, nil), 400, "not_seen_days")
		wantProblem(c.do("GET", "/api/v1/cmdb/audit", "", nil), 401)
	})
}
