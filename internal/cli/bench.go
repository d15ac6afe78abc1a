package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadyhq/steady/internal/bench"
)

func (e *env) benchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure Steady: ingest throughput and latency, incident queries on a million incidents",
		Long: `Measure Steady on this machine. Every load runs on loopback only, is bounded
in time, and removes the processes and files it made. BENCHMARKS.md records
the figures with the commands that produced them.`,
	}
	c.AddCommand(e.benchIngestCmd(), e.benchIncidentsCmd())
	return c
}

func (e *env) benchIngestCmd() *cobra.Command {
	var o bench.IngestOptions
	var key, database, loads, logLevel, amPath, cpuProfile string
	var against, withCMDB bool
	c := &cobra.Command{
		Use:   "ingest",
		Short: "Drive events into a Steady server and print events/s, latency percentiles and errors",
		Long: `Drive events into Steady and print a table of events/s, latency percentiles
and errors. Without --server it starts a server in this process on a new
temporary data directory (SQLite, synchronous=full: every answer comes after
its events are durably committed), or on --database postgres://… (an empty
database), creates a service and an integration key, and runs:

  single   one PagerDuty event per request (POST /v2/enqueue), --clients at once
  batch    generic batches of --batch-size events into --keys dedup keys
           (POST /api/v1/events), --batch-clients at once
  latency  PagerDuty events at --rate events/s (open loop), while probes open
           new incidents; a probe's latency runs from its due time until its
           incident is read back through the API

For the server it started, it then prints what the ingest commit loop did
in each load: transactions per second, events per transaction, and the
share of the time it was busy (near 100 %: the loop is the limit).

With --server URL --key KEY it drives a running server instead (loopback
only); the latency load also needs --token (an admin token) and a second
integration key of a service grouping by the "probe" label (--probe-key).
--against-alertmanager runs the single and batch loads against Debian's
Prometheus Alertmanager 0.25 as well (in memory, one group), side by side.

--cmdb first imports an estate (10 switches, the 500 web hosts the events
name, 50 applications on them, 5 business services) and sets mapping rules,
so that every alert names its host and groups by topology: run it with and
without to see what topology-aware grouping costs.`,
		Example: `  steady bench ingest
  steady bench ingest --duration 20s --against-alertmanager
  steady bench ingest --database postgres://postgres@127.0.0.1:5432/bench
  steady bench ingest --loads single,batch --cmdb
  steady bench ingest --server http://127.0.0.1:8080 --key KEY --loads single,batch`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			o.Defaults()
			want := map[string]bool{}
			for _, l := range strings.Split(loads, ",") {
				switch l = strings.TrimSpace(l); l {
				case "single", "batch", "latency":
					want[l] = true
				case "":
				default:
					return usageError{fmt.Errorf("--loads takes single, batch and latency, not %q", l)}
				}
			}
			if want["latency"] && o.Rate <= 0 {
				return usageError{fmt.Errorf("--rate must be positive for the latency load")}
			}
			ctx := c.Context()
			external := c.Flags().Changed("server")
			if external && database != "" {
				return usageError{fmt.Errorf("--server and --database do not go together: --database starts a server here")}
			}
			var s *bench.Steady
			var err error
			probeKey := ""
			if external {
				if key == "" {
					return usageError{fmt.Errorf("--server needs --key, an integration key of a service on that server")}
				}
				if s, err = bench.ExternalSteady(e.server, e.token); err != nil {
					return usageError{err}
				}
				probeKey = c.Flag("probe-key").Value.String()
				if want["latency"] && (e.token == "" || probeKey == "") {
					return usageError{fmt.Errorf("the latency load against --server needs --token and --probe-key")}
				}
			} else {
				fmt.Fprintln(e.stderr, "Starting Steady in this process on a temporary data directory…")
				if s, err = bench.StartSteady(ctx, database, logLevel); err != nil {
					return err
				}
				defer s.Stop()
				if _, key, err = s.NewService("bench-load", nil); err != nil {
					return err
				}
				if _, probeKey, err = s.NewService("bench-probes", []string{"probe"}); err != nil {
					return err
				}
			}
			if withCMDB {
				if s.Token == "" {
					return usageError{fmt.Errorf("--cmdb against --server needs --token (an admin token)")}
				}
				n, err := s.SeedEstate()
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "Imported an estate of %d CIs; events name their hosts.\n", n)
			}
			if cpuProfile != "" {
				// The profile covers the whole process: the server started
				// here and the load generator, which share the machine.
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			host, _ := os.Hostname()
			fmt.Fprintf(e.stdout, "steady bench ingest — %s, %s, %d keys, warm-up %s, measured %s per load\n",
				host, time.Now().UTC().Format("2006-01-02 15:04 MST"), o.Keys, o.Warmup, o.Duration)
			var results []bench.Result
			var latency []bench.Result
			var loops []bench.LoopUse
			// watch records what the server's commit loop did during a load.
			watch := func(name string) func() {
				before, ok := s.LoopStats()
				if !ok {
					return func() {} // a running server: its counters are its metrics
				}
				start := time.Now()
				return func() {
					after, _ := s.LoopStats()
					loops = append(loops, bench.LoopUse{Target: s.Label, Load: name, Before: before, After: after, Wall: time.Since(start)})
				}
			}
			run := func(name string, fn func() (bench.Result, error)) error {
				if !want[name] || ctx.Err() != nil {
					return nil
				}
				fmt.Fprintf(e.stderr, "  %s: %s…\n", s.Label, name)
				done := watch(name)
				r, err := fn()
				if err != nil {
					return fmt.Errorf("%s load: %w", name, err)
				}
				done()
				results = append(results, r)
				return nil
			}
			if err := run("single", func() (bench.Result, error) { return bench.SteadySingle(s, key, o) }); err != nil {
				return err
			}
			if err := run("batch", func() (bench.Result, error) { return bench.SteadyBatch(s, key, o) }); err != nil {
				return err
			}
			if want["latency"] && ctx.Err() == nil {
				fmt.Fprintf(e.stderr, "  %s: latency at %d events/s…\n", s.Label, o.Rate)
				done := watch("latency")
				bg, pr, err := bench.Latency(ctx, s, key, probeKey, o)
				if err != nil {
					return fmt.Errorf("latency load: %w", err)
				}
				done()
				latency = append(latency, bg, pr)
			}
			if against && ctx.Err() == nil && (want["single"] || want["batch"]) {
				fmt.Fprintf(e.stderr, "  alertmanager: single and batch…\n")
				am, err := bench.AlertmanagerLoads(ctx, amPath, o)
				if err != nil {
					return fmt.Errorf("alertmanager: %w", err)
				}
				results = append(results, am...)
			}
			if len(results) > 0 {
				bench.Table(e.stdout, "Throughput (closed loop: each client sends its next request when the last is answered)", results)
			}
			if len(latency) > 0 {
				bench.Table(e.stdout, "Latency (open loop; probes: event sent -> incident read back through the API)", latency)
			}
			if len(loops) > 0 {
				bench.LoopTable(e.stdout, "Ingest commit loop of the server (each load with its warm-up)", loops)
			}
			if withCMDB {
				alerts, incidents, ok, err := s.TopologyCounts()
				if err != nil {
					return fmt.Errorf("read the topology counts: %w", err)
				}
				if ok {
					fmt.Fprintf(e.stdout, "\nTopology: alerts naming a CI: %d; incidents listing affected CIs: %d.\n", alerts, incidents)
				}
			}
			return ctx.Err()
		},
	}
	f := c.Flags()
	f.IntVar(&o.Clients, "clients", 32, "concurrent clients of the single-event load")
	f.IntVar(&o.BatchClients, "batch-clients", 8, "concurrent clients of the batched load")
	f.IntVar(&o.BatchSize, "batch-size", 500, "events per request of the batched load")
	f.IntVar(&o.Keys, "keys", 10_000, "distinct dedup keys the events fall into")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "measured time of each load")
	f.DurationVar(&o.Warmup, "warmup", 3*time.Second, "unmeasured time before each closed-loop load")
	f.IntVar(&o.Rate, "rate", 10_000, "events per second of the open-loop latency load")
	f.StringVar(&loads, "loads", "single,batch,latency", "loads to run: single, batch, latency")
	f.StringVar(&key, "key", "", "integration key of a service on --server")
	f.String("probe-key", "", "integration key of a service grouping by the probe label, on --server (latency load)")
	f.StringVar(&database, "database", "", "start the server on this PostgreSQL database (postgres://…, empty) instead of SQLite")
	f.StringVar(&logLevel, "log-level", "info", "log level of the server started here (its log goes to a temporary file)")
	f.BoolVar(&against, "against-alertmanager", false, "run the single and batch loads against Prometheus Alertmanager too")
	f.StringVar(&amPath, "alertmanager", bench.AlertmanagerPath, "the Alertmanager binary")
	f.BoolVar(&withCMDB, "cmdb", false, "import an estate and mapping rules first, so that events name CIs (topology-aware grouping)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the loads (server and generator) to this file, for go tool pprof")
	return c
}

// startCPUProfile writes a CPU profile to path until the returned func runs.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func (e *env) benchIncidentsCmd() *cobra.Command {
	var o bench.IncidentOptions
	c := &cobra.Command{
		Use:   "incidents",
		Short: "Store a million incidents, then measure the incident list, search and the server's memory",
		Long: `Store --count incidents (realistic titles, services, statuses, priorities and
their search rows) in bulk into a temporary SQLite database (or an empty
PostgreSQL database with --database), start ` + "`steady serve`" + ` on it as a process
of its own, and measure p50/p95/p99 of GET /api/v1/incidents with filters and
paging and of GET /api/v1/incidents/search, and the server's resident memory
(VmRSS).`,
		Example: `  steady bench incidents
  steady bench incidents --count 100000 --duration 5s`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			o.Log = e.stderr
			rep, err := bench.Incidents(c.Context(), o)
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			fmt.Fprintf(e.stdout, "steady bench incidents — %s, %s: %d incidents stored in %s",
				host, time.Now().UTC().Format("2006-01-02 15:04 MST"), rep.Seeded, rep.SeedTime.Round(time.Second))
			if rep.DatabaseSize > 0 {
				fmt.Fprintf(e.stdout, " (%.0f MiB on disk)", float64(rep.DatabaseSize)/(1<<20))
			}
			fmt.Fprintln(e.stdout)
			clients := fmt.Sprintf("%d clients at once", o.Clients)
			if o.Clients == 1 {
				clients = "one client"
			}
			bench.QueryTable(e.stdout, "Queries through the API, "+clients, rep.Results)
			fmt.Fprintf(e.stdout, "\nServer resident memory (VmRSS): %.0f MiB after start, %.0f MiB after the queries\n",
				float64(rep.RSSStartKiB)/1024, float64(rep.RSSAfterKiB)/1024)
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&o.Count, "count", 1_000_000, "incidents to store")
	f.IntVar(&o.Services, "services", 200, "services the incidents belong to")
	f.IntVar(&o.Clients, "clients", 4, "concurrent API clients while measuring")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "measured time of each query load")
	f.StringVar(&o.Database, "database", "", "an empty PostgreSQL database (postgres://…) instead of SQLite")
	f.StringVar(&o.Binary, "binary", "", "the steady executable to serve the data (default: this one)")
	return c
}
