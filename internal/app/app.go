// Package app wires Steady together: it is the one place that opens the
// database, builds the services, the API and the UI, and starts and stops
// them (New / Start / Stop).
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/steadyhq/steady/internal/api"
	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/demo"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/heartbeat"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/platform/obs"
	"github.com/steadyhq/steady/internal/rules"
	"github.com/steadyhq/steady/internal/service"
	"github.com/steadyhq/steady/internal/web"
)

// Version is set at build time with -ldflags "-X …/internal/app.Version=…".
var Version = "dev"

// Env is what the process gives the app besides its options.
type Env struct {
	Clock  clock.Clock // nil means the real clock
	Log    *slog.Logger
	Stderr io.Writer // where first-start credentials are shown
}

// App is a configured Steady server.
type App struct {
	Opts  Options
	DB    *db.DB
	IAM   *iam.Service
	Audit *audit.Log
	// Services is the service catalog (services and integration keys).
	Services *service.Catalog
	// Ingester stores inbound events in group commits. Capabilities that
	// react to alerts set its Hook in New, before Start.
	Ingester *event.Ingester
	// Incidents groups alerts into incidents (the ingest hook) and runs them.
	Incidents *incident.Manager
	// Rules holds event rules, silences, maintenance windows and inhibition.
	Rules *rules.Store
	// Schedules, Policies and Escalation are on-call: who is paged, and when.
	Schedules  *oncall.Schedules
	Policies   *oncall.Policies
	Escalation *oncall.Engine
	// Contacts, Templates and Outbox reach people.
	Contacts  *notify.Contacts
	Templates *notify.Templates
	Outbox    *notify.Outbox
	// Heartbeats raise an alert when a beat is missed.
	Heartbeats *heartbeat.Monitor
	// CMDB holds configuration items, their relationships and the topology.
	CMDB    *cmdb.Store
	API     *api.Server
	Web     *web.Server
	Metrics *obs.Metrics
	Tracing *obs.Tracing
	Log     *slog.Logger
	Clock   clock.Clock
	// Bootstrap holds the first admin's credentials when New created the database.
	Bootstrap *iam.BootstrapResult

	handler   http.Handler
	ingesting bool
	unlock    func()
	srv       *http.Server
	ln        net.Listener
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// New opens the database, applies migrations, creates the first admin on a new
// database, seeds the demo organisation when asked, and builds the handlers.
func New(ctx context.Context, o Options, env Env) (_ *App, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	a := &App{Opts: o, Clock: env.Clock, Log: env.Log}
	if a.Clock == nil {
		a.Clock = clock.Real{}
	}
	if a.Log == nil {
		a.Log = obs.NewLogger(io.Discard, "error")
	}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if o.DatabaseURL == "" {
		if a.unlock, err = db.LockDir(o.DataDir); err != nil {
			return nil, fmt.Errorf("data directory %s: %w", o.DataDir, err)
		}
	}
	a.DB, err = db.Open(ctx, db.Config{URL: o.DatabaseURL, DataDir: o.DataDir, Synchronous: o.Synchronous, MaxConns: o.MaxDBConns})
	if err != nil {
		return nil, err
	}
	if _, err := a.DB.Migrate(ctx, a.Clock.Now()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	a.Audit = &audit.Log{DB: a.DB, Clock: a.Clock}
	a.IAM = iam.New(a.DB, a.Audit, a.Clock)
	// A database without users is new (perhaps migrated by `steady migrate`
	// first): it gets its first admin now.
	empty, err := a.IAM.NoUsers(ctx)
	if err != nil {
		return nil, err
	}
	if empty {
		res, err := a.IAM.BootstrapAdmin(ctx, iam.Bootstrap{Email: o.BootstrapEmail, Password: o.BootstrapPassword, Token: o.BootstrapToken})
		if err != nil {
			return nil, fmt.Errorf("create the first admin: %w", err)
		}
		a.Bootstrap = &res
		showBootstrap(env.Stderr, res)
	}

	a.Metrics = obs.NewMetrics(Version)
	a.Metrics.WatchDB("write", a.DB.W)
	if a.DB.R != a.DB.W {
		a.Metrics.WatchDB("read", a.DB.R)
	}
	if a.Tracing, err = obs.NewTracing(ctx, o.OTLPEndpoint, Version); err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	a.Services = service.New(a.DB, a.Audit, a.Clock)
	a.CMDB = cmdb.New(a.DB, a.Audit, a.Clock, a.Log)
	a.Services.CIs = a.CMDB
	if err := a.CMDB.FixNameKeys(ctx); err != nil {
		return nil, fmt.Errorf("CMDB names: %w", err)
	}
	a.Incidents = incident.New(a.DB, a.Audit, a.Clock, a.Log)
	a.Rules = rules.NewStore(a.DB, a.Audit, a.Clock, a.Log)
	if err := a.Rules.Load(ctx); err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	// A SQLite server is the one writer of its alerts: a burst's repeats may wait.
	a.Ingester = &event.Ingester{DB: a.DB, Clock: a.Clock, Log: a.Log, Decide: a.decide, Defer: a.DB.Dialect == db.SQLite,
		Hook: a.Incidents.OnAlerts, AfterCommit: a.Rules.AlertsChanged}
	// Topology-aware incidents: events name CIs (mapped in the senders'
	// goroutines, from the in-memory graph), and alerts naming CIs that
	// share a failing upstream CI join one incident.
	topology := cmdb.NewTopology(a.CMDB)
	a.Incidents.Topology = topology
	a.Ingester.CIOf = func(ev *event.Event) int64 { return a.Incidents.PrepareCI(topology.CIOf(ev)) }
	watchIncidents(a.Metrics, a.Incidents)
	watchIngest(a.Metrics, a.Ingester)
	watchCMDB(a.Metrics, a.CMDB)
	if err := a.wireOnCall(ctx); err != nil {
		return nil, err
	}
	if o.Demo {
		seeded, err := demo.Seed(ctx, a.DB, a.IAM, demo.Estate{DB: a.DB, Clock: a.Clock, Services: a.Services,
			Incidents: a.Incidents, Rules: a.Rules, Hook: a.Ingester.Hook, AfterCommit: a.Ingester.AfterCommit, Schedules: a.Schedules, Policies: a.Policies, CMDB: a.CMDB})
		if err != nil {
			return nil, fmt.Errorf("seed demo data: %w", err)
		}
		if seeded && env.Stderr != nil {
			fmt.Fprintf(env.Stderr, "Demo organisation created: sign in as %s with password %q (every demo user has it).\n",
				demo.AdminEmail, demo.Password)
		}
	}
	a.API = &api.Server{DB: a.DB, IAM: a.IAM, Audit: a.Audit, Clock: a.Clock, Log: a.Log, Metrics: a.Metrics, Version: Version,
		Services: a.Services, Ingester: a.Ingester, Incidents: a.Incidents, Rules: a.Rules,
		Schedules: a.Schedules, Policies: a.Policies, Contacts: a.Contacts, Templates: a.Templates, Outbox: a.Outbox,
		Heartbeats: a.Heartbeats, CMDB: a.CMDB}
	a.Web, err = web.New(web.Deps{IAM: a.IAM, Audit: a.Audit, Services: a.Services, Incidents: a.Incidents, Rules: a.Rules,
		Schedules: a.Schedules, Policies: a.Policies, Contacts: a.Contacts, Templates: a.Templates, Outbox: a.Outbox,
		Heartbeats: a.Heartbeats, Links: a.Outbox.Signer, CMDB: a.CMDB,
		Clock: a.Clock, Log: a.Log, Version: Version, SecureCookies: o.TLSCert != "" || strings.HasPrefix(o.PublicURL, "https://")})
	if err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	mux := http.NewServeMux()
	a.API.Register(mux)
	a.Web.Register(mux)
	a.handler = httpx.Observe(mux, a.Log, a.Metrics, a.Tracing)
	return a, nil
}

func showBootstrap(w io.Writer, r iam.BootstrapResult) {
	if w == nil {
		return
	}
	fmt.Fprintf(w, "New database: created the first admin %s.\n", r.User.Email)
	if r.GeneratedPassword {
		fmt.Fprintf(w, "  UI password (shown once, change it after signing in): %s\n", r.Password)
	}
	if r.GeneratedToken {
		fmt.Fprintf(w, "  Admin API token (shown once): %s\n", r.Token)
	}
}

// Handler is the whole HTTP interface: API, UI, health and metrics.
func (a *App) Handler() http.Handler { return a.handler }

// Addr is the address the server listens on, after Start.
func (a *App) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Start listens and serves in the background, and starts the housekeeping jobs.
func (a *App) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Opts.Listen, err)
	}
	a.ln = ln
	a.srv = &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	if a.Opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(a.Opts.TLSCert, a.Opts.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS certificate: %w", err)
		}
		a.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		a.ln = tls.NewListener(ln, a.srv.TLSConfig)
	}
	// The ingester runs before the first request can reach it.
	a.Ingester.Start()
	a.ingesting = true
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	a.wg.Add(4)
	go func() {
		defer a.wg.Done()
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("serve", "error", err)
		}
	}()
	go func() {
		defer a.wg.Done()
		a.every(jctx, time.Minute, "housekeeping", a.housekeeping)
	}()
	go func() {
		defer a.wg.Done()
		a.every(jctx, rulesRefreshEvery, "refresh rules", a.Rules.Refresh)
	}()
	go func() {
		defer a.wg.Done()
		a.every(jctx, slaCheckEvery, "check SLAs", func(ctx context.Context) error {
			_, err := a.Incidents.CheckSLAs(ctx)
			return err
		})
	}()
	a.runOnCall(jctx)
	a.Log.Info("steady started", "addr", a.Addr(), "database", a.DB.Dialect, "version", Version)
	return nil
}

// housekeeping removes ended sessions, expired idempotency keys, and raw
// events and settled outbox messages past their retention.
func (a *App) housekeeping(ctx context.Context) error {
	if _, err := a.IAM.PruneSessions(ctx); err != nil {
		return err
	}
	if err := a.API.PruneIdempotencyKeys(ctx); err != nil {
		return err
	}
	if _, err := event.PruneRaw(ctx, a.DB, a.Clock.Now().Add(-a.Opts.EventRetention)); err != nil {
		return err
	}
	_, err := notify.PruneOutbox(ctx, a.DB, a.Clock.Now().Add(-a.Opts.EventRetention))
	return err
}

// rulesRefreshEvery bounds how long a rule changed on another replica takes
// to apply here (a change made here applies at once).
const rulesRefreshEvery = 5 * time.Second

// decide applies event rules, maintenance windows, silences and inhibition to
// an event on its way in (in the sender's goroutine, before the commit
// queue). With none configured it costs nothing.
func (a *App) decide(r *event.Routed) bool {
	if a.Rules.Current().Empty() {
		return true
	}
	d := a.Rules.Decide(&r.Event, r.ServiceID)
	if d.Drop {
		return false
	}
	if d.ServiceID != 0 {
		r.ServiceID = d.ServiceID
	}
	r.Event.Severity, r.Event.Labels, r.Priority = d.Severity, d.Labels, d.Priority
	if d.Suppress {
		r.Suppressed = strings.Join(d.Reasons, ",")
	}
	return true
}

// slaCheckEvery is how often running SLA clocks are checked for breaches.
const slaCheckEvery = 5 * time.Second

// every runs job at once and then every d until ctx ends. Jobs read their
// state from the database, so a missed run is caught up by the next one.
func (a *App) every(ctx context.Context, d time.Duration, name string, job func(context.Context) error) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		if err := job(ctx); err != nil && ctx.Err() == nil {
			a.Log.Warn(name, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop stops accepting connections, lets requests in flight finish (until ctx
// ends), commits the events they submitted, stops the jobs and closes the
// database.
func (a *App) Stop(ctx context.Context) error {
	var err error
	if a.srv != nil {
		err = a.srv.Shutdown(ctx)
	}
	// After the server: requests in flight have had their commits.
	if a.ingesting {
		a.Ingester.Stop()
		a.ingesting = false
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.Tracing != nil {
		err = errors.Join(err, a.Tracing.Shutdown(ctx))
	}
	a.Log.Info("steady stopped")
	return errors.Join(err, a.close())
}

func (a *App) close() error {
	var err error
	if a.DB != nil {
		err = a.DB.Close()
		a.DB = nil
	}
	if a.unlock != nil {
		a.unlock()
		a.unlock = nil
	}
	return err
}
