package bench

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// With the estate of --cmdb, the single load's PagerDuty events (source
// web-N.example.net) and the batch load's generic events (instance
// web-N:9100) each name their host CI, and the incidents list affected CIs.
func TestSeedEstateNamesHosts(t *testing.T) {
	s, err := StartSteady(context.Background(), "", "error")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	singleSvc, singleKey, err := s.NewService("single", nil)
	if err != nil {
		t.Fatal(err)
	}
	batchSvc, batchKey, err := s.NewService("batch", nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.SeedEstate()
	if err != nil {
		t.Fatal(err)
	}
	if want := estateSwitches + estateHosts + estateApps + estateServices; n != want {
		t.Fatalf("imported %d CIs, want %d", n, want)
	}
	// The graph is reloaded in the background after the import.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, err := s.App.CMDB.Graph(context.Background())
		if err == nil && g.Len() >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the graph did not load the estate: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	o := IngestOptions{Clients: 2, BatchClients: 1, BatchSize: 20, Keys: 1000, Duration: 200 * time.Millisecond}
	if _, err := SteadySingle(s, singleKey, o); err != nil {
		t.Fatal(err)
	}
	if _, err := SteadyBatch(s, batchKey, o); err != nil {
		t.Fatal(err)
	}
	rows, err := s.App.DB.R.Query(`SELECT a.service_id, a.dedup_key, COALESCE(c.name, '') FROM alerts a LEFT JOIN cis c ON c.id = a.ci_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[int64]int{}
	for rows.Next() {
		var svc int64
		var key, ci string
		if err := rows.Scan(&svc, &key, &ci); err != nil {
			t.Fatal(err)
		}
		k, err := strconv.Atoi(strings.TrimPrefix(key, "bench-"))
		if err != nil {
			t.Fatalf("dedup key %q", key)
		}
		if want := "web-" + strconv.Itoa(k%estateHosts); ci != want {
			t.Errorf("service %d alert %s names CI %q, want %q", svc, key, ci, want)
		}
		seen[svc]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen[singleSvc] == 0 || seen[batchSvc] == 0 {
		t.Fatalf("alerts per service: %v", seen)
	}
	alerts, incidents, ok, err := s.TopologyCounts()
	if err != nil || !ok || alerts != int64(seen[singleSvc]+seen[batchSvc]) || incidents < 2 {
		t.Fatalf("topology counts: %d alerts, %d incidents, %v %v", alerts, incidents, ok, err)
	}
}
