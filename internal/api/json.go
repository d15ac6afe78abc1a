package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// decode reads one JSON object into v, strictly: unknown fields, wrong types,
// trailing data and oversized bodies are errors that name what is wrong.
func decode(r *http.Request, v any) error {
	if ct := strings.ToLower(r.Header.Get("Content-Type")); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.Contains(ct, "+json") {
		return errs.Invalid("Content-Type", "must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errs.TooLarge("the request body is larger than %d bytes", mbe.Limit)
		}
		return errs.Invalid("body", "must hold exactly one JSON value")
	}
	return nil
}

// decodeOptional is decode for a body that may be left out entirely.
func decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	br := bufio.NewReader(r.Body)
	if _, err := br.Peek(1); err == io.EOF {
		return nil
	}
	r.Body = io.NopCloser(br)
	return decode(r, v)
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return errs.TooLarge("the request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return errs.Invalid("body", "is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalid("body", "is not complete JSON")
	case errors.As(err, &se):
		return errs.Invalid("body", fmt.Sprintf("is not valid JSON at byte %d: %s", se.Offset, se.Error()))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return errs.Invalid(field, "must be "+jsonKind(te.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errs.Invalid(name, "is not a known field")
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		// A field's own UnmarshalJSON failed (a time, a role).
		return errs.Invalid("body", err.Error())
	}
	return errs.Invalid("body", err.Error())
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "ptr":
		return "a value of another type"
	}
	return "a number"
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// list answers with a whole list as one page: {"items": […], "next": ""}.
func list[T any](w http.ResponseWriter, items []T, err error) error {
	if err != nil {
		return err
	}
	if items == nil {
		items = []T{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": ""})
}

// writeVersioned answers with a record and its ETag.
func writeVersioned(w http.ResponseWriter, status int, version int64, v any) error {
	w.Header().Set("ETag", etag(version))
	return writeJSON(w, status, v)
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads If-Match: the version the client last saw, 0 when absent.
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v < 1 {
		return 0, errs.Invalid("If-Match", "must be an ETag this server sent")
	}
	return v, nil
}

// pathID reads a numeric path value.
func pathID(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v < 1 {
		return 0, errs.NotFound("no %s %q", name, r.PathValue(name))
	}
	return v, nil
}

// pageOf reads ?limit= and ?after=.
func pageOf(r *http.Request) (page.Request, error) {
	q := r.URL.Query()
	return page.Parse(q.Get("limit"), q.Get("after"))
}

// checkQuery refuses query values that no text column can hold, so that a
// filter never reaches the database as a 500: text that is not UTF-8, or
// that holds NUL characters.
func checkQuery(r *http.Request) error {
	var f errs.Fields
	for name, vs := range r.URL.Query() {
		for _, v := range vs {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				f.Add(name, "must be UTF-8 text without NUL characters")
				break
			}
		}
	}
	return f.Err()
}

// queryID reads an optional numeric query parameter.
func queryID(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, errs.Invalid(name, "must be a positive whole number")
	}
	return v, nil
}
