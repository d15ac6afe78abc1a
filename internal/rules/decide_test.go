package rules

import (
	"time"

	"maps"
	"slices"
	"testing"

	"github.com/steadyhq/steady/internal/event"
)

func TestDecide(t *testing.T) {
	now := at("2026-05-01T11:00:00Z")
	engine := mustCompile(t,
		rule(1, 0, 0, `labels.env == "test"`, Actions{Drop: true}),
		rule(2, 0, 1, `labels.team == "db"`, Actions{RouteToServiceID: 20, AddLabels: map[string]string{"owner": "dba"}}),
		rule(3, 20, 0, `summary contains "disk"`, Actions{SetSeverity: event.Critical, SetPriority: "P2"}),
		rule(4, 0, 2, `labels.noisy == "yes"`, Actions{Suppress: true}),
	)
	silence := Silence{ID: 30, Matchers: MustParseMatchers(`{owner="dba", alertname="DiskFull"}`),
		StartsAt: at("2026-05-01T10:00:00Z"), EndsAt: at("2026-05-01T12:00:00Z"), Comment: "known"}
	expired := silence
	expired.ID, expired.EndsAt = 31, at("2026-05-01T10:30:00Z")
	window := MaintenanceWindow{ID: 40, Name: "db upgrade", ServiceIDs: []int64{20},
		StartsAt: at("2026-05-01T10:00:00Z"), EndsAt: at("2026-05-01T12:00:00Z")}
	otherWindow := window
	otherWindow.ID, otherWindow.ServiceIDs = 41, []int64{10}
	inhibitor := mustInhibitor(t, inhibitRule(50, `alertname="NodeDown"`, `owner="dba"`, "host"))
	inhibitor.Set("alert-9", map[string]string{"alertname": "NodeDown", "host": "db-1"})

	ev := func(labels map[string]string) *event.Event {
		e := testEvent()
		e.Labels = labels
		return e
	}
	cases := []struct {
		name        string
		in          Input
		drop, supp  bool
		reasons     []string
		service     int64
		severity    event.Severity
		priority    string
		inhibitedBy string
	}{
		{"nothing applies",
			Input{Event: ev(map[string]string{"alertname": "X", "team": "web"}), ServiceID: 10, Now: now, Engine: engine,
				Silences: []Silence{silence}, Maintenance: []MaintenanceWindow{window}, Inhibitor: inhibitor},
			false, false, nil, 10, event.Error, "", ""},
		{"dropped by a rule: nothing else is checked",
			Input{Event: ev(map[string]string{"env": "test", "team": "db"}), ServiceID: 10, Now: now, Engine: engine,
				Silences: []Silence{silence}, Maintenance: []MaintenanceWindow{window}},
			true, false, []string{"rule:1"}, 10, event.Error, "", ""},
		{"re-routed and relabelled, then silenced, in maintenance of the new service",
			Input{Event: ev(map[string]string{"alertname": "DiskFull", "team": "db"}), ServiceID: 10, Now: now, Engine: engine,
				Silences: []Silence{expired, silence}, Maintenance: []MaintenanceWindow{otherWindow, window}},
			false, true, []string{"maintenance:40", "silence:30"}, 20, event.Critical, "P2", ""},
		{"suppressed by a rule",
			Input{Event: ev(map[string]string{"noisy": "yes"}), ServiceID: 10, Now: now, Engine: engine},
			false, true, []string{"rule:4"}, 10, event.Error, "", ""},
		{"inhibited on the final labels",
			Input{Event: ev(map[string]string{"host": "db-1", "team": "db"}), ServiceID: 10, Now: now, Engine: engine, Inhibitor: inhibitor},
			false, true, []string{"inhibited"}, 20, event.Critical, "P2", "alert-9"},
		{"not inhibited without the label a rule would add",
			Input{Event: ev(map[string]string{"host": "db-1", "team": "web"}), ServiceID: 10, Now: now, Engine: engine, Inhibitor: inhibitor},
			false, false, nil, 10, event.Error, "", ""},
		{"all reasons are listed",
			Input{Event: ev(map[string]string{"host": "db-1", "team": "db", "noisy": "yes", "alertname": "DiskFull"}), ServiceID: 10, Now: now,
				Engine: engine, Silences: []Silence{silence}, Maintenance: []MaintenanceWindow{window}, Inhibitor: inhibitor},
			false, true, []string{"rule:4", "maintenance:40", "silence:30", "inhibited"}, 20, event.Critical, "P2", "alert-9"},
		{"outside the windows",
			Input{Event: ev(map[string]string{"alertname": "DiskFull", "team": "db"}), ServiceID: 10, Now: at("2026-05-01T13:00:00Z"),
				Engine: engine, Silences: []Silence{silence}, Maintenance: []MaintenanceWindow{window}},
			false, false, nil, 20, event.Critical, "P2", ""},
		{"no engine",
			Input{Event: ev(map[string]string{"owner": "dba", "alertname": "DiskFull"}), ServiceID: 10, Now: now, Silences: []Silence{silence}},
			false, true, []string{"silence:30"}, 10, event.Error, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := maps.Clone(c.in.Event.Labels)
			beforeSev := c.in.Event.Severity
			d := Decide(c.in)
			if d.Drop != c.drop || d.Suppress != c.supp || !slices.Equal(d.Reasons, c.reasons) {
				t.Errorf("drop %v suppress %v reasons %q; want %v %v %q", d.Drop, d.Suppress, d.Reasons, c.drop, c.supp, c.reasons)
			}
			if d.ServiceID != c.service || d.Severity != c.severity || d.Priority != c.priority || d.InhibitedBy != c.inhibitedBy {
				t.Errorf("service %d severity %s priority %q inhibited by %q; want %d %s %q %q",
					d.ServiceID, d.Severity, d.Priority, d.InhibitedBy, c.service, c.severity, c.priority, c.inhibitedBy)
			}
			if !maps.Equal(c.in.Event.Labels, before) || c.in.Event.Severity != beforeSev {
				t.Error("Decide changed the input event")
			}
		})
	}
	// Rule outcome details come through.
	d := Decide(Input{Event: ev(map[string]string{"team": "db"}), ServiceID: 10, Now: now, Engine: engine})
	if !slices.Equal(d.MatchedRules, []int64{2, 3}) || d.Labels["owner"] != "dba" {
		t.Errorf("matched %v labels %v", d.MatchedRules, d.Labels)
	}
	bad := mustCompile(t, rule(1, 0, 0, `details.nope > 1`, Actions{Drop: true}))
	d = Decide(Input{Event: testEvent(), Engine: bad, Now: now})
	if d.Drop || !slices.Equal(d.RuleErrors, []int64{1}) {
		t.Errorf("evaluation error: %+v", d)
	}
	if d := Decide(Input{Now: now}); d.Drop || d.Suppress {
		t.Errorf("empty input: %+v", d)
	}
}

func BenchmarkDecide(b *testing.B) {
	now := at("2026-05-01T11:00:00Z")
	var rules []Rule
	for i := range 10 {
		rules = append(rules, rule(int64(i+1), 0, i, `labels.env == "staging" && severity == "info"`, Actions{Suppress: true}))
	}
	var silences []Silence
	for i := range 50 {
		silences = append(silences, Silence{ID: int64(i), Matchers: MustParseMatchers(`{alertname="Other", instance=~"web-.*"}`),
			StartsAt: at("2026-05-01T10:00:00Z"), EndsAt: at("2026-05-01T12:00:00Z"), Comment: "x"})
	}
	windows := []MaintenanceWindow{recurring("Europe/Berlin", "02:00", 120, "sun"), recurring("Europe/Berlin", "22:00", 60, "fri")}
	in := mustInhibitor(b, inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance"))
	input := Input{Event: testEvent(), ServiceID: 1, Now: now, Engine: mustCompile(b, rules...), Silences: silences, Maintenance: windows, Inhibitor: in}
	b.ReportAllocs()
	for b.Loop() {
		Decide(input)
	}
}

func TestMatchersSeeEventFields(t *testing.T) {
	ev := &event.Event{Severity: event.Info, Host: "db-1", Source: event.SourcePagerDuty, Labels: map[string]string{"host": "from-label"}}
	l := MatchLabels(ev)
	if l["severity"] != "info" || l["source"] != "pagerduty" || l["host"] != "from-label" {
		t.Fatalf("%v", l)
	}
	d := Decide(Input{Event: ev, Now: time.Now(), Silences: []Silence{{ID: 1, Matchers: MustParseMatchers(`{severity="info"}`),
		StartsAt: time.Now().Add(-time.Minute), EndsAt: time.Now().Add(time.Hour), Comment: "x"}}})
	if !d.Suppress || d.Labels["severity"] != "" {
		t.Fatalf("a silence on severity: %+v", d)
	}
}
