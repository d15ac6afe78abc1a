package web

import (
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/rules"
)

// Silences: Alertmanager-style matchers with an end. Everyone signed in
// sees them; responders create and end them (the rules store decides).

// silenceTable is one list of the silences page: active, upcoming or ended.
type silenceTable struct {
	ID, Caption, Empty string
	Rows               []rules.Silence
	// Kind is "active", "upcoming" or "ended"; it says which time to show
	// and which button.
	Kind   string
	CanEnd bool
	CSRF   string
}

type silencesData struct {
	Tables    []silenceTable
	ShowEnded bool
	// EndedShown is how many ended silences the page shows of Ended.
	Ended, EndedShown int
}

// endedShown is how many ended silences the page lists, the latest first.
const endedShown = 100

func (s *Server) silencesPage(w http.ResponseWriter, r *http.Request) error {
	showEnded := r.URL.Query().Get("ended") == "1"
	all, err := s.Rules.Silences(r.Context(), showEnded)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	var active, upcoming, ended []rules.Silence
	for _, si := range all {
		switch {
		case si.Expired(now):
			ended = append(ended, si)
		case si.Active(now):
			active = append(active, si)
		default:
			upcoming = append(upcoming, si)
		}
	}
	// The soonest to end or start first; the latest to have ended first.
	sort.SliceStable(active, func(i, j int) bool { return active[i].EndsAt.Before(active[j].EndsAt) })
	sort.SliceStable(upcoming, func(i, j int) bool { return upcoming[i].StartsAt.Before(upcoming[j].StartsAt) })
	sort.SliceStable(ended, func(i, j int) bool { return ended[i].EndsAt.After(ended[j].EndsAt) })
	sess, _ := sessionFrom(r.Context())
	canEnd := me(r).Role.AtLeast(iam.RoleResponder)
	d := silencesData{ShowEnded: showEnded, Ended: len(ended)}
	d.Tables = append(d.Tables, silenceTable{ID: "active", Caption: "Active now", Rows: active, Kind: "active", CanEnd: canEnd, CSRF: sess.CSRF,
		Empty: "No silence is active: every alert pages as usual."})
	if len(upcoming) > 0 {
		d.Tables = append(d.Tables, silenceTable{ID: "upcoming", Caption: "Starting later", Rows: upcoming, Kind: "upcoming", CanEnd: canEnd, CSRF: sess.CSRF})
	}
	if showEnded {
		d.EndedShown = min(len(ended), endedShown)
		d.Tables = append(d.Tables, silenceTable{ID: "ended", Caption: "Ended", Rows: ended[:d.EndedShown], Kind: "ended",
			Empty: "No silence has ended yet."})
	}
	return s.render(w, r, http.StatusOK, s.v.silences, view{Title: "Silences", Nav: "rules", Data: d})
}

// The new-silence page.

type silenceNewData struct {
	Durations []option
	Alert     *event.Alert // the alert it was opened from, if any
	Now       time.Time
}

// silenceDurations are the lengths the form offers.
var silenceDurations = map[string]time.Duration{"1h": time.Hour, "4h": 4 * time.Hour, "1d": 24 * time.Hour}

func (s *Server) showSilenceNew(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	d := silenceNewData{Now: s.Clock.Now(),
		Durations: []option{{"1h", "1 hour"}, {"4h", "4 hours"}, {"1d", "1 day"}, {"custom", "Until a date and time"}}}
	if id, ok := optionalID(f.Value("alert")); ok && id != 0 {
		if a, err := s.Incidents.GetAlert(r.Context(), id); err == nil {
			d.Alert = &a
		}
	}
	return s.render(w, r, status, s.v.silenceNew, view{Title: "New silence", Nav: "rules", Form: f, Data: d})
}

func (s *Server) newSilencePage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	q := r.URL.Query()
	f := newForm(nil).Set("matchers", q.Get("matchers")).Set("comment", q.Get("comment")).Set("alert", q.Get("alert")).
		Set("duration", "1h")
	return s.showSilenceNew(w, r, http.StatusOK, f)
}

// localLayout is how datetime-local inputs send a time.
const localLayout = "2006-01-02T15:04"

// parseLocal reads a datetime-local value (with or without seconds) in loc.
func parseLocal(v string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{localLayout, localLayout + ":05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// matcherField reads a set of matchers such as {alertname="DiskFull", host=~"db-.*"}.
func matcherField(f *form, name string) rules.Matchers {
	ms, err := rules.ParseMatchers(f.Get(name))
	if err != nil {
		f.Fail(name, "could not be read: "+err.Error())
	}
	return ms
}

func (s *Server) createSilence(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showSilenceNew(w, r, status, f) }
	si := rules.Silence{Matchers: matcherField(f, "matchers"), Comment: f.Value("comment")}
	switch v := f.Get("duration"); v {
	case "custom":
		t, ok := parseLocal(f.Get("ends_at"), time.UTC)
		switch {
		case !ok:
			f.Fail("ends_at", "must be a date and time, in UTC")
		case !t.After(s.Clock.Now()):
			f.Fail("ends_at", "must be in the future")
		}
		si.EndsAt = t
	default:
		d, ok := silenceDurations[v]
		if !ok {
			f.Fail("duration", "must be one of the choices")
		}
		si.EndsAt = s.Clock.Now().Add(d)
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	out, err := s.Rules.CreateSilence(r.Context(), si)
	if err != nil {
		return s.retry(w, r, collapseFields(err, "matchers"), f, nil, show)
	}
	to := "/silences"
	if id, ok := optionalID(f.Value("alert")); ok && id != 0 {
		to = "/alerts/" + itoa(id)
	}
	return s.done(w, r, to, "Silenced %s until %s: matching alerts page nobody until then.", out.Matchers.String(), formatTime(out.EndsAt))
}

func (s *Server) expireSilence(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	what := "silence " + itoa(id)
	if all, err := s.Rules.Silences(r.Context(), false); err == nil {
		for _, si := range all {
			if si.ID == id {
				what = "silence of " + si.Matchers.String()
			}
		}
	}
	if err := s.Rules.ExpireSilence(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, "/silences", "Ended the %s: the alerts it matched page again.", what)
}

// silenceLink is the new-silence page filled in for alerts like a: a
// matcher for each of its labels (or, for an alert without labels, for
// what matchers see of its last event: host, severity, source and the like).
func silenceLink(a event.Alert) string {
	labels := a.Labels
	if len(labels) == 0 {
		ev := event.Event{Severity: a.Severity, Host: a.Host, Source: a.Source}
		if a.LastEvent != nil {
			ev = *a.LastEvent
		}
		labels = rules.MatchLabels(&ev)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ms := make(rules.Matchers, 0, len(keys))
	for _, k := range keys {
		ms = append(ms, rules.Matcher{Name: k, Type: rules.MatchEqual, Value: labels[k]})
	}
	what := a.Summary
	if what == "" {
		what = a.DedupKey
	}
	q := url.Values{"matchers": {ms.String()}, "alert": {itoa(a.ID)}, "comment": {"Noisy: " + what}}
	return "/silences/new?" + q.Encode()
}

// silencing lists the active silences that match an alert's new events.
func (s *Server) silencing(r *http.Request, a event.Alert) ([]rules.Silence, error) {
	all, err := s.Rules.Silences(r.Context(), false)
	if err != nil {
		return nil, err
	}
	ev := event.Event{Severity: a.Severity, Host: a.Host, Source: a.Source}
	if a.LastEvent != nil {
		ev = *a.LastEvent
	}
	ev.Labels = a.Labels
	labels := rules.MatchLabels(&ev)
	now := s.Clock.Now()
	var out []rules.Silence
	for _, si := range all {
		if si.Matches(labels, now) {
			out = append(out, si)
		}
	}
	return out, nil
}
