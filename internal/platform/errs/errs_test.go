package errs_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/errs"
)

func TestFields(t *testing.T) {
	var f errs.Fields
	if err := f.Err(); err != nil {
		t.Fatalf("empty Fields: Err() = %v; want nil", err)
	}
	f.Check(false, "name", "is required")
	if err := f.Err(); err != nil {
		t.Fatalf("Check(false) added a field: %v", err)
	}
	f.Check(true, "name", "is required")
	f.Add("email", "must be an email address")
	f.Check(true, "name", "must be at most 200 characters")
	err := f.Err()
	if err == nil {
		t.Fatal("Err() = nil after adding fields")
	}
	if !errs.Is(err, errs.KindInvalid) {
		t.Fatalf("kind %s; want %s", errs.KindOf(err), errs.KindInvalid)
	}
	e, ok := errs.As(err)
	if !ok {
		t.Fatal("As: not an *errs.Error")
	}
	want := []errs.FieldError{
		{Field: "name", Detail: "is required"},
		{Field: "email", Detail: "must be an email address"},
		{Field: "name", Detail: "must be at most 200 characters"},
	}
	if len(e.Fields) != len(want) {
		t.Fatalf("fields %+v; want %+v", e.Fields, want)
	}
	for i := range want {
		if e.Fields[i] != want[i] {
			t.Errorf("field %d = %+v; want %+v (order must be kept)", i, e.Fields[i], want[i])
		}
	}
	msg := err.Error()
	for _, s := range []string{"invalid input", "name is required", "email must be an email address"} {
		if !strings.Contains(msg, s) {
			t.Errorf("Error() = %q; want it to contain %q", msg, s)
		}
	}
}

func TestKinds(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	cases := []struct {
		err  error
		kind errs.Kind
	}{
		{errs.NotFound("user %d", 3), errs.KindNotFound},
		{errs.Conflict("taken"), errs.KindConflict},
		{errs.Forbidden("no"), errs.KindForbidden},
		{errs.Unauthenticated("who"), errs.KindUnauthenticated},
		{errs.PreconditionFailed("stale"), errs.KindPreconditionFailed},
		{errs.TooLarge("big"), errs.KindTooLarge},
		{errs.RateLimited(7, "slow"), errs.KindRateLimited},
		{errs.Unavailable(cause, "db down"), errs.KindUnavailable},
		{errs.Invalid("x", "bad"), errs.KindInvalid},
		{errors.New("plain"), errs.KindInternal},
		{nil, errs.KindInternal},
		{fmt.Errorf("wrapped: %w", errs.NotFound("deep")), errs.KindNotFound},
	}
	for _, c := range cases {
		if got := errs.KindOf(c.err); got != c.kind {
			t.Errorf("KindOf(%v) = %s; want %s", c.err, got, c.kind)
		}
	}
	if got := errs.NotFound("user %d not found", 3).Error(); got != "user 3 not found" {
		t.Errorf("message %q", got)
	}
	e, _ := errs.As(errs.RateLimited(7, "slow down"))
	if e.RetryAfter != 7 {
		t.Errorf("RetryAfter %d; want 7", e.RetryAfter)
	}
	u := errs.Unavailable(cause, "db down")
	if !errors.Is(u, cause) {
		t.Error("Unavailable does not wrap its cause")
	}
	if e, _ := errs.As(u); e.RetryAfter <= 0 {
		t.Errorf("Unavailable RetryAfter %d; want > 0", e.RetryAfter)
	}
	if !strings.Contains(u.Error(), cause.Error()) {
		t.Errorf("Error() %q hides the cause", u.Error())
	}
	inv, _ := errs.As(errs.Invalid("email", "is required"))
	if len(inv.Fields) != 1 || inv.Fields[0].Field != "email" {
		t.Errorf("Invalid fields %+v", inv.Fields)
	}
}
