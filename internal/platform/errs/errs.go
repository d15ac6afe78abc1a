// Package errs defines the error kinds that capability packages return. The API
// and the web UI map each kind to one HTTP status in a single place; the
// capability packages never speak HTTP.
package errs

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind classifies an error for callers that must react to it (the HTTP layer).
type Kind string

const (
	KindInvalid            Kind = "validation"          // the input is wrong; see Fields
	KindNotFound           Kind = "not-found"           // the object does not exist (or is hidden)
	KindConflict           Kind = "conflict"            // uniqueness or state conflict
	KindPreconditionFailed Kind = "precondition-failed" // a stale version (If-Match)
	KindUnauthenticated    Kind = "unauthenticated"     // no or bad credentials
	KindForbidden          Kind = "forbidden"           // authenticated but not allowed
	KindTooLarge           Kind = "too-large"           // a body or batch over its limit
	KindRateLimited        Kind = "rate-limited"        // slow down; see RetryAfter
	KindUnavailable        Kind = "unavailable"         // a dependency (the database) is down
	KindInternal           Kind = "internal"            // everything else; its message is never shown
)

// FieldError names one invalid field and says what is wrong with it.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error is an error with a kind, a message that is safe to show, and, for
// validation errors, the invalid fields.
type Error struct {
	Kind       Kind
	Message    string
	Fields     []FieldError
	RetryAfter int // seconds, for KindRateLimited and KindUnavailable
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + " " + f.Detail)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err, KindInternal for an error without one.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return KindOf(err) == k }

func NotFound(format string, a ...any) error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf(format, a...)}
}

func Conflict(format string, a ...any) error {
	return &Error{Kind: KindConflict, Message: fmt.Sprintf(format, a...)}
}

func Forbidden(format string, a ...any) error {
	return &Error{Kind: KindForbidden, Message: fmt.Sprintf(format, a...)}
}

func Unauthenticated(format string, a ...any) error {
	return &Error{Kind: KindUnauthenticated, Message: fmt.Sprintf(format, a...)}
}

func PreconditionFailed(format string, a ...any) error {
	return &Error{Kind: KindPreconditionFailed, Message: fmt.Sprintf(format, a...)}
}

func TooLarge(format string, a ...any) error {
	return &Error{Kind: KindTooLarge, Message: fmt.Sprintf(format, a...)}
}

func RateLimited(retryAfter int, format string, a ...any) error {
	return &Error{Kind: KindRateLimited, Message: fmt.Sprintf(format, a...), RetryAfter: retryAfter}
}

func Unavailable(err error, format string, a ...any) error {
	return &Error{Kind: KindUnavailable, Message: fmt.Sprintf(format, a...), RetryAfter: 5, Err: err}
}

// Invalid is a validation error on one field.
func Invalid(field, detail string) error {
	return &Error{Kind: KindInvalid, Message: "invalid input", Fields: []FieldError{{Field: field, Detail: detail}}}
}

// Fields collects validation errors; Err returns nil when none were added.
type Fields []FieldError

func (f *Fields) Add(field, detail string) { *f = append(*f, FieldError{Field: field, Detail: detail}) }

// Check adds detail for field when bad is true.
func (f *Fields) Check(bad bool, field, detail string) {
	if bad {
		f.Add(field, detail)
	}
}

// Text adds an error for field unless s is text that every store keeps as
// it is: valid UTF-8 without NUL (PostgreSQL refuses NUL in text).
func (f *Fields) Text(field, s string) {
	f.Check(!utf8.ValidString(s) || strings.ContainsRune(s, 0), field, "must be valid text")
}

func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Message: "invalid input", Fields: f}
}
