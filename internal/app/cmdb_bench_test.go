package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/steadyhq/steady/internal/testkit"
)

// BenchmarkIngestTopology is BenchmarkIngestPagerDuty and BenchmarkIngestBatch
// with and without a CMDB of 10,000 CIs that the events name (9 in 10 of
// them): the cost of topology-aware incidents on ingest. With the CMDB each
// event's CI is looked up by the mapping rules, new alerts store it, and
// alerts on hosts behind the same switch join one incident whose CIs,
// impacted services and root-cause candidates are kept up to date.
//
//	go test -run '^$' -bench IngestTopology -benchtime 5s ./internal/app/
func BenchmarkIngestTopology(b *testing.B) {
	for _, load := range []string{"single", "batch"} {
		for _, withCMDB := range []bool{false, true} {
			name := load + "/nocmdb"
			if withCMDB {
				name = load + "/cmdb"
			}
			b.Run(name, func(b *testing.B) {
				benchDialects(b, func(b *testing.B, s *testkit.Server) {
					svc := s.NewService("bench")
					if withCMDB {
						seedEstate(b, s)
					}
					if load == "single" {
						ingestSingle(b, s, svc)
					} else {
						ingestBatch(b, s, svc)
					}
				})
			})
		}
	}
}

// Estate sizes: 50 switches, 9,000 hosts behind them, 900 applications on
// the hosts, 50 business services on the applications.
const (
	benchSwitches = 50
	benchHosts    = 9000
	benchApps     = 900
	benchServices = 50
)

// seedEstate writes the CMDB straight into the database (the benchmark is
// about ingest, not about creating CIs) and bumps its revision.
func seedEstate(b *testing.B, s *testkit.Server) {
	b.Helper()
	ctx := context.Background()
	err := s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		class := func(key string) (id int64) {
			if err := tx.QueryRowContext(ctx, "SELECT id FROM ci_classes WHERE key = $1", key).Scan(&id); err != nil {
				b.Fatal(err)
			}
			return id
		}
		var names []string
		var classes []int64
		add := func(n int, cls int64, format string) {
			for i := range n {
				names = append(names, fmt.Sprintf(format, i))
				classes = append(classes, cls)
			}
		}
		add(benchSwitches, class("network_device"), "switch-%d")
		add(benchHosts, class("server"), "host-%d")
		add(benchApps, class("application"), "app-%d")
		add(benchServices, class("business_service"), "service-%d")
		ids := make(map[string]int64, len(names))
		const chunk = 500
		for i := 0; i < len(names); i += chunk {
			part := names[i:min(i+chunk, len(names))]
			var q strings.Builder
			q.WriteString("INSERT INTO cis (class_id, name, name_key, created_at, updated_at) VALUES ")
			args := make([]any, 0, 3*len(part))
			for j, n := range part {
				if j > 0 {
					q.WriteByte(',')
				}
				q.WriteString("(" + s.App.DB.Dialect.Params(len(args)+1, 3) + ", 0, 0)")
				args = append(args, classes[i+j], n, strings.ToLower(n))
			}
			q.WriteString(" RETURNING id, name")
			rows, err := tx.QueryContext(ctx, q.String(), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var n string
				if err := rows.Scan(&id, &n); err != nil {
					return err
				}
				ids[n] = id
			}
			rows.Close()
		}
		type rel struct {
			src  string
			typ  string
			dest string
		}
		var rels []rel
		for i := range benchHosts {
			rels = append(rels, rel{fmt.Sprintf("host-%d", i), "depends_on", fmt.Sprintf("switch-%d", i%benchSwitches)})
		}
		for i := range benchApps {
			rels = append(rels, rel{fmt.Sprintf("app-%d", i), "runs_on", fmt.Sprintf("host-%d", i)})
		}
		for i := range benchApps {
			rels = append(rels, rel{fmt.Sprintf("service-%d", i%benchServices), "depends_on", fmt.Sprintf("app-%d", i)})
		}
		for i := 0; i < len(rels); i += chunk {
			part := rels[i:min(i+chunk, len(rels))]
			var q strings.Builder
			q.WriteString("INSERT INTO ci_relations (source_id, type, target_id, created_at) VALUES ")
			args := make([]any, 0, 3*len(part))
			for j, r := range part {
				if j > 0 {
					q.WriteByte(',')
				}
				q.WriteString("(" + s.App.DB.Dialect.Params(len(args)+1, 3) + ", 0)")
				args = append(args, ids[r.src], r.typ, ids[r.dest])
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "UPDATE cmdb_revision SET revision = revision + 1 WHERE id = 1")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	g, err := s.App.CMDB.Graph(ctx)
	if err != nil || g.Len() < benchHosts {
		b.Fatalf("graph: %v (%d CIs)", err, g.Len())
	}
	var rules int
	s.App.DB.R.QueryRow("SELECT COUNT(*) FROM ci_mapping_rules").Scan(&rules)
	if rules == 0 {
		b.Fatal("no mapping rules")
	}
}

// ingestSingle: one PagerDuty trigger per request, 32 clients, 10,000 keys,
// the event's source naming host-<key> (hosts 0–8,999 exist).
func ingestSingle(b *testing.B, s *testkit.Server, svc testkit.Service) {
	c := client()
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := n.Add(1) % 10000
			body := fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":"key-%d",`+
				`"payload":{"summary":"High latency","source":"host-%d","severity":"error"}}`, svc.Key, k, k)
			req, _ := http.NewRequest("POST", s.URL+"/v2/enqueue", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			send(b, c, req, 202)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	reportTopology(b, s)
}

// ingestBatch: 100 generic events per request, 8 clients, the same keys,
// labels instance=host-<key>:9100.
func ingestBatch(b *testing.B, s *testkit.Server, svc testkit.Service) {
	c := client()
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var sb strings.Builder
		for pb.Next() {
			sb.Reset()
			sb.WriteByte('[')
			for i := range 100 {
				if i > 0 {
					sb.WriteByte(',')
				}
				k := n.Add(1) % 10000
				fmt.Fprintf(&sb, `{"summary":"High latency","dedup_key":"key-%d","labels":{"instance":"host-%d:9100"}}`, k, k)
			}
			sb.WriteByte(']')
			req, _ := http.NewRequest("POST", s.URL+"/api/v1/events", strings.NewReader(sb.String()))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+svc.Key)
			send(b, c, req, 202)
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
	reportTopology(b, s)
}

// reportTopology reports how many alerts named a CI and how many incidents
// they made, so a run shows the topology work really happened.
func reportTopology(b *testing.B, s *testkit.Server) {
	b.StopTimer()
	var withCI, incidents int64
	s.App.DB.R.QueryRow("SELECT COUNT(*) FROM alerts WHERE ci_id IS NOT NULL").Scan(&withCI)
	s.App.DB.R.QueryRow("SELECT COUNT(DISTINCT incident_id) FROM incident_cis").Scan(&incidents)
	b.ReportMetric(float64(withCI), "alerts-with-ci")
	b.ReportMetric(float64(incidents), "topo-incidents")
}
