package app

import (
	"context"
	"net/http"
	"time"

	"github.com/steadyhq/steady/internal/heartbeat"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/oncall"
)

// wireOnCall builds on-call, notifications and heartbeats, and hooks the
// escalation engine into the incident lifecycle.
func (a *App) wireOnCall(ctx context.Context) error {
	a.Schedules = oncall.NewSchedules(a.DB, a.Audit, a.Clock)
	a.Policies = oncall.NewPolicies(a.DB, a.Audit, a.Clock)
	a.Contacts = notify.NewContacts(a.DB, a.Audit, a.Clock)
	a.Templates = notify.NewTemplates(a.DB, a.Audit, a.Clock)
	a.Outbox = &notify.Outbox{DB: a.DB, Audit: a.Audit, Clock: a.Clock, Log: a.Log,
		Contacts: a.Contacts, Templates: a.Templates, BaseURL: a.Opts.PublicURL,
		Channels: &notify.Channels{SMTP: a.Opts.SMTP, HTTP: &http.Client{Timeout: 15 * time.Second}}}
	a.Escalation = &oncall.Engine{DB: a.DB, Clock: a.Clock, Log: a.Log, Schedules: a.Schedules, Policies: a.Policies}
	a.Heartbeats = heartbeat.New(a.DB, a.Audit, a.Clock, a.Ingester.Submit)
	return nil
}
