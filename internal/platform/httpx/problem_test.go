package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

func TestProblemFor(t *testing.T) {
	ctx := reqctx.WithRequestID(context.Background(), "REQ1")
	cases := []struct {
		err    error
		status int
		kind   string
	}{
		{errs.Invalid("email", "is required"), 400, "validation"},
		{errs.Unauthenticated("no token"), 401, "unauthenticated"},
		{errs.Forbidden("no"), 403, "forbidden"},
		{errs.NotFound("gone"), 404, "not-found"},
		{errs.Conflict("taken"), 409, "conflict"},
		{errs.PreconditionFailed("stale"), 412, "precondition-failed"},
		{errs.TooLarge("big"), 413, "too-large"},
		{errs.RateLimited(3, "slow"), 429, "rate-limited"},
		{errs.Unavailable(errors.New("dial tcp: refused"), "database unavailable"), 503, "unavailable"},
		{errors.New("pq: secret internal detail"), 500, "internal"},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), 503, "unavailable"},
	}
	for _, c := range cases {
		p := httpx.ProblemFor(ctx, c.err, "/api/v1/x")
		if p.Status != c.status || p.Type != httpx.ProblemTypeBase+c.kind || p.Title == "" {
			t.Errorf("%v: got %d %s %q; want %d %s", c.err, p.Status, p.Type, p.Title, c.status, c.kind)
		}
		if p.RequestID != "REQ1" || p.Instance != "/api/v1/x" {
			t.Errorf("%v: request_id %q instance %q", c.err, p.RequestID, p.Instance)
		}
		if strings.Contains(p.Detail, "secret") || strings.Contains(p.Detail, "dial tcp") {
			t.Errorf("%v: detail %q leaks an internal message", c.err, p.Detail)
		}
		if c.status == 503 && p.RetryAfter <= 0 {
			t.Errorf("%v: no Retry-After", c.err)
		}
	}
	p := httpx.ProblemFor(ctx, errs.Invalid("email", "is required"), "/")
	if len(p.Errors) != 1 || p.Errors[0].Field != "email" || p.Detail == "" {
		t.Errorf("validation problem %+v", p)
	}
}

func TestWriteProblem(t *testing.T) {
	w := httptest.NewRecorder()
	httpx.WriteProblem(w, httpx.ProblemFor(context.Background(), errs.RateLimited(9, "slow down"), "/x"))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "9" ||
		w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %v", w.Code, w.Header())
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["status"] != float64(429) || doc["detail"] != "slow down" {
		t.Fatalf("body %v", doc)
	}
	if _, ok := doc["RetryAfter"]; ok {
		t.Fatal("RetryAfter leaks into the body")
	}
}
