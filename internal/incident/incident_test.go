package incident_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/service"
	"github.com/steadyhq/steady/internal/testkit"
)

type fixture struct {
	t   *testing.T
	s   *testkit.Server
	m   *incident.Manager
	in  *event.Ingester
	cat *service.Catalog
}

func setup(t *testing.T, d db.Dialect) *fixture {
	s := testkit.Start(t, d)
	m := incident.New(s.App.DB, s.App.Audit, s.Clock, s.App.Log)
	in := &event.Ingester{DB: s.App.DB, Clock: s.Clock, Hook: m.OnAlerts}
	in.Start()
	f := &fixture{t: t, s: s, m: m, in: in, cat: service.New(s.App.DB, s.App.Audit, s.Clock)}
	t.Cleanup(func() {
		if f.in != nil {
			f.in.Stop()
		}
	})
	return f
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) service(name string, fields service.Fields) int64 {
	f.t.Helper()
	fields.Name = &name
	svc, err := f.cat.Create(context.Background(), fields)
	if err != nil {
		f.t.Fatal(err)
	}
	return svc.ID
}

func (f *fixture) send(svc int64, evs ...event.Event) []event.Result {
	f.t.Helper()
	var items []event.Routed
	for _, e := range evs {
		e.ReceivedAt = f.s.Clock.Now()
		items = append(items, event.Routed{ServiceID: svc, Event: e})
	}
	res, err := f.in.Submit(context.Background(), items)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func trigger(key, sev string, labels map[string]string) event.Event {
	return event.Event{Source: event.SourceGeneric, Action: event.Trigger, DedupKey: key, Severity: event.Severity(sev),
		Summary: "problem " + key, Labels: labels}
}

func resolve(key string) event.Event {
	return event.Event{Source: event.SourceGeneric, Action: event.Resolve, DedupKey: key}
}

func (f *fixture) incidents(filter incident.Filter) []incident.Incident {
	f.t.Helper()
	l, err := f.m.List(context.Background(), filter, page.Request{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	return l.Items
}

var responder = iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "admin@example.com", Role: iam.RoleAdmin})

func TestGrouping(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		api := f.service("api", service.Fields{Criticality: ptr(service.Critical)})
		web := f.service("web", service.Fields{GroupBy: &[]string{"cluster"}, GroupWindow: ptr(60)})
		multi := f.service("multi", service.Fields{GroupBy: &[]string{"cluster", "alertname"}})
		f.send(multi, trigger("m-a", "error", map[string]string{"cluster": "eu", "alertname": "Down"}),
			trigger("m-b", "error", map[string]string{"cluster": "eu", "alertname": "Down"}),
			trigger("m-c", "error", map[string]string{"cluster": "eu,us", "alertname": "Down"}))
		if got := f.incidents(incident.Filter{ServiceID: multi}); len(got) != 2 || got[1].GroupKey != "cluster=eu,alertname=Down" || got[1].AlertCount != 2 {
			t.Fatalf("two group labels: %+v", got)
		}

		// An alert storm on one service is one incident.
		var storm []event.Event
		for i := 0; i < 300; i++ {
			storm = append(storm, trigger(fmt.Sprintf("storm-%d", i), "warning", nil))
		}
		f.send(api, storm[:100]...)
		f.send(api, storm[100:]...)
		f.send(api, trigger("storm-0", "critical", nil)) // a repeat is not a new alert
		got := f.incidents(incident.Filter{ServiceID: api})
		if len(got) != 1 || got[0].AlertCount != 300 || got[0].OpenAlertCount != 300 || got[0].Status != incident.Triggered {
			t.Fatalf("storm: %+v", got)
		}
		if got[0].Priority != "P2" || got[0].Impact != 1 || got[0].Urgency != 2 {
			t.Fatalf("critical service, warning alerts: %s impact %d urgency %d", got[0].Priority, got[0].Impact, got[0].Urgency)
		}
		// A more severe new alert raises the urgency and so the priority.
		f.send(api, trigger("worse", "critical", nil))
		if in, _ := f.m.Get(responder, got[0].ID); in.Priority != "P1" || in.Severity != "critical" || in.AlertCount != 301 {
			t.Fatalf("escalated: %+v", in)
		}

		// Group labels split incidents; the window closes a group.
		f.send(web, trigger("a1", "error", map[string]string{"cluster": "eu"}), trigger("b1", "error", map[string]string{"cluster": "us"}))
		f.send(web, trigger("a2", "error", map[string]string{"cluster": "eu"}))
		if got := f.incidents(incident.Filter{ServiceID: web}); len(got) != 2 {
			t.Fatalf("by cluster: %d incidents", len(got))
		}
		f.s.Clock.Advance(2 * time.Minute)
		f.send(web, trigger("a3", "error", map[string]string{"cluster": "eu"}))
		if got := f.incidents(incident.Filter{ServiceID: web}); len(got) != 3 || got[0].AlertCount != 1 {
			t.Fatalf("after the window: %+v", got)
		}

		// All alerts resolved: the incident resolves itself.
		var res []event.Event
		for i := 0; i < 300; i++ {
			res = append(res, resolve(fmt.Sprintf("storm-%d", i)))
		}
		f.send(api, res...)
		in, _ := f.m.Get(responder, got[0].ID)
		if in.Status != incident.Triggered || in.OpenAlertCount != 1 {
			t.Fatalf("one alert still open: %+v", in)
		}
		f.send(api, resolve("worse"))
		in, _ = f.m.Get(responder, got[0].ID)
		if in.Status != incident.Resolved || in.ResolvedAt == nil || in.OpenAlertCount != 0 {
			t.Fatalf("auto-resolve: %+v", in)
		}
		// A new trigger after resolution opens a new incident.
		f.send(api, trigger("storm-1", "warning", nil))
		if got := f.incidents(incident.Filter{ServiceID: api}); len(got) != 2 || got[0].Status != incident.Triggered {
			t.Fatalf("after resolution: %+v", got)
		}

		// A service without auto-resolve keeps its incident open.
		manual := f.service("manual", service.Fields{AutoResolve: ptr(false)})
		f.send(manual, trigger("m1", "info", nil))
		f.send(manual, resolve("m1"))
		if got := f.incidents(incident.Filter{ServiceID: manual}); got[0].Status != incident.Triggered || got[0].OpenAlertCount != 0 || got[0].Priority != "P4" {
			t.Fatalf("no auto-resolve: %+v", got[0])
		}

		// An acknowledge event acknowledges the incident.
		f.send(web, event.Event{Source: event.SourceGeneric, Action: event.Acknowledge, DedupKey: "b1"})
		us := f.incidents(incident.Filter{ServiceID: web, Statuses: []incident.Status{incident.Acknowledged}})
		if len(us) != 1 || us[0].AcknowledgedAt == nil {
			t.Fatalf("ack event: %+v", us)
		}
		tl, err := f.m.Timeline(responder, us[0].ID)
		if err != nil || len(tl) != 2 || tl[0].Kind != "opened" || tl[1].Kind != "acknowledged" || tl[1].ActorType != "system" {
			t.Fatalf("timeline: %+v %v", tl, err)
		}
	})
}

// Two servers sharing a database (PostgreSQL) receive new alerts of one
// group at the same moment: they open one incident between them, which
// counts every alert.
func TestGroupingAcrossWriters(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		other := &event.Ingester{DB: f.s.App.DB, Clock: f.s.Clock, Hook: f.m.OnAlerts}
		other.Start()
		defer other.Stop()
		writers := []*event.Ingester{f.in, other}
		const rounds, senders = 15, 8
		for round := range rounds {
			svc := f.service(fmt.Sprintf("svc-%d", round), service.Fields{})
			var wg sync.WaitGroup
			errc := make(chan error, senders)
			for g := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e := trigger(fmt.Sprintf("k-%d", g), "error", nil)
					e.ReceivedAt = f.s.Clock.Now()
					if _, err := writers[g%2].Submit(context.Background(), []event.Routed{{ServiceID: svc, Event: e}}); err != nil {
						errc <- err
					}
				}()
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			if got := f.incidents(incident.Filter{ServiceID: svc}); len(got) != 1 || got[0].AlertCount != senders {
				t.Fatalf("round %d: %d incidents, want one counting %d alerts: %+v", round, len(got), senders, got)
			}
		}
	})
}

func TestLifecycle(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		svc := f.service("db", service.Fields{})
		f.send(svc, trigger("x", "error", nil), trigger("y", "error", nil))
		in := f.incidents(incident.Filter{ServiceID: svc})[0]
		u := f.s.NewUser(iam.RoleResponder)
		as := iam.WithPrincipal(context.Background(), iam.Principal{UserID: u.ID, Email: u.Email, Role: iam.RoleResponder})
		viewer := iam.WithPrincipal(context.Background(), iam.Principal{UserID: 99, Email: "v@example.com", Role: iam.RoleViewer})

		if _, err := f.m.SetStatus(viewer, in.ID, incident.Acknowledged, "", 0); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a viewer acknowledged: %v", err)
		}
		ack, err := f.m.SetStatus(as, in.ID, incident.Acknowledged, "", in.Version)
		if err != nil || ack.Status != incident.Acknowledged || ack.AcknowledgedAt == nil {
			t.Fatalf("ack: %+v %v", ack, err)
		}
		if _, err := f.m.SetStatus(as, in.ID, incident.Investigating, "", in.Version); !errs.Is(err, errs.KindPreconditionFailed) {
			t.Fatalf("stale version: %v", err)
		}
		again, err := f.m.SetStatus(as, in.ID, incident.Acknowledged, "", 0)
		if err != nil || again.Version != ack.Version {
			t.Fatalf("acknowledging twice changes nothing: %v", err)
		}
		if _, err := f.m.SetStatus(as, in.ID, incident.Closed, "", 0); !errs.Is(err, errs.KindConflict) {
			t.Fatalf("closing an open incident: %v", err)
		}
		if _, err := f.m.Assign(as, in.ID, &u.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.m.Assign(as, in.ID, ptr(int64(9999)), nil); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("assigning to nobody: %v", err)
		}
		if _, err := f.m.AddNote(as, in.ID, "restarted the primary"); err != nil {
			t.Fatal(err)
		}
		up, err := f.m.Update(as, in.ID, incident.Patch{Impact: ptr(1), Urgency: ptr(1), Major: ptr(true), Tags: &[]string{"DB", "db", " replication "}}, 0)
		if err != nil || up.Priority != "P1" || !up.Major || len(up.Tags) != 2 {
			t.Fatalf("update: %+v %v", up, err)
		}
		res, err := f.m.SetStatus(as, in.ID, incident.Resolved, "failed over to the replica", 0)
		if err != nil || res.Status != incident.Resolved || res.Resolution != "failed over to the replica" || res.OpenAlertCount != 0 {
			t.Fatalf("resolve: %+v %v", res, err)
		}
		// Resolving the incident resolved its alerts: the next trigger is a new alert and incident.
		r := f.send(svc, trigger("x", "error", nil))
		if r[0].Change != "created" {
			t.Fatalf("after a manual resolve, a trigger made %q", r[0].Change)
		}
		if _, err := f.m.SetStatus(as, in.ID, incident.Closed, "", 0); err != nil {
			t.Fatal(err)
		}
		re, err := f.m.SetStatus(as, in.ID, incident.Triggered, "it came back", 0)
		if err != nil || re.Status != incident.Triggered || re.ResolvedAt != nil || re.ClosedAt != nil {
			t.Fatalf("reopen: %+v %v", re, err)
		}
		tl, _ := f.m.Timeline(as, in.ID)
		var kinds []string
		for _, e := range tl {
			kinds = append(kinds, e.Kind)
		}
		want := "[opened acknowledged assigned note updated resolved closed reopened]"
		if fmt.Sprint(kinds) != want {
			t.Fatalf("timeline kinds %v, want %s", kinds, want)
		}
		if tl[3].ActorName != u.Email || tl[3].Body != "restarted the primary" {
			t.Fatalf("note entry: %+v", tl[3])
		}

		// Hand-made incidents, links and list filters.
		other, err := f.m.Create(as, incident.NewIncident{Title: "Customers cannot pay", ServiceID: &svc, Impact: 1, Urgency: 2})
		if err != nil || other.Priority != "P2" || other.Number != incident.Number(other.ID) {
			t.Fatalf("create: %+v %v", other, err)
		}
		if _, err := f.m.Create(as, incident.NewIncident{Title: "", Impact: 7}); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("invalid create: %v", err)
		}
		if err := f.m.Link(as, in.ID, other.ID); err != nil {
			t.Fatal(err)
		}
		rel, _ := f.m.Related(as, other.ID)
		if len(rel) != 1 || rel[0].ID != in.ID {
			t.Fatalf("related: %+v", rel)
		}
		if got := f.incidents(incident.Filter{Priority: "P1", Major: ptr(true)}); len(got) != 1 || got[0].ID != in.ID {
			t.Fatalf("filter: %+v", got)
		}
		if got := f.incidents(incident.Filter{Tag: "replication"}); len(got) != 1 {
			t.Fatalf("tag filter: %+v", got)
		}
	})
}

func TestSecurityIncidentsAreHidden(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		admin := iam.WithPrincipal(context.Background(), iam.Principal{UserID: f.s.AdminID, Role: iam.RoleAdmin})
		team, err := f.s.App.IAM.CreateTeam(admin, iam.NewTeam{Name: "SecOps"})
		if err != nil {
			t.Fatal(err)
		}
		member, outsider := f.s.NewUser(iam.RoleResponder), f.s.NewUser(iam.RoleManager)
		if _, err := f.s.App.IAM.SetMember(admin, team.ID, member.ID, iam.TeamMember); err != nil {
			t.Fatal(err)
		}
		sec, err := f.m.Create(admin, incident.NewIncident{Title: "Suspicious logins", TeamID: &team.ID, Security: true})
		if err != nil {
			t.Fatal(err)
		}
		as := func(u testkit.User, r iam.Role) context.Context {
			return iam.WithPrincipal(context.Background(), iam.Principal{UserID: u.ID, Role: r})
		}
		if _, err := f.m.Get(as(member, iam.RoleResponder), sec.ID); err != nil {
			t.Fatalf("a team member cannot read it: %v", err)
		}
		if _, err := f.m.Get(as(outsider, iam.RoleManager), sec.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("an outsider can read it: %v", err)
		}
		if _, err := f.m.AddNote(as(outsider, iam.RoleManager), sec.ID, "peek"); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("an outsider can write on it: %v", err)
		}
		l, _ := f.m.List(as(outsider, iam.RoleManager), incident.Filter{}, page.Request{Limit: 10})
		if len(l.Items) != 0 {
			t.Fatalf("an outsider lists it: %+v", l.Items)
		}
		l, _ = f.m.List(as(member, iam.RoleResponder), incident.Filter{}, page.Request{Limit: 10})
		if len(l.Items) != 1 {
			t.Fatalf("a member does not list it: %+v", l.Items)
		}
	})
}

func TestSearchAndSimilar(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		svc := f.service("payments", service.Fields{})
		mk := func(title, fix string) incident.Incident {
			in, err := f.m.Create(responder, incident.NewIncident{Title: title, ServiceID: &svc})
			if err != nil {
				t.Fatal(err)
			}
			if fix != "" {
				if in, err = f.m.SetStatus(responder, in.ID, incident.Resolved, fix, 0); err != nil {
					t.Fatal(err)
				}
			}
			return in
		}
		old1 := mk("Database connections exhausted on db-1", "raised max_connections and restarted pgbouncer")
		mk("Disk full on backup host", "rotated old backups")
		old3 := mk("Slow database queries on checkout", "added an index on orders.customer_id")
		cur := mk("Database connections exhausted on db-2", "")
		if _, err := f.m.AddNote(responder, cur.ID, "pgbouncer pool saturated"); err != nil {
			t.Fatal(err)
		}

		hits, err := f.m.Search(responder, "connections exhausted", 10)
		if err != nil || len(hits) != 2 {
			t.Fatalf("search: %+v %v", hits, err)
		}
		if hits, _ := f.m.Search(responder, "pgbouncer", 10); len(hits) != 2 {
			t.Fatalf("resolutions and notes are searched: %+v", hits)
		}
		if hits, _ := f.m.Search(responder, "payments AND \"quotes' (syntax*", 10); hits == nil {
			t.Fatal("query syntax must be harmless")
		}
		if _, err := f.m.Search(responder, "!!", 10); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("an empty query: %v", err)
		}
		sim, err := f.m.Similar(responder, cur.ID, 5)
		if err != nil || len(sim) < 2 || sim[0].Incident.ID != old1.ID || sim[0].Incident.Resolution == "" {
			t.Fatalf("similar: %+v %v", sim, err)
		}
		for _, h := range sim {
			if h.Incident.ID == cur.ID || !(h.Incident.Status == incident.Resolved || h.Incident.Status == incident.Closed) {
				t.Fatalf("similar lists itself or an open incident: %+v", h.Incident)
			}
		}
		_ = old3
	})
}

func TestReport(t *testing.T) {
	f := setup(t, db.SQLite)
	svc := f.service("checkout", service.Fields{})
	f.send(svc, trigger("c1", "critical", nil))
	in := f.incidents(incident.Filter{ServiceID: svc})[0]
	f.s.Clock.Advance(3 * time.Minute)
	if _, err := f.m.SetStatus(responder, in.ID, incident.Acknowledged, "", 0); err != nil {
		t.Fatal(err)
	}
	f.m.AddNote(responder, in.ID, "rolled back release 42 <b>now</b>")
	f.m.AddNote(responder, in.ID, "Follow-up: add a canary stage")
	f.s.Clock.Advance(time.Hour)
	if _, err := f.m.SetStatus(responder, in.ID, incident.Resolved, "rollback", 0); err != nil {
		t.Fatal(err)
	}
	r, err := f.m.Report(responder, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	md := r.Markdown()
	for _, want := range []string{"# " + in.Number + ": problem c1", "| Service | checkout |", "after 3m 0s", "| Duration | 1h 3m |",
		"## Timeline", "rolled back release 42 &lt;b&gt;now&lt;/b&gt;", "- [ ] Follow-up: add a canary stage", "## Resolution\n\nrollback"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	h, err := r.HTML()
	if err != nil || !strings.Contains(h, "&lt;b&gt;now&lt;/b&gt;") || strings.Contains(h, "<b>now</b>") || !strings.Contains(h, "<h2>Open follow-ups</h2>") {
		t.Fatalf("html: %v\n%s", err, h)
	}
}

func TestAlertsAndEventsOfAnIncident(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		svc := f.service("queue", service.Fields{})
		f.send(svc, trigger("q1", "error", nil), trigger("q2", "error", nil), trigger("q1", "error", nil))
		in := f.incidents(incident.Filter{ServiceID: svc})[0]
		al, err := f.m.Alerts(responder, in.ID, page.Request{Limit: 10})
		if err != nil || len(al.Items) != 2 {
			t.Fatalf("alerts: %+v %v", al, err)
		}
		ev, err := f.m.Events(responder, in.ID, page.Request{Limit: 2})
		if err != nil || len(ev.Items) != 2 || ev.Next == "" || ev.Items[0].Event.DedupKey != "q1" {
			t.Fatalf("events: %+v %v", ev, err)
		}
	})
}
