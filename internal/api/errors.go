package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// writeError answers with the problem document of err (httpx.ProblemFor is
// the single error → status mapping) and logs errors that are ours, not the
// client's.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := httpx.ProblemFor(r.Context(), err, r.URL.Path)
	if k := errs.KindOf(err); k == errs.KindInternal || k == errs.KindUnavailable {
		s.Log.ErrorContext(r.Context(), "request failed", "request_id", p.RequestID, "path", r.URL.Path, "error", err.Error())
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="steady"`)
	}
	httpx.WriteProblem(w, p)
}

// logFailure logs an error that is ours, for answers that are not problem
// documents (PagerDuty's endpoint).
func (s *Server) logFailure(r *http.Request, err error) {
	s.Log.ErrorContext(r.Context(), "request failed", "request_id", reqctx.RequestID(r.Context()), "path", r.URL.Path, "error", err.Error())
}
