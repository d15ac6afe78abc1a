package rules

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func mustInhibitor(t testing.TB, rules ...InhibitRule) *Inhibitor {
	t.Helper()
	in, err := NewInhibitor(rules)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func inhibitRule(id int64, source, target string, equal ...string) InhibitRule {
	return InhibitRule{ID: id, SourceMatchers: MustParseMatchers(source), TargetMatchers: MustParseMatchers(target), Equal: equal}
}

func TestInhibitRuleValidate(t *testing.T) {
	good := inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		edit  func(r *InhibitRule)
		field string
	}{
		{"no source", func(r *InhibitRule) { r.SourceMatchers = nil }, "source_matchers"},
		{"no target", func(r *InhibitRule) { r.TargetMatchers = Matchers{} }, "target_matchers"},
		{"bad source", func(r *InhibitRule) { r.SourceMatchers = Matchers{{Name: "a", Type: "?", Value: ""}} }, "source_matchers[0].type"},
		{"bad target", func(r *InhibitRule) { r.TargetMatchers = Matchers{{Name: "a", Type: MatchRegexp, Value: "["}} }, "target_matchers[0].value"},
		{"empty equal", func(r *InhibitRule) { r.Equal = []string{"instance", ""} }, "equal[1]"},
		{"equal twice", func(r *InhibitRule) { r.Equal = []string{"instance", "job", "instance"} }, "equal[2]"},
		{"long name", func(r *InhibitRule) { r.Name = strings.Repeat("n", 201) }, "name"},
	}
	for _, c := range cases {
		r := good
		c.edit(&r)
		checkField(t, r.Validate(), c.field)
	}
	in, err := NewInhibitor([]InhibitRule{good, {ID: 2}})
	checkField(t, err, "rules[1].source_matchers")
	if in == nil || len(in.rules) != 1 {
		t.Fatal("NewInhibitor dropped the good rule")
	}
}

func TestInhibited(t *testing.T) {
	type alert struct {
		id     string
		labels map[string]string
	}
	l := func(s string) map[string]string {
		m := map[string]string{}
		for _, kv := range strings.Fields(s) {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name   string
		rules  []InhibitRule
		open   []alert
		target map[string]string
		want   bool
		by     string
	}{
		{"node down mutes warnings of the same instance",
			[]InhibitRule{inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance")},
			[]alert{{"a1", l("alertname=NodeDown instance=web-1 severity=critical")}},
			l("alertname=HighLoad instance=web-1 severity=warning"), true, "a1"},
		{"other instance",
			[]InhibitRule{inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance")},
			[]alert{{"a1", l("alertname=NodeDown instance=web-1")}},
			l("alertname=HighLoad instance=web-2 severity=warning"), false, ""},
		{"target does not match the target matchers",
			[]InhibitRule{inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance")},
			[]alert{{"a1", l("alertname=NodeDown instance=web-1")}},
			l("alertname=HighLoad instance=web-1 severity=critical"), false, ""},
		{"no open source",
			[]InhibitRule{inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance")},
			[]alert{{"a1", l("alertname=DiskFull instance=web-1")}},
			l("alertname=HighLoad instance=web-1 severity=warning"), false, ""},
		{"all equal labels must agree",
			[]InhibitRule{inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance", "cluster")},
			[]alert{{"a1", l("alertname=NodeDown instance=web-1 cluster=eu")}},
			l("instance=web-1 cluster=us severity=warning"), false, ""},
		{"a label missing on both sides is equal",
			[]InhibitRule{inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance", "cluster")},
			[]alert{{"a1", l("alertname=NodeDown instance=web-1")}},
			l("instance=web-1 severity=warning"), true, "a1"},
		{"missing on one side is not equal",
			[]InhibitRule{inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "cluster")},
			[]alert{{"a1", l("alertname=NodeDown cluster=eu")}},
			l("severity=warning"), false, ""},
		{"missing equals empty",
			[]InhibitRule{inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "cluster")},
			[]alert{{"a1", map[string]string{"alertname": "NodeDown", "cluster": ""}}},
			l("severity=warning"), true, "a1"},
		{"no equal labels: any open source",
			[]InhibitRule{inhibitRule(1, `alertname="DatacenterDown"`, `severity=~"warning|error"`)},
			[]alert{{"dc", l("alertname=DatacenterDown")}},
			l("alertname=Whatever severity=error instance=x"), true, "dc"},
		{"length-prefixed keys: values do not run together",
			[]InhibitRule{inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "a", "b")},
			[]alert{{"a1", l("alertname=NodeDown a=x1 b=2")}},
			l("a=x b=12 severity=warning"), false, ""},
		{"an alert does not inhibit itself",
			[]InhibitRule{inhibitRule(1, `severity="critical"`, `severity=~"critical|warning"`, "alertname")},
			[]alert{{"a1", l("alertname=Down severity=critical instance=1")}},
			l("alertname=Down severity=critical instance=1"), false, ""},
		{"nor does a copy with the same labels",
			[]InhibitRule{inhibitRule(1, `severity="critical"`, `severity=~"critical|warning"`, "alertname")},
			[]alert{{"a1", l("alertname=Down severity=critical instance=1")}, {"a2", l("alertname=Down severity=critical instance=1")}},
			l("alertname=Down severity=critical instance=1"), false, ""},
		{"but another source matching both sides does",
			[]InhibitRule{inhibitRule(1, `severity="critical"`, `severity=~"critical|warning"`, "alertname")},
			[]alert{{"a1", l("alertname=Down severity=critical instance=1")}, {"a2", l("alertname=Down severity=critical instance=2")}},
			l("alertname=Down severity=critical instance=1"), true, "a2"},
		{"second rule applies",
			[]InhibitRule{
				inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance"),
				inhibitRule(2, `alertname="ClusterDown"`, `severity=~".+"`, "cluster"),
			},
			[]alert{{"c", l("alertname=ClusterDown cluster=eu")}},
			l("instance=web-1 cluster=eu severity=critical"), true, "c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := mustInhibitor(t, c.rules...)
			for _, a := range c.open {
				in.Set(a.id, a.labels)
			}
			if got := in.Inhibited(c.target); got != c.want {
				t.Errorf("Inhibited = %v; want %v", got, c.want)
			}
			if _, by, _ := in.InhibitedBy(c.target); by != c.by {
				t.Errorf("InhibitedBy source %q; want %q", by, c.by)
			}
		})
	}
}

func TestInhibitorUpdates(t *testing.T) {
	in := mustInhibitor(t, inhibitRule(4, `alertname="NodeDown"`, `severity="warning"`, "instance"))
	target := map[string]string{"instance": "web-1", "severity": "warning"}
	src := map[string]string{"alertname": "NodeDown", "instance": "web-1"}
	in.Set("n1", src)
	src["instance"] = "changed-by-caller" // Set keeps its own copy
	if rule, by, ok := in.InhibitedBy(target); !ok || rule != 4 || by != "n1" {
		t.Fatalf("InhibitedBy = %d, %q, %v", rule, by, ok)
	}
	// Re-setting with other labels moves the alert.
	in.Set("n1", map[string]string{"alertname": "NodeDown", "instance": "web-2"})
	if in.Inhibited(target) {
		t.Error("still inhibited by the old labels")
	}
	if !in.Inhibited(map[string]string{"instance": "web-2", "severity": "warning"}) {
		t.Error("not inhibited by the new labels")
	}
	// Alerts matching no source are not kept.
	in.Set("x", map[string]string{"alertname": "Other"})
	if in.Len() != 1 {
		t.Errorf("Len %d; want 1", in.Len())
	}
	// Rebuilding with other rules keeps the open alerts.
	re, err := in.Rebuild([]InhibitRule{inhibitRule(5, `alertname="NodeDown"`, `severity=~".+"`)})
	if err != nil {
		t.Fatal(err)
	}
	if rule, _, ok := re.InhibitedBy(map[string]string{"severity": "critical"}); !ok || rule != 5 {
		t.Errorf("rebuilt: %d, %v", rule, ok)
	}
	in.Delete("n1")
	in.Delete("never-there")
	if in.Inhibited(map[string]string{"instance": "web-2", "severity": "warning"}) || in.Len() != 0 {
		t.Error("inhibited after Delete")
	}
	for _, r := range in.rules {
		if len(r.buckets) != 0 {
			t.Errorf("empty buckets left behind: %v", r.buckets)
		}
	}
	var none *Inhibitor
	if none.Inhibited(target) {
		t.Error("a nil inhibitor inhibits")
	}
}

func TestInhibitorConcurrent(t *testing.T) {
	in := mustInhibitor(t, inhibitRule(1, `alertname="NodeDown"`, `severity="warning"`, "instance"))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				id := fmt.Sprintf("%d-%d", g, i)
				in.Set(id, map[string]string{"alertname": "NodeDown", "instance": fmt.Sprint(i % 7)})
				in.Inhibited(map[string]string{"instance": fmt.Sprint(i % 5), "severity": "warning"})
				if i%2 == 0 {
					in.Delete(id)
				}
			}
		})
	}
	wg.Wait()
	if in.Len() != 4*150 {
		t.Errorf("Len %d; want %d", in.Len(), 4*150)
	}
}

func BenchmarkInhibit(b *testing.B) {
	in := mustInhibitor(b,
		inhibitRule(1, `alertname="NodeDown"`, `severity=~"warning|info"`, "instance", "cluster"),
		inhibitRule(2, `alertname="ClusterDown"`, `severity="warning"`, "cluster"),
	)
	for i := range 10000 {
		in.Set(fmt.Sprint(i), map[string]string{
			"alertname": "NodeDown", "instance": fmt.Sprintf("node-%d:9100", i), "cluster": fmt.Sprintf("c%d", i%20),
			"severity": "critical", "job": "node",
		})
	}
	hit := map[string]string{"alertname": "HighLoad", "instance": "node-5000:9100", "cluster": "c0", "severity": "warning", "job": "node"}
	miss := map[string]string{"alertname": "HighLoad", "instance": "node-5000:9100", "cluster": "c1", "severity": "warning", "job": "node"}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !in.Inhibited(hit) {
				b.Fatal("not inhibited")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if in.Inhibited(miss) {
				b.Fatal("inhibited")
			}
		}
	})
}
