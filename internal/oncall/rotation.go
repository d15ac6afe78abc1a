package oncall

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Rotations: how a layer's hand-offs are placed in time, and how layers and
// overrides combine into the final timeline.
//
// Hand-offs are computed, never stepped through: hand-off k of a layer is the
// layer's start moved k×length units forward, so the shift holding a moment
// is found with one division and at most a few corrections.
//
//   - hour: k×length hours after the start instant; hours are absolute, so a
//     DST change neither stretches nor shrinks an hourly shift.
//   - day, week: the start's local time of day, k×length days (weeks) after
//     the start's local date. A weekly hand-off on Monday 09:00 stays at 09:00
//     local across a DST change; the UTC instant moves instead.
//   - month: the start's local day of the month and time, k×length months
//     later; a day the month lacks becomes its last day (a rotation started on
//     the 31st hands off on 30 April and 28 or 29 February, and on the 31st
//     again where a month has one).
//
// A local hand-off time the clocks skip (a spring-forward gap) happens at the
// first moment after the jump, e.g. 02:30 in Europe/Berlin on the last Sunday
// of March becomes 03:00 CEST. A local time that happens twice (the autumn
// overlap) happens at its first occurrence, the one in summer time.

// Shift units.
const (
	UnitHour  = "hour"
	UnitDay   = "day"
	UnitWeek  = "week"
	UnitMonth = "month"
)

// LocalLayout is how a layer's start and end are written: a local date and
// time in the schedule's time zone, to the minute.
const LocalLayout = "2006-01-02T15:04"

// maxLength caps a layer's shift length per unit (a year of shifts).
var maxLength = map[string]int{UnitHour: 24 * 366, UnitDay: 366, UnitWeek: 53, UnitMonth: 12}

// weekdays are the day names restrictions use, Sunday first like time.Weekday.
var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Restriction limits a layer to a weekly window of local time: from Start to
// End ("09:00" to "17:00") on the given days (all days when empty). A window
// whose end is not after its start runs past midnight into the next day.
type Restriction struct {
	Days  []string `json:"days"`
	Start string   `json:"start"`
	End   string   `json:"end"`
}

// localDateTime is a parsed local date-time: a day number (days since
// 1970-01-01 of the local calendar) and a minute of the day.
type localDateTime struct {
	day    int64
	minute int
}

func parseLocal(s string) (localDateTime, bool) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(LocalLayout, s)
	if err != nil {
		t, err = time.Parse(LocalLayout+":05", s)
		if err != nil || t.Second() != 0 {
			return localDateTime{}, false
		}
	}
	return localDateTime{day: clock.DayOf(t), minute: t.Hour()*60 + t.Minute()}, true
}

func (l localDateTime) String() string {
	return time.Unix(l.day*86400+int64(l.minute)*60, 0).UTC().Format(LocalLayout)
}

func parseClock(s string) (int, bool) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// rotation is a layer ready to answer questions: its anchor, hand-off rule,
// participants and restriction windows, all in the schedule's zone.
type rotation struct {
	loc     *time.Location
	start   localDateTime
	startMs int64 // hand-off 0, resolved
	endMs   int64 // 0: no end
	unit    string
	length  int
	users   []int64
	// restrictions: per weekday (Sunday = 0), windows as [start, end)
	// minutes of the local day; end may exceed 1440 (past midnight).
	restrict [7][][2]int
	limited  bool
}

// newRotation compiles a layer whose fields are valid (see validateLayer).
func newRotation(l Layer, loc *time.Location) *rotation {
	start, _ := parseLocal(l.Start)
	r := &rotation{loc: loc, start: start, unit: l.ShiftUnit, length: max(l.ShiftLength, 1), users: l.Participants}
	r.startMs = r.localMs(start.day, start.minute)
	if l.End != nil {
		if end, ok := parseLocal(*l.End); ok {
			r.endMs = r.localMs(end.day, end.minute)
		}
	}
	for _, rs := range l.Restrictions {
		from, _ := parseClock(rs.Start)
		to, _ := parseClock(rs.End)
		if to <= from {
			to += 1440
		}
		days := rs.Days
		if len(days) == 0 {
			days = weekdays
		}
		for _, d := range days {
			if i := slices.Index(weekdays, strings.ToLower(d)); i >= 0 {
				r.restrict[i] = append(r.restrict[i], [2]int{from, to})
				r.limited = true
			}
		}
	}
	return r
}

// localMs resolves a local day and minute to Unix milliseconds (gaps
// forward, overlaps to the first occurrence).
func (r *rotation) localMs(day int64, minute int) int64 {
	return clock.LocalUnix(day, minute, r.loc) * 1000
}

// boundary is the instant of hand-off k (k ≥ 0).
func (r *rotation) boundary(k int64) int64 {
	n := k * int64(r.length)
	switch r.unit {
	case UnitHour:
		return r.startMs + n*int64(time.Hour/time.Millisecond)
	case UnitDay:
		return r.localMs(r.start.day+n, r.start.minute)
	case UnitWeek:
		return r.localMs(r.start.day+7*n, r.start.minute)
	default: // month
		d := time.Unix(r.start.day*86400, 0).UTC()
		first := time.Date(d.Year(), d.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
		last := first.AddDate(0, 1, -1).Day()
		day := clock.DayOf(first) + int64(min(d.Day(), last)) - 1
		return r.localMs(day, r.start.minute)
	}
}

// index returns the number of the shift holding t (t ≥ startMs).
func (r *rotation) index(t int64) int64 {
	var k int64
	switch r.unit {
	case UnitHour:
		k = (t - r.startMs) / (int64(r.length) * int64(time.Hour/time.Millisecond))
	case UnitDay, UnitWeek:
		span := int64(r.length)
		if r.unit == UnitWeek {
			span *= 7
		}
		day := clock.DayOf(time.UnixMilli(t).In(r.loc))
		k = floorDiv(day-r.start.day, span)
	default:
		lt := time.UnixMilli(t).In(r.loc)
		s := time.Unix(r.start.day*86400, 0).UTC()
		months := int64(lt.Year()-s.Year())*12 + int64(lt.Month()-s.Month())
		k = floorDiv(months, int64(r.length))
	}
	k = max(k, 0)
	for k > 0 && r.boundary(k) > t {
		k--
	}
	for r.boundary(k+1) <= t {
		k++
	}
	return k
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// userOf is who holds shift k.
func (r *rotation) userOf(k int64) int64 {
	if len(r.users) == 0 {
		return 0
	}
	return r.users[k%int64(len(r.users))]
}

// at returns who this layer puts on call at t (0 for nobody).
func (r *rotation) at(t int64) int64 {
	if len(r.users) == 0 || t < r.startMs || (r.endMs != 0 && t >= r.endMs) {
		return 0
	}
	if r.limited && !r.allowed(t) {
		return 0
	}
	return r.userOf(r.index(t))
}

// allowed reports whether t is inside one of the restriction windows.
func (r *rotation) allowed(t int64) bool {
	day := clock.DayOf(time.UnixMilli(t).In(r.loc))
	for _, w := range r.windows(day-1, day+1) {
		if t >= w.start && t < w.end {
			return true
		}
	}
	return false
}

// span is a half-open interval of Unix milliseconds with who it belongs to.
type span struct {
	start, end int64
	user       int64
}

// windows lists the restriction windows that start on local days
// [fromDay, toDay), in order and merged.
func (r *rotation) windows(fromDay, toDay int64) []span {
	var out []span
	for d := fromDay; d < toDay; d++ {
		for _, w := range r.restrict[clock.WeekdayOf(d)] {
			out = append(out, span{start: r.localMs(d, w[0]), end: r.localMs(d+int64(w[1]/1440), w[1]%1440)})
		}
	}
	return mergeSpans(out)
}

// mergeSpans sorts spans and joins those that touch or overlap (users are
// ignored: for windows only).
func mergeSpans(in []span) []span {
	sort.Slice(in, func(i, j int) bool { return in[i].start < in[j].start })
	var out []span
	for _, s := range in {
		if s.end <= s.start {
			continue
		}
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// shifts lists this layer's shifts that overlap [from, to), clipped to it
// and to the restriction windows.
func (r *rotation) shifts(from, to int64) []span {
	if len(r.users) == 0 || to <= from {
		return nil
	}
	lo, hi := max(from, r.startMs), to
	if r.endMs != 0 {
		hi = min(hi, r.endMs)
	}
	if lo >= hi {
		return nil
	}
	var out []span
	k := r.index(lo)
	for b := r.boundary(k); b < hi; k++ {
		next := r.boundary(k + 1)
		out = append(out, span{start: max(b, lo), end: min(next, hi), user: r.userOf(k)})
		b = next
	}
	if !r.limited {
		return out
	}
	loc := r.loc
	win := r.windows(clock.DayOf(time.UnixMilli(lo).In(loc))-1, clock.DayOf(time.UnixMilli(hi).In(loc))+1)
	var cut []span
	i := 0
	for _, s := range out {
		for i < len(win) && win[i].end <= s.start {
			i++
		}
		for j := i; j < len(win) && win[j].start < s.end; j++ {
			a, b := max(s.start, win[j].start), min(s.end, win[j].end)
			if a < b {
				cut = append(cut, span{start: a, end: b, user: s.user})
			}
		}
	}
	return cut
}

// ---- validation ----

// validateLayer checks one layer and names its invalid fields under prefix
// ("layers[0]").
func validateLayer(l Layer, prefix string, fe *errs.Fields) {
	fe.Check(len(l.Name) > 200, prefix+".name", "must be at most 200 characters")
	fe.Text(prefix+".name", l.Name)
	start, ok := parseLocal(l.Start)
	if !ok {
		fe.Add(prefix+".start", "must be a local date and time such as 2026-11-02T09:00")
	}
	if l.End != nil {
		end, eok := parseLocal(*l.End)
		switch {
		case !eok:
			fe.Add(prefix+".end", "must be a local date and time such as 2026-12-31T09:00, or null")
		case ok && (end.day < start.day || (end.day == start.day && end.minute <= start.minute)):
			fe.Add(prefix+".end", "must be after the start")
		}
	}
	if mx, known := maxLength[l.ShiftUnit]; !known {
		fe.Add(prefix+".shift_unit", "must be hour, day, week or month")
	} else if l.ShiftLength < 1 || l.ShiftLength > mx {
		fe.Add(prefix+".shift_length", "must be from 1 to "+strconv.Itoa(mx)+" for "+l.ShiftUnit+"s")
	}
	switch {
	case len(l.Participants) == 0:
		fe.Add(prefix+".participants", "must name at least one user")
	case len(l.Participants) > 100:
		fe.Add(prefix+".participants", "must name at most 100 users")
	}
	for i, u := range l.Participants {
		fe.Check(u < 1, prefix+".participants["+strconv.Itoa(i)+"]", "must be a user id")
	}
	fe.Check(len(l.Restrictions) > 14, prefix+".restrictions", "must have at most 14 windows")
	for i, rs := range l.Restrictions {
		p := prefix + ".restrictions[" + strconv.Itoa(i) + "]"
		from, fok := parseClock(rs.Start)
		to, tok := parseClock(rs.End)
		fe.Check(!fok, p+".start", "must be a time of day such as 09:00")
		fe.Check(!tok, p+".end", "must be a time of day such as 17:00")
		fe.Check(fok && tok && from == to, p+".end", "must differ from the start")
		for _, d := range rs.Days {
			if !slices.Contains(weekdays, strings.ToLower(d)) {
				fe.Add(p+".days", "must name days as mon, tue, wed, thu, fri, sat or sun, not "+strconv.Quote(d))
				break
			}
		}
	}
}

// ---- combining layers and overrides ----

// compiled is a schedule ready to compute: rotations from the lowest layer
// to the highest, and the overrides that matter.
type compiled struct {
	loc       *time.Location
	layers    []*rotation
	names     []string // layer names, same order
	ids       []int64
	overrides []Override
}

func compile(s Schedule, overrides []Override) *compiled {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	c := &compiled{loc: loc, overrides: overrides}
	for _, l := range s.Layers {
		c.layers = append(c.layers, newRotation(l, loc))
		c.names = append(c.names, l.Name)
		c.ids = append(c.ids, l.ID)
	}
	return c
}

// at returns who is on call at t: the users of the overrides in force, or
// else the user of the highest layer with someone on call.
func (c *compiled) at(t int64) []int64 {
	var out []int64
	for _, o := range c.overrides {
		if o.Start.UnixMilli() <= t && t < o.End.UnixMilli() && !slices.Contains(out, o.UserID) {
			out = append(out, o.UserID)
		}
	}
	if len(out) > 0 {
		return out
	}
	for i := len(c.layers) - 1; i >= 0; i-- {
		if u := c.layers[i].at(t); u != 0 {
			return []int64{u}
		}
	}
	return []int64{}
}

// piece is a stretch of the final timeline: who, and where it comes from.
type piece struct {
	start, end int64
	user       int64
	layer      int   // index into layers, -1 for an override
	override   int64 // override id
}

// final computes the final timeline over [from, to): overrides win over all
// layers, higher layers over lower ones; adjacent stretches of the same user
// from the same source are merged.
func (c *compiled) final(from, to int64, perLayer [][]span) []piece {
	cuts := []int64{from, to}
	for _, l := range perLayer {
		for _, s := range l {
			cuts = append(cuts, s.start, s.end)
		}
	}
	for _, o := range c.overrides {
		a, b := o.Start.UnixMilli(), o.End.UnixMilli()
		if b > from && a < to {
			cuts = append(cuts, max(a, from), min(b, to))
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	pos := make([]int, len(perLayer)) // per layer: first shift not yet passed
	var out []piece
	add := func(p piece) {
		for i := len(out) - 1; i >= 0 && out[i].end == p.start; i-- {
			if out[i].user == p.user && out[i].layer == p.layer && out[i].override == p.override {
				out[i].end = p.end
				return
			}
		}
		out = append(out, p)
	}
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		if a < from || b > to {
			continue
		}
		var ov []piece
		for _, o := range c.overrides {
			if o.Start.UnixMilli() <= a && b <= o.End.UnixMilli() && !slices.ContainsFunc(ov, func(p piece) bool { return p.user == o.UserID }) {
				ov = append(ov, piece{start: a, end: b, user: o.UserID, layer: -1, override: o.ID})
			}
		}
		if len(ov) > 0 {
			for _, p := range ov {
				add(p)
			}
			continue
		}
		for li := len(perLayer) - 1; li >= 0; li-- {
			l := perLayer[li]
			for pos[li] < len(l) && l[pos[li]].end <= a {
				pos[li]++
			}
			if pos[li] < len(l) && l[pos[li]].start <= a && b <= l[pos[li]].end {
				add(piece{start: a, end: b, user: l[pos[li]].user, layer: li})
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}
