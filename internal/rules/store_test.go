package rules_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/rules"
	"github.com/steadyhq/steady/internal/testkit"
)

var manager = iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "m@example.com", Role: iam.RoleManager})

func TestStore(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		st := rules.NewStore(s.App.DB, s.App.Audit, s.Clock, s.App.Log)
		if err := st.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		svc := s.NewService("api")
		other := s.NewService("db")
		ev := func(labels map[string]string) *event.Event {
			return &event.Event{Source: event.SourceGeneric, Action: event.Trigger, DedupKey: "k", Severity: event.Warning, Summary: "disk full", Labels: labels}
		}

		// A condition that does not compile is refused on its field.
		_, err := st.CreateRule(manager, rules.Rule{Name: "bad", Condition: "labels.env ==", Actions: rules.Actions{Suppress: true}, Enabled: true})
		if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid || e.Fields[0].Field != "condition" {
			t.Fatalf("bad condition: %v", err)
		}
		if _, err := st.CreateRule(manager, rules.Rule{Name: "ghost", ServiceID: 99999, Condition: "true", Actions: rules.Actions{Suppress: true}, Enabled: true}); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("unknown service: %v", err)
		}
		responder := iam.WithPrincipal(context.Background(), iam.Principal{UserID: 2, Role: iam.RoleResponder})
		if _, err := st.CreateRule(responder, rules.Rule{Name: "x", Condition: "true", Actions: rules.Actions{Drop: true}, Enabled: true}); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a responder made a rule: %v", err)
		}

		drop, err := st.CreateRule(manager, rules.Rule{Name: "drop test noise", Condition: `labels.env == "test"`, Actions: rules.Actions{Drop: true}, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateRule(manager, rules.Rule{Name: "db alerts to db", Condition: `labels.component == "postgres"`,
			Actions: rules.Actions{RouteToServiceID: other.ID, SetSeverity: event.Critical, AddLabels: map[string]string{"routed": "yes"}}, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if dec := st.Decide(ev(map[string]string{"env": "test"}), svc.ID); !dec.Drop {
			t.Fatalf("drop: %+v", dec)
		}
		dec := st.Decide(ev(map[string]string{"component": "postgres"}), svc.ID)
		if dec.Drop || dec.ServiceID != other.ID || dec.Severity != event.Critical || dec.Labels["routed"] != "yes" {
			t.Fatalf("route: %+v", dec)
		}

		// A silence suppresses until it is expired.
		si, err := st.CreateSilence(responder, rules.Silence{Matchers: rules.MustParseMatchers(`{alertname="DiskFull"}`),
			EndsAt: s.Clock.Now().Add(time.Hour), Comment: "replacing the disk"})
		if err != nil {
			t.Fatal(err)
		}
		if dec := st.Decide(ev(map[string]string{"alertname": "DiskFull"}), svc.ID); !dec.Suppress || dec.Reasons[0] != "silence:"+itoa(si.ID) {
			t.Fatalf("silenced: %+v", dec)
		}
		if _, err := st.CreateSilence(responder, rules.Silence{Matchers: rules.MustParseMatchers(`{a=~".*"}`), EndsAt: s.Clock.Now().Add(time.Hour), Comment: "all"}); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("a silence of everything: %v", err)
		}
		if err := st.ExpireSilence(responder, si.ID); err != nil {
			t.Fatal(err)
		}
		if dec := st.Decide(ev(map[string]string{"alertname": "DiskFull"}), svc.ID); dec.Suppress {
			t.Fatalf("an expired silence still applies: %+v", dec)
		}
		if l, _ := st.Silences(manager, true); len(l) != 1 {
			t.Fatalf("expired silences are listed on request: %+v", l)
		}

		// A maintenance window on a service, now.
		w, err := st.SaveWindow(manager, 0, rules.MaintenanceWindow{Name: "db upgrade", StartsAt: s.Clock.Now().Add(-time.Minute),
			EndsAt: s.Clock.Now().Add(time.Hour), ServiceIDs: []int64{svc.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if dec := st.Decide(ev(nil), svc.ID); !dec.Suppress || dec.Reasons[0] != "maintenance:"+itoa(w.ID) {
			t.Fatalf("maintenance: %+v", dec)
		}
		if _, err := st.SaveWindow(manager, 0, rules.MaintenanceWindow{Name: "x", StartsAt: s.Clock.Now(), EndsAt: s.Clock.Now().Add(time.Hour), ServiceIDs: []int64{424242}}); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("window on a missing service: %v", err)
		}
		if err := st.DeleteWindow(manager, w.ID); err != nil {
			t.Fatal(err)
		}

		// Inhibition: an open source alert inhibits targets with equal labels.
		if _, err := st.CreateInhibitRule(manager, rules.InhibitRule{Name: "node down mutes its pods",
			SourceMatchers: rules.MustParseMatchers(`{alertname="NodeDown"}`), TargetMatchers: rules.MustParseMatchers(`{alertname="PodDown"}`),
			Equal: []string{"node"}}); err != nil {
			t.Fatal(err)
		}
		st.AlertsChanged([]event.AlertChange{{AlertID: 7, Change: "created", Event: ev(map[string]string{"alertname": "NodeDown", "node": "n1"})}})
		if dec := st.Decide(ev(map[string]string{"alertname": "PodDown", "node": "n1"}), svc.ID); !dec.Suppress {
			t.Fatalf("inhibited: %+v", dec)
		}
		if dec := st.Decide(ev(map[string]string{"alertname": "PodDown", "node": "n2"}), svc.ID); dec.Suppress {
			t.Fatalf("another node is not inhibited: %+v", dec)
		}

		// Another replica sees the changes after a refresh.
		replica := rules.NewStore(s.App.DB, s.App.Audit, s.Clock, s.App.Log)
		if err := replica.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		if dec := replica.Decide(ev(map[string]string{"env": "test"}), svc.ID); !dec.Drop {
			t.Fatal("the replica did not load the rules")
		}
		if err := st.DeleteRule(manager, drop.ID); err != nil {
			t.Fatal(err)
		}
		replica.Refresh(context.Background())
		if dec := replica.Decide(ev(map[string]string{"env": "test"}), svc.ID); dec.Drop {
			t.Fatal("the replica kept a deleted rule")
		}
		if err := st.DeleteRule(manager, drop.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
		ok, err := st.Test(manager, rules.Rule{Condition: `summary contains "disk"`}, *ev(nil))
		if err != nil || !ok {
			t.Fatalf("test: %v %v", ok, err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
