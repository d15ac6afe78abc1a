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
