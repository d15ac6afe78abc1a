package cmdb_test

import (
	"context"
	"testing"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestStripPort(t *testing.T) {
	for in, want := range map[string]string{
		"db-1:9100":          "db-1",
		"db-1":               "db-1",
		"10.0.0.5:22":        "10.0.0.5",
		"[2001:db8::1]:9100": "2001:db8::1",
		"[2001:db8::1]":      "2001:db8::1",
		"2001:db8::1":        "2001:db8::1", // an IPv6 address alone keeps its colons
		"db-1:http":          "db-1:http",   // not a port
		"db-1:99999":         "db-1:99999",  // out of range
		":9100":              ":9100",
		"":                   "",
	} {
		if got := cmdb.StripPort(in); got != want {
			t.Errorf("StripPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMappingRuleSetValidate(t *testing.T) {
	ok := cmdb.MappingRuleSet{Rules: []cmdb.MappingRuleInput{{Label: "instance", Match: "name", StripPort: true}, {Label: "ci", Match: "external_id"}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (cmdb.MappingRuleSet{Rules: []cmdb.MappingRuleInput{}}).Validate(); err != nil {
		t.Fatalf("an empty list: %v", err)
	}
	bad := cmdb.MappingRuleSet{Rules: []cmdb.MappingRuleInput{{Label: "1x", Match: "name"}, {Label: "ci", Match: "id"}, {Label: "ci", Match: "id"}}}
	e, isErr := errs.As(bad.Validate())
	if !isErr || e.Kind != errs.KindInvalid {
		t.Fatalf("%v", bad.Validate())
	}
	got := map[string]bool{}
	for _, f := range e.Fields {
		got[f.Field] = true
	}
	for _, f := range []string{"rules[0].label", "rules[1].match", "rules[2].match", "rules[2].label"} {
		if !got[f] {
			t.Errorf("no error for %s: %v", f, e.Fields)
		}
	}
	if err := (cmdb.MappingRuleSet{}).Validate(); err == nil {
		t.Error("a missing list passed")
	}
}

// TestMapEventAmbiguousNames: when several CIs share the name an event
// gives, one that is not a business service is preferred, then one in use,
// then one in production; CIs nothing tells apart map to none, and the
// event is counted.
func TestMapEventAmbiguousNames(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		st := s.App.CMDB
		ctx := context.Background()
		add := func(class, name, lifecycle, env string) int64 {
			t.Helper()
			c, err := st.CreateCI(ctx, cmdb.CIInput{Class: class, Name: name, Lifecycle: lifecycle, Environment: env})
			if err != nil {
				t.Fatalf("CI %s: %v", name, err)
			}
			return c.ID
		}
		s.NewService("Checkout") // a business service CI named Checkout
		checkout := add("application", "checkout", "", "")
		web := add("server", "web-1", "in_use", "production")
		add("server", "web-1", "retired", "production")
		maint := add("server", "web-2", "maintenance", "production")
		add("server", "web-2", "planned", "production")
		prod := add("server", "api-1", "in_use", "production")
		add("server", "api-1", "in_use", "staging")
		add("server", "cache-1", "in_use", "production")
		add("server", "cache-1", "in_use", "production")
		alone := add("server", "queue-1", "in_use", "staging")
		if _, err := st.FreshGraph(ctx); err != nil {
			t.Fatal(err)
		}
		topo := cmdb.NewTopology(st)
		before := st.AmbiguousMappings()
		for _, c := range []struct {
			name string
			want int64
		}{
			{"Checkout", checkout}, // the application, not the service
			{"web-1", web},         // in use, not retired
			{"web-2", maint},       // in maintenance, not planned
			{"api-1", prod},        // production, not staging
			{"cache-1", 0},         // two alike: none
			{"queue-1", alone},
			{"nothing", 0},
		} {
			ev := &event.Event{Labels: map[string]string{"instance": c.name + ":9100"}}
			if got := topo.CIOf(ev); got != c.want {
				t.Errorf("%s → CI %d, want %d", c.name, got, c.want)
			}
		}
		if n := st.AmbiguousMappings() - before; n != 1 {
			t.Errorf("%d ambiguous mappings counted, want 1 (cache-1)", n)
		}
		// A later rule still maps an event whose first value is ambiguous.
		ev := &event.Event{Labels: map[string]string{"ci": "cache-1", "instance": "queue-1"}}
		if got := topo.CIOf(ev); got != alone {
			t.Errorf("ambiguous ci label, then instance queue-1 → CI %d, want %d", got, alone)
		}
		if n := st.AmbiguousMappings() - before; n != 1 {
			t.Errorf("an event mapped by a later rule was counted as ambiguous (%d)", n)
		}
	})
}
