// Package calendar holds business-hours calendars, the SLA stopwatch that
// counts working time across pauses, and the ITIL impact × urgency priority
// matrix. It is pure logic: no database, no HTTP.
//
// A Calendar says when the clock of an SLA runs: always (24×7) or during
// weekly working hours in a time zone, minus holidays. WorkingBetween measures
// working time and Add finds the deadline that lies a given amount of working
// time ahead; both walk the calendar a day and a working range at a time, so a
// year of working time costs a few hundred steps.
//
// # Local time
//
// Working hours are wall-clock times in the calendar's time zone. A range
// runs from its start to its end on the local clock, so its length in elapsed
// time follows the clocks: 09:00–17:00 is 8 hours every day, DST days
// included, but 00:00–06:00 is 5 hours on the night the clocks go forward and
// 7 on the night they go back. A boundary that the clocks skip (02:30 when
// they jump from 02:00 to 03:00) resolves to the first instant after the
// jump; one that happens twice (02:30 when they go back from 03:00 to 02:00)
// to the first occurrence. A 24×7 calendar counts real elapsed time: its
// local days last 23 or 25 hours across a change.
//
// A range whose end is not after its start crosses midnight: 22:00–06:00 on
// Monday runs until 06:00 on Tuesday. Ranges that overlap or touch are joined.
//
// A holiday makes its whole local day, midnight to midnight, non-working:
// the part of an overnight range that falls on the holiday does not count,
// the part on the neighbouring working day does.
package calendar

import (
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // time zones must load where the system has no zoneinfo
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Limits on a calendar's size.
const (
	MaxRangesPerDay = 48
	MaxHolidays     = 1000
	maxName         = 200
)

// horizonDays bounds how far Add and NextWorking look ahead (about 100
// years), so that a calendar whose holidays leave no working time cannot
// make them loop forever.
const horizonDays = 36525

// Calendar is the working time of an SLA: every instant (Always, "24×7") or
// the weekly Hours in TimeZone, minus Holidays (which apply to 24×7 calendars
// too).
//
// Decoding from JSON, or calling Prepare, loads the time zone and parses the
// hours once; a calendar built otherwise parses them at every call (correct
// but slow). Call Prepare again after changing a prepared calendar. An invalid
// calendar has no working time: IsWorking is false, WorkingBetween is 0 and
// Add and NextWorking return the zero time. A prepared calendar is safe for
// concurrent use.
type Calendar struct {
	Name string `json:"name"`
	// TimeZone is an IANA name such as Europe/Berlin. It may be empty (UTC)
	// only for a 24×7 calendar without holidays.
	TimeZone string `json:"time_zone"`
	// Always makes every instant working time (24×7); Hours must be empty.
	Always bool `json:"always"`
	// Hours maps a day of the week ("mon" … "sun"; full names are accepted
	// too) to its working ranges.
	Hours    map[string][]Range `json:"hours"`
	Holidays []Holiday          `json:"holidays"`

	prep *prepared
}

// Range is working time on one day, from Start to End, both local "HH:MM"
// (24-hour). End may be "24:00" (midnight at the end of the day); an End that
// is not after Start is on the next day, so "22:00"–"06:00" is a night shift.
type Range struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Holiday is a non-working local day: Date "YYYY-MM-DD", or, when Yearly,
// that month and day in every year (a yearly 29 February only in leap years).
type Holiday struct {
	Date   string `json:"date"`
	Name   string `json:"name"`
	Yearly bool   `json:"yearly"`
}

// TwentyFourSeven returns the prepared 24×7 calendar (UTC, no holidays):
// every instant is working time.
func TwentyFourSeven() *Calendar {
	c := &Calendar{Name: "24x7", Always: true}
	_ = c.Prepare()
	return c
}

// BusinessHours returns a prepared calendar of Monday to Friday, 09:00–17:00
// in tz, without holidays. When tz is not a known time zone the calendar is
// invalid: Validate and Prepare name time_zone.
func BusinessHours(tz string) *Calendar {
	day := []Range{{Start: "09:00", End: "17:00"}}
	c := &Calendar{Name: "Business hours", TimeZone: tz, Hours: map[string][]Range{
		"mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
	}}
	_ = c.Prepare()
	return c
}

// prepared is the parsed form of a calendar.
type prepared struct {
	loc *time.Location
	// plain: every instant works (24×7 without holidays).
	plain bool
	// week holds the working minutes of each local weekday (Sunday = 0),
	// sorted and joined, within [0, 1440]; it includes the part of the
	// previous day's overnight ranges that falls after midnight.
	week      [7][]span
	fixed     map[int64]bool // holidays by day number
	yearly    [13][32]bool   // yearly holidays by month and day
	hasYearly bool
	err       error
}

// span is [from, to) in minutes after local midnight; to may be 1440.
type span struct{ from, to int }

// UnmarshalJSON decodes a calendar and prepares it.
func (c *Calendar) UnmarshalJSON(b []byte) error {
	type plain Calendar
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = Calendar(p)
	c.prep = nil
	_ = c.Prepare()
	return nil
}

// Prepare loads the time zone and parses the hours and holidays once, so
// that the other methods need not. It returns the problems that Validate
// would report about them.
func (c *Calendar) Prepare() error {
	var f errs.Fields
	c.prep = c.parse(&f)
	return f.Err()
}

// Validate checks a calendar and names every invalid field.
func (c Calendar) Validate() error {
	var f errs.Fields
	f.Check(strings.TrimSpace(c.Name) == "", "name", "is required")
	checkText(&f, "name", c.Name)
	c.parse(&f)
	return f.Err()
}

func checkText(f *errs.Fields, field, s string) {
	f.Check(len(s) > maxName, field, fmt.Sprintf("must be at most %d characters", maxName))
	f.Text(field, s)
}

func (c *Calendar) prepared() *prepared {
	if c == nil {
		return &prepared{err: fmt.Errorf("no calendar")}
	}
	if c.prep != nil {
		return c.prep
	}
	var f errs.Fields
	return c.parse(&f)
}

// parse reads the time zone, hours and holidays, adding problems to f. The
// result carries an error when there were any.
func (c *Calendar) parse(f *errs.Fields) *prepared {
	n := len(*f)
	p := &prepared{}
	switch tz := c.TimeZone; {
	case tz == "" && (!c.Always || len(c.Holidays) > 0):
		f.Add("time_zone", "is required (an IANA name such as Europe/Berlin, or UTC)")
	case tz == "":
		p.loc = time.UTC
	case tz == "Local":
		f.Add("time_zone", "must name a time zone such as Europe/Berlin, not Local")
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			f.Add("time_zone", "is not a known time zone: "+clip(tz, 60))
		} else {
			p.loc = loc
		}
	}

	if c.Always {
		f.Check(len(c.Hours) > 0, "hours", "must be empty for a 24×7 calendar (always)")
		for w := range p.week {
			p.week[w] = []span{{0, 1440}}
		}
	} else {
		f.Check(len(c.Hours) == 0, "hours", "a calendar needs working hours (or always for 24×7)")
		hn := len(*f)
		keys := make([]string, 0, len(c.Hours))
		for k := range c.Hours {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var some bool
		for _, k := range keys {
			field := "hours." + clip(k, 20)
			wd, ok := parseWeekday(k)
			if !ok {
				f.Add(field, "is not a day of the week (mon … sun)")
				continue
			}
			ranges := c.Hours[k]
			f.Check(len(ranges) > MaxRangesPerDay, field, fmt.Sprintf("must list at most %d ranges", MaxRangesPerDay))
			for i, r := range ranges {
				rf := fmt.Sprintf("%s[%d]", field, i)
				start, okS := parseClock(r.Start, false)
				end, okE := parseClock(r.End, true)
				f.Check(!okS, rf+".start", `must be a time of day "HH:MM", 00:00 to 23:59`)
				f.Check(!okE, rf+".end", `must be a time of day "HH:MM", 00:00 to 24:00`)
				if !okS || !okE {
					continue
				}
				if start == end {
					// "00:00"–"00:00" reads as nothing or as everything: ask for 24:00.
					f.Add(rf+".end", "must differ from start (00:00–24:00 is the whole day)")
					continue
				}
				some = true
				switch {
				case end > start:
					p.week[wd] = append(p.week[wd], span{start, end})
				default: // crosses midnight
					p.week[wd] = append(p.week[wd], span{start, 1440})
					if end > 0 {
						next := (wd + 1) % 7
						p.week[next] = append(p.week[next], span{0, end})
					}
				}
			}
		}
		f.Check(len(c.Hours) > 0 && !some && len(*f) == hn, "hours", "a calendar needs working hours (or always for 24×7)")
		for w := range p.week {
			p.week[w] = joinSpans(p.week[w])
		}
	}

	f.Check(len(c.Holidays) > MaxHolidays, "holidays", fmt.Sprintf("must list at most %d holidays", MaxHolidays))
	for i, h := range c.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		checkText(f, field+".name", h.Name)
		d, err := time.Parse(time.DateOnly, h.Date)
		if err != nil {
			f.Add(field+".date", `must be a date "YYYY-MM-DD"`)
			continue
		}
		if h.Yearly {
			p.yearly[d.Month()][d.Day()] = true
			p.hasYearly = true
			continue
		}
		if p.fixed == nil {
			p.fixed = make(map[int64]bool)
		}
		p.fixed[d.Unix()/86400] = true
	}
	p.plain = c.Always && len(c.Holidays) == 0
	if len(*f) > n {
		p.err = fmt.Errorf("invalid calendar")
	}
	return p
}

// joinSpans sorts spans and joins those that overlap or touch.
func joinSpans(s []span) []span {
	if len(s) == 0 {
		return nil
	}
	slices.SortFunc(s, func(a, b span) int { return a.from - b.from })
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		if x.from <= last.to {
			last.to = max(last.to, x.to)
			continue
		}
		out = append(out, x)
	}
	return out
}

// IsWorking reports whether t is working time.
func (c *Calendar) IsWorking(t time.Time) bool {
	p := c.prepared()
	if p.err != nil {
		return false
	}
	if p.plain {
		return true
	}
	t = t.Round(0)
	for s := range p.spans(t, clock.DayOf(t.In(p.loc))+1) {
		return s.Equal(t)
	}
	return false
}

// NextWorking returns t when t is working time, else the start of the next
// working time; the zero time when there is none within about 100 years.
func (c *Calendar) NextWorking(t time.Time) time.Time {
	p := c.prepared()
	if p.err != nil {
		return time.Time{}
	}
	t = t.Round(0)
	if p.plain {
		return t
	}
	for s := range p.spans(t, clock.DayOf(t.In(p.loc))+horizonDays) {
		return s
	}
	return time.Time{}
}

// WorkingBetween returns the working time in [from, to); 0 when to is not
// after from. Spans longer than time.Duration can hold (about 292 years) are
// cut there.
func (c *Calendar) WorkingBetween(from, to time.Time) time.Duration {
	p := c.prepared()
	from, to = from.Round(0), to.Round(0)
	if p.err != nil || !to.After(from) {
		return 0
	}
	if p.plain {
		return to.Sub(from)
	}
	if to.Sub(from) == math.MaxInt64 {
		to = from.Add(math.MaxInt64)
	}
	var sum time.Duration
	for s, e := range p.spans(from, clock.DayOf(to.In(p.loc))+1) {
		if !s.Before(to) {
			break
		}
		if e.After(to) {
			e = to
		}
		sum += e.Sub(s)
	}
	return sum
}

// Add returns the instant at which d of working time has passed after from:
// the deadline of a target d started at from. It is the earliest such
// instant, so it falls at the end of a working range rather than at the
// start of the next when the time runs out exactly there. Add returns from
// when d is not positive, and the zero time when the calendar is invalid or
// the deadline lies more than about 100 years ahead.
//
// For d > 0 and a non-zero result, WorkingBetween(from, Add(from, d)) == d.
func (c *Calendar) Add(from time.Time, d time.Duration) time.Time {
	p := c.prepared()
	from = from.Round(0)
	if p.err != nil {
		return time.Time{}
	}
	if d <= 0 {
		return from
	}
	if p.plain {
		return from.Add(d)
	}
	left := d
	for s, e := range p.spans(from, clock.DayOf(from.In(p.loc))+horizonDays) {
		w := e.Sub(s)
		if w >= left {
			return s.Add(left)
		}
		left -= w
	}
	return time.Time{}
}

// Location returns the calendar's time zone (UTC when it is invalid).
func (c *Calendar) Location() *time.Location {
	if p := c.prepared(); p.loc != nil {
		return p.loc
	}
	return time.UTC
}

// spans yields the working periods that end after from, in order, the first
// cut to begin no earlier than from, up to the local day lastDay. The periods
// are those of each local day (an overnight range is split at midnight), so
// two may touch. They are returned in from's location.
func (p *prepared) spans(from time.Time, lastDay int64) iter.Seq2[time.Time, time.Time] {
	return func(yield func(time.Time, time.Time) bool) {
		out := from.Location()
		z := zone{loc: p.loc}
		z.lookup(from.Unix())
		cur := from
		for d := clock.DayOf(from.In(p.loc)) - 1; d <= lastDay; d++ {
			ws := p.week[clock.WeekdayOf(d)]
			if len(ws) == 0 || p.holiday(d) {
				continue
			}
			mid, even := z.midnight(d)
			if even && mid+86400 <= cur.Unix() {
				continue // the whole day is before from
			}
			for _, w := range ws {
				var s, e int64
				if even {
					s, e = mid+int64(w.from)*60, mid+int64(w.to)*60
				} else {
					s, e = p.instant(d, w.from), p.instant(d, w.to)
				}
				st, et := time.Unix(s, 0).In(out), time.Unix(e, 0).In(out)
				if !et.After(cur) {
					continue
				}
				if st.Before(cur) {
					st = cur
				}
				if !st.Before(et) {
					continue // skipped by a DST jump
				}
				if !yield(st, et) {
					return
				}
				cur = et
			}
		}
	}
}

// instant is the unix time of minute m (0 … 1440) of local day d.
func (p *prepared) instant(d int64, m int) int64 {
	if m >= 1440 {
		return clock.LocalUnix(d+1, 0, p.loc)
	}
	return clock.LocalUnix(d, m, p.loc)
}

func (p *prepared) holiday(d int64) bool {
	if p.fixed != nil && p.fixed[d] {
		return true
	}
	if p.hasYearly {
		_, m, day := time.Unix(d*86400, 0).UTC().Date()
		return p.yearly[m][day]
	}
	return false
}

// zone remembers one period of a location during which its offset from UTC
// does not change, so that most days turn local minutes into instants by
// addition.
type zone struct {
	loc        *time.Location
	off        int64 // seconds east of UTC
	start, end int64 // the period [start, end) in unix seconds
}

func (z *zone) lookup(u int64) {
	t := time.Unix(u, 0).In(z.loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	z.off = int64(off)
	z.start, z.end = math.MinInt64, math.MaxInt64
	if !s.IsZero() {
		z.start = s.Unix()
	}
	if !e.IsZero() {
		z.end = e.Unix()
	}
}

// midnight returns the unix time of the local midnight that begins day d,
// and whether the whole day lies in one period of the zone, so that minute m
// of the day is midnight + 60m. When it does not, use localUnix.
func (z *zone) midnight(d int64) (int64, bool) {
	m := d*86400 - z.off
	if m >= z.start && m+86400 < z.end {
		return m, true
	}
	z.lookup(clock.LocalUnix(d, 0, z.loc))
	m = d*86400 - z.off
	return m, m >= z.start && m+86400 < z.end
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

// parseClock reads "HH:MM" as minutes after midnight; "24:00" (1440) only
// when end is set.
func parseClock(s string, end bool) (int, bool) {
	if end && s == "24:00" {
		return 1440, true
	}
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
