package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/obs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// goodRequestID accepts an incoming request id of 1 to 64 characters from
// [A-Za-z0-9._-].
func goodRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// StatusWriter remembers the status code and size of a response.
type StatusWriter struct {
	http.ResponseWriter
	Status int
	Bytes  int64
	// Quiet logs the request at debug level unless it fails or is slow.
	Quiet bool
	// SecretPath logs the route pattern instead of the path, which holds a
	// credential.
	SecretPath bool
}

// SlowRequest is how long a quiet request may take before it is logged at
// info level all the same.
const SlowRequest = time.Second

// Quiet asks Observe to log this request at debug level only, unless it
// fails (status 400 or more) or takes longer than SlowRequest. High-volume
// machine endpoints (event ingest) use it: a log line per event would cost
// more than storing the event. Their requests still get an X-Request-Id and
// are counted in the metrics.
func Quiet(w http.ResponseWriter) {
	if sw := statusWriter(w); sw != nil {
		sw.Quiet = true
	}
}

// SecretPath asks Observe not to log the request's path, because a part of
// it is a credential (a one-click link's token, a calendar feed key, a
// heartbeat key): the route pattern is logged instead.
func SecretPath(w http.ResponseWriter) {
	if sw := statusWriter(w); sw != nil {
		sw.SecretPath = true
	}
}

func statusWriter(w http.ResponseWriter) *StatusWriter {
	for w != nil {
		if sw, ok := w.(*StatusWriter); ok {
			return sw
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// routeMetrics caches the metric children of each route, method and status,
// so that a request does not hash its labels.
type routeMetrics struct {
	m        *obs.Metrics
	mu       sync.RWMutex
	children map[routeKey]routeChildren
}

type routeKey struct {
	route, method string
	status        int
}

type routeChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (rm *routeMetrics) get(route, method string, status int) routeChildren {
	k := routeKey{route, method, status}
	rm.mu.RLock()
	c, ok := rm.children[k]
	rm.mu.RUnlock()
	if ok {
		return c
	}
	c = routeChildren{requests: rm.m.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(status)),
		duration: rm.m.HTTPDuration.WithLabelValues(route, method)}
	rm.mu.Lock()
	// Bounded: routes are patterns, but methods and statuses come from
	// clients and handlers; past the bound, children are looked up each time.
	if len(rm.children) < 4096 {
		rm.children[k] = c
	}
	rm.mu.Unlock()
	return c
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observe wraps the whole server: it gives each request an id (or keeps a sane
// incoming one), recovers panics into a 500 problem, logs the request, counts
// it by route pattern and traces it when tracing is on.
func Observe(next http.Handler, log *slog.Logger, m *obs.Metrics, t *obs.Tracing) http.Handler {
	rm := &routeMetrics{m: m, children: map[routeKey]routeChildren{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !goodRequestID(id) {
			id = ids.RequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := reqctx.WithRequestID(r.Context(), id)
		var span trace.Span
		if t.Enabled {
			ctx = t.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
			ctx, span = t.Tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		}
		r = r.WithContext(ctx)
		sw := &StatusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if sw.Status == 0 {
					WriteProblem(sw, ProblemFor(ctx, &errs.Error{Kind: errs.KindInternal}, r.URL.Path))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			if sw.Status == 0 {
				sw.Status = http.StatusOK
			}
			d := time.Since(start)
			mc := rm.get(route, r.Method, sw.Status)
			mc.requests.Inc()
			mc.duration.Observe(d.Seconds())
			if span != nil {
				span.SetName(r.Method + " " + route)
				span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", sw.Status),
					attribute.String("steady.request_id", id))
				span.End()
			}
			lvl := slog.LevelInfo
			switch {
			case sw.Status >= 500:
				lvl = slog.LevelError
			case sw.Quiet && sw.Status < 400 && d < SlowRequest:
				lvl = slog.LevelDebug
			}
			if !log.Enabled(ctx, lvl) {
				return
			}
			path := r.URL.Path
			if sw.SecretPath {
				_, path, _ = strings.Cut(route, " ")
			}
			log.LogAttrs(ctx, lvl, "request", slog.String("request_id", id), slog.String("method", r.Method),
				slog.String("path", path), slog.String("route", route), slog.Int("status", sw.Status),
				slog.Int64("bytes", sw.Bytes), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("remote", r.RemoteAddr))
		}()
		next.ServeHTTP(sw, r)
	})
}

// ClientIP is the address of the client of r, without the port.
func ClientIP(r *http.Request) string {
	host := r.RemoteAddr
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			host = host[:i]
			break
		}
	}
	if len(host) > 1 && host[0] == '[' {
		host = host[1 : len(host)-1]
	}
	return host
}

// Detach returns a context that keeps ctx's values but not its cancellation,
// for work that must finish even if the client goes away (a commit).
func Detach(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
