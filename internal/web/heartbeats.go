package web

import (
	"net/http"
	"strconv"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/heartbeat"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// Heartbeats. Everyone signed in sees them; managers create, change, pause,
// resume, rotate and delete them. The monitor decides who may do what: these
// pages only leave out the forms a role cannot use.

// heartbeatRow is a heartbeat as the pages show it.
type heartbeatRow struct {
	heartbeat.Heartbeat
	Every, Grace string // interval and grace in words: "5m", "1h 30m"
}

func rowOf(h heartbeat.Heartbeat) heartbeatRow {
	return heartbeatRow{Heartbeat: h, Every: shortDuration(int64(h.IntervalSeconds)), Grace: shortDuration(int64(h.GraceSeconds))}
}

type heartbeatsData struct {
	Rows     []heartbeatRow
	Pager    pager
	Filtered bool
	Services []option
	Statuses []option
}

func heartbeatStatusOptions(none string) []option {
	return []option{{"", none}, {"up", "Up"}, {"down", "Down"}, {"new", "New"}, {"paused", "Paused"}}
}

func (s *Server) heartbeatsPage(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.URL.Query())
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	d := heartbeatsData{Statuses: heartbeatStatusOptions("Any status")}
	show := func(status int, f *form) error {
		return s.render(w, r, status, s.v.heartbeats, view{Title: "Heartbeats", Nav: "heartbeats", Form: f, Data: d})
	}
	if _, d.Services, err = s.serviceChoices(r, "Any service"); err != nil {
		return err
	}
	svc, ok := optionalID(f.Value("service"))
	if !ok {
		f.Fail("service", "must be one of the listed services")
		return invalid(f, show)
	}
	l, err := s.Heartbeats.List(r.Context(), heartbeat.Filter{ServiceID: svc, Status: heartbeat.Status(f.Get("status"))}, p)
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	for _, h := range l.Items {
		d.Rows = append(d.Rows, rowOf(h))
	}
	d.Pager, d.Filtered = pagerOf(r, l.Next), svc != 0 || f.Get("status") != ""
	return show(http.StatusOK, f)
}

// The new-heartbeat page and a heartbeat's own page (with its edit form for
// managers).

type heartbeatFormData struct {
	Heartbeat *heartbeatRow // nil for a new one
	Services  []option
	// Alerts are the latest alerts the heartbeat raised.
	Alerts []event.Alert
}

// heartbeatAlerts is how many of its latest alerts a heartbeat's page shows.
const heartbeatAlerts = 10

func (s *Server) showHeartbeatForm(w http.ResponseWriter, r *http.Request, status int, h *heartbeat.Heartbeat, f *form) error {
	_, opts, err := s.serviceChoices(r, "")
	if err != nil {
		return err
	}
	d := heartbeatFormData{Services: opts}
	title := "New heartbeat"
	if h != nil {
		row := rowOf(*h)
		d.Heartbeat, title = &row, h.Name
		l, err := s.Incidents.ListAlerts(r.Context(), event.AlertFilter{DedupKey: h.DedupKey()}, page.Request{Limit: heartbeatAlerts})
		if err != nil {
			return err
		}
		d.Alerts = l.Items
	}
	return s.render(w, r, status, s.v.heartbeatForm, view{Title: title, Nav: "heartbeats", Form: f, Data: d})
}

func fillHeartbeatForm(f *form, h heartbeat.Heartbeat) *form {
	return f.Set("service", itoa(h.ServiceID)).Set("name", h.Name).Set("interval", shortDuration(int64(h.IntervalSeconds))).
		Set("grace", shortDuration(int64(h.GraceSeconds))).Set("version", itoa(h.Version))
}

// heartbeatFields reads the heartbeat form; what is wrong is marked on f.
func heartbeatFields(f *form) heartbeat.Fields {
	name := f.Get("name")
	if name == "" {
		f.Fail("name", "is required")
	}
	out := heartbeat.Fields{Name: &name}
	svc, ok := optionalID(f.Value("service"))
	if !ok || svc == 0 {
		f.Fail("service", "must be one of the listed services")
	}
	out.ServiceID = &svc
	for _, d := range []struct {
		name string
		dst  **int
	}{{"interval", &out.IntervalSeconds}, {"grace", &out.GraceSeconds}} {
		v := f.Get(d.name)
		if v == "" && d.name == "grace" {
			v = "0" // as the field's hint says: empty is none
		}
		if v == "" {
			f.Fail(d.name, "is required")
			continue
		}
		sec, ok := parseDuration(v)
		if !ok || sec > 1<<31-1 {
			f.Fail(d.name, "must be a duration such as 90s, 5m, 1h or 1d")
			continue
		}
		n := int(sec)
		*d.dst = &n
	}
	return out
}

// heartbeatRename maps the monitor's field names to the form's.
var heartbeatRename = map[string]string{"service_id": "service", "interval_seconds": "interval", "grace_seconds": "grace"}

// heartbeatCreatedData is a heartbeat with its key, shown once.
type heartbeatCreatedData struct {
	heartbeat.Created
	URL          string // the full beat URL
	Every, Grace string
	Rotated      bool
}

func (s *Server) showHeartbeatKey(w http.ResponseWriter, r *http.Request, status int, c heartbeat.Created, rotated bool) error {
	// The key is shown on this answer and never again: no redirect could
	// carry it without storing it somewhere.
	w.Header().Set("Cache-Control", "no-store")
	row := rowOf(c.Heartbeat)
	d := heartbeatCreatedData{Created: c, URL: baseURL(r) + c.BeatPath, Every: row.Every, Grace: row.Grace, Rotated: rotated}
	return s.render(w, r, status, s.v.heartbeatCreated, view{Title: c.Name, Nav: "heartbeats", Data: d})
}

func (s *Server) newHeartbeatPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(nil).Set("interval", "5m").Set("grace", "1m")
	if svc, ok := optionalID(r.URL.Query().Get("service")); ok && svc != 0 {
		f.Set("service", itoa(svc))
	}
	return s.showHeartbeatForm(w, r, http.StatusOK, nil, f)
}

func (s *Server) createHeartbeat(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showHeartbeatForm(w, r, status, nil, f) }
	fields := heartbeatFields(f)
	if f.Invalid() {
		return invalid(f, show)
	}
	c, err := s.Heartbeats.Create(r.Context(), fields)
	if err != nil {
		return s.retry(w, r, err, f, heartbeatRename, show)
	}
	return s.showHeartbeatKey(w, r, http.StatusCreated, c, false)
}

func (s *Server) heartbeatPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	h, err := s.Heartbeats.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return s.showHeartbeatForm(w, r, http.StatusOK, &h, fillHeartbeatForm(newForm(nil), h))
}

func (s *Server) updateHeartbeat(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cur, err := s.Heartbeats.Get(ctx, id)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	version, err := strconv.ParseInt(f.Get("version"), 10, 64)
	if err != nil || version < 1 {
		return errs.Invalid("version", "is missing; reload the page")
	}
	show := func(status int, f *form) error { return s.showHeartbeatForm(w, r, status, &cur, f) }
	fields := heartbeatFields(f)
	if f.Invalid() {
		return invalid(f, show)
	}
	h, err := s.Heartbeats.Update(ctx, id, fields, version)
	if err != nil {
		return s.retry(w, r, err, f, heartbeatRename, func(status int, f *form) error {
			if errs.Is(err, errs.KindPreconditionFailed) {
				if cur, err = s.Heartbeats.Get(ctx, id); err != nil {
					return err
				}
				// Saving again will overwrite the other change, knowingly.
				f.Message = "Someone changed this heartbeat while you were editing it. Check your changes and save again to overwrite theirs."
				f.Set("version", itoa(cur.Version))
			}
			return show(status, f)
		})
	}
	return s.done(w, r, "/heartbeats/"+itoa(id), "Saved the heartbeat %s.", h.Name)
}

// heartbeatAction runs a manager's one-button action on a heartbeat.
func (s *Server) heartbeatAction(w http.ResponseWriter, r *http.Request, act func(id int64) (string, error)) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	msg, err := act(id)
	if err != nil {
		return err
	}
	to := "/heartbeats"
	if r.PostForm.Get("back") == "page" {
		to += "/" + itoa(id)
	}
	return s.done(w, r, to, "%s", msg)
}

func (s *Server) pauseHeartbeat(w http.ResponseWriter, r *http.Request) error {
	return s.heartbeatAction(w, r, func(id int64) (string, error) {
		h, err := s.Heartbeats.Pause(r.Context(), id)
		return "Paused the heartbeat " + h.Name + ". It is not checked until it is resumed.", err
	})
}

func (s *Server) resumeHeartbeat(w http.ResponseWriter, r *http.Request) error {
	return s.heartbeatAction(w, r, func(id int64) (string, error) {
		h, err := s.Heartbeats.Resume(r.Context(), id)
		return "Resumed the heartbeat " + h.Name + ".", err
	})
}

func (s *Server) deleteHeartbeat(w http.ResponseWriter, r *http.Request) error {
	return s.heartbeatAction(w, r, func(id int64) (string, error) {
		h, err := s.Heartbeats.Get(r.Context(), id)
		if err != nil {
			return "", err
		}
		r.PostForm.Del("back") // its page is gone
		return "Deleted the heartbeat " + h.Name + ".", s.Heartbeats.Delete(r.Context(), id)
	})
}

func (s *Server) rotateHeartbeatKey(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.Heartbeats.RotateKey(r.Context(), id)
	if err != nil {
		return err
	}
	return s.showHeartbeatKey(w, r, http.StatusOK, c, true)
}
