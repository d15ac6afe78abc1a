// Package httpx holds the HTTP pieces the API and the web UI share: the one
// mapping from error kinds to HTTP statuses and RFC 9457 problem documents,
// and the middleware every request passes (request id, recovery, logs,
// metrics, traces).
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// ProblemTypeBase prefixes every problem type; the rest is the error kind.
const ProblemTypeBase = "https://steady.dev/problems/"

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
	// RetryAfter is sent as the Retry-After header, not in the body.
	RetryAfter int `json:"-"`
}

var statusOf = map[errs.Kind]int{
	errs.KindInvalid:            http.StatusBadRequest,
	errs.KindNotFound:           http.StatusNotFound,
	errs.KindConflict:           http.StatusConflict,
	errs.KindPreconditionFailed: http.StatusPreconditionFailed,
	errs.KindUnauthenticated:    http.StatusUnauthorized,
	errs.KindForbidden:          http.StatusForbidden,
	errs.KindTooLarge:           http.StatusRequestEntityTooLarge,
	errs.KindRateLimited:        http.StatusTooManyRequests,
	errs.KindUnavailable:        http.StatusServiceUnavailable,
	errs.KindInternal:           http.StatusInternalServerError,
}

var titleOf = map[errs.Kind]string{
	errs.KindInvalid:            "Invalid request",
	errs.KindNotFound:           "Not found",
	errs.KindConflict:           "Conflict",
	errs.KindPreconditionFailed: "Precondition failed",
	errs.KindUnauthenticated:    "Authentication required",
	errs.KindForbidden:          "Forbidden",
	errs.KindTooLarge:           "Request too large",
	errs.KindRateLimited:        "Too many requests",
	errs.KindUnavailable:        "Service unavailable",
	errs.KindInternal:           "Internal error",
}

// ProblemFor is the single mapping of an error to an HTTP status and problem
// document. Messages of internal errors are never shown; callers log them.
func ProblemFor(ctx context.Context, err error, instance string) Problem {
	kind := errs.KindOf(err)
	if errors.Is(err, context.DeadlineExceeded) {
		kind = errs.KindUnavailable
	}
	p := Problem{
		Type:      ProblemTypeBase + string(kind),
		Title:     titleOf[kind],
		Status:    statusOf[kind],
		Instance:  instance,
		RequestID: reqctx.RequestID(ctx),
	}
	if e, ok := errs.As(err); ok && kind != errs.KindInternal {
		p.Detail = e.Message
		p.Errors = e.Fields
		p.RetryAfter = e.RetryAfter
	}
	if kind == errs.KindInternal {
		p.Detail = "something went wrong on our side; the request id names it in the logs"
	}
	if kind == errs.KindUnavailable && p.RetryAfter == 0 {
		p.RetryAfter = 5
	}
	return p
}

// WriteProblem writes p as application/problem+json.
func WriteProblem(w http.ResponseWriter, p Problem) {
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
