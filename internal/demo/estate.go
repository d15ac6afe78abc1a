package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/rules"
	"github.com/steadyhq/steady/internal/service"
)

// Estate is what the demo's operations data is made with.
type Estate struct {
	DB        *db.DB
	Clock     clock.Clock
	Services  *service.Catalog
	Incidents *incident.Manager
	Rules     *rules.Store
	Schedules *oncall.Schedules
	Policies  *oncall.Policies
	CMDB      *cmdb.Store
	// Hook is the ingest hook of the running app, so demo alerts group
	// into incidents exactly as real ones do.
	Hook event.Hook
	// AfterCommit is the running app's, for the same reason.
	AfterCommit func([]event.AlertChange)
}

type demoService struct {
	name, team, description string
	criticality             service.Criticality
	groupBy                 []string
}

var services = []demoService{
	{"Checkout API", "Payments", "Takes orders and payments from the web shop and the apps.", service.Critical, nil},
	{"Payment Gateway", "Payments", "Card and wallet payments through two acquirers.", service.Critical, nil},
	{"Kubernetes Platform", "Platform", "The production clusters in eu-west and us-east.", service.High, []string{"cluster"}},
	{"PostgreSQL Fleet", "Databases", "Primary databases and their replicas.", service.High, []string{"cluster"}},
	{"Corporate Network", "Network", "Offices, VPN, DNS and the load balancers.", service.Medium, nil},
}

// seedEstate makes services, alerts through the real ingest path, and
// incidents in every state, with notes and resolutions, so that the
// incident list, search, similar incidents, SLA clocks and reports all have
// something to show.
func seedEstate(ctx context.Context, e Estate, teamID map[string]int64, people map[string]int64) error {
	svc := map[string]int64{}
	for _, d := range services {
		team := teamID[d.team]
		f := service.Fields{Name: &d.name, Description: &d.description, Criticality: &d.criticality, TeamID: &team}
		if d.groupBy != nil {
			f.GroupBy = &d.groupBy
		}
		s, err := e.Services.Create(ctx, f)
		if err != nil {
			return err
		}
		if _, err := e.Services.CreateKey(ctx, s.ID, "prometheus"); err != nil {
			return err
		}
		svc[d.name] = s.ID
	}
	in := &event.Ingester{DB: e.DB, Clock: e.Clock, Hook: e.Hook, AfterCommit: e.AfterCommit}
	in.Start()
	defer in.Stop()
	now := e.Clock.Now().UTC()
	send := func(service string, evs ...event.Event) error {
		items := make([]event.Routed, len(evs))
		for i := range evs {
			evs[i].ReceivedAt, evs[i].OccurredAt = now, now
			if evs[i].Source == "" {
				evs[i].Source = event.SourceAlertmanager
			}
			items[i] = event.Routed{ServiceID: svc[service], Event: evs[i]}
		}
		_, err := in.Submit(ctx, items)
		return err
	}
	trig := func(key string, sev event.Severity, summary string, labels map[string]string) event.Event {
		return event.Event{Action: event.Trigger, DedupKey: key, Severity: sev, Summary: summary, Labels: labels, Host: labels["instance"]}
	}
	// An alert storm on one cluster: one incident with many alerts.
	var storm []event.Event
	for i := 1; i <= 24; i++ {
		storm = append(storm, trig(fmt.Sprintf("pod-crashloop-%d", i), event.Error, "Pods crash-looping in namespace checkout",
			map[string]string{"alertname": "KubePodCrashLooping", "cluster": "eu-west", "namespace": "checkout", "pod": fmt.Sprintf("checkout-%d", i)}))
	}
	if err := send("Kubernetes Platform", storm...); err != nil {
		return err
	}
	if err := send("Checkout API", trig("checkout-5xx", event.Critical, "High 5xx rate on checkout (7.2%)",
		map[string]string{"alertname": "HighErrorRate", "service": "checkout", "instance": "checkout-api"})); err != nil {
		return err
	}
	if err := send("PostgreSQL Fleet", trig("pg-replication-lag", event.Warning, "Replication lag above 30 s on pg-eu-2",
		map[string]string{"alertname": "PostgresReplicationLag", "cluster": "pg-eu", "instance": "pg-eu-2"})); err != nil {
		return err
	}
	// Work on them as people would.
	as := func(email string) context.Context {
		return iam.WithPrincipal(ctx, iam.Principal{UserID: people[email], Email: email, Role: iam.RoleAdmin})
	}
	open, err := e.Incidents.List(ctx, incident.Filter{ServiceID: svc["Checkout API"]}, pageAll)
	if err != nil || len(open.Items) == 0 {
		return err
	}
	co := open.Items[0]
	grace := as("grace@example.com")
	if _, err := e.Incidents.SetStatus(grace, co.ID, incident.Acknowledged, "", 0); err != nil {
		return err
	}
	uid := people["margaret@example.com"]
	if _, err := e.Incidents.Assign(grace, co.ID, &uid, nil); err != nil {
		return err
	}
	if _, err := e.Incidents.AddNote(as("margaret@example.com"), co.ID, "Errors started with release 2026.11.3; payment confirmations time out."); err != nil {
		return err
	}
	// Past incidents, resolved, so that similar incidents and search have history.
	past := []struct{ title, service, fix, followUp string }{
		{"High 5xx rate on checkout after deploy", "Checkout API", "Rolled back release 2026.10.7; a missing database index made confirmations time out.", "follow-up: add the index check to the release checklist"},
		{"Replication lag on pg-eu-2 during backup", "PostgreSQL Fleet", "Moved the nightly base backup to the replica pg-eu-3 and throttled it.", ""},
		{"DNS resolution failures in the Berlin office", "Corporate Network", "Restarted the office resolver and replaced its failing disk.", "follow-up: monitor the resolver's disk"},
	}
	for _, p := range past {
		s := svc[p.service]
		inc, err := e.Incidents.Create(grace, incident.NewIncident{Title: p.title, ServiceID: &s, Impact: incident.High, Urgency: incident.Medium})
		if err != nil {
			return err
		}
		if p.followUp != "" {
			if _, err := e.Incidents.AddNote(grace, inc.ID, p.followUp); err != nil {
				return err
			}
		}
		if _, err := e.Incidents.SetStatus(grace, inc.ID, incident.Resolved, p.fix, 0); err != nil {
			return err
		}
	}
	// A silence, as an operator replacing disks would set one.
	m, err := rules.ParseMatchers(`{alertname="NodeDiskFull", cluster="eu-west"}`)
	if err != nil {
		return err
	}
	_, err = e.Rules.CreateSilence(as("linus@example.com"), rules.Silence{Matchers: m, EndsAt: now.Add(4 * time.Hour),
		Comment: "Replacing disks on the eu-west storage nodes"})
	return err
}
