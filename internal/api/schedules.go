package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// On-call schedules: CRUD (PUT replaces the layers, with If-Match), the
// computed timeline, who is on call, overrides, and the keys of the
// iCalendar feeds. The feeds themselves are served by the UI at
// /feeds/<key>.ics, where calendar apps can reach them without a token.

// defaultWindow is the range of a timeline asked for without from and to.
const defaultWindow = 14 * 24 * time.Hour

// queryTime reads an optional RFC 3339 time from the query.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errs.Invalid(name, "must be an RFC 3339 time such as 2026-11-02T09:00:00Z")
	}
	return t.UTC(), nil
}

// rangeOf reads ?from= and ?to=; from defaults to now, to to 14 days after from.
func (s *Server) rangeOf(r *http.Request) (time.Time, time.Time, error) {
	from, err := queryTime(r, "from")
	if err != nil {
		return from, from, err
	}
	to, err := queryTime(r, "to")
	if err != nil {
		return from, to, err
	}
	if from.IsZero() {
		from = s.Clock.Now().UTC().Truncate(time.Minute)
	}
	if to.IsZero() {
		to = from.Add(defaultWindow)
	}
	return from, to, nil
}

// atOf reads ?at=, now when absent.
func (s *Server) atOf(r *http.Request) (time.Time, error) {
	at, err := queryTime(r, "at")
	if err == nil && at.IsZero() {
		at = s.Clock.Now().UTC()
	}
	return at, err
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	team, err := queryID(r, "team")
	if err != nil {
		return err
	}
	l, err := s.Schedules.List(r.Context(), oncall.Filter{Query: r.URL.Query().Get("q"), TeamID: team}, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) scheduleShifts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	from, to, err := s.rangeOf(r)
	if err != nil {
		return err
	}
	out, err := s.Schedules.Timeline(r.Context(), id, from, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) scheduleOnCall(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	at, err := s.atOf(r)
	if err != nil {
		return err
	}
	out, err := s.Schedules.Now(r.Context(), id, at)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) onCallNow(w http.ResponseWriter, r *http.Request) error {
	at, err := s.atOf(r)
	if err != nil {
		return err
	}
	l, err := s.Schedules.AllNow(r.Context(), at)
	return list(w, l, err)
}

func (s *Server) userShifts(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	from, to, err := s.rangeOf(r)
	if err != nil {
		return err
	}
	l, err := s.Schedules.UserShifts(r.Context(), id, from, to)
	return list(w, l, err)
}

func (s *Server) listOverrides(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	from, err := queryTime(r, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(r, "to")
	if err != nil {
		return err
	}
	if from.IsZero() {
		from = s.Clock.Now().UTC()
	}
	if to.IsZero() {
		to = from.Add(100 * 365 * 24 * time.Hour)
	}
	if !to.After(from) {
		return errs.Invalid("to", "must be after from")
	}
	l, err := s.Schedules.Overrides(r.Context(), id, from, to)
	return list(w, l, err)
}

func (s *Server) createOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in oncall.OverrideInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.Schedules.CreateOverride(r.Context(), id, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/schedules/"+itoa(id)+"/overrides/"+itoa(out.ID))
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) deleteOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	oid, err := pathID(r, "override_id")
	if err != nil {
		return err
	}
	if err := s.Schedules.DeleteOverride(r.Context(), id, oid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// feedTarget reads the {id} of a schedule or a user ("me" for the caller).
func (s *Server) feedTarget(r *http.Request, kind string) (int64, error) {
	if kind == oncall.FeedUser {
		return s.userID(r)
	}
	return pathID(r, "id")
}

// feedURL is the absolute URL of a feed path, as the caller reached this server.
func feedURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

func (s *Server) feedInfo(kind string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.feedTarget(r, kind)
		if err != nil {
			return err
		}
		out, err := s.Schedules.FeedInfo(r.Context(), kind, id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) rotateFeed(kind string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.feedTarget(r, kind)
		if err != nil {
			return err
		}
		out, err := s.Schedules.RotateFeed(r.Context(), kind, id)
		if err != nil {
			return err
		}
		out.URL = feedURL(r, out.Path)
		w.Header().Set("Cache-Control", "no-store")
		return writeJSON(w, http.StatusCreated, out)
	}
}

func (s *Server) revokeFeed(kind string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.feedTarget(r, kind)
		if err != nil {
			return err
		}
		if err := s.Schedules.RevokeFeed(r.Context(), kind, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) scheduleFeedInfo(w http.ResponseWriter, r *http.Request) error {
	return s.feedInfo(oncall.FeedSchedule)(w, r)
}

func (s *Server) rotateScheduleFeed(w http.ResponseWriter, r *http.Request) error {
	return s.rotateFeed(oncall.FeedSchedule)(w, r)
}

func (s *Server) revokeScheduleFeed(w http.ResponseWriter, r *http.Request) error {
	return s.revokeFeed(oncall.FeedSchedule)(w, r)
}

func (s *Server) userFeedInfo(w http.ResponseWriter, r *http.Request) error {
	return s.feedInfo(oncall.FeedUser)(w, r)
}

func (s *Server) rotateUserFeed(w http.ResponseWriter, r *http.Request) error {
	return s.rotateFeed(oncall.FeedUser)(w, r)
}

func (s *Server) revokeUserFeed(w http.ResponseWriter, r *http.Request) error {
	return s.revokeFeed(oncall.FeedUser)(w, r)
}

func scheduleRef(x oncall.Schedule) (id, version int64) { return x.ID, x.Version }
