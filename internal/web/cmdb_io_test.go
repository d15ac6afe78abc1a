package web_test

import (
	"os"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestCMDBImportPage(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		m := signIn(t, s, s.NewUser(iam.RoleManager))
		v := signIn(t, s, s.NewUser(iam.RoleViewer))
		estate, err := os.ReadFile("../cmdb/testdata/estate.csv")
		if err != nil {
			t.Fatal(err)
		}
		cis := func() int {
			var n int
			if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM cis WHERE source = 'estate'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		form := m.get("/cmdb/import").want(200).has("<h1>Import CIs</h1>", `aria-current="page">CMDB</a>`, `name="content"`,
			`type="file"`, "Preview changes", `value="apply"`, "cmdb_import.js")
		// The preview shows the diff and changes nothing.
		p := form.submit("/cmdb/import", "content", string(estate), "format", "csv", "action", "preview").want(200).
			has("Preview, nothing changed yet: 22 rows, 22 to create", "What the import would do, row by row", "db-host-1", "Create",
				"Relationships (25)")
		if cis() != 0 {
			t.Fatal("the preview wrote CIs")
		}
		// Apply it from the preview.
		p.submit("/cmdb/import", "content", string(estate), "format", "csv", "action", "apply").want(200).
			has("Imported 22 rows: 22 created", "What the import did")
		if cis() != 22 {
			t.Fatalf("%d CIs after applying", cis())
		}
		wantAudit(t, s, "ci.import")
		// A change shows as an update with its field changes.
		changed := strings.Replace(string(estate), "db-host-1,db-host-1,estate,,production,dc-1,in_use,10.0.3.1", "db-host-1,db-host-1,estate,,production,dc-1,in_use,10.0.3.9", 1)
		form.submit("/cmdb/import", "content", changed, "action", "preview").want(200).
			has("1 to update", "Update", "attributes.ip", "10.0.3.1 → 10.0.3.9")

		// Errors name the row and the field; applying refuses and changes nothing.
		bad := "class,name,external_id,source,ip\nserver,new-1,n1,web,10.0.0.1\nserver,new-2,n2,web,nowhere\n"
		form.submit("/cmdb/import", "content", bad, "action", "preview").want(200).
			has("1 problem", "row 3, attributes.ip: must be an IP address", "Error")
		form.submit("/cmdb/import", "content", bad, "action", "apply").want(400).
			has("nothing was changed", "row 3, attributes.ip: must be an IP address")
		form.submit("/cmdb/import", "content", bad, "action", "apply", "valid_only", "1").want(200).
			has("Imported 2 rows: 1 created", "these rows were left out", "row 3, attributes.ip")
		form.submit("/cmdb/import", "content", "  ", "action", "preview").want(400).has("is required: paste a file or choose one")
		form.submit("/cmdb/import", "content", "name\nx\n", "format", "csv", "action", "preview").want(400).has("row 1, class")

		// Viewers may not import.
		v.get("/cmdb/import").want(403)
		v.get("/cmdb/audit").want(200).submit("/cmdb/import", "content", string(estate), "action", "apply").want(403)
		if cis() != 22 {
			t.Fatal("a viewer imported")
		}
	})
}

func TestCMDBAuditPage(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		v := signIn(t, s, s.NewUser(iam.RoleViewer))
		v.get("/cmdb/audit").want(200).has("<h1>Configuration audit</h1>", "0 findings in all", "production_without_owner",
			"steady_cmdb_audit_findings", "No findings: the CMDB passes every rule.")
		s.Do("POST", "/api/v1/cis/import", s.AdminToken, `[{"class": "business_service", "name": "Lonely"},
			{"class": "server", "name": "box", "environment": "staging"}]`).Want(200)
		p := v.get("/cmdb/audit").want(200).has("2 findings in all", "Lonely", "is in production and has no owner team",
			"is a business service with no outgoing relation")
		if !strings.Contains(p.Body, `href="/cmdb/cis/`) {
			t.Fatalf("no link to the CI:\n%s", p.Body)
		}
		v.get("/cmdb/audit?rule=production_without_owner").want(200).has("Findings of production_without_owner").
			lacks("is a business service with no outgoing relation")
		v.get("/cmdb/audit?not_seen_days=0").want(400).has("not_seen_days", "from 1 to 3650")
	})
}
