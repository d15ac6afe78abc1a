// Package testkit starts real Steady servers for tests: on SQLite in a
// temporary directory or on a fresh PostgreSQL database, on a random loopback
// port, with a fake clock, and gives small helpers to call them.
package testkit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/obs"
)

// PostgresEnv names the variable that points tests at a PostgreSQL server.
const PostgresEnv = "STEADY_TEST_POSTGRES_URL"

// Dialects runs fn once per database dialect, as subtests "sqlite" and
// "postgres". The PostgreSQL run skips, saying why, when PostgresEnv is unset.
func Dialects(t *testing.T, fn func(t *testing.T, d db.Dialect)) {
	t.Helper()
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			if d == db.Postgres && os.Getenv(PostgresEnv) == "" {
				t.Skip(PostgresEnv + " is not set: skipping the PostgreSQL run (CI sets it)")
			}
			fn(t, d)
		})
	}
}

// NewPostgresURL creates an empty database on the test PostgreSQL server,
// drops it when the test ends, and returns its URL. It fails the test when the
// server cannot be reached: a set PostgresEnv means PostgreSQL is required.
func NewPostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(PostgresEnv + " is not set: skipping a PostgreSQL test (CI sets it)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", PostgresEnv, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	name := "steady_test_" + ids.Random(8)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database on %s: %v", PostgresEnv, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := a.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Options tune a test server.
type Options struct {
	// Modify changes the app options before the server starts.
	Modify func(*app.Options)
	// DataDir reuses a SQLite directory (to restart a server on the same data).
	DataDir string
	// DatabaseURL reuses a PostgreSQL database.
	DatabaseURL string
	// AdminToken and AdminPassword reuse the first admin of an earlier start.
	AdminToken, AdminPassword string
}

// Server is a running Steady for a test.
type Server struct {
	T     testing.TB
	App   *app.App
	URL   string // http://127.0.0.1:port
	Clock *clock.Fake
	// AdminToken is the first admin's API token.
	AdminToken string
	// AdminID is the first admin's user id.
	AdminID int64
	// AdminPassword is the first admin's UI password.
	AdminPassword string
	Dialect       db.Dialect
	DataDir       string
	DatabaseURL   string
	HTTP          *http.Client
	stopped       bool
	modify        func(*app.Options)
}

// AdminEmail is the first admin's email on test servers.
const AdminEmail = "admin@example.com"

// Start runs a server on dialect d and stops it when the test ends.
func Start(t testing.TB, d db.Dialect, opts ...Options) *Server {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s := &Server{T: t, Dialect: d, Clock: clock.NewFake(time.Now().UTC().Truncate(time.Millisecond)),
		AdminToken: "stdy_test_admin_" + ids.Random(10), AdminPassword: "admin-password-1",
		HTTP: &http.Client{Timeout: 30 * time.Second}}
	if o.AdminToken != "" {
		s.AdminToken, s.AdminPassword = o.AdminToken, o.AdminPassword
	}
	s.modify = o.Modify
	ao := app.Defaults()
	ao.Listen = "127.0.0.1:0"
	ao.Synchronous = "normal" // tests need no power-loss durability
	switch d {
	case db.SQLite:
		s.DataDir = o.DataDir
		if s.DataDir == "" {
			s.DataDir = t.TempDir()
		}
		ao.DataDir = s.DataDir
	case db.Postgres:
		s.DatabaseURL = o.DatabaseURL
		if s.DatabaseURL == "" {
			s.DatabaseURL = NewPostgresURL(t)
		}
		ao.DatabaseURL = s.DatabaseURL
		ao.MaxDBConns = 10
	}
	ao.BootstrapEmail, ao.BootstrapPassword, ao.BootstrapToken = AdminEmail, s.AdminPassword, s.AdminToken
	if o.Modify != nil {
		o.Modify(&ao)
	}
	ctx := context.Background()
	a, err := app.New(ctx, ao, app.Env{Clock: s.Clock, Log: obs.NewLogger(testWriter{t}, "warn")})
	if err != nil {
		t.Fatalf("start steady on %s: %v", d, err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start steady: %v", err)
	}
	s.App = a
	s.URL = "http://" + a.Addr()
	var id struct {
		ID int64 `json:"id"`
	}
	s.Do("GET", "/api/v1/users/me", s.AdminToken, nil).Want(200).JSON(&id)
	s.AdminID = id.ID
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server (once); the data stays for a restart.
func (s *Server) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.App.Stop(ctx); err != nil {
		s.T.Errorf("stop steady: %v", err)
	}
}

// Restart stops the server and starts a new one on the same data, clock and
// options.
func (s *Server) Restart() *Server {
	s.T.Helper()
	s.Stop()
	n := Start(s.T, s.Dialect, Options{DataDir: s.DataDir, DatabaseURL: s.DatabaseURL,
		AdminToken: s.AdminToken, AdminPassword: s.AdminPassword, Modify: s.modify})
	n.Clock.Set(s.Clock.Now())
	return n
}

// Response is an answer from the server.
type Response struct {
	T      testing.TB
	Status int
	Header http.Header
	Body   []byte
	req    string
}

// Do sends a request with a bearer token ("" for none). body may be nil, a
// string or []byte (sent as is) or anything else (sent as JSON). headers are
// name, value pairs.
func (s *Server) Do(method, path, token string, body any, headers ...string) *Response {
	s.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.T.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.T.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		s.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.T.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &Response{T: s.T, Status: resp.StatusCode, Header: resp.Header, Body: b, req: method + " " + path}
}

// Want fails the test unless the status is one of codes.
func (r *Response) Want(codes ...int) *Response {
	r.T.Helper()
	for _, c := range codes {
		if r.Status == c {
			return r
		}
	}
	r.T.Fatalf("%s: status %d, want %v; body: %s", r.req, r.Status, codes, r.Body)
	return r
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) *Response {
	r.T.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.T.Fatalf("%s: decode %s: %v", r.req, r.Body, err)
	}
	return r
}

// Map decodes the body as a JSON object.
func (r *Response) Map() map[string]any {
	r.T.Helper()
	m := map[string]any{}
	r.JSON(&m)
	return m
}

// Problem is a decoded problem document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

// Problem checks that the answer is a problem document and decodes it.
func (r *Response) Problem() Problem {
	r.T.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		r.T.Fatalf("%s: content type %q, want application/problem+json; body: %s", r.req, ct, r.Body)
	}
	var p Problem
	r.JSON(&p)
	if p.Status != r.Status || p.Type == "" || p.Title == "" {
		r.T.Fatalf("%s: malformed problem document: %s", r.req, r.Body)
	}
	return p
}

// HasField reports whether the problem names field as invalid.
func (p Problem) HasField(field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// User is a user made for a test, with a token that acts as them.
type User struct {
	ID       int64
	Email    string
	Password string
	Token    string
	Role     iam.Role
}

// NewUser creates a user with role and a token for them.
func (s *Server) NewUser(role iam.Role) User {
	s.T.Helper()
	u := User{Email: fmt.Sprintf("%s-%s@example.com", role, ids.Random(4)), Password: "password-" + ids.Random(4), Role: role}
	var created struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", "/api/v1/users", s.AdminToken, map[string]any{"email": u.Email, "name": "Test " + string(role), "role": role,
		"password": u.Password}).Want(201).JSON(&created)
	u.ID = created.ID
	var tok struct {
		Token string `json:"token"`
	}
	s.Do("POST", "/api/v1/tokens", s.AdminToken, map[string]any{"name": "test", "user_id": u.ID}).Want(201).JSON(&tok)
	u.Token = tok.Token
	return u
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Service is a service made for a test, with one integration key.
type Service struct {
	ID    int64
	Name  string
	Key   string // the integration key, for the event endpoints
	KeyID int64
}

// NewService creates a service called name, and an integration key for it,
// through the API as the first admin.
func (s *Server) NewService(name string) Service {
	s.T.Helper()
	sv := Service{Name: name}
	var created struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", "/api/v1/services", s.AdminToken, map[string]any{"name": name}).Want(201).JSON(&created)
	sv.ID = created.ID
	var key struct {
		ID  int64  `json:"id"`
		Key string `json:"key"`
	}
	s.Do("POST", fmt.Sprintf("/api/v1/services/%d/integration-keys", sv.ID), s.AdminToken, map[string]any{"name": "test"}).Want(201).JSON(&key)
	sv.Key, sv.KeyID = key.Key, key.ID
	return sv
}
