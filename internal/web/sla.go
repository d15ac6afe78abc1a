package web

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/steadyhq/steady/internal/calendar"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// The SLA policies: per priority a time to acknowledge and a time to
// resolve, counted on a calendar. Everyone may read them; admins change them.

type slaRow struct {
	incident.Policy
	Calendar string // the calendar in words
	Holidays []string
}

type slaData struct{ Rows []slaRow }

func (s *Server) slaPage(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.Incidents.Policies(r.Context())
	if err != nil {
		return err
	}
	var d slaData
	for _, p := range ps {
		d.Rows = append(d.Rows, slaRow{Policy: p, Calendar: calendarText(p.Calendar), Holidays: holidayLines(p.Calendar.Holidays)})
	}
	return s.render(w, r, http.StatusOK, s.v.sla, view{Title: "SLA policies", Nav: "sla", Data: d})
}

// weekdays are the calendar's day keys, Monday first, with their names.
var weekdays = []option{{"mon", "Mon"}, {"tue", "Tue"}, {"wed", "Wed"}, {"thu", "Thu"}, {"fri", "Fri"}, {"sat", "Sat"}, {"sun", "Sun"}}

// dayRanges returns the hours of a weekday, whether the calendar names it "mon" or "monday".
func dayRanges(c calendar.Calendar, day string) []calendar.Range {
	for k, v := range c.Hours {
		if strings.HasPrefix(strings.ToLower(k), day) {
			return v
		}
	}
	return nil
}

func rangesText(rs []calendar.Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Start + "–" + r.End
	}
	return strings.Join(parts, ", ")
}

// calendarText describes a calendar: "24×7", or "Mon–Fri 09:00–17:00 (Europe/Berlin)".
func calendarText(c calendar.Calendar) string {
	if c.Always {
		return "24×7"
	}
	// Runs of neighbouring days with the same hours read as one: "Mon–Fri 09:00–17:00".
	var parts []string
	for i := 0; i < len(weekdays); {
		hours := rangesText(dayRanges(c, weekdays[i].Value))
		j := i + 1
		for j < len(weekdays) && rangesText(dayRanges(c, weekdays[j].Value)) == hours {
			j++
		}
		if hours != "" {
			days := weekdays[i].Label
			if j-i > 1 {
				days += "–" + weekdays[j-1].Label
			}
			parts = append(parts, days+" "+hours)
		}
		i = j
	}
	tz := c.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	return strings.Join(parts, "; ") + " (" + tz + ")"
}

// holidayLines writes holidays as the form reads them: "2026-12-24 Christmas
// Eve" once, "yearly 12-25 Christmas Day" every year.
func holidayLines(hs []calendar.Holiday) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		line := h.Date
		if h.Yearly && len(h.Date) == len(time.DateOnly) {
			line = "yearly " + h.Date[5:]
		}
		out = append(out, strings.TrimSpace(line+" "+h.Name))
	}
	return out
}

type dayChoice struct {
	Value, Label string
	Checked      bool
}

type slaFormData struct {
	Policy   incident.Policy
	Days     []dayChoice
	Uneven   bool // the calendar's hours differ from day to day: the form will make them equal
	Calendar string
}

func policyOf(ps []incident.Policy, priority string) (incident.Policy, error) {
	for _, p := range ps {
		if p.Priority == priority {
			return p, nil
		}
	}
	return incident.Policy{}, errs.NotFound("there is no SLA policy for %s", priority)
}

func (s *Server) showSLAForm(w http.ResponseWriter, r *http.Request, status int, p incident.Policy, f *form) error {
	d := slaFormData{Policy: p, Calendar: calendarText(p.Calendar)}
	for _, day := range weekdays {
		d.Days = append(d.Days, dayChoice{Value: day.Value, Label: day.Label, Checked: slices.Contains(f.Values["days"], day.Value)})
	}
	if !p.Calendar.Always {
		first := ""
		for _, day := range weekdays {
			rs := rangesText(dayRanges(p.Calendar, day.Value))
			if rs == "" {
				continue
			}
			if first == "" {
				first = rs
			}
			if rs != first || len(dayRanges(p.Calendar, day.Value)) > 1 {
				d.Uneven = true
			}
		}
	}
	return s.render(w, r, status, s.v.slaForm, view{Title: "SLA of " + p.Priority, Nav: "sla", Form: f, Data: d})
}

func (s *Server) slaPolicy(r *http.Request) (incident.Policy, error) {
	ps, err := s.Incidents.Policies(r.Context())
	if err != nil {
		return incident.Policy{}, err
	}
	return policyOf(ps, r.PathValue("priority"))
}

func (s *Server) slaEditPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	p, err := s.slaPolicy(r)
	if err != nil {
		return err
	}
	f := newForm(nil).Set("ack", shortDuration(p.AckSeconds)).Set("resolve", shortDuration(p.ResolveSeconds))
	c := p.Calendar
	f.Set("time_zone", c.TimeZone).Set("start", "09:00").Set("end", "17:00")
	if c.TimeZone == "" {
		f.Set("time_zone", "UTC")
	}
	if c.Always {
		f.Set("mode", "always")
		for _, d := range weekdays[:5] {
			f.Values.Add("days", d.Value)
		}
	} else {
		f.Set("mode", "hours")
		for _, d := range weekdays {
			if rs := dayRanges(c, d.Value); len(rs) > 0 {
				f.Values.Add("days", d.Value)
				f.Set("start", rs[0].Start).Set("end", rs[0].End)
			}
		}
	}
	f.Set("holidays", strings.Join(holidayLines(c.Holidays), "\n"))
	return s.showSLAForm(w, r, http.StatusOK, p, f)
}

func (s *Server) updateSLA(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	cur, err := s.slaPolicy(r)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showSLAForm(w, r, status, cur, f) }
	p := incident.Policy{Priority: cur.Priority}
	var ok bool
	if p.AckSeconds, ok = parseDuration(f.Get("ack")); !ok {
		f.Fail("ack", "must be a duration such as 15m, 4h or 1d 4h")
	}
	if p.ResolveSeconds, ok = parseDuration(f.Get("resolve")); !ok {
		f.Fail("resolve", "must be a duration such as 15m, 4h or 1d 4h")
	}
	c := calendar.Calendar{TimeZone: f.Get("time_zone")}
	switch f.Get("mode") {
	case "always":
		c.Name, c.Always = "24x7", true
	case "hours":
		c.Name, c.Hours = "business hours", map[string][]calendar.Range{}
		if !clockRe.MatchString(f.Get("start")) {
			f.Fail("start", "must be a time of day such as 09:00")
		}
		if !clockRe.MatchString(f.Get("end")) && f.Get("end") != "24:00" {
			f.Fail("end", "must be a time of day such as 17:00")
		} else if f.Get("end") == f.Get("start") {
			f.Fail("end", "must differ from the start")
		}
		days := f.Values["days"]
		if len(days) == 0 {
			f.Fail("days", "must include at least one day")
		}
		for _, d := range days {
			if !slices.ContainsFunc(weekdays, func(o option) bool { return o.Value == d }) {
				f.Fail("days", "must be days of the week")
				continue
			}
			c.Hours[d] = []calendar.Range{{Start: f.Get("start"), End: f.Get("end")}}
		}
	default:
		f.Fail("mode", "must be around the clock or working hours")
	}
	for i, line := range strings.Split(f.Value("holidays"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		h, ok := parseHoliday(line)
		if !ok {
			f.Fail("holidays", fmt.Sprintf("line %d must read YYYY-MM-DD Name, or yearly MM-DD Name", i+1))
			continue
		}
		c.Holidays = append(c.Holidays, h)
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	p.Calendar = c
	out, err := s.Incidents.SetPolicy(r.Context(), p)
	if err != nil {
		return s.retry(w, r, foldFields(err, map[string]string{"ack_seconds": "ack", "resolve_seconds": "resolve",
			"calendar.time_zone": "time_zone", "calendar.hours": "start", "calendar.holidays": "holidays"}), f, nil, show)
	}
	return s.done(w, r, "/sla", "Saved the SLA of %s: acknowledge within %s, resolve within %s. Open incidents keep the targets they started with.",
		out.Priority, shortDuration(out.AckSeconds), shortDuration(out.ResolveSeconds))
}

// clockRe is a time of day, "HH:MM".
var clockRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// parseHoliday reads "2026-12-24 Christmas Eve" or "yearly 12-25 Christmas Day".
func parseHoliday(line string) (calendar.Holiday, bool) {
	var h calendar.Holiday
	date, name, _ := strings.Cut(line, " ")
	if strings.EqualFold(date, "yearly") {
		h.Yearly = true
		rest := strings.TrimSpace(name)
		date, name, _ = strings.Cut(rest, " ")
		date = "2000-" + date // a leap year, so that 02-29 is a date
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return h, false
	}
	h.Date, h.Name = date, strings.TrimSpace(name)
	return h, true
}

// parseDuration reads a duration in seconds: "90" or "90s", "15m", "4h",
// "3d", and sums such as "1d 4h" or "1h30m".
func parseDuration(v string) (int64, bool) {
	v = strings.ToLower(strings.ReplaceAll(v, " ", ""))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, n >= 0
	}
	var total int64
	for v != "" {
		i := strings.IndexFunc(v, func(r rune) bool { return !unicode.IsDigit(r) })
		if i <= 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(v[:i], 10, 64)
		if err != nil || n > 1e7 {
			return 0, false
		}
		unit := map[byte]int64{'d': 86400, 'h': 3600, 'm': 60, 's': 1}[v[i]]
		if unit == 0 {
			return 0, false
		}
		total += n * unit
		v = v[i+1:]
	}
	return total, true
}

// shortDuration writes seconds as parseDuration reads them: "1d 4h", "15m".
func shortDuration(sec int64) string {
	if sec <= 0 {
		return "0s"
	}
	var parts []string
	for _, u := range []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if sec >= u.n {
			parts = append(parts, strconv.FormatInt(sec/u.n, 10)+u.name)
			sec %= u.n
		}
	}
	return strings.Join(parts, " ")
}
