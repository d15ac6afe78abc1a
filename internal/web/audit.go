package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// auditRow is an audit entry with links to filter by its actor and object,
// and to the object's own page when it has one.
type auditRow struct {
	audit.Entry
	ActorLink, ObjectLink, ObjectPage string
}

type auditData struct {
	Entries  []auditRow
	Pager    pager
	Filtered bool
}

func auditRows(es []audit.Entry) []auditRow {
	out := make([]auditRow, 0, len(es))
	for _, e := range es {
		row := auditRow{Entry: e,
			ActorLink:  "/audit?" + url.Values{"actor": {e.ActorID}}.Encode(),
			ObjectLink: "/audit?" + url.Values{"object_type": {e.ObjectType}, "object_id": {e.ObjectID}}.Encode(),
		}
		switch e.ObjectType {
		case "user", "team":
			if e.Action != e.ObjectType+".delete" && !strings.Contains(e.ObjectID, "@") {
				row.ObjectPage = "/" + e.ObjectType + "s/" + url.PathEscape(e.ObjectID)
			}
		}
		out = append(out, row)
	}
	return out
}

// parseUTC reads a time from a filter field: what a datetime-local input
// sends (taken as UTC), a date, or RFC 3339. A bare date as an end means the
// end of that day.
func parseUTC(v string, end bool) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t.UTC(), true
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", v, time.UTC); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	return time.Time{}, false
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	// The audit log has no access rules of its own; the API grants it to
	// managers and admins, and so does this page.
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	f := newForm(r.URL.Query())
	var d auditData
	show := func(status int, f *form) error {
		return s.render(w, r, status, s.v.audit, view{Title: "Audit trail", Nav: "audit", Form: f, Data: d})
	}
	filter := audit.Filter{ActorID: f.Get("actor"), Action: f.Get("action"), ObjectType: f.Get("object_type"), ObjectID: f.Get("object_id")}
	if strings.Contains(filter.ActorID, "@") {
		u, err := s.userByEmail(r, filter.ActorID)
		switch {
		case errs.Is(err, errs.KindInvalid):
			f.Fail("actor", "names no user; give a user's email or an actor id")
		case err != nil:
			return err
		default:
			filter.ActorID = itoa(u.ID)
		}
	}
	for _, b := range []struct {
		name string
		dst  **time.Time
		end  bool
	}{{"since", &filter.Since, false}, {"until", &filter.Until, true}} {
		if v := f.Get(b.name); v != "" {
			t, ok := parseUTC(v, b.end)
			if !ok {
				f.Fail(b.name, "must be a date and time such as 2026-01-02T15:04 (UTC)")
				continue
			}
			*b.dst = &t
		}
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	l, err := s.Audit.List(r.Context(), filter, p)
	if err != nil {
		return err
	}
	d = auditData{Entries: auditRows(l.Items), Pager: pagerOf(r, l.Next), Filtered: filter != (audit.Filter{})}
	return show(http.StatusOK, f)
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	res, err := audit.Verify(r.Context(), s.Audit.DB)
	if err != nil {
		return err
	}
	if !res.OK {
		s.setFlash(w, r, "error", "The audit trail is broken at entry "+itoa(res.BrokenAt)+": "+res.Problem+
			". Entries before it ("+itoa(res.Checked)+") are intact.")
		return redirect(w, r, "/audit")
	}
	return s.done(w, r, "/audit", "The audit trail is intact: all %d entries match their hashes.", res.Checked)
}
