package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/service"
)

// incidentRow is an incident as a list shows it, with the names behind its ids.
type incidentRow struct {
	incident.Incident
	Service, Team, Assignee string
}

// rowsOf names the services, teams and assignees of incidents with one query
// per kind, never one per row.
func (s *Server) rowsOf(r *http.Request, ins []incident.Incident) ([]incidentRow, error) {
	n, err := s.Incidents.NamesOf(r.Context(), ins...)
	if err != nil {
		return nil, err
	}
	out := make([]incidentRow, len(ins))
	for i, in := range ins {
		out[i] = incidentRow{Incident: in, Service: n.Service(in.ServiceID), Team: n.Team(in.TeamID), Assignee: n.User(in.AssigneeID)}
	}
	return out, nil
}

type incidentsData struct {
	Rows     []incidentRow
	Pager    pager
	Search   string // the words searched for, when the list shows search results
	Filtered bool   // anything but the default filter (open incidents)
	// Live is the URL of the list alone, which a script fetches to keep the
	// page current; "" on later pages, where rows would shift under the reader.
	Live string
	Self string    // this list's URL, to reload it by hand
	Now  time.Time // when the list was read
	// Sig changes when the rows do, so the script announces real changes only.
	Sig                                                  string
	Statuses, Priorities, Services, Teams, Who, Majority []option
}

// refreshEvery is how often the list refreshes itself, as the page says.
const refreshEvery = "10 seconds"

// searchLimit is how many search results the list shows.
const searchLimit = 50

func statusOptions() []option {
	return []option{{"open", "Open"}, {"any", "Any status"}, {"triggered", "Triggered"},
		{"acknowledged", "Acknowledged"}, {"investigating", "Investigating"}, {"on_hold", "On hold"},
		{"resolved", "Resolved"}, {"closed", "Closed"}}
}

func priorityOptions(any string) []option {
	out := []option{{"", any}}
	for i := 1; i <= 5; i++ {
		p := "P" + strconv.Itoa(i)
		out = append(out, option{p, p})
	}
	return out
}

// incidentFilter reads the list's filters from the query; a missing status
// means open incidents.
func incidentFilter(r *http.Request, f *form) incident.Filter {
	if !r.URL.Query().Has("status") {
		f.Set("status", "open")
	}
	var flt incident.Filter
	switch st := f.Get("status"); st {
	case "any", "":
	default:
		flt.Statuses = []incident.Status{incident.Status(st)}
	}
	flt.Priority = strings.ToUpper(f.Get("priority"))
	idOf := func(name, what string) int64 {
		v := f.Get(name)
		if v == "" {
			return 0
		}
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			f.Fail(name, "must be one of the listed "+what)
		}
		return id
	}
	flt.ServiceID = idOf("service", "services")
	flt.TeamID = idOf("team", "teams")
	switch f.Get("assignee") {
	case "":
	case "me":
		flt.AssigneeID = me(r).UserID
	default:
		f.Fail("assignee", "must be anyone or me")
	}
	switch f.Get("major") {
	case "":
	case "yes":
		flt.Major = new(true)
	case "no":
		flt.Major = new(false)
	default:
		f.Fail("major", "must be yes, no or either")
	}
	flt.Tag = f.Get("tag")
	return flt
}

// matches applies a filter to a search result in Go (search ranks by
// relevance, so it cannot use the list's indexed query).
func matches(f incident.Filter, in incident.Incident) bool {
	eq := func(want int64, got *int64) bool { return want == 0 || (got != nil && *got == want) }
	if !eq(f.ServiceID, in.ServiceID) || !eq(f.TeamID, in.TeamID) || !eq(f.AssigneeID, in.AssigneeID) {
		return false
	}
	if len(f.Statuses) > 0 && !slices.ContainsFunc(f.Statuses, func(s incident.Status) bool {
		return s == in.Status || (s == "open" && in.Status.Open())
	}) {
		return false
	}
	if (f.Priority != "" && in.Priority != f.Priority) || (f.Major != nil && *f.Major != in.Major) {
		return false
	}
	return f.Tag == "" || slices.Contains(in.Tags, strings.ToLower(f.Tag))
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := newForm(r.URL.Query())
	fragment := r.URL.Query().Get("fragment") == "1"
	d := incidentsData{Search: f.Get("q")}
	show := func(status int, f *form) error {
		if fragment {
			return s.renderPart(w, r, status, s.v.incidents, "incident-table", view{Form: f, Data: d})
		}
		if err := s.filterChoices(r, &d); err != nil {
			return err
		}
		return s.render(w, r, status, s.v.incidents, view{Title: "Incidents", Nav: "incidents", Form: f, Data: d})
	}
	flt := incidentFilter(r, f)
	if f.Invalid() {
		return invalid(f, show)
	}
	if err := flt.Validate(); err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	var ins []incident.Incident
	if d.Search != "" {
		hits, err := s.Incidents.Search(ctx, d.Search, searchLimit)
		if err != nil {
			return s.retry(w, r, err, f, nil, show)
		}
		for _, h := range hits {
			if matches(flt, h.Incident) {
				ins = append(ins, h.Incident)
			}
		}
	} else {
		l, err := s.Incidents.List(ctx, flt, p)
		if err != nil {
			return s.retry(w, r, err, f, nil, show)
		}
		ins, d.Pager = l.Items, pagerOf(r, l.Next)
	}
	if d.Rows, err = s.rowsOf(r, ins); err != nil {
		return err
	}
	q := r.URL.Query()
	q.Del("fragment")
	for k, vs := range q {
		for _, v := range vs {
			if v != "" && k != "after" && (k != "status" || v != "open") {
				d.Filtered = true
			}
		}
	}
	d.Self, d.Now = "/incidents", s.Clock.Now()
	if len(q) > 0 {
		d.Self += "?" + q.Encode()
	}
	if q.Get("after") == "" {
		q.Set("fragment", "1")
		d.Live = "/incidents?" + q.Encode()
	}
	d.Sig = rowsSig(d.Rows)
	return show(http.StatusOK, f)
}

// rowsSig is a short digest of what the rows say, apart from their ages.
func rowsSig(rows []incidentRow) string {
	h := sha256.New()
	for _, r := range rows {
		fmt.Fprintf(h, "%d/%d;", r.ID, r.Version)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// filterChoices fills the choices of the list's filter form.
func (s *Server) filterChoices(r *http.Request, d *incidentsData) error {
	var err error
	d.Statuses, d.Priorities = statusOptions(), priorityOptions("Any priority")
	if d.Services, err = s.serviceOptions(r, "Any service"); err != nil {
		return err
	}
	if d.Teams, err = s.teamOptions(r, "Any team"); err != nil {
		return err
	}
	d.Who = []option{{"", "Anyone"}, {"me", "Me"}}
	d.Majority = []option{{"", "Major or not"}, {"yes", "Major only"}, {"no", "Not major"}}
	return nil
}

// serviceOptions lists the services for a select, first the empty choice.
func (s *Server) serviceOptions(r *http.Request, none string) ([]option, error) {
	l, err := s.Services.List(r.Context(), service.Filter{}, page.Request{Limit: page.MaxLimit})
	if err != nil {
		return nil, err
	}
	out := []option{{"", none}}
	for _, sv := range l.Items {
		out = append(out, option{itoa(sv.ID), sv.Name})
	}
	return out, nil
}

// teamOptions lists the teams for a select, first the empty choice.
func (s *Server) teamOptions(r *http.Request, none string) ([]option, error) {
	l, err := s.IAM.ListTeams(r.Context(), "", page.Request{Limit: page.MaxLimit})
	if err != nil {
		return nil, err
	}
	out := []option{{"", none}}
	for _, t := range l.Items {
		out = append(out, option{itoa(t.ID), t.Name})
	}
	return out, nil
}

// userOptions lists the enabled users for a select, first the empty choice.
func (s *Server) userOptions(r *http.Request, none string) ([]option, error) {
	l, err := s.IAM.ListUsers(r.Context(), iam.UserFilter{}, page.Request{Limit: page.MaxLimit})
	if err != nil {
		return nil, err
	}
	out := []option{{"", none}}
	for _, u := range l.Items {
		if !u.Disabled {
			out = append(out, option{itoa(u.ID), u.Name + " (" + u.Email + ")"})
		}
	}
	return out, nil
}

// The incident page.

type incidentData struct {
	In                      incident.Incident
	Service, Team, Assignee string
	SLAs                    []incident.SLA
	Timeline                []incident.Entry
	Alerts                  []event.Alert
	AlertPager              pager
	// Suppressed says why alerts of the incident page nobody, by alert id.
	Suppressed map[int64][]reason
	Events     []event.Raw
	EventPager pager
	Similar    []incident.Hit
	Related    []incident.Incident
	// Next says which moves the incident's status allows.
	Next         map[string]bool
	AssignedToMe bool
	Users, Teams []option
	Levels       []option
	// EditOpen opens the edit form: it came back with a problem.
	EditOpen bool
	MyID     string
	// Topology: the incident's affected CIs, impacted services and
	// root-cause candidates; RootCauses are the CIs a responder may choose
	// as the root cause.
	Topology   incident.IncidentTopology
	RootCauses []option
}

// incidentLists is how many alerts and raw events the incident page shows at once.
const incidentLists = 20

func (s *Server) showIncident(w http.ResponseWriter, r *http.Request, status int, id int64, f *form) error {
	ctx := r.Context()
	in, err := s.Incidents.Get(ctx, id)
	if err != nil {
		return err
	}
	d := incidentData{In: in, Next: map[string]bool{}, Levels: levelOptions(), MyID: itoa(me(r).UserID),
		AssignedToMe: in.AssigneeID != nil && *in.AssigneeID == me(r).UserID}
	n, err := s.Incidents.NamesOf(ctx, in)
	if err != nil {
		return err
	}
	d.Service, d.Team, d.Assignee = n.Service(in.ServiceID), n.Team(in.TeamID), n.User(in.AssigneeID)
	for _, st := range incident.NextStatuses(in.Status) {
		d.Next[string(st)] = true
	}
	if d.SLAs, err = s.Incidents.SLAs(ctx, id); err != nil {
		return err
	}
	if d.Timeline, err = s.Incidents.Timeline(ctx, id); err != nil {
		return err
	}
	ap, err := cursorOf(r, "alerts_after", incidentLists)
	if err != nil {
		return err
	}
	al, err := s.Incidents.Alerts(ctx, id, ap)
	if err != nil {
		return err
	}
	d.Alerts, d.AlertPager = al.Items, pagerAt(r, "alerts_after", al.Next, "#alerts")
	if d.Suppressed, err = s.suppression(r, d.Alerts); err != nil {
		return err
	}
	ep, err := cursorOf(r, "events_after", incidentLists)
	if err != nil {
		return err
	}
	el, err := s.Incidents.Events(ctx, id, ep)
	if err != nil {
		return err
	}
	d.Events, d.EventPager = el.Items, pagerAt(r, "events_after", el.Next, "#events")
	if d.Similar, err = s.Incidents.Similar(ctx, id, 5); err != nil {
		return err
	}
	if d.Related, err = s.Incidents.Related(ctx, id); err != nil {
		return err
	}
	if d.Topology, err = s.Incidents.TopologyOf(ctx, id); err != nil {
		return err
	}
	d.RootCauses = rootCauseOptions(d.Topology)
	if !f.Values.Has("ci_id") && len(d.Topology.RootCauses) > 0 {
		f.Set("ci_id", itoa(d.Topology.RootCauses[0].CIID))
	}
	if me(r).Role.AtLeast(iam.RoleResponder) {
		if d.Users, err = s.userOptions(r, "Nobody"); err != nil {
			return err
		}
		if d.Teams, err = s.teamOptions(r, "No team"); err != nil {
			return err
		}
	}
	// The forms start with the incident's values, unless they came back.
	if !f.Values.Has("assignee") {
		f.Set("assignee", idText(in.AssigneeID)).Set("team", idText(in.TeamID))
	}
	if f.Values.Has("version") {
		d.EditOpen = f.Invalid() || f.Message != ""
	} else {
		f.Set("title", in.Title).Set("impact", strconv.Itoa(in.Impact)).Set("urgency", strconv.Itoa(in.Urgency)).
			Set("tags", strings.Join(in.Tags, ", ")).Set("version", itoa(in.Version))
		if in.Major {
			f.Set("major", "1")
		}
		if in.Security {
			f.Set("security", "1")
		}
	}
	return s.render(w, r, status, s.v.incident, view{Title: in.Number + " " + in.Title, Nav: "incidents", Form: f, Data: d})
}

func idText(id *int64) string {
	if id == nil {
		return ""
	}
	return itoa(*id)
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.showIncident(w, r, http.StatusOK, id, newForm(nil))
}

// moved says what a status change did, for the next page.
var moved = map[incident.Status]string{
	incident.Acknowledged:  "Acknowledged %s.",
	incident.Investigating: "%s is now being investigated.",
	incident.OnHold:        "Put %s on hold; its resolve clock is paused.",
	incident.Resolved:      "Resolved %s.",
	incident.Closed:        "Closed %s.",
	incident.Triggered:     "Reopened %s.",
}

// moveIncident changes an incident's status. noteField names the form field
// of its note, if it has one; holding and resolving need one.
func (s *Server) moveIncident(to incident.Status, noteField string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireRole(r, iam.RoleResponder); err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		f := newForm(r.PostForm)
		show := func(status int, f *form) error { return s.showIncident(w, r, status, id, f) }
		var note string
		if noteField != "" {
			note = f.Get(noteField)
			if note == "" && (to == incident.OnHold || to == incident.Resolved) {
				f.Fail(noteField, "is required")
				return invalid(f, show)
			}
		}
		in, err := s.Incidents.SetStatus(r.Context(), id, to, note, 0)
		if err != nil {
			return s.retry(w, r, err, f, map[string]string{"note": noteField}, show)
		}
		return s.done(w, r, "/incidents/"+itoa(id), moved[to], in.Number)
	}
}

// optionalID reads an id field that may be empty (0: none); ok is false for
// anything else.
func optionalID(v string) (int64, bool) {
	if v = strings.TrimSpace(v); v == "" {
		return 0, true
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return id, err == nil && id > 0
}

func (s *Server) assignIncident(w http.ResponseWriter, r *http.Request) error {
	// Refuse before checking the form: its mistakes do not matter to someone who may not send it.
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showIncident(w, r, status, id, f) }
	// A field the form does not send stays as it is ("Assign to me" sends
	// only the assignee).
	var assignee, team *int64
	if f.Values.Has("assignee") {
		v, ok := optionalID(f.Value("assignee"))
		if !ok {
			f.Fail("assignee", "must be one of the listed users")
		}
		assignee = &v
	}
	if f.Values.Has("team") {
		v, ok := optionalID(f.Value("team"))
		if !ok {
			f.Fail("team", "must be one of the listed teams")
		}
		team = &v
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	in, err := s.Incidents.Assign(r.Context(), id, assignee, team)
	if err != nil {
		return s.retry(w, r, err, f, map[string]string{"assignee_id": "assignee", "team_id": "team"}, show)
	}
	if in.AssigneeID == nil && in.TeamID == nil {
		return s.done(w, r, "/incidents/"+itoa(id), "%s is assigned to nobody now.", in.Number)
	}
	n, err := s.Incidents.NamesOf(r.Context(), in)
	if err != nil {
		return err
	}
	var to []string
	if in.AssigneeID != nil {
		to = append(to, n.User(in.AssigneeID))
	}
	if in.TeamID != nil {
		to = append(to, "the team "+n.Team(in.TeamID))
	}
	return s.done(w, r, "/incidents/"+itoa(id), "Assigned %s to %s.", in.Number, strings.Join(to, " and "))
}

func (s *Server) addIncidentNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	if _, err := s.Incidents.AddNote(r.Context(), id, f.Get("body")); err != nil {
		return s.retry(w, r, err, f, nil, func(status int, f *form) error { return s.showIncident(w, r, status, id, f) })
	}
	return s.done(w, r, "/incidents/"+itoa(id)+"#timeline", "Added your note to %s.", incident.Number(id))
}

// splitTags reads a comma-separated list of tags.
func splitTags(v string) []string {
	out := []string{}
	for t := range strings.SplitSeq(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) updateIncident(w http.ResponseWriter, r *http.Request) error {
	// Refuse before checking the form: its mistakes do not matter to someone who may not send it.
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showIncident(w, r, status, id, f) }
	version, err := strconv.ParseInt(f.Get("version"), 10, 64)
	if err != nil || version < 1 {
		return errs.Invalid("version", "is missing; reload the incident page")
	}
	title := f.Get("title")
	impact, ok := incident.ParseLevel(f.Get("impact"))
	if !ok {
		f.Fail("impact", "must be high, medium or low")
	}
	urgency, ok := incident.ParseLevel(f.Get("urgency"))
	if !ok {
		f.Fail("urgency", "must be high, medium or low")
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	major, security, tags := f.Get("major") != "", f.Get("security") != "", splitTags(f.Get("tags"))
	in, err := s.Incidents.Update(ctx, id, incident.Patch{Title: &title, Impact: &impact, Urgency: &urgency,
		Major: &major, Security: &security, Tags: &tags}, version)
	if err != nil {
		return s.retry(w, r, err, f, nil, func(status int, f *form) error {
			if errs.Is(err, errs.KindPreconditionFailed) {
				cur, gerr := s.Incidents.Get(ctx, id)
				if gerr != nil {
					return gerr
				}
				// Saving again will overwrite the other change, knowingly.
				f.Message = "Someone changed this incident while you were editing it. Check your changes and save again to overwrite theirs."
				f.Set("version", itoa(cur.Version))
			}
			return show(status, f)
		})
	}
	// Marking an incident as a security incident may hide it from its editor.
	if _, err := s.Incidents.Get(ctx, id); errs.Is(err, errs.KindNotFound) {
		return s.done(w, r, "/incidents", "%s is now a security incident: only its team and admins can read it.", in.Number)
	}
	return s.done(w, r, "/incidents/"+itoa(id), "Saved %s.", in.Number)
}

func (s *Server) linkIncident(w http.ResponseWriter, r *http.Request) error {
	// Refuse before checking the form: its mistakes do not matter to someone who may not send it.
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showIncident(w, r, status, id, f) }
	rel, ok := incident.ParseNumber(f.Get("related"))
	if !ok {
		f.Fail("related", "must be an incident number such as INC-12")
		return invalid(f, show)
	}
	if rel == id {
		f.Fail("related", "must be another incident")
		return invalid(f, show)
	}
	if err := s.Incidents.Link(r.Context(), id, rel); err != nil {
		return s.retry(w, r, err, f, map[string]string{"related_id": "related"}, show)
	}
	return s.done(w, r, "/incidents/"+itoa(id), "%s is now related to %s.", incident.Number(id), incident.Number(rel))
}

// rootCauseOptions are the CIs a responder may name as the root cause: the
// candidates in their order, then the affected CIs that are not one.
func rootCauseOptions(t incident.IncidentTopology) []option {
	seen := map[int64]bool{}
	var out []option
	for _, l := range [][]incident.TopologyCI{t.RootCauses, t.Affected} {
		for _, c := range l {
			if !seen[c.CIID] {
				seen[c.CIID] = true
				out = append(out, option{itoa(c.CIID), c.Name + " (" + strings.ReplaceAll(c.Class, "_", " ") + ")"})
			}
		}
	}
	return out
}

// confirmRootCause confirms the probable root cause, or sets another CI.
func (s *Server) confirmRootCause(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showIncident(w, r, status, id, f) }
	ci, ok := optionalID(f.Get("ci_id"))
	if !ok || ci == 0 {
		f.Fail("ci_id", "must be one of the CIs listed")
		return invalid(f, show)
	}
	t, err := s.Incidents.ConfirmRootCause(r.Context(), id, incident.RootCauseInput{CIID: ci})
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	name := "the CI"
	if len(t.RootCauses) > 0 {
		name = t.RootCauses[0].Name
	}
	return s.done(w, r, "/incidents/"+itoa(id)+"#topology", "Root cause of %s: %s.", incident.Number(id), name)
}

// Creating an incident by hand.

type incidentNewData struct {
	Services, Teams, Users, Levels []option
}

func (s *Server) showNewIncident(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	d := incidentNewData{Levels: levelOptions()}
	var err error
	if d.Services, err = s.serviceOptions(r, "No service"); err != nil {
		return err
	}
	if d.Teams, err = s.teamOptions(r, "The service's team"); err != nil {
		return err
	}
	if d.Users, err = s.userOptions(r, "Nobody yet"); err != nil {
		return err
	}
	return s.render(w, r, status, s.v.incidentNew, view{Title: "New incident", Nav: "incidents", Form: f, Data: d})
}

func (s *Server) newIncidentPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	f := newForm(nil).Set("impact", "2").Set("urgency", "2")
	if v := r.URL.Query().Get("service"); v != "" {
		f.Set("service", v)
	}
	return s.showNewIncident(w, r, http.StatusOK, f)
}

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) error {
	// Refuse before checking the form: its mistakes do not matter to someone who may not send it.
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showNewIncident(w, r, status, f) }
	n := incident.NewIncident{Title: f.Get("title"), Description: f.Get("description"), Major: f.Get("major") != "",
		Security: f.Get("security") != "", Tags: splitTags(f.Get("tags"))}
	ids := map[string]**int64{"service": &n.ServiceID, "team": &n.TeamID, "assignee": &n.AssigneeID}
	for _, name := range []string{"service", "team", "assignee"} {
		v, ok := optionalID(f.Value(name))
		switch {
		case !ok:
			f.Fail(name, "must be one of the listed choices")
		case v != 0:
			*ids[name] = &v
		}
	}
	var ok bool
	if n.Impact, ok = incident.ParseLevel(f.Get("impact")); !ok {
		f.Fail("impact", "must be high, medium or low")
	}
	if n.Urgency, ok = incident.ParseLevel(f.Get("urgency")); !ok {
		f.Fail("urgency", "must be high, medium or low")
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	in, err := s.Incidents.Create(r.Context(), n)
	if err != nil {
		return s.retry(w, r, err, f, map[string]string{"service_id": "service", "team_id": "team", "assignee_id": "assignee"}, show)
	}
	if _, err := s.Incidents.Get(r.Context(), in.ID); errs.Is(err, errs.KindNotFound) {
		return s.done(w, r, "/incidents", "Opened %s as a security incident: only its team and admins can read it.", in.Number)
	}
	return s.done(w, r, "/incidents/"+itoa(in.ID), "Opened %s with priority %s.", in.Number, in.Priority)
}

// The post-incident report.

func (s *Server) reportMarkdown(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rep, err := s.Incidents.Report(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rep.Incident.Number+`-report.md"`)
	_, err = w.Write([]byte(rep.Markdown()))
	return err
}

func (s *Server) reportHTML(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rep, err := s.Incidents.Report(r.Context(), id)
	if err != nil {
		return err
	}
	page, err := rep.HTML()
	if err != nil {
		return err
	}
	// The report is a standalone page with its own inline style, and no script.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "+
		"form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err = w.Write([]byte(page))
	return err
}
