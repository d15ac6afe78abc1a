package web

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/service"
)

// serviceRow is a service as a list shows it.
type serviceRow struct {
	service.Service
	Team string
}

type servicesData struct {
	Rows     []serviceRow
	Pager    pager
	Filtered bool
	Teams    []option
}

func (s *Server) services(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := newForm(r.URL.Query())
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	var d servicesData
	show := func(status int, f *form) error {
		return s.render(w, r, status, s.v.services, view{Title: "Services", Nav: "services", Form: f, Data: d})
	}
	if d.Teams, err = s.teamOptions(r, "Any team"); err != nil {
		return err
	}
	team, ok := optionalID(f.Value("team"))
	if !ok {
		f.Fail("team", "must be one of the listed teams")
		return invalid(f, show)
	}
	l, err := s.Services.List(ctx, service.Filter{TeamID: team, Query: f.Get("q")}, p)
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	var teams []int64
	for _, sv := range l.Items {
		if sv.TeamID != nil {
			teams = append(teams, *sv.TeamID)
		}
	}
	n, err := s.Incidents.Names(ctx, nil, teams, nil)
	if err != nil {
		return err
	}
	for _, sv := range l.Items {
		d.Rows = append(d.Rows, serviceRow{Service: sv, Team: n.Team(sv.TeamID)})
	}
	d.Pager, d.Filtered = pagerOf(r, l.Next), team != 0 || f.Get("q") != ""
	return show(http.StatusOK, f)
}

// The new-service and edit-service pages.

type serviceFormData struct {
	Service       *service.Service
	Teams         []option
	Criticalities []option
	Policies      []option
}

func criticalityOptions() []option {
	return []option{{"critical", "Critical"}, {"high", "High"}, {"medium", "Medium"}, {"low", "Low"}}
}

func (s *Server) showServiceForm(w http.ResponseWriter, r *http.Request, status int, sv *service.Service, f *form) error {
	d := serviceFormData{Service: sv, Criticalities: criticalityOptions()}
	var err error
	if d.Teams, err = s.teamOptions(r, "No team"); err != nil {
		return err
	}
	if d.Policies, err = s.policyOptions(r); err != nil {
		return err
	}
	title := "New service"
	if sv != nil {
		title = "Edit " + sv.Name
	}
	return s.render(w, r, status, s.v.serviceForm, view{Title: title, Nav: "services", Form: f, Data: d})
}

// fillServiceForm puts a service's values into its form.
func fillServiceForm(f *form, sv service.Service) *form {
	var labels []string
	for k, v := range sv.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	f.Set("name", sv.Name).Set("description", sv.Description).Set("team", idText(sv.TeamID)).
		Set("criticality", string(sv.Criticality)).Set("labels", strings.Join(labels, "\n")).
		Set("group_by", strings.Join(sv.GroupBy, ", ")).Set("group_window", shortDuration(int64(sv.GroupWindow))).
		Set("version", itoa(sv.Version)).Set("escalation_policy", idText(sv.EscalationPolicyID))
	if sv.AutoResolve {
		f.Set("auto_resolve", "1")
	}
	return f
}

// serviceFields reads the service form; what is wrong is marked on f.
func serviceFields(f *form) service.Fields {
	name, desc := f.Get("name"), f.Get("description")
	crit := service.Criticality(f.Get("criticality"))
	auto := f.Get("auto_resolve") != ""
	out := service.Fields{Name: &name, Description: &desc, Criticality: &crit, AutoResolve: &auto}
	team, ok := optionalID(f.Value("team"))
	if !ok {
		f.Fail("team", "must be one of the listed teams")
	}
	out.TeamID = &team
	policy, ok := optionalID(f.Value("escalation_policy"))
	if !ok {
		f.Fail("escalation_policy", "must be one of the listed policies")
	}
	out.EscalationPolicyID = &policy
	labels := labelLines(f, "labels")
	out.Labels = &labels
	groupBy := splitTags(f.Get("group_by"))
	out.GroupBy = &groupBy
	window := 0
	if v := f.Get("group_window"); v != "" {
		sec, ok := parseDuration(v)
		if !ok {
			f.Fail("group_window", "must be a duration such as 300s, 5m or 1h")
		}
		window = int(sec)
	}
	out.GroupWindow = &window
	return out
}

// labelLines reads a textarea of labels, one name=value a line; what is
// wrong is marked on f.
func labelLines(f *form, name string) map[string]string {
	labels := map[string]string{}
	for i, line := range strings.Split(f.Value(name), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			f.Fail(name, fmt.Sprintf("line %d must read name=value", i+1))
			continue
		}
		labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return labels
}

// serviceRename maps the catalog's field names to the form's.
var serviceRename = map[string]string{"team_id": "team", "group_window_seconds": "group_window", "labels": "labels",
	"escalation_policy_id": "escalation_policy"}

func (s *Server) newServicePage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(nil).Set("criticality", "medium").Set("group_window", "5m").Set("auto_resolve", "1")
	return s.showServiceForm(w, r, http.StatusOK, nil, f)
}

func (s *Server) createService(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showServiceForm(w, r, status, nil, f) }
	fields := serviceFields(f)
	if f.Invalid() {
		return invalid(f, show)
	}
	sv, err := s.Services.Create(r.Context(), fields)
	if err != nil {
		return s.retry(w, r, foldFields(err, serviceRename), f, nil, show)
	}
	return s.done(w, r, "/services/"+itoa(sv.ID), "Created the service %s. Create an integration key below to send it events.", sv.Name)
}

func (s *Server) editServicePage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sv, err := s.Services.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return s.showServiceForm(w, r, http.StatusOK, &sv, fillServiceForm(newForm(nil), sv))
}

func (s *Server) updateService(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	version, err := strconv.ParseInt(f.Get("version"), 10, 64)
	if err != nil || version < 1 {
		return errs.Invalid("version", "is missing; reload the edit page")
	}
	cur, err := s.Services.Get(ctx, id)
	if err != nil {
		return err
	}
	show := func(status int, f *form) error { return s.showServiceForm(w, r, status, &cur, f) }
	fields := serviceFields(f)
	if f.Invalid() {
		return invalid(f, show)
	}
	sv, err := s.Services.Update(ctx, id, fields, version)
	if err != nil {
		return s.retry(w, r, foldFields(err, serviceRename), f, nil, func(status int, f *form) error {
			if errs.Is(err, errs.KindPreconditionFailed) {
				if cur, err = s.Services.Get(ctx, id); err != nil {
					return err
				}
				// Saving again will overwrite the other change, knowingly.
				f.Message = "Someone changed this service while you were editing it. Check your changes and save again to overwrite theirs."
				f.Set("version", itoa(cur.Version))
			}
			return show(status, f)
		})
	}
	return s.done(w, r, "/services/"+itoa(id), "Saved the service %s.", sv.Name)
}

func (s *Server) deleteService(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sv, err := s.Services.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.Services.Delete(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, "/services", "Deleted the service %s with its integration keys and alerts.", sv.Name)
}

// The service page.

type serviceData struct {
	Service service.Service
	Team    string
	// Keys are shown to managers, who may make and revoke them.
	Keys []service.IntegrationKey
	// Key is the integration key the sending examples use.
	Key       string
	Base      string // this server's address, as the browser reached it
	Window    string // the group window in words
	Incidents []incidentRow
	Alerts    []event.Alert
	// Policy is the escalation policy that pages for the service, if any.
	Policy *oncall.Policy
}

// serviceLists is how many open incidents and recent alerts the service page shows.
const serviceLists = 10

func (s *Server) showService(w http.ResponseWriter, r *http.Request, status int, id int64, f *form) error {
	ctx := r.Context()
	sv, err := s.Services.Get(ctx, id)
	if err != nil {
		return err
	}
	d := serviceData{Service: sv, Base: baseURL(r), Key: "YOUR-INTEGRATION-KEY", Window: shortDuration(int64(sv.GroupWindow))}
	n, err := s.Incidents.Names(ctx, nil, []int64{ptrID(sv.TeamID)}, nil)
	if err != nil {
		return err
	}
	d.Team = n.Team(sv.TeamID)
	if sv.EscalationPolicyID != nil {
		p, err := s.Policies.Get(ctx, *sv.EscalationPolicyID)
		if err != nil {
			return err
		}
		d.Policy = &p
	}
	if me(r).Role.AtLeast(iam.RoleManager) {
		if d.Keys, err = s.Services.Keys(ctx, id); err != nil {
			return err
		}
		for i := len(d.Keys) - 1; i >= 0; i-- {
			if d.Keys[i].RevokedAt == nil {
				d.Key = d.Keys[i].Key
				break
			}
		}
	}
	il, err := s.Incidents.List(ctx, incident.Filter{ServiceID: id, Statuses: []incident.Status{"open"}}, page.Request{Limit: serviceLists})
	if err != nil {
		return err
	}
	if d.Incidents, err = s.rowsOf(r, il.Items); err != nil {
		return err
	}
	al, err := s.Incidents.ListAlerts(ctx, event.AlertFilter{ServiceID: id}, page.Request{Limit: serviceLists})
	if err != nil {
		return err
	}
	d.Alerts = al.Items
	return s.render(w, r, status, s.v.service, view{Title: sv.Name, Nav: "services", Form: f, Data: d})
}

func ptrID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// baseURL is the address of this server as the browser reached it, for the
// sending examples.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) servicePage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.showService(w, r, http.StatusOK, id, newForm(nil))
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	k, err := s.Services.CreateKey(r.Context(), id, f.Get("key_name"))
	if err != nil {
		return s.retry(w, r, err, f, map[string]string{"name": "key_name"}, func(status int, f *form) error {
			return s.showService(w, r, status, id, f)
		})
	}
	return s.done(w, r, "/services/"+itoa(id)+"#key-"+itoa(k.ID),
		"Created the integration key %s. Give it to the sender; the examples below use it.", k.Name)
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	kid, err := pathID(r, "key_id")
	if err != nil {
		return err
	}
	k, err := s.Services.RevokeKey(r.Context(), id, kid)
	if err != nil {
		return err
	}
	return s.done(w, r, "/services/"+itoa(id)+"#keys", "Revoked the integration key %s; events sent with it are refused now.", k.Name)
}
