// Package obs is Steady's observability of itself: JSON logs with log/slog,
// Prometheus metrics on a registry of its own (no globals), and OpenTelemetry
// tracing that exports over OTLP when an endpoint is configured and is a
// no-op otherwise.
package obs

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// NewLogger returns a JSON logger at level ("debug", "info", "warn", "error").
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// Metrics holds Steady's own metrics.
type Metrics struct {
	Registry     *prometheus.Registry
	HTTPRequests *prometheus.CounterVec
	HTTPDuration *prometheus.HistogramVec
}

// NewMetrics makes a registry with the process, Go runtime, build and HTTP metrics.
func NewMetrics(version string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steady_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "steady_http_request_duration_seconds", Help: "HTTP request duration by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "steady_build_info", Help: "Steady's version; always 1.",
	}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	reg.MustRegister(m.HTTPRequests, m.HTTPDuration, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	return m
}

// WatchDB exports the statistics of a connection pool as go_sql_* metrics
// labelled db_name="steady" and pool=name.
func (m *Metrics) WatchDB(name string, pool *sql.DB) {
	m.Registry.MustRegister(prometheus.WrapCollectorWith(prometheus.Labels{"pool": name},
		collectors.NewDBStatsCollector(pool, "steady")))
}

// Tracing is the tracer of a running Steady and how to stop it.
type Tracing struct {
	Tracer     trace.Tracer
	Propagator propagation.TextMapPropagator
	Enabled    bool
	shutdown   func(context.Context) error
}

// NewTracing exports spans over OTLP/HTTP to endpoint (host:port or a URL);
// an empty endpoint gives a no-op tracer that costs nothing.
func NewTracing(ctx context.Context, endpoint, version string) (*Tracing, error) {
	if endpoint == "" {
		return &Tracing{Tracer: noop.NewTracerProvider().Tracer("steady"), Propagator: propagation.TraceContext{},
			shutdown: func(context.Context) error { return nil }}, nil
	}
	opts := []otlptracehttp.Option{}
	if strings.Contains(endpoint, "://") {
		opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
	} else {
		opts = append(opts, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	res := sdkresource.NewSchemaless(semconv.ServiceName("steady"), semconv.ServiceVersion(version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(2*time.Second)), sdktrace.WithResource(res))
	return &Tracing{Tracer: tp.Tracer("steady"), Propagator: propagation.TraceContext{}, Enabled: true, shutdown: tp.Shutdown}, nil
}

// Shutdown flushes spans that are still buffered.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.shutdown(ctx) }
