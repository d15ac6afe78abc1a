package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// These benchmarks drive a real server over loopback HTTP with 32 concurrent
// clients, the same set-up as the ingest figures in BENCHMARKS.md:
//
//	go test -run '^$' -bench . -benchtime 5s ./internal/app/
func benchDialects(b *testing.B, fn func(b *testing.B, s *testkit.Server)) {
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			// Production durability (synchronous=full on SQLite), not the
			// tests' faster setting.
			s := testkit.Start(b, d, testkit.Options{Modify: func(o *app.Options) { o.Synchronous = "full" }})
			fn(b, s)
		})
	}
}

func client() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

func send(b *testing.B, c *http.Client, req *http.Request, want int) {
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d", req.Method, req.URL.Path, resp.StatusCode)
	}
}

// BenchmarkAuthenticatedRead is GET /api/v1/users/me with a bearer token:
// token lookup by hash, role check, one read, JSON out.
func BenchmarkAuthenticatedRead(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *testkit.Server) {
		c := client()
		b.SetParallelism(16) // 2 cores × 16 = 32 clients
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("GET", s.URL+"/api/v1/users/me", nil)
				req.Header.Set("Authorization", "Bearer "+s.AdminToken)
				send(b, c, req, 200)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// BenchmarkAuditedWrite is POST /api/v1/teams: a validated insert and its
// hash-chained audit entry in one transaction, answered after commit.
func BenchmarkAuditedWrite(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *testkit.Server) {
		c := client()
		var n atomic.Int64
		b.SetParallelism(16)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				body := fmt.Sprintf(`{"name":"team-%d"}`, n.Add(1))
				req, _ := http.NewRequest("POST", s.URL+"/api/v1/teams", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+s.AdminToken)
				req.Header.Set("Content-Type", "application/json")
				send(b, c, req, 201)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// BenchmarkIngestPagerDuty is POST /v2/enqueue, one trigger per request over
// 10,000 dedup keys: integration key (cached), decode, group commit, 202.
func BenchmarkIngestPagerDuty(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *testkit.Server) {
		svc := s.NewService("bench")
		c := client()
		var n atomic.Int64
		b.SetParallelism(16)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				body := fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":"key-%d",`+
					`"payload":{"summary":"High latency","source":"web-1","severity":"error"}}`, svc.Key, n.Add(1)%10000)
				req, _ := http.NewRequest("POST", s.URL+"/v2/enqueue", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				send(b, c, req, 202)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// BenchmarkIngestBatch is POST /api/v1/events with 100 events per request.
func BenchmarkIngestBatch(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *testkit.Server) {
		svc := s.NewService("bench")
		c := client()
		var n atomic.Int64
		b.SetParallelism(4) // 8 clients
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
					fmt.Fprintf(&sb, `{"summary":"High latency","dedup_key":"key-%d","labels":{"instance":"web-1"}}`, n.Add(1)%10000)
				}
				sb.WriteByte(']')
				req, _ := http.NewRequest("POST", s.URL+"/api/v1/events", strings.NewReader(sb.String()))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+svc.Key)
				send(b, c, req, 202)
			}
		})
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
	})
}
