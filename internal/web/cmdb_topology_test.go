package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestIncidentTopologySection(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		ci := func(class, name string) int64 {
			var v struct {
				ID int64 `json:"id"`
			}
			s.Do("POST", "/api/v1/cis", s.AdminToken, map[string]any{"class": class, "name": name}).Want(201).JSON(&v)
			return v.ID
		}
		host, app1, app2 := ci("server", "host-1"), ci("application", "app-1"), ci("application", "app-2")
		for _, app := range []int64{app1, app2} {
			s.Do("POST", "/api/v1/relations", s.AdminToken, map[string]any{"source_id": app, "type": "runs_on", "target_id": host}).Want(201)
		}
		a, b := s.NewService("Alpha"), s.NewService("Beta")
		for _, x := range []struct {
			svc testkit.Service
			app int64
		}{{a, app1}, {b, app2}} {
			var sv struct {
				CIID int64 `json:"ci_id"`
			}
			s.Do("GET", fmt.Sprintf("/api/v1/services/%d", x.svc.ID), s.AdminToken, nil).Want(200).JSON(&sv)
			s.Do("POST", "/api/v1/relations", s.AdminToken, map[string]any{"source_id": sv.CIID, "type": "depends_on", "target_id": x.app}).Want(201)
		}
		for i, x := range []struct {
			svc      testkit.Service
			instance string
		}{{a, "app-1:80"}, {b, "app-2:80"}} {
			s.Do("POST", "/api/v1/events", "", map[string]any{"summary": "down", "dedup_key": fmt.Sprint("k", i),
				"labels": map[string]string{"instance": x.instance}}, "Authorization", "Bearer "+x.svc.Key).Want(202)
		}
		var inc int64
		if err := s.App.DB.R.QueryRow("SELECT incident_id FROM alerts WHERE ci_id = $1", app2).Scan(&inc); err != nil {
			t.Fatal(err)
		}
		p := fmt.Sprintf("/incidents/%d", inc)

		br, _ := admin(t, s)
		page := br.get(p).want(200).has("Topology", "Probable root cause", "host-1", "Affected CIs", "app-1", "app-2",
			"Impacted services", "Alpha", "Beta", "Confirm root cause", "Probable")
		bad := page.submit(p+"/root-cause", "ci_id", "x")
		if bad.Status != http.StatusUnprocessableEntity && bad.Status != http.StatusBadRequest {
			t.Fatalf("bad ci_id: %d", bad.Status)
		}
		bad.has("must be one of the CIs listed")
		done := page.submit(p+"/root-cause", "ci_id", fmt.Sprint(app1)).redirects(p).want(200)
		done.has("Root cause of INC-", ": app-1.", "Confirmed", "root cause corrected: app-1 (was host-1)")

		viewer := s.NewUser(iam.RoleViewer)
		vb := newBrowser(t, s)
		vb.login(viewer.Email, viewer.Password).redirects("/").want(200)
		vp := vb.get(p).want(200).has("Probable root cause", "app-1").lacks("Confirm root cause")
		vb.post(p+"/root-cause", url.Values{"csrf": {vp.csrf()}, "ci_id": {fmt.Sprint(host)}}).want(http.StatusForbidden)

		// The CI page lists the open incidents naming the CI; a security
		// incident only for admins and its team.
		var title string
		s.App.DB.R.QueryRow("SELECT title FROM incidents WHERE id = $1", inc).Scan(&title)
		ciPage := fmt.Sprintf("/cmdb/cis/%d", host)
		vb.get(ciPage).want(200).has(title, fmt.Sprintf(`href="/incidents/%d"`, inc))
		s.Do("PATCH", fmt.Sprintf("/api/v1/incidents/%d", inc), s.AdminToken, map[string]any{"security": true}).Want(200)
		vb.get(ciPage).want(200).lacks(title, fmt.Sprintf(`href="/incidents/%d"`, inc)).has("No open incidents name this CI.")
		br.get(ciPage).want(200).has(title, fmt.Sprintf(`href="/incidents/%d"`, inc))
	})
}
