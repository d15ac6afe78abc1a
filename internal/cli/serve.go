package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/obs"
)

// serverFlags are the flags that say where the database is and how to serve.
type serverFlags struct {
	config string
	o      app.Options
}

func (e *env) bindServerFlags(c *cobra.Command, s *serverFlags, serving bool) {
	f := c.Flags()
	f.StringVar(&s.config, "config", e.getenv("STEADY_CONFIG"), "YAML config file (env STEADY_CONFIG)")
	f.StringVar(&s.o.DataDir, "data", "", "data directory holding the SQLite database (default ./steady-data; env STEADY_DATA)")
	f.StringVar(&s.o.DatabaseURL, "database", "", "PostgreSQL URL postgres://… instead of SQLite (env STEADY_DATABASE_URL)")
	if serving {
		f.StringVar(&s.o.Listen, "listen", "", "address to listen on (default 127.0.0.1:8080; env STEADY_LISTEN)")
		f.BoolVar(&s.o.Demo, "demo", false, "seed a demo organisation on first start (env STEADY_DEMO)")
		f.StringVar(&s.o.LogLevel, "log-level", "", "debug, info, warn or error (env STEADY_LOG_LEVEL)")
		f.StringVar(&s.o.PublicURL, "public-url", "", "URL users reach Steady at (env STEADY_PUBLIC_URL)")
		f.StringVar(&s.o.TLSCert, "tls-cert", "", "TLS certificate file (env STEADY_TLS_CERT)")
		f.StringVar(&s.o.TLSKey, "tls-key", "", "TLS key file (env STEADY_TLS_KEY)")
		f.StringVar(&s.o.OTLPEndpoint, "otlp-endpoint", "", "OTLP/HTTP trace collector, host:port or URL (env STEADY_OTLP_ENDPOINT)")
	}
}

// options resolves defaults < config file < environment < flags.
func (e *env) options(c *cobra.Command, s *serverFlags) (app.Options, error) {
	o := app.Defaults()
	if s.config != "" {
		if err := o.LoadFile(s.config); err != nil {
			return o, err
		}
	}
	if err := o.LoadEnv(e.getenv); err != nil {
		return o, err
	}
	set := func(name string, apply func()) {
		if c.Flags().Changed(name) {
			apply()
		}
	}
	set("data", func() { o.DataDir = s.o.DataDir })
	set("database", func() { o.DatabaseURL = s.o.DatabaseURL })
	set("listen", func() { o.Listen = s.o.Listen })
	set("demo", func() { o.Demo = s.o.Demo })
	set("log-level", func() { o.LogLevel = s.o.LogLevel })
	set("public-url", func() { o.PublicURL = s.o.PublicURL })
	set("tls-cert", func() { o.TLSCert = s.o.TLSCert })
	set("tls-key", func() { o.TLSKey = s.o.TLSKey })
	set("otlp-endpoint", func() { o.OTLPEndpoint = s.o.OTLPEndpoint })
	return o, o.Validate()
}

func (e *env) serveCmd() *cobra.Command {
	var s serverFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the Steady server (API, web UI, background jobs)",
		Long: `Run the Steady server. With no options it keeps its data in ./steady-data
(embedded SQLite) and listens on 127.0.0.1:8080. On a new database it creates
the first admin and prints their password and API token once (set
STEADY_BOOTSTRAP_TOKEN / STEADY_BOOTSTRAP_PASSWORD to choose them).
SIGINT or SIGTERM stops it gracefully.`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			o, err := e.options(c, &s)
			if err != nil {
				return usageError{err}
			}
			ctx := c.Context()
			log := obs.NewLogger(e.stderr, o.LogLevel)
			a, err := app.New(ctx, o, app.Env{Log: log, Stderr: e.stderr})
			if err != nil {
				return err
			}
			if err := a.Start(ctx); err != nil {
				_ = a.Stop(context.Background())
				return err
			}
			scheme := "http"
			if o.TLSCert != "" {
				scheme = "https"
			}
			fmt.Fprintf(e.stderr, "Steady %s is serving on %s://%s (database: %s)\n", app.Version, scheme, a.Addr(), describeDB(o))
			<-ctx.Done()
			fmt.Fprintln(e.stderr, "Steady is stopping: finishing requests in flight")
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return a.Stop(sctx)
		},
	}
	e.bindServerFlags(c, &s, true)
	return c
}

func describeDB(o app.Options) string {
	if o.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite in " + o.DataDir
}

func (e *env) migrateCmd() *cobra.Command {
	var s serverFlags
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit (serve also applies them on start)",
		Args:  args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			o, err := e.options(c, &s)
			if err != nil {
				return usageError{err}
			}
			ctx := c.Context()
			if o.DatabaseURL == "" {
				unlock, err := db.LockDir(o.DataDir)
				if err != nil {
					return err
				}
				defer unlock()
			}
			d, err := db.Open(ctx, db.Config{URL: o.DatabaseURL, DataDir: o.DataDir, Synchronous: o.Synchronous})
			if err != nil {
				return err
			}
			defer d.Close()
			res, err := d.Migrate(ctx, time.Now())
			if err != nil {
				return err
			}
			for _, m := range res.Applied {
				fmt.Fprintf(e.stdout, "applied %04d_%s\n", m.Version, m.Name)
			}
			v, err := d.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "schema version %d (%s)\n", v, d.Dialect)
			if res.Fresh {
				fmt.Fprintln(e.stdout, "new database: the first admin is created when `steady serve` starts")
			}
			return nil
		},
	}
	e.bindServerFlags(c, &s, false)
	return c
}

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(e.stdout, "steady", app.Version)
			return nil
		},
	}
}
