// Package web is Steady's server-rendered UI.
package web

import (
	"log/slog"
	"net/http"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
)

// Deps is what the UI needs.
type Deps struct {
	IAM     *iam.Service
	Audit   *audit.Log
	Clock   clock.Clock
	Log     *slog.Logger
	Version string
	// SecureCookies marks cookies Secure (the server runs under TLS or behind
	// an https:// public URL).
	SecureCookies bool
}

// Server serves the UI.
type Server struct{ Deps }

// New parses the templates once; an error here stops the start.
func New(d Deps) (*Server, error) { return &Server{Deps: d}, nil }

// Register adds the UI routes to mux.
func (s *Server) Register(mux *http.ServeMux) {}
