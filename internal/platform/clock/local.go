package clock

import "time"

// Local wall-clock arithmetic shared by everything that schedules by local
// time (calendars, maintenance windows, on-call rotations). Days are numbered
// from 1970-01-01 of the local calendar, minutes from local midnight.

// LocalUnix resolves a local date (day number) and minute of the day in loc
// to a Unix time: a time skipped by a DST jump resolves to the first instant
// after the jump, a time that happens twice to the earlier one.
func LocalUnix(day int64, minute int, loc *time.Location) int64 {
	wall := day*86400 + int64(minute)*60 // the local time read as if it were UTC
	offsetAt := func(u int64) int64 {
		_, off := time.Unix(u, 0).In(loc).Zone()
		return int64(off)
	}
	before, after := offsetAt(wall-86400), offsetAt(wall+86400)
	best := int64(0)
	found := false
	for _, off := range [2]int64{before, after} {
		u := wall - off
		if offsetAt(u) == off && (!found || u < best) {
			best, found = u, true
		}
	}
	if found {
		return best
	}
	// In a gap: the clocks jumped from before to after over this time. The
	// first valid instant is the transition, where the earlier zone ends.
	if after > before {
		_, end := time.Unix(wall-after, 0).In(loc).ZoneBounds()
		if !end.IsZero() {
			return end.Unix()
		}
	}
	d := time.Unix(day*86400, 0).UTC()
	return time.Date(d.Year(), d.Month(), d.Day(), minute/60, minute%60, 0, 0, loc).Unix()
}

// DayOf is the day number of t's date in t's location.
func DayOf(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// WeekdayOf is the weekday of a day number, Sunday = 0.
func WeekdayOf(d int64) int {
	return int(((d % 7) + 7 + 4) % 7) // 1970-01-01 was a Thursday
}
