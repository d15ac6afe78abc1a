// Package api is Steady's REST API. routes.go lists every route with the
// least role it needs; each capability has its own file of handlers; errors.go
// turns every error into a problem document. Handlers decode, call the
// capability's service and encode: the logic lives in the capability.
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/obs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
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
}

// Public marks a route that needs no token.
const Public iam.Role = ""

// DefaultBodyLimit caps request bodies of routes that set no limit of their own.
const DefaultBodyLimit = 1 << 20

// Route is one API endpoint.
type Route struct {
	// Pattern is a net/http ServeMux pattern: "GET /api/v1/users/{id}".
	Pattern string
	// Role is the least role that may call it; Public for no token at all.
	Role    iam.Role
	Handler func(http.ResponseWriter, *http.Request) error
	// BodyLimit caps the request body; 0 means DefaultBodyLimit.
	BodyLimit int64
}

// Method and Path split the pattern.
func (rt Route) Method() string { m, _, _ := strings.Cut(rt.Pattern, " "); return m }
func (rt Route) Path() string   { _, p, _ := strings.Cut(rt.Pattern, " "); return p }

// Register adds every API route to mux.
func (s *Server) Register(mux *http.ServeMux) {
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			s.writeError(w, r, errs.TooLarge("the request body is larger than %d bytes", limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		ctx := reqctx.WithSource(r.Context(), "api")
		r = r.WithContext(ctx)
		if rt.Role != Public {
			p, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if !p.Role.AtLeast(rt.Role) {
				s.writeError(w, r, errs.Forbidden("this needs the %s role; the token has %s", rt.Role, p.Role))
				return
			}
			r = r.WithContext(iam.WithPrincipal(ctx, p))
		}
		if err := checkQuery(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		h := rt.Handler
		if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" && rt.Role != Public {
			h = s.idempotent(h)
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
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
