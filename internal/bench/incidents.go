package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/obs"
)

// IncidentOptions configure `steady bench incidents`.
type IncidentOptions struct {
	Count    int           // incidents to store
	Services int           // services they belong to
	Clients  int           // concurrent API clients while measuring
	Duration time.Duration // measured time of each query load
	Database string        // postgres://… or empty for SQLite in a temporary directory
	// Binary is the steady executable that serves the seeded database as a
	// process of its own, so that its resident memory is its own.
	Binary string
	Log    io.Writer // progress
}

// IncidentReport is what `steady bench incidents` measured.
type IncidentReport struct {
	Label        string
	Seeded       int
	SeedTime     time.Duration
	Results      []Result
	RSSStartKiB  int64 // after the server started and answered its first request
	RSSAfterKiB  int64 // after the query loads
	DatabaseSize int64 // bytes of the SQLite files (0 on PostgreSQL)
}

// Words that titles, resolutions and searches are made of.
var (
	benchProblems = []string{"High CPU usage", "Disk full on /var", "Memory pressure", "Certificate expires soon",
		"Replication lag", "Connection pool exhausted", "Elevated 5xx error rate", "High request latency",
		"Queue backlog growing", "Node not ready", "Backup job failed", "DNS resolution failures",
		"Packet loss", "Out of memory kills", "Slow queries", "Deadlocks detected", "Login failures spike",
		"Cache hit ratio dropped", "Kafka consumer lag", "TLS handshake errors"}
	benchHosts  = []string{"web", "api", "db", "cache", "queue", "worker", "lb", "auth", "search", "storage"}
	benchFixes  = []string{"restarted the service", "rotated logs and freed disk space", "scaled out the deployment", "renewed the certificate", "failed over to the replica", "rolled back the release", "raised the connection limit", "killed the runaway query", "replaced the faulty node", "cleared the stuck queue"}
	benchStatus = []struct {
		status string
		weight int
	}{{"closed", 70}, {"resolved", 20}, {"triggered", 4}, {"acknowledged", 3}, {"investigating", 2}, {"on_hold", 1}}
	benchPrio = []struct {
		p       string
		weight  int
		impact  int
		urgency int
	}{{"P1", 3, 1, 1}, {"P2", 12, 1, 2}, {"P3", 35, 2, 2}, {"P4", 35, 2, 3}, {"P5", 15, 3, 3}}
)

func weighted[T any](r *rand.Rand, items []T, weight func(T) int) T {
	total := 0
	for _, it := range items {
		total += weight(it)
	}
	n := r.IntN(total)
	for _, it := range items {
		if n -= weight(it); n < 0 {
			return it
		}
	}
	return items[len(items)-1]
}

// SeedIncidents fills an empty, migrated database with services and n
// incidents (with their search rows), in bulk.
func SeedIncidents(ctx context.Context, d *db.DB, services, n int, progress io.Writer) error {
	now := time.Now().UnixMilli()
	r := rand.New(rand.NewPCG(42, 7))
	// Teams and services.
	var teams []int64
	for i := range 10 {
		var id int64
		if err := d.W.QueryRowContext(ctx, "INSERT INTO teams (name, description, created_at, updated_at) VALUES ($1, '', $2, $2) RETURNING id",
			"bench-team-"+strconv.Itoa(i), now).Scan(&id); err != nil {
			return fmt.Errorf("seed teams: %w", err)
		}
		teams = append(teams, id)
	}
	type svc struct {
		id, team int64
		name     string
	}
	var svcs []svc
	for i := range services {
		s := svc{team: teams[i%len(teams)], name: fmt.Sprintf("%s-%d", benchHosts[i%len(benchHosts)], i)}
		if err := d.W.QueryRowContext(ctx, `INSERT INTO services (name, team_id, criticality, created_at, updated_at)
			VALUES ($1, $2, 'high', $3, $3) RETURNING id`, s.name, s.team, now).Scan(&s.id); err != nil {
			return fmt.Errorf("seed services: %w", err)
		}
		svcs = append(svcs, s)
	}
	const cols = 18
	const rowsPer = 500
	head := `INSERT INTO incidents (title, service_id, team_id, status, impact, urgency, priority, severity, group_key,
		alert_count, open_alert_count, resolution, created_at, last_alert_at, updated_at, acknowledged_at, resolved_at, closed_at) VALUES `
	span := int64(2 * 365 * 24 * time.Hour / time.Millisecond)
	start := time.Now()
	args := make([]any, 0, rowsPer*cols)
	for done := 0; done < n; {
		tx, err := d.W.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		// 20,000 incidents per transaction.
		for k := 0; k < 40 && done < n; k++ {
			m := min(rowsPer, n-done)
			args = args[:0]
			for i := 0; i < m; i++ {
				// Older incidents first, so that ids grow with time.
				created := now - span + span*int64(done+i)/int64(n)
				s := svcs[r.IntN(len(svcs))]
				st := weighted(r, benchStatus, func(x struct {
					status string
					weight int
				}) int {
					return x.weight
				}).status
				// Recent incidents are the open ones.
				if done+i < n*95/100 && st != "closed" && st != "resolved" {
					st = "closed"
				}
				p := weighted(r, benchPrio, func(x struct {
					p       string
					weight  int
					impact  int
					urgency int
				}) int {
					return x.weight
				})
				sev := [...]string{"critical", "error", "warning", "warning", "info"}[p.urgency]
				title := fmt.Sprintf("%s on %s-%d", benchProblems[r.IntN(len(benchProblems))], benchHosts[r.IntN(len(benchHosts))], r.IntN(300))
				alerts := 1 + r.IntN(20)
				var ack, res, closed, open any
				open = 0
				resolution := ""
				switch st {
				case "triggered":
					open = alerts
				case "acknowledged", "investigating", "on_hold":
					open, ack = alerts, created+60_000
				case "resolved":
					ack, res = created+60_000, created+3_600_000
					resolution = benchFixes[r.IntN(len(benchFixes))]
				case "closed":
					ack, res, closed = created+60_000, created+3_600_000, created+86_400_000
					resolution = benchFixes[r.IntN(len(benchFixes))]
				}
				args = append(args, title, s.id, s.team, st, p.impact, p.urgency, p.p, sev, "",
					alerts, open, resolution, created, created, created, ack, res, closed)
			}
			q := head + rowsOf(d.Dialect, cols, m)
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				tx.Rollback()
				return fmt.Errorf("seed incidents: %w", err)
			}
			done += m
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if progress != nil && done%100_000 < 20_000 {
			fmt.Fprintf(progress, "  %d incidents stored (%.0f/s)\n", done, float64(done)/time.Since(start).Seconds())
		}
	}
	// Search rows, as the incident package writes them: the title, and the
	// resolution, tags and service name.
	if progress != nil {
		fmt.Fprintln(progress, "  indexing them for search")
	}
	var q string
	if d.Dialect == db.SQLite {
		q = `INSERT INTO incident_search (rowid, title, body)
			SELECT i.id, i.title, i.resolution || char(10) || '  ' || char(10) || s.name FROM incidents i JOIN services s ON s.id = i.service_id`
	} else {
		q = `INSERT INTO incident_search (incident_id, doc)
			SELECT i.id, setweight(to_tsvector('english', i.title), 'A') ||
				setweight(to_tsvector('english', i.resolution || E'\n  \n' || s.name), 'B')
			FROM incidents i JOIN services s ON s.id = i.service_id`
	}
	if _, err := d.W.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("seed search rows: %w", err)
	}
	if d.Dialect == db.Postgres {
		if _, err := d.W.ExecContext(ctx, "ANALYZE"); err != nil {
			return err
		}
	} else {
		if _, err := d.W.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return err
		}
		if _, err := d.W.ExecContext(ctx, "ANALYZE"); err != nil {
			return err
		}
	}
	return nil
}

func rowsOf(d db.Dialect, per, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(" + d.Params(i*per+1, per) + ")")
	}
	return b.String()
}

// Incidents seeds a database and measures the incident list and search
// through the API of a server process started on it.
func Incidents(ctx context.Context, o IncidentOptions) (*IncidentReport, error) {
	if o.Count <= 0 {
		o.Count = 1_000_000
	}
	if o.Services <= 0 {
		o.Services = 200
	}
	if o.Clients <= 0 {
		o.Clients = 4
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir, err := os.MkdirTemp("", "steady-bench-incidents-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &IncidentReport{Label: "steady (sqlite)"}
	if o.Database != "" {
		rep.Label = "steady (postgres)"
	}
	token := "stdy_bench_" + ids.Random(24)
	ao := app.Defaults()
	ao.Listen = "127.0.0.1:0"
	ao.DataDir = filepath.Join(dir, "data")
	ao.DatabaseURL = o.Database
	ao.BootstrapEmail, ao.BootstrapToken, ao.BootstrapPassword = "bench@example.com", token, "bench-"+ids.Random(16)
	a, err := app.New(ctx, ao, app.Env{Log: obs.NewLogger(io.Discard, "error")})
	if err != nil {
		return nil, err
	}
	if a.Bootstrap == nil {
		_ = a.Stop(ctx)
		return nil, fmt.Errorf("the database already has users: give the benchmark an empty PostgreSQL database")
	}
	fmt.Fprintf(o.Log, "Seeding %d incidents into %s\n", o.Count, rep.Label)
	start := time.Now()
	err = SeedIncidents(ctx, a.DB, o.Services, o.Count, o.Log)
	rep.SeedTime = time.Since(start)
	_ = a.Stop(context.Background())
	if err != nil {
		return nil, err
	}
	rep.Seeded = o.Count
	if o.Database == "" {
		for _, f := range []string{db.FileName, db.FileName + "-wal"} {
			if st, err := os.Stat(filepath.Join(ao.DataDir, f)); err == nil {
				rep.DatabaseSize += st.Size()
			}
		}
	}
	fmt.Fprintf(o.Log, "Seeded in %s; starting the server\n", rep.SeedTime.Round(time.Second))

	srv, err := startProcess(ctx, o.Binary, ao.DataDir, o.Database, filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	s, err := ExternalSteady(srv.url, token)
	if err != nil {
		return nil, err
	}
	s.Label = rep.Label
	if err := s.call("GET", "/api/v1/incidents?limit=1", nil, nil, 200); err != nil {
		return nil, err
	}
	rep.RSSStartKiB = rssKiB(srv.cmd.Process.Pid)

	// Services and teams to filter on.
	var svcList struct {
		Items []struct {
			ID     int64  `json:"id"`
			TeamID *int64 `json:"team_id"`
		} `json:"items"`
	}
	if err := s.call("GET", "/api/v1/services?limit=1000", nil, &svcList, 200); err != nil {
		return nil, err
	}
	if len(svcList.Items) == 0 {
		return nil, fmt.Errorf("no services")
	}
	pick := func(r *rand.Rand) string {
		sv := svcList.Items[r.IntN(len(svcList.Items))]
		switch r.IntN(6) {
		case 0:
			return "status=open"
		case 1:
			return "status=open&priority=P" + strconv.Itoa(1+r.IntN(3))
		case 2:
			return "service=" + strconv.FormatInt(sv.ID, 10)
		case 3:
			return "service=" + strconv.FormatInt(sv.ID, 10) + "&status=resolved,closed"
		case 4:
			if sv.TeamID != nil {
				return "team=" + strconv.FormatInt(*sv.TeamID, 10) + "&priority=P2"
			}
			return "priority=P2"
		default:
			return "status=closed&priority=P" + strconv.Itoa(1+r.IntN(5))
		}
	}
	// The list: a filtered first page, then two more pages through the cursor.
	list := func(c *conn, r *rand.Rand, buf []byte, rec *recorder) []byte {
		q := pick(r) + "&limit=50"
		after := ""
		for page := 0; page < 3; page++ {
			path := "/api/v1/incidents?" + q
			if after != "" {
				path += "&after=" + url.QueryEscape(after)
			}
			buf = get(buf, s.Addr, path, token)
			t0 := time.Now()
			status, body, err := c.do(buf)
			d := time.Since(t0)
			if err != nil || status != 200 {
				rec.fail(fmt.Sprintf("GET %s: %d %v %.200s", path, status, err, body))
				return buf
			}
			var l struct {
				Items []json.RawMessage `json:"items"`
				Next  string            `json:"next"`
			}
			if err := json.Unmarshal(body, &l); err != nil {
				rec.fail(err.Error())
				return buf
			}
			rec.ok(d, 1)
			if l.Next == "" {
				break
			}
			after = l.Next
		}
		return buf
	}
	searches := []string{"disk full", "certificate", "replication lag", "kafka consumer", "restarted", "latency web",
		"deadlocks", "memory pressure db", "failed over replica", "tls handshake", "queue backlog worker", "dns"}
	search := func(c *conn, r *rand.Rand, buf []byte, rec *recorder) []byte {
		path := "/api/v1/incidents/search?q=" + url.QueryEscape(searches[r.IntN(len(searches))]) + "&limit=20"
		buf = get(buf, s.Addr, path, token)
		t0 := time.Now()
		status, body, err := c.do(buf)
		d := time.Since(t0)
		if err != nil || status != 200 {
			rec.fail(fmt.Sprintf("GET %s: %d %v %.200s", path, status, err, body))
			return buf
		}
		rec.ok(d, 1)
		return buf
	}
	for _, load := range []struct {
		name string
		fn   func(*conn, *rand.Rand, []byte, *recorder) []byte
	}{{"GET /api/v1/incidents (filters, 3 pages of 50)", list}, {"GET /api/v1/incidents/search (limit 20)", search}} {
		fmt.Fprintf(o.Log, "Measuring %s for %s with %d clients\n", load.name, o.Duration, o.Clients)
		recs := make([]*recorder, o.Clients)
		var wg sync.WaitGroup
		t0 := time.Now()
		end := t0.Add(o.Duration)
		for i := range recs {
			recs[i] = &recorder{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := dial(s.Addr)
				if err != nil {
					recs[i].fail(err.Error())
					return
				}
				defer c.close()
				r := rand.New(rand.NewPCG(uint64(i), 9))
				var buf []byte
				for time.Now().Before(end) && ctx.Err() == nil {
					buf = load.fn(c, r, buf, recs[i])
				}
			}()
		}
		wg.Wait()
		rep.Results = append(rep.Results, merged(rep.Label, load.name, time.Since(t0), recs))
	}
	rep.RSSAfterKiB = rssKiB(srv.cmd.Process.Pid)
	return rep, nil
}

// process is a `steady serve` started by the benchmark.
type process struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

// startProcess runs `bin serve` on a data directory (or database) and a free
// loopback port, and waits until it answers.
func startProcess(ctx context.Context, bin, dataDir, database, logPath string) (*process, error) {
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"serve", "--listen", addr, "--log-level", "warn"}
	if database != "" {
		args = append(args, "--database", database)
	} else {
		args = append(args, "--data", dataDir)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "STEADY_CONFIG=")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, url: "http://" + addr, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := dial(addr); err == nil {
			c.close()
			return p, nil
		}
		select {
		case err := <-p.done:
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("steady serve exited (%v): %s", err, b)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("steady serve did not answer within 60 s")
		}
	}
}

func (p *process) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}

// rssKiB reads a process's resident memory (VmRSS) in KiB; 0 if unknown.
func rssKiB(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
