package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/obs"
)

// The inbound event endpoints. They authenticate with a service's
// integration key, not an API token, and stay lean: one cached key lookup,
// one decode, one group-committed Submit. Nothing is answered 2xx before
// the events are committed, and a request is stored whole or not at all.

// Body limits of the event endpoints.
const (
	// PagerDutyBodyLimit is PagerDuty's own limit for one event.
	PagerDutyBodyLimit = 512 << 10
	// EventsBodyLimit fits a batch of event.MaxBatch events or alerts.
	EventsBodyLimit = 5 << 20
)

// DefaultMaxPendingEvents bounds the events received and not yet committed;
// past it senders get 429 with Retry-After, so a burst queues for well under
// a second instead of piling up goroutines and memory.
const DefaultMaxPendingEvents = 10_000

// LimitPendingEvents changes the bound on events waiting for their commit
// (0 restores DefaultMaxPendingEvents).
func (s *Server) LimitPendingEvents(n int) { s.maxPending.Store(int64(n)) }

// PendingEvents is how many received events are waiting for their commit.
func (s *Server) PendingEvents() int64 { return s.pending.Load() }

// Reasons a request is refused, the values of the reason label.
const (
	reasonInvalid    = "invalid"
	reasonUnknownKey = "unknown_key"
	reasonThrottled  = "throttled"
	reasonTooLarge   = "too_large"
	reasonError      = "error"
)

// ingestMetrics are the metrics of one source, resolved once so that the
// hot path does no label lookups.
type ingestMetrics struct {
	received, accepted prometheus.Counter
	rejected           map[string]prometheus.Counter
	duration           prometheus.Observer
}

func newIngestMetrics(m *obs.Metrics) map[event.Source]*ingestMetrics {
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "steady_events_received_total",
		Help: "Events received, by source (accepted plus rejected; a refused request whose events were not read counts as one).",
	}, []string{"source"})
	accepted := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "steady_events_accepted_total", Help: "Events stored, by source.",
	}, []string{"source"})
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "steady_events_rejected_total",
		Help: "Events refused, by source and reason (invalid, unknown_key, throttled, too_large, error); a refused request whose events were not read counts as one.",
	}, []string{"source", "reason"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "steady_ingest_duration_seconds",
		Help:    "Time from the arrival of an event request to the commit of its events, by source.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"source"})
	m.Registry.MustRegister(received, accepted, rejected, duration)
	out := map[event.Source]*ingestMetrics{}
	for _, src := range []event.Source{event.SourcePagerDuty, event.SourceAlertmanager, event.SourceGeneric} {
		im := &ingestMetrics{received: received.WithLabelValues(string(src)), accepted: accepted.WithLabelValues(string(src)),
			duration: duration.WithLabelValues(string(src)), rejected: map[string]prometheus.Counter{}}
		for _, r := range []string{reasonInvalid, reasonUnknownKey, reasonThrottled, reasonTooLarge, reasonError} {
			im.rejected[r] = rejected.WithLabelValues(string(src), r)
		}
		out[src] = im
	}
	return out
}

// counted is a refusal that knows how many events the request held.
type counted struct {
	err    error
	events int
}

func (c *counted) Error() string { return c.err.Error() }
func (c *counted) Unwrap() error { return c.err }

// reject counts a refused request.
func (s *Server) reject(src event.Source, err error) {
	m := s.ingest[src]
	if m == nil {
		return
	}
	n := 1
	var c *counted
	if errors.As(err, &c) && c.events > 0 {
		n = c.events
	}
	m.received.Add(float64(n))
	m.rejected[reasonOf(err)].Add(float64(n))
}

func reasonOf(err error) string {
	var ie *event.InvalidEvent
	if errors.As(err, &ie) {
		return reasonInvalid
	}
	switch errs.KindOf(err) {
	case errs.KindInvalid:
		return reasonInvalid
	case errs.KindNotFound, errs.KindUnauthenticated:
		return reasonUnknownKey
	case errs.KindRateLimited:
		return reasonThrottled
	case errs.KindTooLarge:
		return reasonTooLarge
	}
	return reasonError
}

// submit stores the events of one request and waits for their commit. When
// too many events already wait, it refuses at once (429) rather than queue.
func (s *Server) submit(ctx context.Context, src event.Source, serviceID int64, evs []event.Event, start time.Time) ([]event.Result, error) {
	n := int64(len(evs))
	limit := s.maxPending.Load()
	if limit <= 0 {
		limit = DefaultMaxPendingEvents
	}
	// A request that finds nothing waiting always goes ahead, however big.
	if before := s.pending.Add(n) - n; before > 0 && before+n > limit {
		s.pending.Add(-n)
		return nil, &counted{errs.RateLimited(1, "Steady is taking in more events than it can store right now; retry in a second"), len(evs)}
	}
	items := make([]event.Routed, len(evs))
	for i := range evs {
		items[i] = event.Routed{ServiceID: serviceID, Event: evs[i]}
	}
	res, err := s.Ingester.Submit(ctx, items)
	s.pending.Add(-n)
	if err != nil {
		return nil, &counted{err, len(evs)}
	}
	if m := s.ingest[src]; m != nil {
		m.received.Add(float64(n))
		m.accepted.Add(float64(n))
		m.duration.Observe(time.Since(start).Seconds())
	}
	return res, nil
}

// readBody reads the whole (already size-limited) body.
func readBody(r *http.Request) ([]byte, error) {
	var b []byte
	var err error
	if n := r.ContentLength; n > 0 {
		b = make([]byte, n)
		_, err = io.ReadFull(r.Body, b)
	} else {
		b, err = io.ReadAll(r.Body)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errs.TooLarge("the request body is larger than %d bytes", mbe.Limit)
		}
		return nil, errs.Invalid("body", "could not be read completely")
	}
	return b, nil
}

// jsonContent accepts a missing Content-Type or a JSON one.
func jsonContent(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// plausibleKey refuses, without a lookup, what no integration key looks
// like: empty, long, or not printable ASCII (which also keeps NUL and
// broken UTF-8 away from the database).
func plausibleKey(k string) bool {
	if k == "" || len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return false
		}
	}
	return true
}

var errUnknownKey = errs.NotFound("the integration key is unknown or revoked")

// route finds the service of an integration key (cached by the catalog).
func (s *Server) route(ctx context.Context, key string) (int64, error) {
	if !plausibleKey(key) {
		return 0, errUnknownKey
	}
	svc, _, err := s.Services.Route(ctx, key)
	return svc, err
}

// requestKey reads the integration key of a request: X-Routing-Key (the
// most specific), then Authorization: Bearer, then ?key=.
func requestKey(r *http.Request) string {
	if k := r.Header.Get("X-Routing-Key"); k != "" {
		return strings.TrimSpace(k)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, key, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(key)
		}
	}
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get("key")
}

// keyedService authenticates a request by the integration key it carries.
func (s *Server) keyedService(r *http.Request) (int64, error) {
	key := requestKey(r)
	if key == "" {
		return 0, errs.Unauthenticated("this endpoint needs a service's integration key: send Authorization: Bearer <key>, X-Routing-Key: <key> or ?key=<key>")
	}
	svc, err := s.route(r.Context(), key)
	if errs.Is(err, errs.KindNotFound) {
		return 0, errs.Unauthenticated("the integration key is unknown or revoked")
	}
	return svc, err
}

func newDedupKey() string { return ids.Random(20) }

// scrub readies parsed events for storage; name gives the field that holds
// event i's dedup key, for the problem.
func scrub(evs []event.Event, message string, name func(i int) string) error {
	var problems []string
	for i := range evs {
		if !event.Scrub(&evs[i]) {
			problems = append(problems, "'"+name(i)+"' must not contain NUL characters")
		}
	}
	if problems != nil {
		return &event.InvalidEvent{Message: message, Errors: problems}
	}
	return nil
}

// problemOf turns a parser's complaint into a validation problem that names
// each invalid field: the parsers quote the field first ('alerts[0].status'
// must be …); other messages are about the body as a whole.
func problemOf(err error) error {
	var ie *event.InvalidEvent
	if !errors.As(err, &ie) {
		return err
	}
	fields := make([]errs.FieldError, 0, len(ie.Errors))
	for _, m := range ie.Errors {
		fields = append(fields, fieldOf(m))
	}
	return &errs.Error{Kind: errs.KindInvalid, Message: ie.Message, Fields: fields}
}

func fieldOf(msg string) errs.FieldError {
	if rest, ok := strings.CutPrefix(msg, "'"); ok {
		if i := strings.IndexByte(rest, '\''); i > 0 {
			return errs.FieldError{Field: rest[:i], Detail: strings.TrimSpace(rest[i+1:])}
		}
	}
	if rest, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return errs.FieldError{Field: strings.Trim(rest, `"`), Detail: "is not a known field"}
	}
	return errs.FieldError{Field: "body", Detail: msg}
}

// ingestError answers a refused Alertmanager or generic request with a
// problem document, and counts it.
func (s *Server) ingestError(src event.Source) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		s.reject(src, err)
		s.writeError(w, r, problemOf(err))
	}
}

// --- PagerDuty Events API v2 ---

// pdAnswer is the body of every answer of POST /v2/enqueue, in PagerDuty's shape.
type pdAnswer struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

func writePD(w http.ResponseWriter, status int, a pdAnswer) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// enqueuePagerDuty is PagerDuty's POST /v2/enqueue: the routing key in the
// body is a Steady integration key, so a PagerDuty sender only changes its
// base URL.
func (s *Server) enqueuePagerDuty(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	httpx.Quiet(w)
	if !jsonContent(r) {
		return errs.Invalid("Content-Type", "must be application/json")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	ev, key, err := event.ParsePagerDuty(body, s.Clock.Now(), newDedupKey)
	if err != nil {
		return err
	}
	evs := []event.Event{ev}
	if err := scrub(evs, "Event object is invalid", func(int) string { return "dedup_key" }); err != nil {
		return err
	}
	svc, err := s.route(r.Context(), key)
	if err != nil {
		return err
	}
	res, err := s.submit(r.Context(), event.SourcePagerDuty, svc, evs, start)
	if err != nil {
		return err
	}
	return writePD(w, http.StatusAccepted, pdAnswer{Status: "success", Message: "Event processed", DedupKey: res[0].DedupKey})
}

// pagerDutyError answers errors of /v2/enqueue as PagerDuty does: clients
// parse {"status","message","errors"}, not problem documents.
func (s *Server) pagerDutyError(w http.ResponseWriter, r *http.Request, err error) {
	s.reject(event.SourcePagerDuty, err)
	var ie *event.InvalidEvent
	if errors.As(err, &ie) {
		_ = writePD(w, http.StatusBadRequest, pdAnswer{Status: "invalid event", Message: ie.Message, Errors: ie.Errors})
		return
	}
	e, _ := errs.As(err)
	switch errs.KindOf(err) {
	case errs.KindInvalid:
		var list []string
		for _, f := range e.Fields {
			list = append(list, fmt.Sprintf("'%s' %s", f.Field, f.Detail))
		}
		_ = writePD(w, http.StatusBadRequest, pdAnswer{Status: "invalid event", Message: "Event object is invalid", Errors: list})
	case errs.KindNotFound:
		_ = writePD(w, http.StatusNotFound, pdAnswer{Status: "invalid event", Message: "Routing key not found",
			Errors: []string{"the routing key is not an integration key of any service, or it has been revoked"}})
	case errs.KindTooLarge:
		_ = writePD(w, http.StatusRequestEntityTooLarge, pdAnswer{Status: "invalid event", Message: "Event object is too large",
			Errors: []string{e.Message}})
	case errs.KindRateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(max(e.RetryAfter, 1)))
		_ = writePD(w, http.StatusTooManyRequests, pdAnswer{Status: "throttle event",
			Message: "Requests are arriving too quickly. Please retry later."})
	case errs.KindUnavailable:
		retry := 5
		if e != nil && e.RetryAfter > 0 {
			retry = e.RetryAfter
		}
		s.logFailure(r, err)
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		_ = writePD(w, http.StatusServiceUnavailable, pdAnswer{Status: "error", Message: "Steady is unavailable; retry later"})
	default:
		s.logFailure(r, err)
		_ = writePD(w, http.StatusInternalServerError, pdAnswer{Status: "error", Message: "Internal error; the X-Request-Id names it in the logs"})
	}
}

// --- Prometheus Alertmanager (and Grafana) webhook ---

func (s *Server) receiveAlertmanager(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	httpx.Quiet(w)
	svc, err := s.keyedService(r)
	if err != nil {
		return err
	}
	if !jsonContent(r) {
		return errs.Invalid("Content-Type", "must be application/json")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	evs, err := event.ParseAlertmanager(body, s.Clock.Now())
	if err != nil {
		return err
	}
	if err := scrub(evs, "Alertmanager webhook is invalid", func(i int) string { return "alerts[" + strconv.Itoa(i) + "].fingerprint" }); err != nil {
		return err
	}
	if _, err := s.submit(r.Context(), event.SourceAlertmanager, svc, evs, start); err != nil {
		return err
	}
	// Alertmanager retries anything but 2xx; 200 says every alert is stored.
	return writeJSON(w, http.StatusOK, alertmanagerAnswer{Status: "success", Alerts: len(evs)})
}

type alertmanagerAnswer struct {
	Status string `json:"status"`
	Alerts int    `json:"alerts"`
}

// --- Steady's generic event ---

type eventResult struct {
	DedupKey string `json:"dedup_key"`
	AlertID  *int64 `json:"alert_id"`
	Change   string `json:"change"`
}

type eventsAnswer struct {
	Status  string        `json:"status"`
	Results []eventResult `json:"results"`
}

func (s *Server) receiveEvents(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	httpx.Quiet(w)
	svc, err := s.keyedService(r)
	if err != nil {
		return err
	}
	if !jsonContent(r) {
		return errs.Invalid("Content-Type", "must be application/json")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	evs, err := event.ParseGeneric(body, s.Clock.Now(), newDedupKey)
	if err != nil {
		return err
	}
	batch := isArray(body)
	if err := scrub(evs, "Event is invalid", func(i int) string {
		if batch {
			return "[" + strconv.Itoa(i) + "].dedup_key"
		}
		return "dedup_key"
	}); err != nil {
		return err
	}
	res, err := s.submit(r.Context(), event.SourceGeneric, svc, evs, start)
	if err != nil {
		return err
	}
	out := eventsAnswer{Status: "success", Results: make([]eventResult, len(res))}
	for i, x := range res {
		out.Results[i] = eventResult{DedupKey: x.DedupKey, Change: x.Change}
		if x.AlertID != 0 {
			out.Results[i].AlertID = &res[i].AlertID
		}
	}
	return writeJSON(w, http.StatusAccepted, out)
}

func isArray(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '['
	}
	return false
}
