package rules

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/expr-lang/expr/vm"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/errs"
)

func testEvent() *event.Event {
	return &event.Event{
		Source: event.SourceAlertmanager, Action: event.Trigger, DedupKey: "k1",
		Severity: event.Error, Summary: "disk almost full on db-1",
		Host: "db-1", Component: "postgres", Group: "storage", Class: "DiskFull",
		Labels:  map[string]string{"env": "prod", "alertname": "DiskFull", "team": "db"},
		Details: map[string]any{"free_percent": 3.5, "mount": "/var", "nested": map[string]any{"n": 2}},
	}
}

func TestRuleValidate(t *testing.T) {
	ok := Rule{Name: "r", Condition: `true`, Actions: Actions{Suppress: true}, Enabled: true}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid rule: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(r *Rule)
		field string
	}{
		{"no name", func(r *Rule) { r.Name = " " }, "name"},
		{"long name", func(r *Rule) { r.Name = strings.Repeat("x", 201) }, "name"},
		{"negative service", func(r *Rule) { r.ServiceID = -1 }, "service_id"},
		{"no condition", func(r *Rule) { r.Condition = "" }, "condition"},
		{"long condition", func(r *Rule) { r.Condition = "true" + strings.Repeat(" ", MaxConditionLen) }, "condition"},
		{"syntax error", func(r *Rule) { r.Condition = `labels.env ==` }, "condition"},
		{"unknown variable", func(r *Rule) { r.Condition = `lables.env == "prod"` }, "condition"},
		{"not a boolean", func(r *Rule) { r.Condition = `summary` }, "condition"},
		{"type error", func(r *Rule) { r.Condition = `severity > 3` }, "condition"},
		{"bad regexp constant", func(r *Rule) { r.Condition = `summary matches "("` }, "condition"},
		{"too many nodes", func(r *Rule) { r.Condition = strings.Repeat("true && ", 600) + "true" }, "condition"},
		{"reduce", func(r *Rule) { r.Condition = `len(reduce(1..4000, #acc + "x", "")) > 0` }, "condition"},
		{"reduce without arguments", func(r *Rule) { r.Condition = `reduce()` }, "condition"},
		{"no action", func(r *Rule) { r.Actions = Actions{} }, "actions"},
		{"drop and more", func(r *Rule) { r.Actions = Actions{Drop: true, Suppress: true} }, "actions.drop"},
		{"negative route", func(r *Rule) { r.Actions.RouteToServiceID = -4 }, "actions.route_to_service_id"},
		{"route to self", func(r *Rule) { r.ServiceID = 3; r.Actions.RouteToServiceID = 3 }, "actions.route_to_service_id"},
		{"bad severity", func(r *Rule) { r.Actions.SetSeverity = "page" }, "actions.set_severity"},
		{"bad priority", func(r *Rule) { r.Actions.SetPriority = "P6" }, "actions.set_priority"},
		{"bad priority case", func(r *Rule) { r.Actions.SetPriority = "p1" }, "actions.set_priority"},
		{"empty label name", func(r *Rule) { r.Actions.AddLabels = map[string]string{"": "x"} }, "actions.add_labels"},
		{"long label value", func(r *Rule) { r.Actions.AddLabels = map[string]string{"a": strings.Repeat("v", 1025)} }, "actions.add_labels.a"},
	}
	for _, c := range cases {
		r := ok
		c.edit(&r)
		err := r.Validate()
		if err == nil {
			t.Errorf("%s: Validate() = nil", c.name)
			continue
		}
		checkField(t, err, c.field)
	}
	// Stop alone is a valid rule; so are the examples in the documentation.
	for _, cond := range []string{
		`labels.env == "prod" && severity in ["critical", "error"]`,
		`summary contains "disk" && host startsWith "db-"`,
		`labels.alertname matches "^Kube(Pod|Node).*" && severity_rank <= rank("warning")`,
		`labels["app.kubernetes.io/name"] == "web" || "env" in labels`,
		`details.free_percent < 5 && source == "alertmanager" && action == "trigger"`,
		`service_id == 3 && dedup_key != "" && component == "x" && group == "y" && class == "z"`,
		`lower(summary) matches "disk|inode" and not (labels.team in ["web", "api"])`,
	} {
		r := Rule{Name: "x", Condition: cond, Stop: true}
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", cond, err)
		}
	}
}

func TestCompileErrorDetail(t *testing.T) {
	err := Rule{Name: "x", Condition: `labels.env == `, Stop: true}.Validate()
	e, _ := errs.As(err)
	if e == nil || len(e.Fields) != 1 || e.Fields[0].Field != "condition" || !strings.Contains(e.Fields[0].Detail, "does not compile") ||
		strings.Contains(e.Fields[0].Detail, "\n") {
		t.Fatalf("error %v", err)
	}
}

func TestConditions(t *testing.T) {
	cases := []struct {
		cond string
		want bool
	}{
		{`labels.env == "prod" && severity in ["critical", "error"]`, true},
		{`labels.env == "dev"`, false},
		{`labels.missing == ""`, true},
		{`"env" in labels`, true},
		{`"missing" in labels`, false},
		{`summary contains "disk"`, true},
		{`summary matches "^disk .* db-[0-9]+$"`, true},
		{`summary matches "(?i)DISK"`, true},
		{`host startsWith "db-" && component == "postgres" && group == "storage" && class == "DiskFull"`, true},
		{`source == "alertmanager" && action == "trigger" && dedup_key == "k1"`, true},
		{`severity_rank >= rank("error")`, true},
		{`severity_rank >= rank("critical")`, false},
		{`rank("CRITICAL") == 4 && rank("nonsense") == 0`, true},
		{`details.free_percent < 5`, true},
		{`details.mount == "/var"`, true},
		{`details.nested.n == 2`, true},
		{`service_id == 7`, true},
		{`service_id == 8`, false},
	}
	for _, c := range cases {
		got, err := EvalCondition(c.cond, testEvent(), 7)
		if err != nil || got != c.want {
			t.Errorf("%s = %v, %v; want %v", c.cond, got, err, c.want)
		}
	}
	// A missing detail in a comparison is an evaluation error, reported here.
	if _, err := EvalCondition(`details.nope > 3`, testEvent(), 7); !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), "fails on this event") {
		t.Errorf("details.nope > 3: %v; want an evaluation error", err)
	}
	// Work is bounded: past the budget an evaluation fails.
	if _, err := EvalCondition(`any(1..1000, {any(1..1000, {# < 0})})`, testEvent(), 7); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("nested loops of a million steps: %v", err)
	}
	if ok, err := EvalCondition(`any(1..100, {# == 100})`, testEvent(), 7); !ok || err != nil {
		t.Errorf("a small loop: %v, %v", ok, err)
	}
	if _, err := EvalCondition(`nope`, testEvent(), 7); !errs.Is(err, errs.KindInvalid) {
		t.Errorf("unknown name: %v; want a validation error", err)
	}
}

func rule(id, service int64, pos int, cond string, a Actions) Rule {
	return Rule{ID: id, Name: fmt.Sprintf("rule %d", id), ServiceID: service, Position: pos, Condition: cond, Actions: a, Enabled: true}
}

func mustCompile(t testing.TB, rules ...Rule) *Engine {
	t.Helper()
	e, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestApply(t *testing.T) {
	type want struct {
		out      Outcome
		severity event.Severity
		labels   map[string]string
	}
	base := map[string]string{"env": "prod", "alertname": "DiskFull", "team": "db"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	stop := func(r Rule) Rule { r.Stop = true; return r }
	disabled := func(r Rule) Rule { r.Enabled = false; return r }
	cases := []struct {
		name  string
		rules []Rule
		want  want
	}{
		{"no rules", nil, want{Outcome{ServiceID: 1}, event.Error, base}},
		{"no match", []Rule{rule(1, 0, 0, `labels.env == "dev"`, Actions{Drop: true})},
			want{Outcome{ServiceID: 1}, event.Error, base}},
		{"drop", []Rule{rule(1, 0, 0, `labels.env == "prod"`, Actions{Drop: true}), rule(2, 0, 1, `true`, Actions{SetPriority: "P1"})},
			want{Outcome{Drop: true, ServiceID: 1, Matched: []int64{1}}, event.Error, base}},
		{"drop in service rules", []Rule{rule(1, 0, 0, `true`, Actions{SetPriority: "P2"}), rule(2, 1, 0, `true`, Actions{Drop: true})},
			want{Outcome{Drop: true, ServiceID: 1, Priority: "P2", Matched: []int64{1, 2}}, event.Error, base}},
		{"suppress", []Rule{rule(5, 0, 0, `true`, Actions{Suppress: true})},
			want{Outcome{Suppress: true, ServiceID: 1, Matched: []int64{5}, SuppressedBy: []int64{5}}, event.Error, base}},
		{"position order, later severity wins, labels merge", []Rule{
			rule(1, 0, 20, `true`, Actions{SetSeverity: event.Warning, AddLabels: map[string]string{"b": "2", "team": "storage"}}),
			rule(2, 0, 10, `true`, Actions{SetSeverity: event.Critical, AddLabels: map[string]string{"a": "1", "b": "1"}}),
		}, want{Outcome{ServiceID: 1, Matched: []int64{2, 1}}, event.Warning, with("a", "1", "b", "2", "team", "storage")}},
		{"equal positions run by id", []Rule{
			rule(9, 0, 0, `true`, Actions{SetPriority: "P3"}),
			rule(4, 0, 0, `true`, Actions{SetPriority: "P4"}),
		}, want{Outcome{ServiceID: 1, Priority: "P3", Matched: []int64{4, 9}}, event.Error, base}},
		{"later rules see earlier changes", []Rule{
			rule(1, 0, 0, `true`, Actions{SetSeverity: event.Critical, AddLabels: map[string]string{"tier": "gold"}}),
			rule(2, 0, 1, `severity == "critical" && labels.tier == "gold"`, Actions{SetPriority: "P1"}),
		}, want{Outcome{ServiceID: 1, Priority: "P1", Matched: []int64{1, 2}}, event.Critical, with("tier", "gold")}},
		{"global rules run before service rules", []Rule{
			rule(1, 1, 0, `severity == "info"`, Actions{SetPriority: "P5"}),
			rule(2, 0, 99, `true`, Actions{SetSeverity: event.Info}),
		}, want{Outcome{ServiceID: 1, Priority: "P5", Matched: []int64{2, 1}}, event.Info, base}},
		{"other services' rules do not run", []Rule{rule(1, 2, 0, `true`, Actions{Drop: true})},
			want{Outcome{ServiceID: 1}, event.Error, base}},
		{"disabled rules do not run", []Rule{disabled(rule(1, 0, 0, `true`, Actions{Drop: true}))},
			want{Outcome{ServiceID: 1}, event.Error, base}},
		{"stop ends the global list", []Rule{
			stop(rule(1, 0, 0, `true`, Actions{SetPriority: "P2"})),
			rule(2, 0, 1, `true`, Actions{SetPriority: "P1"}),
			rule(3, 1, 0, `true`, Actions{AddLabels: map[string]string{"svc": "yes"}}),
		}, want{Outcome{ServiceID: 1, Priority: "P2", Matched: []int64{1, 3}}, event.Error, with("svc", "yes")}},
		{"stop only when matched", []Rule{
			stop(rule(1, 0, 0, `false`, Actions{SetPriority: "P2"})),
			rule(2, 0, 1, `true`, Actions{SetPriority: "P1"}),
		}, want{Outcome{ServiceID: 1, Priority: "P1", Matched: []int64{2}}, event.Error, base}},
		{"stop ends the service list", []Rule{
			stop(rule(1, 1, 0, `true`, Actions{SetPriority: "P2"})),
			rule(2, 1, 1, `true`, Actions{SetPriority: "P1"}),
		}, want{Outcome{ServiceID: 1, Priority: "P2", Matched: []int64{1}}, event.Error, base}},
		{"global re-route picks the service rules", []Rule{
			rule(1, 0, 0, `labels.team == "db"`, Actions{RouteToServiceID: 2}),
			rule(2, 0, 1, `service_id == 2`, Actions{AddLabels: map[string]string{"routed": "yes"}}),
			rule(3, 1, 0, `true`, Actions{SetPriority: "P1"}),
			rule(4, 2, 0, `true`, Actions{SetPriority: "P3"}),
		}, want{Outcome{ServiceID: 2, Priority: "P3", Matched: []int64{1, 2, 4}}, event.Error, with("routed", "yes")}},
		{"service re-route ends its list and runs the target's", []Rule{
			rule(1, 1, 0, `true`, Actions{RouteToServiceID: 2}),
			rule(2, 1, 1, `true`, Actions{SetPriority: "P1"}),
			rule(3, 2, 0, `service_id == 2`, Actions{SetPriority: "P4"}),
		}, want{Outcome{ServiceID: 2, Priority: "P4", Matched: []int64{1, 3}}, event.Error, base}},
		{"re-route loop runs each service once", []Rule{
			rule(1, 1, 0, `true`, Actions{RouteToServiceID: 2, AddLabels: map[string]string{"via1": "x"}}),
			rule(2, 2, 0, `true`, Actions{RouteToServiceID: 1, AddLabels: map[string]string{"via2": "x"}}),
		}, want{Outcome{ServiceID: 1, Matched: []int64{1, 2}}, event.Error, with("via1", "x", "via2", "x")}},
		{"re-route chain", []Rule{
			rule(1, 1, 0, `true`, Actions{RouteToServiceID: 2}),
			rule(2, 2, 0, `true`, Actions{RouteToServiceID: 3}),
			rule(3, 3, 0, `true`, Actions{RouteToServiceID: 2}),
		}, want{Outcome{ServiceID: 2, Matched: []int64{1, 2, 3}}, event.Error, base}},
		{"global route to the same service is a no-op", []Rule{
			rule(1, 0, 0, `true`, Actions{RouteToServiceID: 1}),
			rule(2, 1, 0, `true`, Actions{SetPriority: "P2"}),
		}, want{Outcome{ServiceID: 1, Priority: "P2", Matched: []int64{1, 2}}, event.Error, base}},
		{"runtime error is no match, never a drop", []Rule{
			rule(1, 0, 0, `details.nope > 3`, Actions{Drop: true}),
			rule(2, 0, 1, `details.free_percent < 5`, Actions{SetPriority: "P2"}),
			rule(3, 1, 0, `int(labels.env) > 0`, Actions{Drop: true}),
		}, want{Outcome{ServiceID: 1, Priority: "P2", Matched: []int64{2}, Errors: []int64{1, 3}}, event.Error, base}},
		{"a non-boolean result counts as an error", []Rule{
			rule(1, 0, 0, `details.mount`, Actions{Drop: true}),
		}, want{Outcome{ServiceID: 1, Errors: []int64{1}}, event.Error, base}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustCompile(t, c.rules...)
			ev := testEvent()
			orig := ev.Labels
			out := e.Apply(ev, 1)
			if !outcomeEqual(out, c.want.out) {
				t.Errorf("outcome %+v; want %+v", out, c.want.out)
			}
			if ev.Severity != c.want.severity {
				t.Errorf("severity %s; want %s", ev.Severity, c.want.severity)
			}
			if !maps.Equal(ev.Labels, c.want.labels) {
				t.Errorf("labels %v; want %v", ev.Labels, c.want.labels)
			}
			if !maps.Equal(orig, base) {
				t.Errorf("the caller's labels map was written to: %v", orig)
			}
		})
	}
}

func outcomeEqual(a, b Outcome) bool {
	return a.Drop == b.Drop && a.Suppress == b.Suppress && a.ServiceID == b.ServiceID && a.Priority == b.Priority &&
		slices.Equal(a.Matched, b.Matched) && slices.Equal(a.SuppressedBy, b.SuppressedBy) && slices.Equal(a.Errors, b.Errors)
}

func TestApplyNilLabelsAndNilEngine(t *testing.T) {
	var nilEngine *Engine
	ev := &event.Event{Severity: event.Info}
	if out := nilEngine.Apply(ev, 4); out.ServiceID != 4 || out.Drop || out.Suppress {
		t.Errorf("nil engine: %+v", out)
	}
	e := mustCompile(t, rule(1, 0, 0, `labels.x == ""`, Actions{AddLabels: map[string]string{"x": "1"}}))
	e.Apply(ev, 0)
	if ev.Labels["x"] != "1" {
		t.Errorf("labels %v", ev.Labels)
	}
	if nilEngine.Len() != 0 || e.Len() != 1 || nilEngine.EvalErrors() != 0 || nilEngine.Stats() != nil {
		t.Error("Len/EvalErrors/Stats on a nil engine")
	}
}

func TestCompileKeepsGoodRules(t *testing.T) {
	e, err := Compile([]Rule{
		rule(1, 0, 0, `true`, Actions{SetPriority: "P2"}),
		rule(2, 0, 1, `nonsense ==`, Actions{Drop: true}),
		rule(3, 5, 0, `true`, Actions{}),
	})
	checkField(t, err, "rules[1].condition")
	checkField(t, err, "rules[2].actions")
	if e == nil || e.Len() != 1 {
		t.Fatalf("engine %v with %d rules; want the one good rule", e, e.Len())
	}
	if out := e.Apply(testEvent(), 0); out.Priority != "P2" {
		t.Errorf("outcome %+v", out)
	}
}

func TestEvalErrorsCounted(t *testing.T) {
	e := mustCompile(t,
		rule(7, 0, 0, `details.nope > 3`, Actions{Drop: true}),
		rule(8, 0, 1, `true`, Actions{SetPriority: "P2"}))
	for range 3 {
		if out := e.Apply(testEvent(), 0); out.Drop || out.Priority != "P2" {
			t.Fatalf("outcome %+v", out)
		}
	}
	if n := e.EvalErrors(); n != 3 {
		t.Errorf("EvalErrors %d; want 3", n)
	}
	st := e.Stats()
	if len(st) != 1 || st[0].RuleID != 7 || st[0].Errors != 3 || st[0].LastError == "" || strings.Contains(st[0].LastError, "\n") {
		t.Errorf("Stats %+v", st)
	}
}

// The engine is used from many goroutines at once (go test -race checks it).
func TestEngineConcurrent(t *testing.T) {
	e := mustCompile(t,
		rule(1, 0, 0, `labels.env == "prod"`, Actions{AddLabels: map[string]string{"seen": "1"}, SetSeverity: event.Critical}),
		rule(2, 0, 1, `details.nope > 1`, Actions{Drop: true}),
		rule(3, 1, 0, `labels.seen == "1"`, Actions{RouteToServiceID: 2, SetPriority: "P1"}),
		rule(4, 2, 0, `true`, Actions{Suppress: true}))
	shared := map[string]string{"env": "prod"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				ev := &event.Event{Severity: event.Warning, Labels: shared}
				out := e.Apply(ev, 1)
				if out.ServiceID != 2 || !out.Suppress || out.Priority != "P1" || ev.Labels["seen"] != "1" {
					t.Errorf("outcome %+v labels %v", out, ev.Labels)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(shared) != 1 {
		t.Errorf("shared labels written to: %v", shared)
	}
}

func BenchmarkRuleEngine(b *testing.B) {
	var rules []Rule
	for i := range 19 {
		rules = append(rules, rule(int64(i+1), 0, i,
			fmt.Sprintf(`labels.env == "env%d" && severity in ["critical", "error"]`, i), Actions{Suppress: true}))
	}
	rules = append(rules, rule(20, 0, 19, `labels.env == "prod" && severity in ["critical", "error"]`, Actions{SetPriority: "P1"}))
	e := mustCompile(b, rules...)
	ev := testEvent()
	b.ReportAllocs()
	for b.Loop() {
		out := e.Apply(ev, 1)
		if len(out.Matched) != 1 || out.Matched[0] != 20 {
			b.Fatalf("outcome %+v", out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/20, "ns/rule")
}

// One rule, for the per-evaluation cost of expr.
func BenchmarkRuleOne(b *testing.B) {
	e := mustCompile(b, rule(1, 0, 0, `labels.env == "prod" && severity in ["critical", "error"]`, Actions{SetPriority: "P1"}))
	ev := testEvent()
	b.ReportAllocs()
	for b.Loop() {
		e.Apply(ev, 1)
	}
}

// One condition on its own, for the cost of an expr evaluation.
func BenchmarkCondition(b *testing.B) {
	prog, err := compileCondition(`labels.env == "prod" && severity in ["critical", "error"]`)
	if err != nil {
		b.Fatal(err)
	}
	env := newEnv(testEvent(), 1)
	var m vm.VM
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := evalBool(&m, prog, &env); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
