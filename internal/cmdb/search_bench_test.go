package cmdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// benchCIs is the size of the estate the search benchmark runs on.
const benchCIs = 100_000

var benchRoles = []string{"web", "api", "db", "cache", "queue", "worker", "lb", "search", "batch", "auth"}
var benchOS = []string{"debian 12", "ubuntu 24.04", "rhel 9", "windows 2022", "alpine 3.20"}

// seedCIs inserts n servers in bulk: names like "db-prod-004217", each with
// a unique IP address and serial number and one of five operating systems.
func seedCIs(tb testing.TB, d *db.DB, n int) {
	tb.Helper()
	ctx := context.Background()
	var classID int64
	if err := d.R.QueryRowContext(ctx, "SELECT id FROM ci_classes WHERE key = 'server'").Scan(&classID); err != nil {
		tb.Fatal(err)
	}
	envs := []string{"prod", "stage", "dev"}
	now := time.Now().UnixMilli()
	const batch = 500
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			var ciRows, valRows []string
			var ciArgs, valArgs []any
			for i := start; i < end; i++ {
				id := int64(1_000_000 + i)
				name := fmt.Sprintf("%s-%s-%06d", benchRoles[i%len(benchRoles)], envs[(i/len(benchRoles))%len(envs)], i)
				ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
				serial := fmt.Sprintf("SN%08d", i*7919%100_000_000)
				os := benchOS[i%len(benchOS)]
				attrs := fmt.Sprintf(`{"ip":%q,"os":%q,"serial":%q}`, ip, os, serial)
				ciRows = append(ciRows, "("+d.Dialect.Params(len(ciArgs)+1, 8)+")")
				ciArgs = append(ciArgs, id, classID, name, strings.ToLower(name), attrs, now, now, 1)
				for _, kv := range [][2]string{{"ip", ip}, {"os", os}, {"serial", strings.ToLower(serial)}} {
					valRows = append(valRows, "("+d.Dialect.Params(len(valArgs)+1, 5)+")")
					valArgs = append(valArgs, id, classID, kv[0], kv[1], strings.ToLower(name))
				}
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO cis (id, class_id, name, name_key, attributes, created_at, updated_at, version) VALUES "+
				strings.Join(ciRows, ","), ciArgs...); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO ci_attribute_values (ci_id, class_id, key, value, name_key) VALUES "+strings.Join(valRows, ","), valArgs...)
			return err
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkCISearch measures CI search at 100,000 CIs: by name prefix, by
// a part of the name, by an attribute value that one CI has (an IP
// address) and by one that a fifth of them share (an operating system),
// each a first page of 50, and by a part of the name with a filter only the
// database applies (missing), a first page of 1. It reports the p50 and
// p99 latency of each.
//
//	go test ./internal/cmdb/ -run '^$' -bench BenchmarkCISearch -benchtime 2000x
//
// With STEADY_TEST_POSTGRES_URL set it runs on PostgreSQL too.
func BenchmarkCISearch(b *testing.B) {
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			if d == db.Postgres && os.Getenv("STEADY_TEST_POSTGRES_URL") == "" {
				b.Skip("STEADY_TEST_POSTGRES_URL is not set")
			}
			s := testkit.Start(b, d)
			st := s.App.CMDB
			seedCIs(b, s.App.DB, benchCIs)
			ctx := context.Background()
			rnd := rand.New(rand.NewPCG(1, 2))
			kinds := []struct {
				name   string
				filter func() cmdb.Filter
			}{
				{"prefix", func() cmdb.Filter {
					return cmdb.Filter{Prefix: fmt.Sprintf("%s-prod-0%d", benchRoles[rnd.IntN(len(benchRoles))], rnd.IntN(10))}
				}},
				{"substring", func() cmdb.Filter { return cmdb.Filter{Q: fmt.Sprintf("%04d", rnd.IntN(10_000))} }},
				{"attr-unique", func() cmdb.Filter {
					i := rnd.IntN(benchCIs)
					return cmdb.Filter{Attrs: []cmdb.AttrMatch{{Key: "ip", Value: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}}}
				}},
				{"attr-common", func() cmdb.Filter {
					return cmdb.Filter{Attrs: []cmdb.AttrMatch{{Key: "os", Value: benchOS[rnd.IntN(len(benchOS))]}}}
				}},
				// A part of a name a tenth of the CIs share, with a filter only
				// the database knows: a few CIs of some roles are missing,
				// none of the others (the whole name search, then the rest of
				// the names in the database).
				{"substring-missing", func() cmdb.Filter {
					return cmdb.Filter{Q: benchRoles[rnd.IntN(len(benchRoles))] + "-", Missing: true}
				}},
			}
			// CIs 1,000,000 + i with i % 1000 < 2 (web and api) are missing.
			if _, err := s.App.DB.W.ExecContext(ctx, "UPDATE cis SET missing_since = 1 WHERE id % 1000 < 2"); err != nil {
				b.Fatal(err)
			}
			lat := make([][]time.Duration, len(kinds))
			search := func(k int) {
				t0 := time.Now()
				limit := 50
				if kinds[k].name == "substring-missing" {
					limit = 1
				}
				l, err := st.List(ctx, kinds[k].filter(), cmdb.Page{Limit: limit})
				if err != nil {
					b.Fatal(err)
				}
				if len(l.Items) == 0 && !strings.HasPrefix(kinds[k].name, "substring") {
					b.Fatalf("%s found nothing", kinds[k].name)
				}
				lat[k] = append(lat[k], time.Since(t0))
			}
			for k := range kinds { // warm the caches
				for range 20 {
					search(k)
				}
				lat[k] = lat[k][:0]
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				search(i % len(kinds))
			}
			b.StopTimer()
			for k, l := range lat {
				if len(l) == 0 {
					continue
				}
				slices.Sort(l)
				b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, "p50-"+kinds[k].name+"-ms")
				b.ReportMetric(float64(l[min(len(l)-1, len(l)*99/100)].Microseconds())/1000, "p99-"+kinds[k].name+"-ms")
			}
		})
	}
}
