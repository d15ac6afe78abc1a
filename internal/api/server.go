// Package api is Steady's REST API. routes.go lists every route with the
// least role it needs; each capability has its own file of handlers; errors.go
// turns every error into a problem document. Handlers decode, call the
// capability's service and encode: the logic lives in the capability.
package api

import (
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/heartbeat"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/obs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
	"github.com/steadyhq/steady/internal/rules"
	"github.com/steadyhq/steady/internal/service"
)

// Server holds what the handlers need.
type Server struct {
	DB      *db.DB
	IAM     *iam.Service
	Audit   *audit.Log
	Clock   clock.Clock
	Log     *slog.Logger
	Metrics *obs.Metrics
	Version string
	// Services is the service catalog; it also routes integration keys.
	Services  *service.Catalog
	Incidents *incident.Manager
	Rules     *rules.Store
	// Ingester stores inbound events in group commits.
	Ingester *event.Ingester
	// On-call and notifications.
	Schedules  *oncall.Schedules
	Policies   *oncall.Policies
	Contacts   *notify.Contacts
	Templates  *notify.Templates
	Outbox     *notify.Outbox
	Heartbeats *heartbeat.Monitor
	// CMDB holds configuration items, relationships and topology.
	CMDB *cmdb.Store

	ingest     map[event.Source]*ingestMetrics
	pending    atomic.Int64 // events submitted and not yet committed
	maxPending atomic.Int64 // 0 means DefaultMaxPendingEvents
}

// Public marks a route that needs no token.
const Public iam.Role = ""

// DefaultBodyLimit caps request bodies of routes that set no limit of their own.
const DefaultBodyLimit = 1 << 20

// Auth says how the callers of a route prove who they are.
type Auth int

const (
	// AuthToken is an API token in Authorization: Bearer, checked against
	// the route's Role (none at all for a Public route).
	AuthToken Auth = iota
	// AuthIntegrationKey is a service's integration key, which the handler
	// checks itself: it may come in a header, the query or (PagerDuty) the
	// body. Such a route's Role is Public: no API token is looked up.
	AuthIntegrationKey
)

// Route is one API endpoint.
type Route struct {
	// Pattern is a net/http ServeMux pattern: "GET /api/v1/users/{id}".
	Pattern string
	// Role is the least role that may call it; Public for no token at all.
	Role iam.Role
	// Auth is how callers authenticate; the zero value is an API token.
	Auth    Auth
	Handler func(http.ResponseWriter, *http.Request) error
	// BodyLimit caps the request body; 0 means DefaultBodyLimit.
	BodyLimit int64
	// WriteError answers the route's errors when they are not problem
	// documents (PagerDuty's endpoint answers as PagerDuty does); nil means
	// writeError.
	WriteError func(http.ResponseWriter, *http.Request, error)
}

// Method and Path split the pattern.
func (rt Route) Method() string { m, _, _ := strings.Cut(rt.Pattern, " "); return m }
func (rt Route) Path() string   { _, p, _ := strings.Cut(rt.Pattern, " "); return p }

// Register adds every API route to mux.
func (s *Server) Register(mux *http.ServeMux) {
	if s.ingest == nil && s.Metrics != nil {
		s.ingest = newIngestMetrics(s.Metrics)
	}
	for _, rt := range s.Routes() {
		mux.Handle(rt.Pattern, s.wrap(rt))
	}
	// Unknown paths under the API answer with a problem document, not HTML.
	mux.Handle("/api/", s.wrap(Route{Pattern: "/api/", Role: Public, Handler: func(w http.ResponseWriter, r *http.Request) error {
		return errs.NotFound("no such API endpoint: %s %s", r.Method, r.URL.Path)
	}}))
}

// wrap adds what every route needs: the body limit, authentication and the
// role check, Idempotency-Key on POST, and the error mapping.
func (s *Server) wrap(rt Route) http.Handler {
	limit := rt.BodyLimit
	if limit == 0 {
		limit = DefaultBodyLimit
	}
	fail := s.writeError
	if rt.WriteError != nil {
		fail = rt.WriteError
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			fail(w, r, errs.TooLarge("the request body is larger than %d bytes", limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		ctx := reqctx.WithSource(r.Context(), "api")
		r = r.WithContext(ctx)
		if rt.Role != Public {
			p, err := s.authenticate(r)
			if err != nil {
				fail(w, r, err)
				return
			}
			if !p.Role.AtLeast(rt.Role) {
				fail(w, r, errs.Forbidden("this needs the %s role; the token has %s", rt.Role, p.Role))
				return
			}
			r = r.WithContext(iam.WithPrincipal(ctx, p))
		}
		if err := checkQuery(r); err != nil {
			fail(w, r, err)
			return
		}
		h := rt.Handler
		if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" && rt.Role != Public {
			h = s.idempotent(h)
		}
		if err := h(w, r); err != nil {
			fail(w, r, err)
		}
	})
}

func (s *Server) authenticate(r *http.Request) (iam.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return iam.Principal{}, errs.Unauthenticated("this endpoint needs an API token: send Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return iam.Principal{}, errs.Unauthenticated("the Authorization header must be: Bearer <token>")
	}
	return s.IAM.Authenticate(r.Context(), strings.TrimSpace(token))
}
