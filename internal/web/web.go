// Package web is Steady's server-rendered UI: html/template pages over the
// same services the REST API uses, with a session cookie for sign-in and a
// CSRF token on every form. routes.go lists every page; each capability has
// its own file of handlers; render.go turns data and errors into HTML.
package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/heartbeat"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/rules"
	"github.com/steadyhq/steady/internal/service"
)

// Deps is what the UI needs.
type Deps struct {
	IAM       *iam.Service
	Audit     *audit.Log
	Services  *service.Catalog
	Incidents *incident.Manager
	// Rules holds event rules, silences, maintenance windows and inhibit rules.
	Rules *rules.Store
	// On-call and notifications.
	Schedules  *oncall.Schedules
	Policies   *oncall.Policies
	Contacts   *notify.Contacts
	Templates  *notify.Templates
	Outbox     *notify.Outbox
	Heartbeats *heartbeat.Monitor
	Links      notify.Signer
	// CMDB holds configuration items, relationships and topology.
	CMDB    *cmdb.Store
	Clock   clock.Clock
	Log     *slog.Logger
	Version string
	// SecureCookies marks cookies Secure (the server runs under TLS or behind
	// an https:// public URL).
	SecureCookies bool
}

// Server serves the UI.
type Server struct {
	Deps
	v      views
	assets map[string]string // static file name → its URL with a content hash
	// refusals limits refused one-click links per address: each is audited,
	// and guessing must stay slow.
	refusals *iam.Limiter
}

// New parses the templates once; an error here stops the start.
func New(d Deps) (*Server, error) {
	if d.IAM == nil || d.Audit == nil || d.Services == nil || d.Incidents == nil || d.Rules == nil {
		return nil, fmt.Errorf("web: the IAM service, the audit log, the service catalog, the incident manager and the rules store are required")
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{Deps: d, refusals: iam.NewLimiter(d.Clock)}
	s.refusals.Burst, s.refusals.Every = 10, 6*time.Second
	var err error
	if s.assets, err = hashAssets(files); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if s.v, err = parseViews(files, s.funcs()); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return s, nil
}

// Register adds the UI routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.wrap(rt))
	}
}
