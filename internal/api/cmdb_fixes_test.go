package api_test

import (
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// The history of a deleted CI answers by its id; an id that never named a
// CI is a 404.
func TestDeletedCIHistoryAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		viewer := c.user(iam.RoleViewer)
		host, app := c.newCI("server", "host-1"), c.newCI("application", "shop")
		c.do("POST", "/api/v1/relations", s.AdminToken, map[string]any{"source_id": app, "type": "runs_on", "target_id": host}).Want(201)
		c.do("DELETE", path("/api/v1/cis/%d", app), s.AdminToken, nil).Want(204)
		wantProblem(c.do("GET", path("/api/v1/cis/%d", app), viewer.Token, nil), 404)

		l, _ := items(c.do("GET", path("/api/v1/cis/%d/history", app), viewer.Token, nil).Want(200))
		if len(l) < 2 || l[0]["field"] != "deleted" || l[0]["after"] != nil || l[1]["field"] != path("relation:-runs_on:%d", host) {
			t.Fatalf("history of the deleted CI: %v", l)
		}
		if was, _ := l[0]["before"].(map[string]any); was["name"] != "shop" {
			t.Fatalf("the deleted entry: %v", l[0])
		}
		l, _ = items(c.do("GET", path("/api/v1/cis/%d/history", host), viewer.Token, nil).Want(200))
		if len(l) == 0 || l[0]["field"] != path("relation:-%d:runs_on", app) {
			t.Fatalf("history of the CI that remains: %v", l)
		}
		wantProblem(c.do("GET", path("/api/v1/cis/%d/history", app+1000), viewer.Token, nil), 404)
	})
}

// The format of a posted file may come from its media type, parameters
// and all.
func TestImportMediaTypes(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	c := on(t, s)
	for ct, body := range map[string]string{
		"text/csv; charset=utf-8":         "class,name\nserver,m1\n",
		"Application/X-YAML":              "- {class: server, name: m2}\n",
		"application/json; charset=utf-8": `[{"class": "server", "name": "m3"}]`,
	} {
		r := c.do("POST", "/api/v1/cis/import", s.AdminToken, body, "Content-Type", ct).Want(200).Map()
		if r["format"] == nil || r["counts"].(map[string]any)["created"] != 1.0 {
			t.Fatalf("%s: %v", ct, r)
		}
	}
}
