package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Limits of event rules.
const (
	MaxConditionLen = 4096 // bytes of a condition
	MaxRuleName     = 200
	MaxAddLabels    = 32
	maxExprNodes    = 1000 // AST nodes of a condition
	// exprBudget bounds the work of one evaluation: expr counts the elements
	// of ranges, arrays and maps it builds and the iterations of predicates
	// (any, all, filter, map, …) against it and fails past it.
	exprBudget = 10000
)

// Actions is what a rule does to the events its condition matches.
type Actions struct {
	// Drop discards the event: it is not stored as an alert. It cannot be
	// combined with other actions and ends rule processing.
	Drop bool `json:"drop"`
	// Suppress stores the event but pages nobody.
	Suppress bool `json:"suppress"`
	// RouteToServiceID moves the event to another service (0: stay).
	RouteToServiceID int64 `json:"route_to_service_id"`
	// SetSeverity overrides the event's severity ("" keeps it).
	SetSeverity event.Severity `json:"set_severity"`
	// SetPriority sets the incident priority, P1 to P5 ("" keeps it).
	SetPriority string `json:"set_priority"`
	// AddLabels adds labels, replacing values of labels with the same name.
	AddLabels map[string]string `json:"add_labels"`
}

func (a Actions) any() bool {
	return a.Drop || a.Suppress || a.RouteToServiceID != 0 || a.SetSeverity != "" || a.SetPriority != "" || len(a.AddLabels) > 0
}

// Rule is an event rule: when Condition holds for an event, Actions apply.
//
// Global rules (ServiceID 0) run first for every event, then the rules of
// the event's service (after any re-route), each list in Position order.
// Later rules see the changes of earlier ones (labels, severity, service_id).
// Stop ends the list the rule is in: a global rule with Stop skips the
// remaining global rules, not the service's own rules.
//
// Condition is an expression in the expr language
// (https://expr-lang.org/docs/language-definition) that must be a boolean.
// It sees the event as these variables:
//
//	labels        map of label name to value; a missing label is ""
//	              (labels.env, labels["app.kubernetes.io/name"], "env" in labels)
//	severity      "critical", "error", "warning" or "info"
//	severity_rank 4 (critical) … 1 (info), 0 when unknown
//	summary, host, component, group, class, dedup_key   strings
//	source        "pagerduty", "alertmanager" or "generic"
//	action        "trigger", "acknowledge" or "resolve"
//	details       map of the event's custom details (values of any type)
//	service_id    the service the event is routed to (0 for none)
//
// and, besides expr's built-in operators and functions (in, contains,
// startsWith, endsWith, matches, lower, upper, trim, len, any, all, now, …),
// the function rank(name) giving a severity's rank, so that
// severity_rank >= rank("error") reads as "error or worse". One evaluation
// may build or iterate over at most 10000 elements in all (past that it
// fails, and the rule does not match), and reduce is not available.
//
// Examples:
//
//	labels.env == "prod" && severity in ["critical", "error"]
//	summary contains "disk" && host startsWith "db-"
//	labels.alertname matches "^Kube(Pod|Node).*" && severity_rank <= rank("warning")
type Rule struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	ServiceID int64   `json:"service_id"`
	Position  int     `json:"position"`
	Condition string  `json:"condition"`
	Actions   Actions `json:"actions"`
	Stop      bool    `json:"stop"`
	Enabled   bool    `json:"enabled"`
}

// Validate checks a rule, compiling its condition so that syntax and type
// errors are reported on the condition field.
func (r Rule) Validate() error {
	_, f := r.compile()
	return f.Err()
}

func (r Rule) compile() (*vm.Program, errs.Fields) {
	var f errs.Fields
	f.Check(strings.TrimSpace(r.Name) == "", "name", "is required")
	f.Check(len(r.Name) > MaxRuleName, "name", fmt.Sprintf("must be at most %d characters", MaxRuleName))
	f.Text("name", r.Name)
	f.Check(r.ServiceID < 0, "service_id", "must be a service id, or 0 for a global rule")
	var prog *vm.Program
	switch {
	case strings.TrimSpace(r.Condition) == "":
		f.Add("condition", "is required (write true to match every event)")
	case len(r.Condition) > MaxConditionLen:
		f.Add("condition", fmt.Sprintf("must be at most %d bytes", MaxConditionLen))
	default:
		var err error
		prog, err = compileCondition(r.Condition)
		if err != nil {
			f.Add("condition", conditionError(err))
		}
	}
	a := r.Actions
	f.Check(!a.any() && !r.Stop, "actions", "must do something (or the rule must stop)")
	f.Check(a.Drop && (a.Suppress || a.RouteToServiceID != 0 || a.SetSeverity != "" || a.SetPriority != "" || len(a.AddLabels) > 0),
		"actions.drop", "cannot be combined with other actions")
	f.Check(a.RouteToServiceID < 0, "actions.route_to_service_id", "must be a service id")
	f.Check(a.RouteToServiceID != 0 && a.RouteToServiceID == r.ServiceID, "actions.route_to_service_id", "must be another service than the rule's own")
	f.Check(a.SetSeverity != "" && a.SetSeverity.Rank() == 0, "actions.set_severity", "must be critical, error, warning or info")
	f.Check(a.SetPriority != "" && !ValidPriority(a.SetPriority), "actions.set_priority", "must be P1, P2, P3, P4 or P5")
	if len(a.AddLabels) > MaxAddLabels {
		f.Add("actions.add_labels", fmt.Sprintf("must have at most %d entries", MaxAddLabels))
	} else {
		for _, k := range sortedKeys(a.AddLabels) {
			v := a.AddLabels[k]
			switch {
			case k == "" || len(k) > event.MaxLabelName || !utf8.ValidString(k) || strings.ContainsFunc(k, isControl):
				f.Add("actions.add_labels", fmt.Sprintf("has an invalid label name %q", clipText(k, 40)))
			case len(v) > event.MaxLabelValue || !utf8.ValidString(v):
				f.Add("actions.add_labels."+k, fmt.Sprintf("must be valid text of at most %d bytes", event.MaxLabelValue))
			}
		}
	}
	if len(f) > 0 {
		return nil, f
	}
	return prog, nil
}

// ValidPriority reports whether p is P1 … P5.
func ValidPriority(p string) bool {
	return len(p) == 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '5'
}

// exprEnv is what a condition sees. It is passed by pointer and reused for
// every rule of one Apply.
type exprEnv struct {
	Labels       map[string]string `expr:"labels"`
	Severity     string            `expr:"severity"`
	SeverityRank int               `expr:"severity_rank"`
	Summary      string            `expr:"summary"`
	Host         string            `expr:"host"`
	Component    string            `expr:"component"`
	Group        string            `expr:"group"`
	Class        string            `expr:"class"`
	Source       string            `expr:"source"`
	Action       string            `expr:"action"`
	DedupKey     string            `expr:"dedup_key"`
	Details      map[string]any    `expr:"details"`
	ServiceID    int64             `expr:"service_id"`
}

func newEnv(ev *event.Event, serviceID int64) exprEnv {
	return exprEnv{
		Labels:       ev.Labels,
		Severity:     string(ev.Severity),
		SeverityRank: ev.Severity.Rank(),
		Summary:      ev.Summary,
		Host:         ev.Host,
		Component:    ev.Component,
		Group:        ev.Group,
		Class:        ev.Class,
		Source:       string(ev.Source),
		Action:       string(ev.Action),
		DedupKey:     ev.DedupKey,
		Details:      ev.Details,
		ServiceID:    serviceID,
	}
}

func rankFunc(params ...any) (any, error) {
	s, _ := params[0].(string)
	return event.Severity(strings.ToLower(s)).Rank(), nil
}

// unavailable is a type no expression can produce, so that any call of a
// function taking it fails to compile.
type unavailable struct{}

func noReduce(...any) (any, error) { return false, errors.New("reduce is not available in conditions") }

func compileCondition(src string) (*vm.Program, error) {
	return expr.Compile(src,
		expr.Env(exprEnv{}),
		expr.AsBool(),
		expr.MaxNodes(maxExprNodes),
		expr.Function("rank", rankFunc, new(func(string) int)),
		// reduce can build a string quadratically within the budget (about
		// 100 ms for 4000 steps); conditions on one event do not need it.
		// Predicates cannot be disabled, only overridden by a function.
		expr.Function("reduce", noReduce, new(func(unavailable) bool)),
	)
}

// conditionError keeps the first line of an expr error ("unknown name x (1:5)");
// the rest is a source excerpt with a caret.
func conditionError(err error) string {
	return "does not compile: " + firstLine(err.Error())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// EvalCondition compiles and evaluates one condition against an event, for
// a "try this rule" form. Unlike Apply it reports evaluation errors, as
// validation errors on condition ("fails on this event: …").
func EvalCondition(condition string, ev *event.Event, serviceID int64) (bool, error) {
	if len(condition) > MaxConditionLen {
		return false, errs.Invalid("condition", fmt.Sprintf("must be at most %d bytes", MaxConditionLen))
	}
	prog, err := compileCondition(condition)
	if err != nil {
		return false, errs.Invalid("condition", conditionError(err))
	}
	env := newEnv(ev, serviceID)
	ok, err := evalBool(&vm.VM{MemoryBudget: exprBudget}, prog, &env)
	if err != nil {
		return false, errs.Invalid("condition", "fails on this event: "+firstLine(err.Error()))
	}
	return ok, nil
}

func evalBool(m *vm.VM, prog *vm.Program, env *exprEnv) (bool, error) {
	res, err := m.Run(prog, env)
	if err != nil {
		return false, err
	}
	b, ok := res.(bool)
	if !ok {
		return false, fmt.Errorf("condition gave %T, not a boolean", res)
	}
	return b, nil
}

// Outcome is what the rules did to one event.
type Outcome struct {
	// Drop: the event is discarded, not stored as an alert.
	Drop bool `json:"drop"`
	// Suppress: the event is stored but pages nobody.
	Suppress bool `json:"suppress"`
	// ServiceID is the service the event ends up with (after re-routes).
	ServiceID int64 `json:"service_id"`
	// Priority is the priority the rules set, "" when none did.
	Priority string `json:"priority"`
	// Matched lists the rules whose conditions held, in the order they ran.
	Matched []int64 `json:"matched"`
	// SuppressedBy lists the matched rules that suppressed the event.
	SuppressedBy []int64 `json:"suppressed_by"`
	// Errors lists rules whose condition failed to evaluate (counted as not matched).
	Errors []int64 `json:"errors"`
}

type compiledRule struct {
	Rule
	prog    *vm.Program
	errors  atomic.Uint64
	lastErr atomic.Pointer[string]
}

// Engine holds compiled rules. It is immutable once built (only its error
// counters change) and safe for concurrent use; to change the rules, Compile
// a new engine and swap it in, for example through an atomic.Pointer[Engine].
// A nil *Engine has no rules.
type Engine struct {
	global   []*compiledRule
	services map[int64][]*compiledRule
	pool     sync.Pool // of *applier, so that Apply allocates little
	errors   atomic.Uint64
}

// Compile builds an engine from rules, skipping disabled ones. A rule that
// does not validate is left out and named in the returned error (fields
// rules[i].<field>), but the engine holds every other rule: a single bad rule
// stored by an older version must not stop all event processing.
func Compile(rules []Rule) (*Engine, error) {
	e := &Engine{services: map[int64][]*compiledRule{}}
	e.pool.New = func() any { return &applier{vm: vm.VM{MemoryBudget: exprBudget}} }
	var bad errs.Fields
	for i, r := range rules {
		if !r.Enabled {
			continue
		}
		prog, f := r.compile()
		if len(f) > 0 {
			for _, fe := range f {
				bad.Add(fmt.Sprintf("rules[%d].%s", i, fe.Field), fe.Detail)
			}
			continue
		}
		cr := &compiledRule{Rule: r, prog: prog}
		cr.Actions.AddLabels = copyLabels(r.Actions.AddLabels)
		if r.ServiceID == 0 {
			e.global = append(e.global, cr)
		} else {
			e.services[r.ServiceID] = append(e.services[r.ServiceID], cr)
		}
	}
	order := func(a, b *compiledRule) int {
		if a.Position != b.Position {
			return a.Position - b.Position
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(e.global, order)
	for _, list := range e.services {
		slices.SortStableFunc(list, order)
	}
	return e, bad.Err()
}

// Len is the number of compiled rules.
func (e *Engine) Len() int {
	if e == nil {
		return 0
	}
	n := len(e.global)
	for _, l := range e.services {
		n += len(l)
	}
	return n
}

// RuleStat reports evaluation errors of one rule since the engine was built.
type RuleStat struct {
	RuleID    int64  `json:"rule_id"`
	Errors    uint64 `json:"errors"`
	LastError string `json:"last_error"`
}

// EvalErrors is the number of failed condition evaluations since the engine
// was built.
func (e *Engine) EvalErrors() uint64 {
	if e == nil {
		return 0
	}
	return e.errors.Load()
}

// Stats lists the rules whose conditions failed to evaluate, by rule id.
func (e *Engine) Stats() []RuleStat {
	if e == nil {
		return nil
	}
	var out []RuleStat
	add := func(list []*compiledRule) {
		for _, r := range list {
			if n := r.errors.Load(); n > 0 {
				st := RuleStat{RuleID: r.ID, Errors: n}
				if p := r.lastErr.Load(); p != nil {
					st.LastError = *p
				}
				out = append(out, st)
			}
		}
	}
	add(e.global)
	for _, l := range e.services {
		add(l)
	}
	slices.SortFunc(out, func(a, b RuleStat) int {
		switch {
		case a.RuleID < b.RuleID:
			return -1
		case a.RuleID > b.RuleID:
			return 1
		}
		return 0
	})
	return out
}

// maxRoutes bounds the chain of services an event is re-routed through.
const maxRoutes = 8

// Apply runs the rules for an event sent to serviceID: the global rules,
// then the rules of the service the event is routed to. It changes ev in
// place (severity, labels; the labels map is copied before the first change,
// so a map shared with the caller is never written to) and says what else
// happened. A re-route to another service ends the current service's list
// and runs the target's rules; each service's rules run at most once per
// event, so routes cannot loop. A condition that fails to evaluate counts as
// not matched and is reported in Outcome.Errors; it never drops the event.
func (e *Engine) Apply(ev *event.Event, serviceID int64) Outcome {
	if e == nil || (len(e.global) == 0 && len(e.services) == 0) {
		return Outcome{ServiceID: serviceID}
	}
	a := e.pool.Get().(*applier)
	a.e, a.ev, a.env, a.ownedLabels = e, ev, newEnv(ev, serviceID), false
	a.out = Outcome{ServiceID: serviceID}
	out := &a.out

	a.run(e.global, false)
	var visited [maxRoutes]int64
	for n := 0; !out.Drop && out.ServiceID != 0 && n < maxRoutes; n++ {
		if slices.Contains(visited[:n], out.ServiceID) {
			break
		}
		visited[n] = out.ServiceID
		if !a.run(e.services[out.ServiceID], true) {
			break
		}
	}
	res := a.out
	// Keep no references to the event or the outcome in the pool.
	a.ev, a.env, a.out = nil, exprEnv{}, Outcome{}
	e.pool.Put(a)
	return res
}

type applier struct {
	e           *Engine
	ev          *event.Event
	out         Outcome
	env         exprEnv
	vm          vm.VM
	ownedLabels bool
}

// run evaluates one list; it reports whether a service rule re-routed the
// event (so that the target's rules should run next).
func (a *applier) run(list []*compiledRule, service bool) (rerouted bool) {
	for _, r := range list {
		ok, err := evalBool(&a.vm, r.prog, &a.env)
		if err != nil {
			a.e.errors.Add(1)
			r.errors.Add(1)
			msg := firstLine(err.Error())
			r.lastErr.Store(&msg)
			a.out.Errors = append(a.out.Errors, r.ID)
			continue
		}
		if !ok {
			continue
		}
		a.out.Matched = append(a.out.Matched, r.ID)
		act := &r.Actions
		if act.Drop {
			a.out.Drop = true
			return false
		}
		if act.Suppress {
			a.out.Suppress = true
			a.out.SuppressedBy = append(a.out.SuppressedBy, r.ID)
		}
		if act.SetSeverity != "" {
			a.ev.Severity = act.SetSeverity
			a.env.Severity, a.env.SeverityRank = string(act.SetSeverity), act.SetSeverity.Rank()
		}
		if act.SetPriority != "" {
			a.out.Priority = act.SetPriority
		}
		if len(act.AddLabels) > 0 {
			if !a.ownedLabels {
				a.ev.Labels = copyLabels(a.ev.Labels)
				if a.ev.Labels == nil {
					a.ev.Labels = make(map[string]string, len(act.AddLabels))
				}
				a.ownedLabels = true
			}
			for k, v := range act.AddLabels {
				a.ev.Labels[k] = v
			}
			a.env.Labels = a.ev.Labels
		}
		if to := act.RouteToServiceID; to != 0 && to != a.out.ServiceID {
			a.out.ServiceID, a.env.ServiceID = to, to
			if service {
				return true
			}
		}
		if r.Stop {
			return false
		}
	}
	return false
}

func copyLabels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m)+4)
	for k, v := range m {
		c[k] = v
	}
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
