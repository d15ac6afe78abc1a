package cmdb_test

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// TestDatabaseHostFails is the CMDB tried as an operations team would: a
// realistic estate imported from CSV (testdata/estate.csv: three business
// services, their applications, VMs, servers, databases and a load-balancer
// pair), then the database host db-host-1 fails and what runs on it alerts
// through Alertmanager: one incident, db-host-1 as the probable root cause,
// Web Shop and Payments as the impacted services (Search is not).
func TestDatabaseHostFails(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		csv, err := os.ReadFile("testdata/estate.csv")
		if err != nil {
			t.Fatal(err)
		}
		// A dry run shows the diff and changes nothing; then the import.
		dry := s.Do("POST", "/api/v1/cis/import?format=csv&dry_run=true", s.AdminToken, csv, "Content-Type", "text/csv").Want(200).Map()
		if n := len(getList(t, s, "/api/v1/cis?class=database")); n != 0 {
			t.Fatalf("the dry run wrote %d databases: %v", n, dry["counts"])
		}
		s.Do("POST", "/api/v1/cis/import?format=csv", s.AdminToken, csv, "Content-Type", "text/csv").Want(200)
		if n := len(getList(t, s, "/api/v1/cis?class=database")); n != 3 {
			t.Fatalf("%d databases after the import", n)
		}
		// Importing the same file again changes nothing.
		again := s.Do("POST", "/api/v1/cis/import?format=csv&dry_run=true", s.AdminToken, csv, "Content-Type", "text/csv").Want(200).Map()
		if c, _ := again["counts"].(map[string]any); c["created"] != float64(0) || c["updated"] != float64(0) {
			t.Fatalf("a second import would change things: %v", again["counts"])
		}

		// Prometheus watches the databases and the applications; its
		// Alertmanager sends to one Steady service.
		svc := s.NewService("Prometheus")
		// Without topology, each instance would be an incident of its own.
		s.Do("PATCH", fmt.Sprintf("/api/v1/services/%d", svc.ID), s.AdminToken, map[string]any{"group_by": []string{"instance"}}).Want(200)
		firing := func(name, instance string) map[string]any {
			return map[string]any{"status": "firing", "labels": map[string]string{"alertname": name, "instance": instance, "severity": "critical"},
				"annotations": map[string]string{"summary": name + " on " + instance}, "startsAt": s.Clock.Now().Format("2006-01-02T15:04:05Z")}
		}
		send := func(key string, alerts ...map[string]any) {
			s.Do("POST", "/api/v1/integrations/alertmanager", "", map[string]any{"version": "4", "status": "firing", "receiver": "steady",
				"groupKey": key, "alerts": alerts}, "Authorization", "Bearer "+svc.Key).Want(200, 202)
		}
		send("db", firing("PostgresDown", "db-orders:9187"), firing("PostgresDown", "db-payments:9187"))
		send("apps", firing("HighErrorRate", "shop-api:8080"), firing("HighErrorRate", "payments-api:8080"))
		// An alert that shares nothing with them stays apart (search-api
		// would not: it shares a hypervisor with payments-api).
		send("search", firing("RedisDown", "db-search:9121"))

		var open struct {
			Items []struct {
				ID    int64  `json:"id"`
				Title string `json:"title"`
			} `json:"items"`
		}
		s.Do("GET", fmt.Sprintf("/api/v1/incidents?service=%d&status=open", svc.ID), s.AdminToken, nil).Want(200).JSON(&open)
		if len(open.Items) != 2 {
			t.Fatalf("%d open incidents, want the database host one and the Redis one: %+v", len(open.Items), open.Items)
		}
		var topo struct {
			Affected   []struct{ Name string } `json:"affected"`
			Impacted   []struct{ Name string } `json:"impacted"`
			RootCauses []struct {
				Name string
				Rank int
			} `json:"root_causes"`
		}
		found := false
		for _, in := range open.Items {
			s.Do("GET", fmt.Sprintf("/api/v1/incidents/%d/topology", in.ID), s.AdminToken, nil).Want(200).JSON(&topo)
			if len(topo.Affected) == 4 {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("no incident holds the four alerting CIs: %+v", topo)
		}
		names := func(xs []struct{ Name string }) []string {
			var out []string
			for _, x := range xs {
				out = append(out, x.Name)
			}
			slices.Sort(out)
			return out
		}
		if got := names(topo.Affected); !slices.Equal(got, []string{"db-orders", "db-payments", "payments-api", "shop-api"}) {
			t.Fatalf("affected: %v", got)
		}
		if got := names(topo.Impacted); !slices.Equal(got, []string{"Payments", "Web Shop"}) {
			t.Fatalf("impacted services: %v, want Payments and Web Shop", got)
		}
		if len(topo.RootCauses) == 0 || topo.RootCauses[0].Name != "db-host-1" {
			t.Fatalf("root cause candidates: %+v, want db-host-1 first", topo.RootCauses)
		}
	})
}

func getList(t *testing.T, s *testkit.Server, path string) []map[string]any {
	t.Helper()
	var l struct {
		Items []map[string]any `json:"items"`
	}
	s.Do("GET", path, s.AdminToken, nil).Want(200).JSON(&l)
	return l.Items
}
