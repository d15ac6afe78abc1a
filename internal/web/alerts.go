package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/rules"
)

// alertRow is an alert as a list shows it.
type alertRow struct {
	event.Alert
	Service string
	Why     []reason // why it pages nobody, if it does not
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
	why, err := s.suppression(r, as)
	if err != nil {
		return nil, err
	}
	out := make([]alertRow, len(as))
	for i, a := range as {
		out[i] = alertRow{Alert: a, Service: n.Services[a.ServiceID], Why: why[a.ID]}
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
	// SilenceURL opens the new-silence form filled in for alerts like this one.
	SilenceURL string
	// Silences are the active silences that match the alert's new events.
	Silences []rules.Silence
	// Why says why the alert pages nobody, if it does not.
	Why []reason
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
	d.SilenceURL = silenceLink(a)
	why, err := s.suppression(r, []event.Alert{a})
	if err != nil {
		return err
	}
	d.Why = why[a.ID]
	if d.Silences, err = s.silencing(r, a); err != nil {
		return err
	}
	title := a.Summary
	if title == "" {
		title = "Alert " + itoa(a.ID)
	}
	return s.render(w, r, http.StatusOK, s.v.alert, view{Title: title, Nav: "alerts", Data: d})
}

// reason is one reason why an alert pages nobody, for people: "silence
// {alertname="DiskFull"}", "maintenance window Sunday patching".
type reason struct {
	Kind, Name, Link string
	Code             bool   // Name is written as code (matchers)
	Note             string // "ends in 2h", "ended", "not active now", "deleted"
}

// suppression explains the suppressed column of alerts ("silence:3,
// maintenance:2,rule:5,inhibited"), looking each kind of rule up once per
// page and only when an alert needs it. It maps alert ids to their reasons.
func (s *Server) suppression(r *http.Request, as []event.Alert) (map[int64][]reason, error) {
	ctx := r.Context()
	out := map[int64][]reason{}
	var ruleList []rules.Rule
	var windows []rules.MaintenanceWindow
	var silences []rules.Silence
	var err error
	now := s.Clock.Now()
	for _, a := range as {
		if a.Suppressed == "" {
			continue
		}
		for _, tok := range strings.Split(a.Suppressed, ",") {
			kind, idText, _ := strings.Cut(strings.TrimSpace(tok), ":")
			id, _ := strconv.ParseInt(idText, 10, 64)
			var why reason
			switch kind {
			case "rule":
				if ruleList == nil {
					if ruleList, err = s.Rules.Rules(ctx); err != nil {
						return nil, err
					}
				}
				why = reason{Kind: "event rule", Name: "rule " + idText, Note: "deleted"}
				for _, ru := range ruleList {
					if ru.ID == id {
						why = reason{Kind: "event rule", Name: ru.Name, Link: "/rules/" + idText}
					}
				}
			case "maintenance":
				if windows == nil {
					if windows, err = s.Rules.Windows(ctx); err != nil {
						return nil, err
					}
				}
				why = reason{Kind: "maintenance window", Name: "window " + idText, Note: "deleted"}
				for i := range windows {
					if w := &windows[i]; w.ID == id {
						why = reason{Kind: "maintenance window", Name: w.Name, Link: "/maintenance#window-" + idText}
						why.Note = "not active now"
						if end, ok := w.NextEnd(now); ok && w.ActiveAt(now) {
							why.Note = "ends " + s.until(end)
						}
					}
				}
			case "silence":
				if silences == nil {
					if silences, err = s.Rules.Silences(ctx, true); err != nil {
						return nil, err
					}
				}
				why = reason{Kind: "silence", Name: "silence " + idText, Note: "deleted"}
				for i := range silences {
					if si := &silences[i]; si.ID == id {
						why = reason{Kind: "silence", Name: si.Matchers.String(), Code: true, Link: "/silences#silence-" + idText}
						why.Note = "ends " + s.until(si.EndsAt)
						if si.Expired(now) {
							why.Note, why.Link = "ended", "/silences?ended=1#silence-"+idText
						}
					}
				}
			case "inhibited":
				why = reason{Kind: "inhibit rule", Name: "a related alert was open", Link: "/inhibit-rules"}
			default:
				why = reason{Kind: "reason", Name: tok}
			}
			out[a.ID] = append(out[a.ID], why)
		}
	}
	return out, nil
}
