package cmdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// BenchmarkImpact measures impact analysis to depth 10 on a realistic estate
// of 100,000 CIs and 300,000 relations: business services → applications →
// instances (members of their application, half of them with a redundancy
// rule) → VMs → servers, storage and network, plus databases, load
// balancers, containers, and cross-links (applications that depend on
// others, connects_to and backed_up_by). Each iteration analyses a random
// CI, downstream and upstream in turn; it reports the 99th percentile in
// ms (p99-ms) and the time to load the graph (load-ms).
//
//	go test ./internal/cmdb/ -run '^$' -bench BenchmarkImpact -benchtime 2000x
//
// With STEADY_TEST_POSTGRES_URL set it runs on PostgreSQL too.
func BenchmarkImpact(b *testing.B) {
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			if d == db.Postgres && os.Getenv(testkit.PostgresEnv) == "" {
				b.Skip(testkit.PostgresEnv + " is not set")
			}
			benchImpact(b, d)
		})
	}
}

func benchImpact(b *testing.B, d db.Dialect) {
	ctx := context.Background()
	cfg := db.Config{DataDir: b.TempDir(), Synchronous: "normal"}
	if d == db.Postgres {
		cfg = db.Config{URL: testkit.NewPostgresURL(b), MaxConns: 4}
	}
	dbh, err := db.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer dbh.Close()
	if _, err := dbh.Migrate(ctx, time.Now()); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ids := buildEstate(b, dbh, 100_000, 300_000)
	b.Logf("%s: inserted %d CIs and their relations in %v", d, len(ids), time.Since(start).Round(time.Millisecond))

	st := cmdb.New(dbh, nil, clock.Real{}, nil)
	start = time.Now()
	g, err := st.LoadGraph(ctx)
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	if g.Len() != 100_000 || g.Relations() != 300_000 {
		b.Fatalf("graph of %d CIs and %d relations", g.Len(), g.Relations())
	}
	if _, err := st.Graph(ctx); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.Logf("%s: graph loaded in %v", d, load.Round(time.Millisecond))

	rng := rand.New(rand.NewPCG(7, 11))
	var lat []time.Duration
	var hops, services int
	i := 0
	b.ResetTimer()
	for b.Loop() {
		id := ids[rng.IntN(len(ids))]
		dir := cmdb.Downstream
		if i%2 == 1 {
			dir = cmdb.Upstream
		}
		i++
		t0 := time.Now()
		im, err := st.ImpactOf(ctx, id, dir, 10)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		hops += im.Total
		services += len(im.Services)
	}
	b.StopTimer()
	p := func(lat []time.Duration, q float64) float64 {
		slices.Sort(lat)
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(p(lat, 0.50), "p50-ms")
	b.ReportMetric(p(lat, 0.99), "p99-ms")

	// The heavy cases: failures of shared infrastructure (servers, storage,
	// switches, databases, load balancers) downstream, and business
	// services upstream.
	var heavy []time.Duration
	var heavyHops int
	for k := range 1000 {
		var id int64
		dir := cmdb.Downstream
		if k%5 == 4 {
			id, dir = ids[rng.IntN(100)], cmdb.Upstream // the services come first
		} else {
			id = ids[83100+rng.IntN(6800)] // servers … load balancers
		}
		t0 := time.Now()
		im, err := st.ImpactOf(ctx, id, dir, 10)
		heavy = append(heavy, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		heavyHops += im.Total
	}
	b.ReportMetric(p(heavy, 0.99), "p99-infra-ms")
	b.ReportMetric(float64(heavyHops)/1000, "infra-hops/op")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
	b.ReportMetric(float64(load)/float64(time.Millisecond), "load-ms")
	b.ReportMetric(float64(hops)/float64(len(lat)), "hops/op")
	b.ReportMetric(float64(services)/float64(len(lat)), "services/op")
}

// buildEstate inserts a layered estate of about n CIs and exactly m
// relations, in bulk, and returns the CI ids.
func buildEstate(b *testing.B, d *db.DB, n, m int) []int64 {
	b.Helper()
	ctx := context.Background()
	classID := map[string]int64{}
	rows, err := d.R.QueryContext(ctx, "SELECT id, key FROM ci_classes")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var k string
		if err := rows.Scan(&id, &k); err != nil {
			b.Fatal(err)
		}
		classID[k] = id
	}
	rows.Close()

	// The layers, scaled to n.
	scale := float64(n) / 100_000
	count := func(x int) int { return max(1, int(float64(x)*scale)) }
	type layer struct {
		class, prefix string
		n             int
	}
	layers := []layer{
		{"business_service", "service", count(100)}, {"application", "app", count(3000)},
		{"service_instance", "inst", count(40000)}, {"virtual_machine", "vm", count(40000)},
		{"server", "srv", count(4000)}, {"database", "db", count(1000)}, {"storage", "san", count(800)},
		{"network_device", "sw", count(600)}, {"load_balancer", "lb", count(400)},
	}
	total := 0
	for _, l := range layers {
		total += l.n
	}
	layers = append(layers, layer{"container", "pod", n - total})

	var ids []int64
	first := map[string]int64{} // the first id of each layer; ids are consecutive
	size := map[string]int{}
	now := time.Now().UnixMilli()
	var id int64
	const ciBatch = 500
	var batch []any
	flushCIs := func() {
		if len(batch) == 0 {
			return
		}
		var b2 strings.Builder
		b2.WriteString("INSERT INTO cis (id, class_id, name, name_key, environment, created_at, updated_at) VALUES ")
		for r := 0; r < len(batch)/7; r++ {
			if r > 0 {
				b2.WriteByte(',')
			}
			b2.WriteString("(" + d.Dialect.Params(r*7+1, 7) + ")")
		}
		if _, err := d.W.ExecContext(ctx, b2.String(), batch...); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	envs := []string{"production", "production", "production", "staging", "development"}
	for _, l := range layers {
		first[l.class] = id + 1
		size[l.class] = l.n
		for k := 0; k < l.n; k++ {
			id++
			name := fmt.Sprintf("%s-%05d", l.prefix, k)
			batch = append(batch, id, classID[l.class], name, name, envs[k%len(envs)], now, now)
			ids = append(ids, id)
			if len(batch) == ciBatch*7 {
				flushCIs()
			}
		}
	}
	flushCIs()
	if d.Dialect == db.Postgres {
		if _, err := d.W.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('cis', 'id'), (SELECT MAX(id) FROM cis))"); err != nil {
			b.Fatal(err)
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(class string) int64 { return first[class] + int64(rng.IntN(size[class])) }
	nth := func(class string, k int) int64 { return first[class] + int64(k%size[class]) }
	type edge struct {
		s int64
		t string
		d int64
	}
	seen := make(map[edge]bool, m)
	var edges []edge
	add := func(s int64, t string, dst int64) {
		e := edge{s, t, dst}
		if s == dst || seen[e] || len(edges) >= m {
			return
		}
		seen[e] = true
		edges = append(edges, e)
	}
	apps, insts := size["application"], size["service_instance"]
	// Services depend on applications: each application serves one or two.
	for a := 0; a < apps; a++ {
		add(nth("business_service", a), cmdb.RelDependsOn, nth("application", a))
		if a%3 == 0 {
			add(pick("business_service"), cmdb.RelDependsOn, nth("application", a))
		}
	}
	// Instances are members of their application and run on a VM each; VMs
	// run on servers and use storage; servers use two switches.
	for k := 0; k < insts; k++ {
		add(nth("service_instance", k), cmdb.RelMemberOf, nth("application", k))
		add(nth("service_instance", k), cmdb.RelRunsOn, nth("virtual_machine", k))
	}
	for k := 0; k < size["virtual_machine"]; k++ {
		add(nth("virtual_machine", k), cmdb.RelHostedOn, nth("server", k))
		add(nth("virtual_machine", k), cmdb.RelDependsOn, nth("storage", k))
		add(nth("virtual_machine", k), cmdb.RelBackedUpBy, pick("storage"))
	}
	for k := 0; k < size["server"]; k++ {
		add(nth("server", k), cmdb.RelDependsOn, nth("network_device", k))
		add(nth("server", k), cmdb.RelDependsOn, nth("network_device", k+1))
		add(nth("server", k), cmdb.RelBackedUpBy, pick("storage"))
	}
	// Applications use databases and load balancers, and some use other
	// applications (only earlier ones: no cycles).
	for a := 0; a < apps; a++ {
		add(nth("application", a), cmdb.RelDependsOn, nth("database", a))
		add(nth("application", a), cmdb.RelDependsOn, pick("database"))
		add(nth("application", a), cmdb.RelDependsOn, nth("load_balancer", a))
		if a > 50 && a%2 == 0 {
			add(nth("application", a), cmdb.RelDependsOn, nth("application", a-1-rng.IntN(50)))
		}
	}
	for k := 0; k < size["database"]; k++ {
		add(nth("database", k), cmdb.RelRunsOn, pick("virtual_machine"))
	}
	for k := 0; k < size["load_balancer"]; k++ {
		add(nth("load_balancer", k), cmdb.RelRunsOn, pick("server"))
	}
	for k := 0; k < size["container"]; k++ {
		add(nth("container", k), cmdb.RelRunsOn, pick("virtual_machine"))
		add(nth("container", k), cmdb.RelConnectsTo, pick("service_instance"))
	}
	// Fill up with connections between instances and databases.
	for len(edges) < m {
		add(pick("service_instance"), cmdb.RelConnectsTo, pick("database"))
	}

	const relBatch = 1000
	for start := 0; start < len(edges); start += relBatch {
		part := edges[start:min(start+relBatch, len(edges))]
		var q strings.Builder
		q.WriteString("INSERT INTO ci_relations (source_id, type, target_id, created_at) VALUES ")
		args := make([]any, 0, 4*len(part))
		for r, e := range part {
			if r > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(" + d.Dialect.Params(r*4+1, 4) + ")")
			args = append(args, e.s, e.t, e.d, now)
		}
		if _, err := d.W.ExecContext(ctx, q.String(), args...); err != nil {
			b.Fatal(err)
		}
	}
	// Half the applications stay up while half their instances are up.
	for a := 0; a < apps; a += 2 {
		members := insts/apps + 1
		if _, err := d.W.ExecContext(ctx, "INSERT INTO ci_redundancy (ci_id, min_up) VALUES ($1, $2)", nth("application", a), members/2); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := d.W.ExecContext(ctx, "UPDATE cmdb_revision SET revision = revision + 1 WHERE id = 1"); err != nil {
		b.Fatal(err)
	}
	return ids
}
