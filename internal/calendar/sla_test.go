package calendar

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func iv(start, end string) Interval {
	i := Interval{Start: at(start)}
	if end != "" {
		i.End = at(end)
	}
	return i
}

func TestStopwatch(t *testing.T) {
	type check struct {
		now      string
		elapsed  time.Duration
		due      string // "" for the zero time
		breached bool
	}
	cases := []struct {
		name       string
		watch      Stopwatch
		breachedAt string // "" when not reached by the intervals
		checks     []check
	}{
		{
			name: "24x7, running",
			watch: Stopwatch{Target: 2 * time.Hour, Running: Intervals{
				iv("2026-01-12T10:00:00Z", "2026-01-12T10:30:00Z"),
				iv("2026-01-12T11:00:00Z", "2026-01-12T11:15:00Z"),
				iv("2026-01-12T12:00:00Z", ""),
			}},
			breachedAt: "2026-01-12T13:15:00Z",
			checks: []check{
				{"2026-01-12T10:15:00Z", 15 * time.Minute, "2026-01-12T13:15:00Z", false},
				{"2026-01-12T10:45:00Z", 30 * time.Minute, "2026-01-12T13:15:00Z", false},
				{"2026-01-12T12:30:00Z", 75 * time.Minute, "2026-01-12T13:15:00Z", false},
				{"2026-01-12T13:14:59Z", 2*time.Hour - time.Second, "2026-01-12T13:15:00Z", false},
				{"2026-01-12T13:15:00Z", 2 * time.Hour, "2026-01-12T13:15:00Z", true},
				{"2026-01-12T14:00:00Z", 2*time.Hour + 45*time.Minute, "2026-01-12T13:15:00Z", true},
			},
		},
		{
			name: "breach inside the second running interval",
			watch: Stopwatch{Target: time.Hour, Running: Intervals{
				iv("2026-01-12T10:00:00Z", "2026-01-12T10:40:00Z"),
				iv("2026-01-12T11:00:00Z", "2026-01-12T12:00:00Z"),
			}},
			breachedAt: "2026-01-12T11:20:00Z",
			checks: []check{
				{"2026-01-12T11:19:59.999Z", time.Hour - time.Millisecond, "", false},
				{"2026-01-12T11:20:00Z", time.Hour, "", true},
				{"2027-01-01T00:00:00Z", 100 * time.Minute, "", true},
			},
		},
		{
			name: "no breach while paused",
			watch: Stopwatch{Target: time.Hour, Running: Intervals{
				iv("2026-01-12T10:00:00Z", "2026-01-12T10:20:00Z"),
				iv("2026-01-12T10:30:00Z", "2026-01-12T10:50:00Z"),
				iv("2026-01-12T11:00:00Z", "2026-01-12T11:19:00Z"),
			}},
			checks: []check{
				{"2026-01-12T11:30:00Z", 59 * time.Minute, "", false},
				{"2030-01-01T00:00:00Z", 59 * time.Minute, "", false},
			},
		},
		{
			name: "business hours, paused over the weekend and nights",
			watch: Stopwatch{Target: 4 * time.Hour, Calendar: berlinBusiness, Running: Intervals{
				// Friday 16:00–16:30 (30m), paused over the DST weekend,
				// Monday 08:00–10:00 (1h), paused, running from Monday 16:00
				// (1h that day, then 1h30 on Tuesday).
				iv("2026-03-27T16:00:00+01:00", "2026-03-27T16:30:00+01:00"),
				iv("2026-03-30T08:00:00+02:00", "2026-03-30T10:00:00+02:00"),
				iv("2026-03-30T16:00:00+02:00", ""),
			}},
			breachedAt: "2026-03-31T10:30:00+02:00",
			checks: []check{
				// Due follows from the intervals: the last one is open.
				{"2026-03-28T12:00:00+01:00", 30 * time.Minute, "2026-03-31T10:30:00+02:00", false},
				{"2026-03-30T12:00:00+02:00", 90 * time.Minute, "2026-03-31T10:30:00+02:00", false},
				{"2026-03-30T20:00:00+02:00", 150 * time.Minute, "2026-03-31T10:30:00+02:00", false},
				{"2026-03-31T10:29:00+02:00", 4*time.Hour - time.Minute, "2026-03-31T10:30:00+02:00", false},
				{"2026-03-31T10:30:00+02:00", 4 * time.Hour, "2026-03-31T10:30:00+02:00", true},
			},
		},
		{
			name: "business hours, breach in a later interval after a restart",
			watch: Stopwatch{Target: 2 * time.Hour, Calendar: berlinBusiness, Running: Intervals{
				iv("2026-01-09T16:30:00+01:00", "2026-01-12T09:15:00+01:00"), // 45m
				iv("2026-01-12T11:00:00+01:00", "2026-01-12T15:00:00+01:00"), // breached at 12:15
			}},
			breachedAt: "2026-01-12T12:15:00+01:00",
			checks: []check{
				{"2026-01-12T12:14:00+01:00", 119 * time.Minute, "", false},
				{"2026-01-20T00:00:00+01:00", 4*time.Hour + 45*time.Minute, "", true},
			},
		},
		{
			name: "stopped exactly at the deadline has breached",
			watch: Stopwatch{Target: time.Hour, Running: Intervals{
				iv("2026-01-12T10:00:00Z", "2026-01-12T11:00:00Z"),
			}},
			breachedAt: "2026-01-12T11:00:00Z",
			checks:     []check{{"2026-01-12T12:00:00Z", time.Hour, "", true}},
		},
		{
			name:  "never started",
			watch: Stopwatch{Target: time.Hour, Calendar: berlinBusiness},
			checks: []check{
				{"2026-01-12T12:00:00Z", 0, "", false},
			},
		},
		{
			name: "no target",
			watch: Stopwatch{Running: Intervals{
				iv("2026-01-12T10:00:00Z", ""),
			}},
			checks: []check{{"2027-01-12T10:00:00Z", 365 * 24 * time.Hour, "", false}},
		},
		{
			name: "intervals after now do not count yet",
			watch: Stopwatch{Target: time.Hour, Running: Intervals{
				iv("2026-01-12T10:00:00Z", "2026-01-12T10:30:00Z"),
				iv("2026-01-12T11:00:00Z", ""),
			}},
			breachedAt: "2026-01-12T11:30:00Z",
			checks: []check{
				{"2026-01-12T09:00:00Z", 0, "2026-01-12T11:30:00Z", false},
				{"2026-01-12T10:50:00Z", 30 * time.Minute, "2026-01-12T11:30:00Z", false},
			},
		},
	}
	for _, c := range cases {
		at2, ok := c.watch.BreachedAt()
		switch {
		case c.breachedAt == "" && ok:
			t.Errorf("%s: BreachedAt = %s; want none", c.name, at2)
		case c.breachedAt != "" && (!ok || !at2.Equal(at(c.breachedAt))):
			t.Errorf("%s: BreachedAt = %s, %v; want %s", c.name, at2, ok, c.breachedAt)
		}
		for _, k := range c.checks {
			now := at(k.now)
			if got := c.watch.Elapsed(now); got != k.elapsed {
				t.Errorf("%s: Elapsed(%s) = %v; want %v", c.name, k.now, got, k.elapsed)
			}
			due := c.watch.Due(now)
			if k.due == "" && !due.IsZero() || k.due != "" && !due.Equal(at(k.due)) {
				t.Errorf("%s: Due(%s) = %s; want %q", c.name, k.now, due, k.due)
			}
			if got := c.watch.Breached(now); got != k.breached {
				t.Errorf("%s: Breached(%s) = %v; want %v", c.name, k.now, got, k.breached)
			}
			if c.watch.Target > 0 {
				if got, want := c.watch.Remaining(now), c.watch.Target-k.elapsed; got != want {
					t.Errorf("%s: Remaining(%s) = %v; want %v", c.name, k.now, got, want)
				}
			}
		}
	}
}

func TestStopwatchPaused(t *testing.T) {
	running := Stopwatch{Target: time.Hour, Running: Intervals{iv("2026-01-12T10:00:00Z", "")}}
	paused := Stopwatch{Target: time.Hour, Running: running.Running.Pause(at("2026-01-12T10:20:00Z"))}
	if running.Paused() || !paused.Paused() || (Stopwatch{}).Paused() {
		t.Errorf("Paused: running %v, paused %v, never started %v", running.Paused(), paused.Paused(), Stopwatch{}.Paused())
	}
	now := at("2026-01-12T11:00:00Z")
	if !paused.Due(now).IsZero() {
		t.Errorf("a paused watch is due at %s", paused.Due(now))
	}
	if got := paused.Remaining(now); got != 40*time.Minute {
		t.Errorf("Remaining while paused = %v; want 40m", got)
	}
	// The accumulated time survives anything that leaves the list alone
	// (reassignment) and counts again on resume.
	resumed := Stopwatch{Target: time.Hour, Running: paused.Running.Resume(now)}
	if got := resumed.Due(now); !got.Equal(at("2026-01-12T11:40:00Z")) {
		t.Errorf("Due after resume = %s; want 11:40", got)
	}
	// Overdue: Remaining goes negative.
	if got := resumed.Remaining(at("2026-01-12T12:00:00Z")); got != -20*time.Minute {
		t.Errorf("Remaining when overdue = %v; want -20m", got)
	}
}

func TestIntervalHelpers(t *testing.T) {
	t1, t2, t3, t4 := at("2026-01-12T10:00:00Z"), at("2026-01-12T10:30:00Z"), at("2026-01-12T11:00:00Z"), at("2026-01-12T11:30:00Z")
	var l Intervals
	l = l.Start(t1)
	want := Intervals{{Start: t1}}
	if !slices.Equal(l, want) || !l.Open() || !l.Started() {
		t.Fatalf("Start: %v", l)
	}
	if got := l.Start(t2); !slices.Equal(got, want) {
		t.Errorf("Start on a running clock changed it: %v", got)
	}
	if got := l.Resume(t2); !slices.Equal(got, want) {
		t.Errorf("Resume on a running clock changed it: %v", got)
	}
	p := l.Pause(t2)
	if !slices.Equal(l, want) {
		t.Errorf("Pause changed its receiver: %v", l)
	}
	want = Intervals{{Start: t1, End: t2}}
	if !slices.Equal(p, want) || p.Open() {
		t.Fatalf("Pause: %v", p)
	}
	if got := p.Pause(t3); !slices.Equal(got, want) {
		t.Errorf("Pause on a paused clock changed it: %v", got)
	}
	if got := p.Stop(t3); !slices.Equal(got, want) {
		t.Errorf("Stop on a paused clock changed it: %v", got)
	}
	if got := p.Start(t3); !slices.Equal(got, want) {
		t.Errorf("Start on a paused clock changed it: %v", got)
	}
	r := p.Resume(t3)
	want = Intervals{{Start: t1, End: t2}, {Start: t3}}
	if !slices.Equal(r, want) {
		t.Fatalf("Resume: %v", r)
	}
	s := r.Stop(t4)
	want = Intervals{{Start: t1, End: t2}, {Start: t3, End: t4}}
	if !slices.Equal(s, want) {
		t.Fatalf("Stop: %v", s)
	}
	// Out of order: an instant before the last one recorded moves up to it.
	if got := p.Resume(t1); !slices.Equal(got, Intervals{{Start: t1, End: t2}, {Start: t2}}) {
		t.Errorf("Resume before the pause: %v", got)
	}
	if got := r.Pause(t1); !slices.Equal(got, Intervals{{Start: t1, End: t2}, {Start: t3, End: t3}}) {
		t.Errorf("Pause before the resume: %v", got)
	}
	// Resume on a clock that never ran starts it.
	if got := Intervals(nil).Resume(t1); !slices.Equal(got, Intervals{{Start: t1}}) {
		t.Errorf("Resume of a new clock: %v", got)
	}
	if got := Intervals(nil).Pause(t1); len(got) != 0 {
		t.Errorf("Pause of a new clock: %v", got)
	}
	for _, l := range []Intervals{r, s, p, Intervals(nil).Start(t1).Pause(t1).Resume(t1).Pause(t1)} {
		if err := l.Validate(); err != nil {
			t.Errorf("helpers built invalid intervals %v: %v", l, err)
		}
	}
}

func TestIntervalsJSON(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	l := Intervals{
		{Start: time.Date(2026, 1, 12, 10, 0, 0, 0, berlin), End: time.Date(2026, 1, 12, 10, 30, 0, 500, berlin)},
		{Start: time.Date(2026, 1, 12, 11, 0, 0, 0, berlin)},
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"start":"2026-01-12T09:00:00Z","end":"2026-01-12T09:30:00.0000005Z"},{"start":"2026-01-12T10:00:00Z"}]`
	if string(b) != want {
		t.Errorf("JSON %s; want %s", b, want)
	}
	var back Intervals
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || !back[0].Start.Equal(l[0].Start) || !back[0].End.Equal(l[0].End) || !back[1].End.IsZero() {
		t.Errorf("round trip: %v", back)
	}
	if b, _ := json.Marshal(Intervals(nil)); string(b) != "[]" {
		t.Errorf("nil intervals: %s; want []", b)
	}
	// A stored stopwatch answers the same after decoding (after a restart).
	w := Stopwatch{Target: 50 * time.Minute, Calendar: berlinBusiness, Running: l}
	w2 := Stopwatch{Target: 50 * time.Minute, Calendar: berlinBusiness, Running: back}
	a1, _ := w.BreachedAt()
	a2, _ := w2.BreachedAt()
	if !a1.Equal(a2) {
		t.Errorf("BreachedAt %s before storage, %s after", a1, a2)
	}

	bad := []struct{ json, field string }{
		{`[{"start":"2026-01-12T10:00:00Z"},{"start":"2026-01-12T11:00:00Z"}]`, "intervals[0].end"},
		{`[{"start":"2026-01-12T10:00:00Z","end":"2026-01-12T09:00:00Z"}]`, "intervals[0].end"},
		{`[{"start":"2026-01-12T10:00:00Z","end":"2026-01-12T11:00:00Z"},{"start":"2026-01-12T10:30:00Z"}]`, "intervals[1].start"},
		{`[{"end":"2026-01-12T11:00:00Z"}]`, "intervals[0].start"},
	}
	for _, c := range bad {
		var l Intervals
		err := json.Unmarshal([]byte(c.json), &l)
		if !hasField(err, c.field) {
			t.Errorf("decoding %s: %v; want a problem with %s", c.json, err, c.field)
		}
	}
	if err := json.Unmarshal([]byte(`{"start":1}`), &back); err == nil || strings.Contains(err.Error(), "intervals[") {
		t.Errorf("decoding an object: %v", err)
	}
}

func BenchmarkElapsed(b *testing.B) {
	// 20 intervals over a month of business hours: 19 closed, the last open.
	var l Intervals
	t := at("2026-01-05T10:00:00+01:00")
	for range 19 {
		l = l.Resume(t).Pause(t.Add(26 * time.Hour))
		t = t.Add(37 * time.Hour)
	}
	l = l.Resume(t)
	w := Stopwatch{Target: 200 * time.Hour, Calendar: BusinessHours("Europe/Berlin"), Running: l}
	now := t.Add(48 * time.Hour)
	if len(l) != 20 || l.Validate() != nil {
		b.Fatalf("%d intervals: %v", len(l), l.Validate())
	}
	for b.Loop() {
		w.Elapsed(now)
	}
}

func BenchmarkBreachedAt(b *testing.B) {
	var l Intervals
	t := at("2026-01-05T10:00:00+01:00")
	for range 20 {
		l = l.Resume(t).Pause(t.Add(26 * time.Hour))
		t = t.Add(37 * time.Hour)
	}
	w := Stopwatch{Target: 100 * time.Hour, Calendar: BusinessHours("Europe/Berlin"), Running: l}
	for b.Loop() {
		w.BreachedAt()
	}
}
