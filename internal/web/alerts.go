package web

import (
	"net/http"

	"github.com/steadyhq/steady/internal/event"
)

// alertRow is an alert as a list shows it.
type alertRow struct {
	event.Alert
	Service string
}

type alertsData struct {
	Rows               []alertRow
	Pager              pager
	Filtered           bool
	Services, Statuses []option
}

func alertStatusOptions() []option {
	return []option{{"", "Any status"}, {"open", "Open (not resolved)"}, {"triggered", "Triggered"},
		{"acknowledged", "Acknowledged"}, {"resolved", "Resolved"}}
}

// alertRows names the services of alerts with one query.
func (s *Server) alertRows(r *http.Request, as []event.Alert) ([]alertRow, error) {
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ServiceID
	}
	n, err := s.Incidents.Names(r.Context(), ids, nil, nil)
	if err != nil {
		return nil, err
	}
	out := make([]alertRow, len(as))
	for i, a := range as {
		out[i] = alertRow{Alert: a, Service: n.Services[a.ServiceID]}
	}
	return out, nil
}

func (s *Server) alerts(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.URL.Query())
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	d := alertsData{Statuses: alertStatusOptions()}
	show := func(status int, f *form) error {
		return s.render(w, r, status, s.v.alerts, view{Title: "Alerts", Nav: "alerts", Form: f, Data: d})
	}
	if d.Services, err = s.serviceOptions(r, "Any service"); err != nil {
		return err
	}
	svc, ok := optionalID(f.Value("service"))
	if !ok {
		f.Fail("service", "must be one of the listed services")
		return invalid(f, show)
	}
	flt := event.AlertFilter{ServiceID: svc, Status: f.Get("status")}
	l, err := s.Incidents.ListAlerts(r.Context(), flt, p)
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	if d.Rows, err = s.alertRows(r, l.Items); err != nil {
		return err
	}
	d.Pager, d.Filtered = pagerOf(r, l.Next), flt != (event.AlertFilter{})
	return show(http.StatusOK, f)
}

type alertData struct {
	Alert      event.Alert
	Service    string
	Events     []event.Raw
	EventPager pager
}

// alertEvents is how many raw events the alert page shows at once.
const alertEvents = 20

func (s *Server) alertPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.Incidents.GetAlert(ctx, id)
	if err != nil {
		return err
	}
	d := alertData{Alert: a}
	n, err := s.Incidents.Names(ctx, []int64{a.ServiceID}, nil, nil)
	if err != nil {
		return err
	}
	d.Service = n.Services[a.ServiceID]
	ep, err := cursorOf(r, "events_after", alertEvents)
	if err != nil {
		return err
	}
	el, err := s.Incidents.AlertEvents(ctx, id, ep)
	if err != nil {
		return err
	}
	d.Events, d.EventPager = el.Items, pagerAt(r, "events_after", el.Next, "#events")
	title := a.Summary
	if title == "" {
		title = "Alert " + itoa(a.ID)
	}
	return s.render(w, r, http.StatusOK, s.v.alert, view{Title: title, Nav: "alerts", Data: d})
}
