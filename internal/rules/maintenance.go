package rules

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones must load where the system has no zoneinfo

	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// MaxWindowDuration is the longest a maintenance window occurrence may last.
const MaxWindowDuration = 7 * 24 * time.Hour

// MaintenanceWindow is a period during which events of the services (or
// labels) in its scope are recorded but page nobody.
//
// A one-off window runs from StartsAt to EndsAt. A recurring window
// (Recurrence set, StartsAt and EndsAt zero) starts at a local time of day
// on given days of the week, in TimeZone, and lasts a fixed duration.
//
// The scope is ServiceIDs and Matchers: the window applies to an event of
// one of the listed services, or whose labels match all the matchers.
//
// Decoding from JSON, or calling Prepare, parses the time zone and schedule
// once; a window built otherwise parses them at every call (correct but
// slower). Call Prepare again after changing a prepared window.
type MaintenanceWindow struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// TimeZone is an IANA name such as Europe/Berlin; "" means UTC and is
	// allowed only for one-off windows.
	TimeZone   string      `json:"time_zone"`
	StartsAt   time.Time   `json:"starts_at"`
	EndsAt     time.Time   `json:"ends_at"`
	Recurrence *Recurrence `json:"recurrence"`
	ServiceIDs []int64     `json:"service_ids"`
	Matchers   Matchers    `json:"matchers"`

	prep *schedule
}

// Recurrence is a weekly schedule in the window's time zone.
//
// An occurrence starts at StartTime on each of Days (local time) and lasts
// DurationMinutes of elapsed time, so across a DST change the local end time
// moves by the hour gained or lost. When StartTime does not exist on a day
// (the clocks jump over it) the occurrence starts at the first instant after
// the jump; when it happens twice (the clocks go back) the first one counts.
type Recurrence struct {
	// Days are "mon", "tue", "wed", "thu", "fri", "sat", "sun" (full names are
	// accepted too).
	Days []string `json:"days"`
	// StartTime is the local time of day, "HH:MM" (24-hour).
	StartTime       string `json:"start_time"`
	DurationMinutes int    `json:"duration_minutes"`
	// From and Until are local dates, "YYYY-MM-DD", bounding the days on which
	// occurrences start (both inclusive); "" leaves that side open.
	From  string `json:"from"`
	Until string `json:"until"`
}

// schedule is the parsed form of a window.
type schedule struct {
	loc       *time.Location
	recurring bool
	days      uint8 // bit i set: weekday i (Sunday = 0)
	minute    int   // minutes after local midnight
	dur       time.Duration
	from      int64 // day number (days since 1970-01-01), or minDay
	until     int64 // day number, or maxDay
	err       error
}

const (
	minDay = -1 << 40
	maxDay = 1 << 40
)

// UnmarshalJSON decodes a window and prepares its schedule.
func (w *MaintenanceWindow) UnmarshalJSON(b []byte) error {
	type plain MaintenanceWindow
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*w = MaintenanceWindow(p)
	w.prep = nil
	_ = w.Prepare()
	return nil
}

// Prepare parses the time zone and schedule once, so that ActiveAt and the
// other methods need not. It returns the problems that Validate would report
// about them; a window that does not prepare is never active.
func (w *MaintenanceWindow) Prepare() error {
	var f errs.Fields
	s := w.parse(&f)
	w.prep = s
	return f.Err()
}

func (w *MaintenanceWindow) schedule() *schedule {
	if w.prep != nil {
		return w.prep
	}
	var f errs.Fields
	return w.parse(&f)
}

// parse reads the time zone and schedule, adding problems to f. The result
// carries an error when there were any.
func (w *MaintenanceWindow) parse(f *errs.Fields) *schedule {
	n := len(*f)
	s := &schedule{}
	tz := w.TimeZone
	switch {
	case tz == "" && w.Recurrence != nil:
		f.Add("time_zone", "is required for a recurring window")
	case tz == "Local":
		f.Add("time_zone", "must name a time zone such as Europe/Berlin, not Local")
	case tz == "":
		s.loc = time.UTC
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			f.Add("time_zone", "is not a known time zone: "+clipText(tz, 60))
		} else {
			s.loc = loc
		}
	}
	if r := w.Recurrence; r != nil {
		s.recurring = true
		if len(r.Days) == 0 {
			f.Add("recurrence.days", "at least one day is required")
		}
		for _, d := range r.Days {
			wd, ok := parseWeekday(d)
			if !ok {
				f.Add("recurrence.days", fmt.Sprintf("%q is not a day of the week (mon … sun)", clipText(d, 20)))
				continue
			}
			s.days |= 1 << wd
		}
		if m, ok := parseClock(r.StartTime); ok {
			s.minute = m
		} else {
			f.Add("recurrence.start_time", `must be a time of day "HH:MM", 00:00 to 23:59`)
		}
		s.dur = time.Duration(r.DurationMinutes) * time.Minute
		f.Check(r.DurationMinutes <= 0 || s.dur > MaxWindowDuration, "recurrence.duration_minutes",
			fmt.Sprintf("must be from 1 to %d (7 days)", int(MaxWindowDuration/time.Minute)))
		s.from, s.until = minDay, maxDay
		if r.From != "" {
			if d, ok := parseDate(r.From); ok {
				s.from = d
			} else {
				f.Add("recurrence.from", `must be a date "YYYY-MM-DD"`)
			}
		}
		if r.Until != "" {
			if d, ok := parseDate(r.Until); ok {
				s.until = d
			} else {
				f.Add("recurrence.until", `must be a date "YYYY-MM-DD"`)
			}
		}
		f.Check(s.from != minDay && s.until != maxDay && s.until < s.from, "recurrence.until", "must not be before from")
		f.Check(!w.StartsAt.IsZero(), "starts_at", "must be empty for a recurring window")
		f.Check(!w.EndsAt.IsZero(), "ends_at", "must be empty for a recurring window")
	} else {
		f.Check(w.StartsAt.IsZero(), "starts_at", "is required (or a recurrence)")
		f.Check(w.EndsAt.IsZero(), "ends_at", "is required (or a recurrence)")
		f.Check(!w.StartsAt.IsZero() && !w.EndsAt.IsZero() && !w.EndsAt.After(w.StartsAt), "ends_at", "must be after starts_at")
	}
	if len(*f) > n {
		s.err = fmt.Errorf("invalid schedule")
	}
	return s
}

// Validate checks a window and names every invalid field.
func (w MaintenanceWindow) Validate() error {
	var f errs.Fields
	f.Check(strings.TrimSpace(w.Name) == "", "name", "is required")
	f.Check(len(w.Name) > 200, "name", "must be at most 200 characters")
	f.Text("name", w.Name)
	f.Check(len(w.Description) > MaxComment, "description", "must be at most 2000 characters")
	f.Text("description", w.Description)
	w.parse(&f)
	f.Check(len(w.ServiceIDs) == 0 && len(w.Matchers) == 0, "service_ids", "a window needs services or matchers (or both)")
	f.Check(len(w.ServiceIDs) > 1000, "service_ids", "must list at most 1000 services")
	for _, id := range w.ServiceIDs {
		if id <= 0 {
			f.Add("service_ids", "must hold service ids")
			break
		}
	}
	if len(w.Matchers) > 0 {
		n := len(f)
		w.Matchers.check(&f, "matchers")
		f.Check(len(f) == n && w.Matchers.MatchesEverything(), "matchers",
			"at least one matcher must not match the empty string (the window would cover every alert)")
	}
	return f.Err()
}

// Recurring reports whether the window follows a weekly schedule.
func (w *MaintenanceWindow) Recurring() bool { return w.Recurrence != nil }

// Applies reports whether an event of serviceID with labels is in the
// window's scope (at any time).
func (w *MaintenanceWindow) Applies(serviceID int64, labels map[string]string) bool {
	if serviceID != 0 && slices.Contains(w.ServiceIDs, serviceID) {
		return true
	}
	return len(w.Matchers) > 0 && w.Matchers.Matches(labels)
}

// Matches reports whether the window is active at t and applies to the event.
func (w *MaintenanceWindow) Matches(serviceID int64, labels map[string]string, t time.Time) bool {
	return w.Applies(serviceID, labels) && w.ActiveAt(t)
}

// ActiveAt reports whether t falls in the window (or one of its occurrences).
func (w *MaintenanceWindow) ActiveAt(t time.Time) bool {
	s := w.schedule()
	if s.err != nil {
		return false
	}
	if !s.recurring {
		return !t.Before(w.StartsAt) && t.Before(w.EndsAt)
	}
	today := clock.DayOf(t.In(s.loc))
	back := int64(s.dur/(24*time.Hour)) + 1
	for d := today - back; d <= today+1; d++ {
		if !s.occursOn(d) {
			continue
		}
		start := s.start(d)
		if !t.Before(start) && t.Before(start.Add(s.dur)) {
			return true
		}
	}
	return false
}

// maxMerge bounds how many back-to-back occurrences NextStart and NextEnd
// look through.
const maxMerge = 400

// NextStart returns when the window next becomes active after t; ok is
// false when it never does. Occurrences that overlap or touch form one
// period, so while a period lasts the next start is that of the following
// period, and a window that covers all time from t on has none.
func (w *MaintenanceWindow) NextStart(t time.Time) (time.Time, bool) {
	s := w.schedule()
	if s.err != nil {
		return time.Time{}, false
	}
	if !s.recurring {
		if w.StartsAt.After(t) {
			return w.StartsAt, true
		}
		return time.Time{}, false
	}
	d := clock.DayOf(t.In(s.loc)) - 1
	for range maxMerge {
		var ok bool
		if d, ok = s.nextDay(d); !ok {
			return time.Time{}, false
		}
		if start := s.start(d); start.After(t) && !w.ActiveAt(start.Add(-time.Nanosecond)) {
			return start, true
		}
		d++
	}
	return time.Time{}, false
}

// NextEnd returns when the window next stops being active after t: the end
// of the current period when it is active at t, else the end of the next
// period (occurrences that overlap or touch form one period); ok is false
// when there is none.
func (w *MaintenanceWindow) NextEnd(t time.Time) (time.Time, bool) {
	s := w.schedule()
	if s.err != nil {
		return time.Time{}, false
	}
	if !s.recurring {
		if w.EndsAt.After(t) {
			return w.EndsAt, true
		}
		return time.Time{}, false
	}
	// The first occurrence that ends after t: it holds t, or is the next one.
	d := clock.DayOf(t.In(s.loc)) - int64(s.dur/(24*time.Hour)) - 2
	var end time.Time
	for range 20 {
		var ok bool
		if d, ok = s.nextDay(d); !ok {
			return time.Time{}, false
		}
		if e := s.start(d).Add(s.dur); e.After(t) {
			end = e
			break
		}
		d++
	}
	if end.IsZero() {
		return time.Time{}, false
	}
	// Join the occurrences that start before the period ends.
	for range maxMerge {
		next, ok := s.nextDay(d + 1)
		if !ok {
			break
		}
		start := s.start(next)
		if start.After(end) {
			break
		}
		d, end = next, start.Add(s.dur)
	}
	return end, true
}

// nextDay returns the first day from d on on which an occurrence starts.
func (s *schedule) nextDay(d int64) (int64, bool) {
	d = max(d, s.from)
	for i := int64(0); i < 7; i++ {
		if d+i > s.until {
			return 0, false
		}
		if s.occursOn(d + i) {
			return d + i, true
		}
	}
	return 0, false
}

func (s *schedule) occursOn(d int64) bool {
	return d >= s.from && d <= s.until && s.days&(1<<clock.WeekdayOf(d)) != 0
}

// start is the instant at which an occurrence starting on local day d begins.
func (s *schedule) start(d int64) time.Time {
	return localInstant(d, s.minute, s.loc)
}

// localInstant resolves a local date and time of day in loc to an instant
// (see clock.LocalUnix for skipped and repeated times).
func localInstant(day int64, minute int, loc *time.Location) time.Time {
	return time.Unix(clock.LocalUnix(day, minute, loc), 0).In(loc)
}

func parseWeekday(s string) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, name := range [7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"} {
		if s == name || s == name[:3] {
			return i, true
		}
	}
	return 0, false
}

// parseClock reads "HH:MM" as minutes after midnight.
func parseClock(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

func parseDate(s string) (int64, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return t.Unix() / 86400, true
}
