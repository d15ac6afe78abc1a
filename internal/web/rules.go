package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/rules"
	"github.com/steadyhq/steady/internal/service"
)

// Event rules. Everyone signed in may read them and try a condition on a
// sample event; managers create, change and delete them. The rules store
// decides who may do what: these pages only leave out the forms a role
// cannot use, and refuse a form before reading it when its sender could not
// send it anyway.

// ruleRow is a rule as the list shows it.
type ruleRow struct {
	rules.Rule
	Does []string // its actions in words
}

// ruleGroup is one list of rules: the global rules, or one service's.
type ruleGroup struct {
	ServiceID int64
	Service   string
	Rows      []ruleRow
}

type rulesData struct{ Groups []ruleGroup }

// serviceChoices maps every service's id to its name, and lists the
// services for a select, first the choice none (when none is not "").
func (s *Server) serviceChoices(r *http.Request, none string) (map[int64]string, []option, error) {
	l, err := s.Services.List(r.Context(), service.Filter{}, page.Request{Limit: page.MaxLimit})
	if err != nil {
		return nil, nil, err
	}
	names := make(map[int64]string, len(l.Items))
	var opts []option
	if none != "" {
		opts = append(opts, option{"", none})
	}
	for _, sv := range l.Items {
		names[sv.ID] = sv.Name
		opts = append(opts, option{itoa(sv.ID), sv.Name})
	}
	return names, opts, nil
}

// serviceName names a service that a rule or window refers to.
func serviceName(names map[int64]string, id int64) string {
	if n, ok := names[id]; ok {
		return n
	}
	return "service " + itoa(id) + " (deleted)"
}

// labelText writes labels as name=value pairs in name order, joined by sep.
func labelText(m map[string]string, sep string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, sep)
}

// actionWords says what a rule does: "drop", "suppress", "route to Payments",
// "severity → critical", "priority → P1", "add labels env=prod".
func actionWords(a rules.Actions, names map[int64]string) []string {
	var out []string
	if a.Drop {
		out = append(out, "drop")
	}
	if a.Suppress {
		out = append(out, "suppress")
	}
	if a.RouteToServiceID != 0 {
		out = append(out, "route to "+serviceName(names, a.RouteToServiceID))
	}
	if a.SetSeverity != "" {
		out = append(out, "severity → "+string(a.SetSeverity))
	}
	if a.SetPriority != "" {
		out = append(out, "priority → "+a.SetPriority)
	}
	if len(a.AddLabels) > 0 {
		out = append(out, "add labels "+labelText(a.AddLabels, ", "))
	}
	return out
}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Rules.Rules(r.Context())
	if err != nil {
		return err
	}
	names, _, err := s.serviceChoices(r, "")
	if err != nil {
		return err
	}
	var d rulesData
	for _, ru := range list { // global rules first, then per service, in order
		if len(d.Groups) == 0 || d.Groups[len(d.Groups)-1].ServiceID != ru.ServiceID {
			g := ruleGroup{ServiceID: ru.ServiceID}
			if ru.ServiceID != 0 {
				g.Service = serviceName(names, ru.ServiceID)
			}
			d.Groups = append(d.Groups, g)
		}
		g := &d.Groups[len(d.Groups)-1]
		g.Rows = append(g.Rows, ruleRow{Rule: ru, Does: actionWords(ru.Actions, names)})
	}
	return s.render(w, r, http.StatusOK, s.v.rules, view{Title: "Event rules", Nav: "rules", Data: d})
}

// The rule page: the form for a new rule or to edit one (for managers), the
// rule in words (for everyone else), and "Try it".

type ruleFormData struct {
	Rule *rules.Rule // nil for a new rule
	// Scope and Does describe the rule for those who may not change it.
	Scope                                     string
	Does                                      []string
	Services, RouteTo, Severities, Priorities []option
	SampleSeverities                          []option
	Try                                       tryResult
}

// tryResult is what "Try it" found.
type tryResult struct{ Done, Matched bool }

func severityOptions(none string) []option {
	return []option{{"", none}, {"critical", "Critical"}, {"error", "Error"}, {"warning", "Warning"}, {"info", "Info"}}
}

func (s *Server) showRuleForm(w http.ResponseWriter, r *http.Request, status int, cur *rules.Rule, f *form, res tryResult) error {
	d := ruleFormData{Rule: cur, Try: res, Severities: severityOptions("Keep its severity"),
		Priorities: priorityOptions("Keep the priority"), SampleSeverities: severityOptions("None")}
	names, opts, err := s.serviceChoices(r, "")
	if err != nil {
		return err
	}
	d.Services = append([]option{{globalScope, "Global: every event"}}, opts...)
	d.RouteTo = append([]option{{"", "Do not re-route"}}, opts...)
	title := "New event rule"
	if cur != nil {
		title = cur.Name
		d.Scope, d.Does = "Every event (global rule)", actionWords(cur.Actions, names)
		if cur.ServiceID != 0 {
			d.Scope = serviceName(names, cur.ServiceID)
		}
	}
	return s.render(w, r, status, s.v.ruleForm, view{Title: title, Nav: "rules", Form: f, Data: d})
}

// sampleDefaults starts "Try it" with an event that the examples match.
func sampleDefaults(f *form) *form {
	return f.Set("sample_summary", "Disk full on db-1").Set("sample_host", "db-1").Set("sample_severity", "critical").
		Set("sample_labels", "env=prod\nalertname=DiskFull")
}

// fillRuleForm puts a rule's values into its form.
func fillRuleForm(f *form, ru rules.Rule) *form {
	a := ru.Actions
	outcome := "keep"
	switch {
	case a.Drop:
		outcome = "drop"
	case a.Suppress:
		outcome = "suppress"
	}
	f.Set("name", ru.Name).Set("scope", scopeText(ru.ServiceID)).Set("position", strconv.Itoa(ru.Position)).
		Set("condition", ru.Condition).Set("outcome", outcome).Set("route_to", optionalText(a.RouteToServiceID)).
		Set("set_severity", string(a.SetSeverity)).Set("set_priority", a.SetPriority).Set("add_labels", labelText(a.AddLabels, "\n"))
	if ru.Stop {
		f.Set("stop", "1")
	}
	if ru.Enabled {
		f.Set("enabled", "1")
	}
	return f
}

// globalScope is the value of the rule form's "Applies to" for global rules.
const globalScope = "0"

// scopeText writes a rule's service for its form.
func scopeText(id int64) string {
	if id == 0 {
		return globalScope
	}
	return itoa(id)
}

// optionalText writes an optional id for a select: "" for none.
func optionalText(id int64) string {
	if id == 0 {
		return ""
	}
	return itoa(id)
}

// ruleFields reads the rule form; what is wrong is marked on f.
func ruleFields(f *form, names map[int64]string) rules.Rule {
	ru := rules.Rule{Name: f.Get("name"), Condition: strings.TrimSpace(f.Value("condition")),
		Stop: f.Get("stop") != "", Enabled: f.Get("enabled") != ""}
	if v := f.Get("scope"); v != globalScope {
		id, ok := optionalID(v)
		if !ok || names[id] == "" {
			f.Fail("scope", "must be global or one of the listed services")
		}
		ru.ServiceID = id
	}
	if v := f.Get("position"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1e6 || n > 1e6 {
			f.Fail("position", "must be a whole number, such as 10")
		}
		ru.Position = n
	}
	switch f.Get("outcome") {
	case "", "keep":
	case "suppress":
		ru.Actions.Suppress = true
	case "drop":
		ru.Actions.Drop = true
	default:
		f.Fail("outcome", "must be keep, suppress or drop")
	}
	to, ok := optionalID(f.Value("route_to"))
	if !ok || (to != 0 && names[to] == "") {
		f.Fail("route_to", "must be one of the listed services")
	}
	ru.Actions.RouteToServiceID = to
	ru.Actions.SetSeverity = event.Severity(f.Get("set_severity"))
	ru.Actions.SetPriority = f.Get("set_priority")
	if labels := labelLines(f, "add_labels"); len(labels) > 0 {
		ru.Actions.AddLabels = labels
	}
	return ru
}

// ruleRename maps the store's field names to the form's.
var ruleRename = map[string]string{"service_id": "scope", "actions.drop": "drop",
	"actions.route_to_service_id": "route_to", "actions.set_severity": "set_severity", "actions.set_priority": "set_priority"}

func ruleError(err error) error {
	return foldFields(err, map[string]string{"actions.add_labels": "add_labels"})
}

// nextPosition is a position after every rule of a list, leaving room
// between rules.
func nextPosition(list []rules.Rule, serviceID int64) int {
	n := 0
	for _, ru := range list {
		if ru.ServiceID == serviceID && ru.Position > n {
			n = ru.Position
		}
	}
	return (n/10 + 1) * 10
}

func (s *Server) newRulePage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	list, err := s.Rules.Rules(r.Context())
	if err != nil {
		return err
	}
	svc, _ := optionalID(r.URL.Query().Get("service"))
	f := newForm(nil).Set("scope", scopeText(svc)).Set("position", strconv.Itoa(nextPosition(list, svc))).
		Set("outcome", "keep").Set("enabled", "1")
	return s.showRuleForm(w, r, http.StatusOK, nil, sampleDefaults(f), tryResult{})
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) error {
	// Refuse before checking the form: its mistakes do not matter to someone who may not send it.
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showRuleForm(w, r, status, nil, f, tryResult{}) }
	names, _, err := s.serviceChoices(r, "")
	if err != nil {
		return err
	}
	ru := ruleFields(f, names)
	if f.Invalid() {
		return invalid(f, show)
	}
	out, err := s.Rules.CreateRule(r.Context(), ru)
	if err != nil {
		return s.retry(w, r, ruleError(err), f, ruleRename, show)
	}
	return s.done(w, r, "/rules#rule-"+itoa(out.ID), "Created the event rule %s. It applies to new events from now on.", out.Name)
}

func (s *Server) rulePage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ru, err := s.Rules.GetRule(r.Context(), id)
	if err != nil {
		return err
	}
	return s.showRuleForm(w, r, http.StatusOK, &ru, sampleDefaults(fillRuleForm(newForm(nil), ru)), tryResult{})
}

func (s *Server) updateRule(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cur, err := s.Rules.GetRule(r.Context(), id)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showRuleForm(w, r, status, &cur, f, tryResult{}) }
	names, _, err := s.serviceChoices(r, "")
	if err != nil {
		return err
	}
	ru := ruleFields(f, names)
	if f.Invalid() {
		return invalid(f, show)
	}
	out, err := s.Rules.UpdateRule(r.Context(), id, ru)
	if err != nil {
		return s.retry(w, r, ruleError(err), f, ruleRename, show)
	}
	return s.done(w, r, "/rules#rule-"+itoa(id), "Saved the event rule %s.", out.Name)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ru, err := s.Rules.GetRule(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.Rules.DeleteRule(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, "/rules", "Deleted the event rule %s.", ru.Name)
}

// tryRule evaluates the condition of the form on the sample event of the
// form, saving nothing, and shows the same page again with the result and
// everything as typed. A new rule is tried at /rules/try, a saved one at
// /rules/{id}/try.
func (s *Server) tryRule(w http.ResponseWriter, r *http.Request) error {
	var cur *rules.Rule
	if r.PathValue("id") == "" {
		// A new rule is tried on its form, which only managers have.
		if err := requireRole(r, iam.RoleManager); err != nil {
			return err
		}
	} else {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		ru, err := s.Rules.GetRule(r.Context(), id)
		if err != nil {
			return err
		}
		cur = &ru
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showRuleForm(w, r, status, cur, f, tryResult{}) }
	// The rule's own form says which service it is for; the read-only page
	// tries the saved rule's.
	var svc int64
	if v := f.Get("scope"); v != globalScope {
		svc, _ = optionalID(v)
	}
	if cur != nil && !f.Values.Has("scope") {
		svc = cur.ServiceID
	}
	ev := event.Event{Source: event.SourceGeneric, Action: event.Trigger, Summary: f.Get("sample_summary"),
		Host: f.Get("sample_host"), Labels: labelLines(f, "sample_labels")}
	if v := f.Get("sample_severity"); v != "" {
		sev, ok := event.ParseSeverity(v)
		if !ok {
			f.Fail("sample_severity", "must be critical, error, warning or info")
		}
		ev.Severity = sev
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	matched, err := s.Rules.Test(r.Context(), rules.Rule{Condition: f.Value("condition"), ServiceID: svc}, ev)
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	return s.showRuleForm(w, r, http.StatusOK, cur, f, tryResult{Done: true, Matched: matched})
}

// Inhibit rules: while an open alert matches the source matchers, alerts
// that match the target matchers and share the equal labels page nobody.

type inhibitData struct{ Rows []rules.InhibitRule }

func (s *Server) showInhibitRules(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	list, err := s.Rules.InhibitRules(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, status, s.v.inhibitRules, view{Title: "Inhibit rules", Nav: "rules", Form: f, Data: inhibitData{Rows: list}})
}

func (s *Server) inhibitRulesPage(w http.ResponseWriter, r *http.Request) error {
	return s.showInhibitRules(w, r, http.StatusOK, newForm(nil))
}

func (s *Server) createInhibitRule(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showInhibitRules(w, r, status, f) }
	ir := rules.InhibitRule{Name: f.Get("name"), SourceMatchers: matcherField(f, "source_matchers"),
		TargetMatchers: matcherField(f, "target_matchers"), Equal: splitTags(f.Get("equal"))}
	if f.Invalid() {
		return invalid(f, show)
	}
	out, err := s.Rules.CreateInhibitRule(r.Context(), ir)
	if err != nil {
		return s.retry(w, r, collapseFields(err, "source_matchers", "target_matchers", "equal"), f, nil, show)
	}
	name := out.Name
	if name == "" {
		name = itoa(out.ID)
	}
	return s.done(w, r, "/inhibit-rules#inhibit-"+itoa(out.ID), "Created the inhibit rule %s.", name)
}

func (s *Server) deleteInhibitRule(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	list, err := s.Rules.InhibitRules(r.Context())
	if err != nil {
		return err
	}
	name := itoa(id)
	for _, ir := range list {
		if ir.ID == id && ir.Name != "" {
			name = ir.Name
		}
	}
	if err := s.Rules.DeleteInhibitRule(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, "/inhibit-rules", "Deleted the inhibit rule %s.", name)
}

// collapseFields moves the store's errors about the parts of a field
// (equal[1], source_matchers[0].value) to the field itself, as the form has
// one control for all of them.
func collapseFields(err error, names ...string) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]errs.FieldError, 0, len(e.Fields))
	for _, fe := range e.Fields {
		for _, n := range names {
			if rest, ok := strings.CutPrefix(fe.Field, n); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
				fe.Field = n
				break
			}
		}
		out.Fields = append(out.Fields, fe)
	}
	return &out
}
