package app

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/notify"
)

// Options configure a Steady server. They come from defaults, then an
// optional YAML file, then STEADY_* environment variables, then flags.
type Options struct {
	Listen      string `yaml:"listen"`       // address to serve on
	DataDir     string `yaml:"data"`         // holds the SQLite database
	DatabaseURL string `yaml:"database_url"` // postgres://…; empty for SQLite
	// Synchronous is SQLite's durability: "full" (default) or "normal".
	Synchronous string `yaml:"sqlite_synchronous"`
	// PublicURL is how users reach Steady (links in messages; https:// makes cookies Secure).
	PublicURL    string `yaml:"public_url"`
	TLSCert      string `yaml:"tls_cert"`
	TLSKey       string `yaml:"tls_key"`
	LogLevel     string `yaml:"log_level"`
	OTLPEndpoint string `yaml:"otlp_endpoint"` // host:port or URL of an OTLP/HTTP trace collector
	Demo         bool   `yaml:"demo"`          // seed a demo organisation on first start
	MaxDBConns   int    `yaml:"max_db_conns"`
	// EventRetention is how long raw events are kept (alerts and incidents
	// are kept regardless); "720h" is 30 days.
	EventRetention time.Duration `yaml:"event_retention"`
	// SMTP is the mail server notifications go out through.
	SMTP notify.SMTPConfig `yaml:"smtp"`
	// ManualOnCall leaves escalation, delivery and heartbeat checks to the
	// caller (benchmarks that time them); a server always runs them.
	ManualOnCall bool `yaml:"-"`

	// The first admin, on a new database only.
	BootstrapEmail    string `yaml:"bootstrap_email"`
	BootstrapPassword string `yaml:"-"`
	BootstrapToken    string `yaml:"-"`
}

// Defaults are the options with nothing configured.
func Defaults() Options {
	return Options{Listen: "127.0.0.1:8080", DataDir: "steady-data", LogLevel: "info", Synchronous: "full",
		EventRetention: event.DefaultRetention}
}

// LoadFile reads a YAML config file over o. Unknown keys are an error.
func (o *Options) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(o); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// LoadEnv applies STEADY_* environment variables over o.
func (o *Options) LoadEnv(getenv func(string) string) error {
	str := map[string]*string{
		"STEADY_LISTEN":             &o.Listen,
		"STEADY_DATA":               &o.DataDir,
		"STEADY_DATABASE_URL":       &o.DatabaseURL,
		"STEADY_SQLITE_SYNCHRONOUS": &o.Synchronous,
		"STEADY_PUBLIC_URL":         &o.PublicURL,
		"STEADY_TLS_CERT":           &o.TLSCert,
		"STEADY_TLS_KEY":            &o.TLSKey,
		"STEADY_LOG_LEVEL":          &o.LogLevel,
		"STEADY_OTLP_ENDPOINT":      &o.OTLPEndpoint,
		"STEADY_BOOTSTRAP_EMAIL":    &o.BootstrapEmail,
		"STEADY_BOOTSTRAP_PASSWORD": &o.BootstrapPassword,
		"STEADY_BOOTSTRAP_TOKEN":    &o.BootstrapToken,
		"STEADY_SMTP_HOST":          &o.SMTP.Host,
		"STEADY_SMTP_USERNAME":      &o.SMTP.Username,
		"STEADY_SMTP_PASSWORD":      &o.SMTP.Password,
		"STEADY_SMTP_FROM":          &o.SMTP.From,
		"STEADY_SMTP_TLS":           &o.SMTP.TLS,
	}
	for k, dst := range str {
		if v := getenv(k); v != "" {
			*dst = v
		}
	}
	if v := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" && o.OTLPEndpoint == "" {
		o.OTLPEndpoint = v
	}
	if v := getenv("STEADY_DEMO"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("STEADY_DEMO must be true or false")
		}
		o.Demo = b
	}
	if v := getenv("STEADY_EVENT_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("STEADY_EVENT_RETENTION must be a duration such as 720h")
		}
		o.EventRetention = d
	}
	if v := getenv("STEADY_SMTP_INSECURE_SKIP_VERIFY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("STEADY_SMTP_INSECURE_SKIP_VERIFY must be true or false")
		}
		o.SMTP.InsecureSkipVerify = b
	}
	if v := getenv("STEADY_SMTP_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("STEADY_SMTP_PORT must be a port number")
		}
		o.SMTP.Port = n
	}
	if v := getenv("STEADY_MAX_DB_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("STEADY_MAX_DB_CONNS must be a positive number")
		}
		o.MaxDBConns = n
	}
	return nil
}

// Validate checks options that New would otherwise fail on later.
func (o Options) Validate() error {
	if o.Listen == "" {
		return fmt.Errorf("listen address is empty")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return fmt.Errorf("tls_cert and tls_key go together")
	}
	if o.EventRetention < time.Hour {
		return fmt.Errorf("event_retention must be at least 1h")
	}
	if o.DatabaseURL == "" && o.DataDir == "" {
		return fmt.Errorf("set a data directory or a database URL")
	}
	if err := o.SMTP.Validate(); err != nil {
		return err
	}
	if o.PublicURL != "" && !strings.HasPrefix(o.PublicURL, "http://") && !strings.HasPrefix(o.PublicURL, "https://") {
		return fmt.Errorf("public_url must start with http:// or https:// (links in messages are made from it)")
	}
	return nil
}
