package incident_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/service"
	"github.com/steadyhq/steady/internal/testkit"
)

func sla(t *testing.T, m *incident.Manager, id int64, kind string) incident.SLA {
	t.Helper()
	all, err := m.SLAs(responder, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Kind == kind {
			return s
		}
	}
	t.Fatalf("no %s SLA on incident %d: %+v", kind, id, all)
	return incident.SLA{}
}

func TestSLABreachAndMet(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		var breaches atomic.Int64
		f.m.OnBreach = func(kind, priority string) { breaches.Add(1) }
		svc := f.service("core", service.Fields{Criticality: ptr(service.Critical)})
		f.send(svc, trigger("p1", "critical", nil))
		in := f.incidents(incident.Filter{ServiceID: svc})[0]
		if in.Priority != "P1" {
			t.Fatalf("priority %s", in.Priority)
		}
		ack := sla(t, f.m, in.ID, incident.SLAAcknowledge)
		if !ack.Running || ack.TargetSec != 300 || ack.DueAt == nil || !ack.DueAt.Equal(in.CreatedAt.Add(5*time.Minute)) {
			t.Fatalf("ack clock: %+v (created %s)", ack, in.CreatedAt)
		}
		f.s.Clock.Advance(4 * time.Minute)
		if n, _ := f.m.CheckSLAs(context.Background()); n != 0 {
			t.Fatalf("%d breaches before the deadline", n)
		}
		f.s.Clock.Advance(2 * time.Minute)
		if n, err := f.m.CheckSLAs(context.Background()); n != 1 || err != nil {
			t.Fatalf("%d breaches after the deadline: %v", n, err)
		}
		if n, _ := f.m.CheckSLAs(context.Background()); n != 0 || breaches.Load() != 1 {
			t.Fatal("a breach was recorded twice")
		}
		ack = sla(t, f.m, in.ID, incident.SLAAcknowledge)
		if ack.BreachedAt == nil || !ack.BreachedAt.Equal(in.CreatedAt.Add(5*time.Minute)) {
			t.Fatalf("breach instant %v, want %v", ack.BreachedAt, in.CreatedAt.Add(5*time.Minute))
		}
		tl, _ := f.m.Timeline(responder, in.ID)
		if last := tl[len(tl)-1]; last.Kind != "sla_breached" || last.ActorType != "system" {
			t.Fatalf("timeline: %+v", last)
		}
		// Acknowledging after the breach keeps it a breach; resolving in time meets the other.
		f.m.SetStatus(responder, in.ID, incident.Acknowledged, "", 0)
		f.m.SetStatus(responder, in.ID, incident.Resolved, "fixed", 0)
		res := sla(t, f.m, in.ID, incident.SLAResolve)
		if res.MetAt == nil || res.BreachedAt != nil || res.Running {
			t.Fatalf("resolve clock: %+v", res)
		}
		if a := sla(t, f.m, in.ID, incident.SLAAcknowledge); a.MetAt != nil || a.BreachedAt == nil {
			t.Fatalf("ack clock after a late ack: %+v", a)
		}
	})
}

func TestSLAPausesAndSurvivesRestart(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		in, err := f.m.Create(responder, incident.NewIncident{Title: "Vendor outage", Impact: 2, Urgency: 2}) // P3: resolve in 24 h, 24×7
		if err != nil {
			t.Fatal(err)
		}
		start := in.CreatedAt
		f.s.Clock.Advance(time.Minute)
		f.m.SetStatus(responder, in.ID, incident.Acknowledged, "", 0)
		f.s.Clock.Advance(59 * time.Minute)
		f.m.SetStatus(responder, in.ID, incident.OnHold, "waiting on the vendor", 0)
		if s := sla(t, f.m, in.ID, incident.SLAResolve); !s.Paused || s.DueAt != nil || s.ElapsedSec != 3600 {
			t.Fatalf("on hold: %+v", s)
		}
		// Reassignment keeps what the clock counted.
		u := f.s.NewUser("responder")
		f.m.Assign(responder, in.ID, &u.ID, nil)
		f.s.Clock.Advance(30 * time.Hour)
		if n, _ := f.m.CheckSLAs(context.Background()); n != 0 {
			t.Fatal("a paused clock breached")
		}
		resumed := f.s.Clock.Now()
		f.m.SetStatus(responder, in.ID, incident.Investigating, "vendor is back", 0)
		s := sla(t, f.m, in.ID, incident.SLAResolve)
		if s.DueAt == nil || !s.DueAt.Equal(resumed.Add(23*time.Hour)) {
			t.Fatalf("due after resume %v, want %v (started %s)", s.DueAt, resumed.Add(23*time.Hour), start)
		}

		// The server goes down before the deadline and comes back after it:
		// the breach is found, at its exact instant.
		f.in.Stop()
		f.s = f.s.Restart()
		m := incident.New(f.s.App.DB, f.s.App.Audit, f.s.Clock, f.s.App.Log)
		f.s.Clock.Set(resumed.Add(25 * time.Hour))
		if n, err := m.CheckSLAs(context.Background()); n != 1 || err != nil {
			t.Fatalf("after a restart: %d breaches, %v", n, err)
		}
		if s := sla(t, m, in.ID, incident.SLAResolve); s.BreachedAt == nil || !s.BreachedAt.Equal(resumed.Add(23*time.Hour)) {
			t.Fatalf("breach after restart: %+v", s)
		}
		f.in = nil
	})
}

func TestSLABusinessHoursAndPolicies(t *testing.T) {
	f := setup(t, db.SQLite)
	// Friday 2026-03-06 16:30 UTC; P4 counts UTC business hours: 4 h to acknowledge.
	f.s.Clock.Set(time.Date(2026, 3, 6, 16, 30, 0, 0, time.UTC))
	in, err := f.m.Create(responder, incident.NewIncident{Title: "Printer queue stuck", Impact: 2, Urgency: 3})
	if err != nil || in.Priority != "P4" {
		t.Fatalf("%+v %v", in, err)
	}
	if s := sla(t, f.m, in.ID, incident.SLAAcknowledge); s.DueAt == nil || !s.DueAt.Equal(time.Date(2026, 3, 9, 12, 30, 0, 0, time.UTC)) {
		t.Fatalf("due %v, want Monday 12:30", s.DueAt)
	}
	// Raising the priority applies P2's 24×7 targets to the running clocks.
	if _, err := f.m.Update(responder, in.ID, incident.Patch{Impact: ptr(1), Urgency: ptr(2)}, 0); err != nil {
		t.Fatal(err)
	}
	if s := sla(t, f.m, in.ID, incident.SLAAcknowledge); s.Priority != "P2" || s.DueAt == nil || !s.DueAt.Equal(time.Date(2026, 3, 6, 16, 45, 0, 0, time.UTC)) {
		t.Fatalf("after raising the priority: %+v", s)
	}

	ps, err := f.m.Policies(responder)
	if err != nil || len(ps) != 5 || ps[0].Priority != "P1" || ps[0].AckSeconds != 300 {
		t.Fatalf("policies: %+v %v", ps, err)
	}
	p := ps[4]
	p.AckSeconds = 60
	if _, err := f.m.SetPolicy(responder, p); err != nil {
		t.Fatal(err)
	}
	p.Calendar.TimeZone = "Mars/Olympus"
	if _, err := f.m.SetPolicy(responder, p); !errs.Is(err, errs.KindInvalid) {
		t.Fatalf("bad calendar: %v", err)
	}
}
