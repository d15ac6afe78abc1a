package calendar

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/steadyhq/steady/internal/platform/errs"
)

// Interval is a period during which an SLA clock ran, [Start, End). A zero
// End means the clock is still running.
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
}

// Intervals is the history of an SLA clock: the periods during which it ran,
// in order and not overlapping; only the last may be open. Everything an SLA
// needs (elapsed time, pauses, the breach instant) follows from it, so it is
// what to store.
//
// Start, Pause, Resume and Stop return a new list and leave the receiver
// alone; each is idempotent (pausing a paused clock changes nothing). An
// instant earlier than the last recorded one is moved up to it, so that
// events that arrive out of order never make the periods overlap.
//
// The JSON form is an array of {"start", "end"} objects in UTC, "[]" when
// the clock never ran; decoding checks it.
type Intervals []Interval

// Started reports whether the clock ever ran.
func (l Intervals) Started() bool { return len(l) > 0 }

// Open reports whether the clock is running: the last interval is open.
func (l Intervals) Open() bool { return len(l) > 0 && l[len(l)-1].End.IsZero() }

// last returns the latest instant recorded.
func (l Intervals) last() time.Time {
	iv := l[len(l)-1]
	if iv.End.IsZero() {
		return iv.Start
	}
	return iv.End
}

// Start starts a clock that never ran; a clock that has (running or paused)
// is left as it is: use Resume to continue a paused one.
func (l Intervals) Start(t time.Time) Intervals {
	if len(l) > 0 {
		return slices.Clone(l)
	}
	return Intervals{{Start: t.Round(0)}}
}

// Pause stops a running clock at t; a clock that is not running is left as
// it is.
func (l Intervals) Pause(t time.Time) Intervals {
	out := slices.Clone(l)
	if !l.Open() {
		return out
	}
	iv := &out[len(out)-1]
	iv.End = maxTime(t.Round(0), iv.Start)
	return out
}

// Resume restarts a paused clock at t (or starts one that never ran); a
// running clock is left as it is.
func (l Intervals) Resume(t time.Time) Intervals {
	if len(l) == 0 {
		return l.Start(t)
	}
	out := slices.Clone(l)
	if l.Open() {
		return out
	}
	return append(out, Interval{Start: maxTime(t.Round(0), l.last())})
}

// Stop stops the clock at t, when the target is met (acknowledged,
// resolved). It is Pause by another name: the list does not record why the
// clock stopped, so whether it may run again (an incident reopened) is for
// the caller to decide.
func (l Intervals) Stop(t time.Time) Intervals { return l.Pause(t) }

// Validate checks that the intervals are in order, do not overlap, and that
// only the last is open.
func (l Intervals) Validate() error {
	var f errs.Fields
	for i, iv := range l {
		field := fmt.Sprintf("intervals[%d]", i)
		if iv.Start.IsZero() {
			f.Add(field+".start", "is required")
			continue
		}
		if iv.End.IsZero() {
			f.Check(i != len(l)-1, field+".end", "is required (only the last interval may be open)")
		} else {
			f.Check(iv.End.Before(iv.Start), field+".end", "must not be before start")
		}
		if i > 0 {
			prev := l[i-1]
			f.Check(!prev.End.IsZero() && iv.Start.Before(prev.End), field+".start",
				"must not be before the end of the previous interval")
		}
	}
	return f.Err()
}

// MarshalJSON encodes the intervals in UTC; a nil list is "[]".
func (l Intervals) MarshalJSON() ([]byte, error) {
	out := make([]Interval, len(l))
	for i, iv := range l {
		out[i] = Interval{Start: iv.Start.UTC(), End: iv.End}
		if !iv.End.IsZero() {
			out[i].End = iv.End.UTC()
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes and checks intervals.
func (l *Intervals) UnmarshalJSON(b []byte) error {
	var in []Interval
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	if err := Intervals(in).Validate(); err != nil {
		return err
	}
	*l = in
	return nil
}

// Stopwatch measures an SLA target (time to acknowledge, time to resolve)
// against a calendar: only working time while the clock ran counts.
// A nil Calendar counts real elapsed time (24×7). A Target that is not
// positive means no target: nothing is due and nothing is breached.
//
// The target is reached when Elapsed equals it: a clock stopped exactly at
// the deadline has breached.
type Stopwatch struct {
	Target   time.Duration
	Calendar *Calendar
	Running  Intervals
}

func (w Stopwatch) between(from, to time.Time) time.Duration {
	if w.Calendar == nil {
		if !to.After(from) {
			return 0
		}
		return to.Sub(from)
	}
	return w.Calendar.WorkingBetween(from, to)
}

func (w Stopwatch) add(from time.Time, d time.Duration) time.Time {
	if w.Calendar == nil {
		return from.Round(0).Add(max(d, 0))
	}
	return w.Calendar.Add(from, d)
}

// Elapsed returns the working time during which the clock ran up to now.
func (w Stopwatch) Elapsed(now time.Time) time.Duration {
	var sum time.Duration
	for _, iv := range w.Running {
		if !iv.Start.Before(now) {
			continue
		}
		end := iv.End
		if end.IsZero() || end.After(now) {
			end = now
		}
		sum += w.between(iv.Start, end)
	}
	return sum
}

// Remaining returns the working time left before the target at now,
// negative once it has passed (by how much it is overdue); 0 when there is no
// target.
func (w Stopwatch) Remaining(now time.Time) time.Duration {
	if w.Target <= 0 {
		return 0
	}
	return w.Target - w.Elapsed(now)
}

// Paused reports whether the clock ran and is not running now: Due has no
// deadline to give.
func (w Stopwatch) Paused() bool { return w.Running.Started() && !w.Running.Open() }

// Due returns the deadline while the clock runs: the instant at which the
// working time elapsed reaches the target if the clock keeps running, in the
// past when it already has (then it is BreachedAt). It follows from the
// intervals alone, so a check scheduled at Due finds Breached true. It is the
// zero time when the clock is not running (the last interval is closed, or
// there is none), when there is no target, or when the calendar never
// reaches it.
func (w Stopwatch) Due(now time.Time) time.Time {
	if w.Target <= 0 || !w.Running.Open() {
		return time.Time{}
	}
	at, _ := w.BreachedAt()
	return at
}

// Breached reports whether the target has been reached by now.
func (w Stopwatch) Breached(now time.Time) bool {
	at, ok := w.BreachedAt()
	return ok && !at.After(now)
}

// BreachedAt returns the instant at which the working time elapsed reached
// the target, computed from the intervals alone, so that a check made long
// after (a restart) finds the exact instant. While the clock runs and has not
// reached the target yet, the instant is when it will if it keeps running
// (compare it with now, or use Breached). ok is false when the target is not
// reached by the recorded intervals (a stopped or paused clock short of it),
// when there is no target, or when the calendar never reaches it.
func (w Stopwatch) BreachedAt() (time.Time, bool) {
	if w.Target <= 0 {
		return time.Time{}, false
	}
	var done time.Duration
	for _, iv := range w.Running {
		left := w.Target - done
		if iv.End.IsZero() {
			at := w.add(iv.Start, left)
			return at, !at.IsZero()
		}
		got := w.between(iv.Start, iv.End)
		if got >= left {
			return w.add(iv.Start, left), true
		}
		done += got
	}
	return time.Time{}, false
}

func maxTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
