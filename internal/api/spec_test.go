package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/api"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/testkit"
)

// spec is the parsed OpenAPI document with a mux that finds the route of a
// request, so that every answer a test gets can be checked against it.
type spec struct {
	doc map[string]any
	mux *http.ServeMux
}

var loadSpec = sync.OnceValues(func() (*spec, error) {
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		return nil, fmt.Errorf("openapi.json is not valid JSON: %w", err)
	}
	mux := http.NewServeMux()
	for _, rt := range (&api.Server{}).Routes() {
		mux.HandleFunc(rt.Pattern, func(http.ResponseWriter, *http.Request) {})
	}
	return &spec{doc: doc, mux: mux}, nil
})

func mustSpec(t testing.TB) *spec {
	t.Helper()
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// resolve follows $ref until it reaches an object.
func (sp *spec) resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	for i := 0; m != nil && i < 20; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		m = sp.ref(ref)
	}
	return m
}

// ref looks up a local reference such as #/components/schemas/User; nil when it names nothing.
func (sp *spec) ref(ref string) map[string]any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = sp.doc
	for _, part := range strings.Split(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
	}
	m, _ := cur.(map[string]any)
	return m
}

// operation returns the operation for a route pattern such as "GET /api/v1/users/{id}".
func (sp *spec) operation(pattern string) map[string]any {
	method, path, _ := strings.Cut(pattern, " ")
	paths, _ := sp.doc["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	return op
}

// checkResponse fails the test unless the answer to method path is one the
// document describes: a listed status, its required headers, its media type,
// and a body that matches its schema (undeclared fields included).
func (sp *spec) checkResponse(t testing.TB, method, path string, status int, h http.Header, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://steady.test"+path, nil)
	if err != nil {
		return
	}
	_, pattern := sp.mux.Handler(req)
	if pattern == "" || pattern == "/" {
		return // not a route: the catch-all answers
	}
	if method == http.MethodHead {
		return
	}
	op := sp.operation(pattern)
	if op == nil {
		t.Errorf("%s %s: route %q is not in the OpenAPI document", method, path, pattern)
		return
	}
	responses, _ := op["responses"].(map[string]any)
	resp := sp.resolve(responses[strconv.Itoa(status)])
	if resp == nil {
		t.Errorf("%s %s answered %d, which the OpenAPI document does not list for %s; body: %s", method, path, status, pattern, body)
		return
	}
	headers, _ := resp["headers"].(map[string]any)
	for name, hv := range headers {
		if hd := sp.resolve(hv); hd["required"] == true && h.Get(name) == "" {
			t.Errorf("%s %s: %d answer lacks the required header %s", method, path, status, name)
		}
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) != 0 {
			t.Errorf("%s %s: %d answer has a body the document does not describe: %s", method, path, status, body)
		}
		return
	}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	media, ok := content[mt].(map[string]any)
	if !ok {
		t.Errorf("%s %s: %d answer has content type %q; the document lists %v", method, path, status, h.Get("Content-Type"), keys(content))
		return
	}
	if mt != "application/json" && mt != "application/problem+json" {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s: %d answer is not JSON: %v", method, path, status, err)
		return
	}
	for _, e := range sp.validate(media["schema"], v, "body", true) {
		t.Errorf("%s %s: %d answer does not match the document: %s", method, path, status, e)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validate checks v against a JSON Schema (the subset openapi.json uses). In
// strict mode an object with declared properties may have no others unless
// the schema allows them: the document must name every field an answer has.
func (sp *spec) validate(schema any, v any, at string, strict bool) []string {
	s := sp.resolve(schema)
	if s == nil {
		if schema == nil {
			return nil
		}
		return []string{at + ": the schema does not resolve"}
	}
	var out []string
	bad := func(format string, a ...any) { out = append(out, at+": "+fmt.Sprintf(format, a...)) }
	if any, ok := s["anyOf"].([]any); ok {
		matched := false
		for _, alt := range any {
			if len(sp.validate(alt, v, at, strict)) == 0 {
				matched = true
				break
			}
		}
		if !matched {
			bad("matches none of anyOf: %v", short(v))
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, alt := range all {
			out = append(out, sp.validate(alt, v, at, strict)...)
		}
	}
	if c, ok := s["const"]; ok && !reflect.DeepEqual(c, v) {
		bad("is %v; want %v", short(v), c)
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if reflect.DeepEqual(e, v) {
				found = true
			}
		}
		if !found {
			bad("is %v; want one of %v", short(v), enum)
		}
	}
	if ts := types(s["type"]); len(ts) > 0 {
		kind := jsonType(v)
		ok := false
		for _, t := range ts {
			if t == kind || (t == "number" && kind == "integer") {
				ok = true
			}
		}
		if !ok {
			bad("is %s %v; want %v", kind, short(v), ts)
			return out
		}
	}
	switch x := v.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		if min, ok := s["minLength"].(float64); ok && float64(n) < min {
			bad("is shorter than %v", min)
		}
		if max, ok := s["maxLength"].(float64); ok && float64(n) > max {
			bad("is longer than %v", max)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			bad("%q does not match %s", x, p)
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				bad("%q is not an RFC 3339 time", x)
			}
		}
	case float64:
		if min, ok := s["minimum"].(float64); ok && x < min {
			bad("%v is below %v", x, min)
		}
		if max, ok := s["maximum"].(float64); ok && x > max {
			bad("%v is above %v", x, max)
		}
	case []any:
		for i, e := range x {
			out = append(out, sp.validate(s["items"], e, fmt.Sprintf("%s[%d]", at, i), strict)...)
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := x[r.(string)]; !ok {
					bad("lacks the required field %q", r)
				}
			}
		}
		for k, fv := range x {
			if ps, ok := props[k]; ok {
				out = append(out, sp.validate(ps, fv, at+"."+k, strict)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					bad("has the field %q, which the schema does not allow", k)
				}
			case map[string]any:
				out = append(out, sp.validate(ap, fv, at+"."+k, strict)...)
			case nil:
				if strict && props != nil {
					bad("has the field %q, which the document does not describe", k)
				}
			}
		}
	}
	return out
}

func types(t any) []string {
	switch x := t.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// --- the test client ---

// client calls a shared test server on behalf of one (sub)test, and checks
// every answer against the OpenAPI document.
type client struct {
	t  *testing.T
	s  *testkit.Server
	sp *spec
}

func on(t *testing.T, s *testkit.Server) *client {
	return &client{t: t, s: s, sp: mustSpec(t)}
}

// server is s with failures reported to this client's test.
func (c *client) server() *testkit.Server {
	s := *c.s
	s.T = c.t
	return &s
}

// do sends a request (see testkit.Server.Do) and checks the answer against
// the document. A 5xx answer always fails the test.
func (c *client) do(method, path, token string, body any, headers ...string) *testkit.Response {
	c.t.Helper()
	r := c.server().Do(method, path, token, body, headers...)
	if r.Status >= 500 {
		c.t.Errorf("%s %s: %d; body: %s", method, path, r.Status, r.Body)
	}
	if id := r.Header.Get("X-Request-Id"); id == "" {
		c.t.Errorf("%s %s: no X-Request-Id", method, path)
	}
	c.sp.checkResponse(c.t, method, path, r.Status, r.Header, r.Body)
	return r
}

// user creates a user with role and a token for them.
func (c *client) user(role iam.Role) testkit.User {
	c.t.Helper()
	return c.server().NewUser(role)
}

// count runs a COUNT query on the server's database.
func (c *client) count(q string, args ...any) int64 {
	c.t.Helper()
	var n int64
	if err := c.s.App.DB.R.QueryRow(q, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// id reads the "id" of a JSON answer.
func id(r *testkit.Response) int64 {
	r.T.Helper()
	var v struct {
		ID int64 `json:"id"`
	}
	r.JSON(&v)
	if v.ID < 1 {
		r.T.Fatalf("no id in %s", r.Body)
	}
	return v.ID
}

func path(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// items decodes a list answer, checking its shape.
func items(r *testkit.Response) ([]map[string]any, string) {
	r.T.Helper()
	var l struct {
		Items *[]map[string]any `json:"items"`
		Next  *string           `json:"next"`
	}
	r.JSON(&l)
	if l.Items == nil || l.Next == nil {
		r.T.Fatalf("not a list answer {items, next}: %s", r.Body)
	}
	return *l.Items, *l.Next
}

// wantProblem checks a problem answer with status and the invalid fields named.
func wantProblem(r *testkit.Response, status int, fields ...string) testkit.Problem {
	r.T.Helper()
	r.Want(status)
	p := r.Problem()
	for _, f := range fields {
		if !p.HasField(f) {
			r.T.Errorf("problem does not name %q: %s", f, r.Body)
		}
	}
	var doc struct {
		RequestID string `json:"request_id"`
	}
	r.JSON(&doc)
	if doc.RequestID == "" || doc.RequestID != r.Header.Get("X-Request-Id") {
		r.T.Errorf("problem request_id %q; header X-Request-Id %q", doc.RequestID, r.Header.Get("X-Request-Id"))
	}
	return p
}

// rawStatus sends a JSON request from any goroutine and returns its status
// (0 when it could not be sent).
func rawStatus(s *testkit.Server, method, p, token string, body any) int {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, s.URL+p, bytes.NewReader(b))
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
