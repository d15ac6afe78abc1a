package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/steadyhq/steady/internal/heartbeat"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/oncall"
)

// wireOnCall builds on-call, notifications and heartbeats, and hooks the
// escalation engine into the incident lifecycle.
func (a *App) wireOnCall(ctx context.Context) error {
	key, err := a.linkKey(ctx)
	if err != nil {
		return fmt.Errorf("link signing key: %w", err)
	}
	a.Schedules = oncall.NewSchedules(a.DB, a.Audit, a.Clock)
	a.Policies = oncall.NewPolicies(a.DB, a.Audit, a.Clock)
	a.Contacts = notify.NewContacts(a.DB, a.Audit, a.Clock)
	a.Templates = notify.NewTemplates(a.DB, a.Audit, a.Clock)
	a.Templates.Log = a.Log
	a.Outbox = &notify.Outbox{DB: a.DB, Audit: a.Audit, Clock: a.Clock, Log: a.Log,
		Contacts: a.Contacts, Templates: a.Templates, BaseURL: a.Opts.PublicURL, Signer: notify.NewSigner(key),
		Channels: &notify.Channels{SMTP: a.Opts.SMTP, Version: Version, Clock: a.Clock},
		Timeline: a.Incidents.Note}
	a.Escalation = &oncall.Engine{DB: a.DB, Clock: a.Clock, Log: a.Log, Schedules: a.Schedules, Policies: a.Policies,
		Cancel: a.Outbox.CancelIncident, Note: a.Incidents.Note,
		Notify: a.Outbox.PageUser}
	a.Incidents.OnChange = a.Escalation.OnChange
	a.Heartbeats = heartbeat.New(a.DB, a.Audit, a.Clock, a.Ingester.Submit)
	return nil
}

// linkKey is the secret that signs one-click links, made once per database
// so that every replica shares it.
func (a *App) linkKey(ctx context.Context) ([]byte, error) {
	const name = "link_signing_key"
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if _, err := a.DB.W.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
		name, base64.RawURLEncoding.EncodeToString(b)); err != nil {
		return nil, err
	}
	var v string
	if err := a.DB.W.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = $1", name).Scan(&v); err != nil {
		return nil, err
	}
	key, err := base64.RawURLEncoding.DecodeString(v)
	if err == nil && len(key) < 32 {
		err = errors.New("too short")
	}
	return key, err
}

// Intervals of the on-call jobs: each also runs at once when woken (an
// incident opened, a message queued), so these bound the delay of timers
// that come due on their own.
const (
	escalationEvery = time.Second
	deliverEvery    = time.Second
	heartbeatEvery  = 5 * time.Second
)

// runOnCall runs the escalation engine, the outbox sender and the heartbeat
// check until ctx ends.
func (a *App) runOnCall(ctx context.Context) {
	if a.Outbox.BaseURL == "" {
		a.Outbox.BaseURL = "http://" + a.Addr()
	}
	if a.Opts.ManualOnCall {
		return
	}
	a.wg.Add(3)
	go func() {
		defer a.wg.Done()
		a.loop(ctx, escalationEvery, a.Escalation.Wake.C(), "escalate", func(ctx context.Context) error {
			_, err := a.Escalation.Tick(ctx)
			return err
		})
	}()
	go func() {
		defer a.wg.Done()
		a.loop(ctx, deliverEvery, a.Outbox.Wake.C(), "deliver notifications", func(ctx context.Context) error {
			_, err := a.Outbox.Deliver(ctx)
			return err
		})
	}()
	go func() {
		defer a.wg.Done()
		a.every(ctx, heartbeatEvery, "check heartbeats", func(ctx context.Context) error {
			_, err := a.Heartbeats.Check(ctx)
			return err
		})
	}()
}

// loop is every, also run when wake signals.
func (a *App) loop(ctx context.Context, d time.Duration, wake <-chan struct{}, name string, job func(context.Context) error) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		if err := job(ctx); err != nil && ctx.Err() == nil {
			a.Log.Warn(name, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}
