package oncall

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/platform/errs"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func layer(start, unit string, length int, users ...int64) Layer {
	return Layer{Name: "L", Start: start, ShiftUnit: unit, ShiftLength: length, Participants: users}
}

// handoffs lists the first n hand-off instants of a layer, in UTC.
func handoffs(t *testing.T, tz string, l Layer, n int) []string {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	r := newRotation(l, loc)
	var out []string
	for k := range int64(n) {
		out = append(out, time.UnixMilli(r.boundary(k)).UTC().Format(time.RFC3339))
	}
	return out
}

func wantList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func TestWeeklyHandOffKeepsLocalTimeAcrossBerlinDST(t *testing.T) {
	// Monday 09:00 Europe/Berlin: CEST (UTC+2) until 25 October 2026, then CET (UTC+1).
	wantList(t, "autumn", handoffs(t, "Europe/Berlin", layer("2026-10-12T09:00", UnitWeek, 1, 1, 2), 4),
		[]string{"2026-10-12T07:00:00Z", "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z", "2026-11-02T08:00:00Z"})
	// Spring: CET until 29 March 2026, then CEST.
	wantList(t, "spring", handoffs(t, "Europe/Berlin", layer("2026-03-23T09:00", UnitWeek, 1, 1, 2), 3),
		[]string{"2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"})

	// Who is on call follows: the week of 26 October is user 1's again
	// (weeks 0, 2 are user 1) and begins at 08:00Z, not 07:00Z.
	c := compile(Schedule{TimeZone: "Europe/Berlin", Layers: []Layer{layer("2026-10-12T09:00", UnitWeek, 1, 1, 2)}}, nil)
	for at, want := range map[string]int64{
		"2026-10-26T07:30:00Z": 2, // 08:30 CET: still last week's user
		"2026-10-26T08:00:00Z": 1, // 09:00 CET: hand-off
		"2026-10-19T06:59:00Z": 1,
		"2026-10-19T07:00:00Z": 2,
	} {
		if got := c.at(utc(at).UnixMilli()); len(got) != 1 || got[0] != want {
			t.Errorf("on call at %s: %v; want %d", at, got, want)
		}
	}
}

func TestDailyHandOffKeepsLocalTimeAcrossNewYorkDST(t *testing.T) {
	// 08:00 America/New_York: EST (UTC-5) until 8 March 2026 02:00, EDT (UTC-4) after.
	wantList(t, "spring", handoffs(t, "America/New_York", layer("2026-03-07T08:00", UnitDay, 1, 1, 2, 3), 3),
		[]string{"2026-03-07T13:00:00Z", "2026-03-08T12:00:00Z", "2026-03-09T12:00:00Z"})
	// EDT until 1 November 2026 02:00, EST after.
	wantList(t, "autumn", handoffs(t, "America/New_York", layer("2026-10-31T08:00", UnitDay, 1, 1, 2), 3),
		[]string{"2026-10-31T12:00:00Z", "2026-11-01T13:00:00Z", "2026-11-02T13:00:00Z"})
	// A two-day shift, weekly too.
	wantList(t, "2 days", handoffs(t, "America/New_York", layer("2026-03-06T08:00", UnitDay, 2, 1, 2), 3),
		[]string{"2026-03-06T13:00:00Z", "2026-03-08T12:00:00Z", "2026-03-10T12:00:00Z"})
	wantList(t, "weekly", handoffs(t, "America/New_York", layer("2026-10-26T17:30", UnitWeek, 1, 1, 2), 3),
		[]string{"2026-10-26T21:30:00Z", "2026-11-02T22:30:00Z", "2026-11-09T22:30:00Z"})
}

func TestHourlyShiftsAreAbsoluteAcrossDST(t *testing.T) {
	// 8-hour shifts from 20:00 CET on 28 March 2026: the night of the change
	// is still 8 real hours; the local hand-off times move instead.
	got := handoffs(t, "Europe/Berlin", layer("2026-03-28T20:00", UnitHour, 8, 1, 2, 3), 4)
	wantList(t, "hourly", got, []string{"2026-03-28T19:00:00Z", "2026-03-29T03:00:00Z", "2026-03-29T11:00:00Z", "2026-03-29T19:00:00Z"})
	c := compile(Schedule{TimeZone: "Europe/Berlin", Layers: []Layer{layer("2026-03-28T20:00", UnitHour, 8, 1, 2, 3)}}, nil)
	sh := c.layers[0].shifts(utc("2026-03-28T19:00:00Z").UnixMilli(), utc("2026-03-29T19:00:00Z").UnixMilli())
	if len(sh) != 3 {
		t.Fatalf("shifts %v", sh)
	}
	for _, s := range sh {
		if d := time.Duration(s.end-s.start) * time.Millisecond; d != 8*time.Hour {
			t.Errorf("shift of %v", d)
		}
	}
}

func TestMonthlyRotationFromThe31st(t *testing.T) {
	got := handoffs(t, "Europe/Berlin", layer("2026-01-31T10:00", UnitMonth, 1, 1, 2), 6)
	wantList(t, "monthly", got, []string{
		"2026-01-31T09:00:00Z", // CET
		"2026-02-28T09:00:00Z", // February has no 31st: its last day
		"2026-03-31T08:00:00Z", // CEST since 29 March; the 31st again
		"2026-04-30T08:00:00Z",
		"2026-05-31T08:00:00Z",
		"2026-06-30T08:00:00Z",
	})
	// 2028 is a leap year.
	wantList(t, "leap", handoffs(t, "UTC", layer("2028-01-31T00:00", UnitMonth, 1, 1), 2),
		[]string{"2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z"})
	c := compile(Schedule{TimeZone: "Europe/Berlin", Layers: []Layer{layer("2026-01-31T10:00", UnitMonth, 1, 1, 2)}}, nil)
	for at, want := range map[string]int64{"2026-02-28T08:59:00Z": 1, "2026-02-28T09:00:00Z": 2, "2026-03-31T08:00:00Z": 1, "2026-04-15T00:00:00Z": 1} {
		if got := c.at(utc(at).UnixMilli()); len(got) != 1 || got[0] != want {
			t.Errorf("on call at %s: %v; want %d", at, got, want)
		}
	}
}

func TestHandOffInGapAndOverlap(t *testing.T) {
	// 02:30 does not exist in Berlin on 29 March 2026 (02:00 → 03:00): the
	// hand-off happens when the clocks jump, 03:00 CEST = 01:00Z.
	wantList(t, "gap", handoffs(t, "Europe/Berlin", layer("2026-03-28T02:30", UnitDay, 1, 1, 2), 3),
		[]string{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"})
	// 02:30 happens twice on 25 October 2026: the first time (CEST) counts.
	wantList(t, "overlap", handoffs(t, "Europe/Berlin", layer("2026-10-24T02:30", UnitDay, 1, 1, 2), 3),
		[]string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"})
	// New York skips 02:00–03:00 on 8 March 2026.
	wantList(t, "gap NY", handoffs(t, "America/New_York", layer("2026-03-07T02:15", UnitDay, 1, 1), 2),
		[]string{"2026-03-07T07:15:00Z", "2026-03-08T07:00:00Z"})
}

func TestLayersStackAndOverridesWin(t *testing.T) {
	base := layer("2026-06-01T00:00", UnitWeek, 1, 1) // user 1, always
	office := layer("2026-06-01T09:00", UnitDay, 1, 2, 3)
	office.Restrictions = []Restriction{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}}
	ov := []Override{{ID: 7, UserID: 9, Start: utc("2026-06-02T10:00:00Z"), End: utc("2026-06-02T12:00:00Z")}}
	c := compile(Schedule{TimeZone: "UTC", Layers: []Layer{base, office}}, ov)
	for at, want := range map[string]int64{
		"2026-06-01T08:59:00Z": 1, // before office hours: the lower layer shows through
		"2026-06-01T09:00:00Z": 2, // Monday, office layer, day 0
		"2026-06-01T16:59:00Z": 2,
		"2026-06-01T17:00:00Z": 1,
		"2026-06-02T09:30:00Z": 3, // Tuesday: next office shift
		"2026-06-02T10:00:00Z": 9, // the override wins over every layer
		"2026-06-02T11:59:00Z": 9,
		"2026-06-02T12:00:00Z": 3,
		"2026-06-06T12:00:00Z": 1, // Saturday: no office hours
	} {
		if got := c.at(utc(at).UnixMilli()); len(got) != 1 || got[0] != want {
			t.Errorf("on call at %s: %v; want %d", at, got, want)
		}
	}
	from, to := utc("2026-06-01T00:00:00Z").UnixMilli(), utc("2026-06-03T00:00:00Z").UnixMilli()
	per := [][]span{c.layers[0].shifts(from, to), c.layers[1].shifts(from, to)}
	var got []string
	for _, p := range c.final(from, to, per) {
		got = append(got, fmt.Sprintf("%d %s-%s", p.user, time.UnixMilli(p.start).UTC().Format("02T15"), time.UnixMilli(p.end).UTC().Format("02T15")))
	}
	wantList(t, "final", got, []string{"1 01T00-01T09", "2 01T09-01T17", "1 01T17-02T09", "3 02T09-02T10", "9 02T10-02T12",
		"3 02T12-02T17", "1 02T17-03T00"})
}

func TestFinalMergesAdjacentShiftsOfOneUser(t *testing.T) {
	// The same user twice in a row: two days on call are one shift.
	c := compile(Schedule{TimeZone: "UTC", Layers: []Layer{layer("2026-06-01T09:00", UnitDay, 1, 1, 1, 2)}}, nil)
	from, to := utc("2026-06-01T09:00:00Z").UnixMilli(), utc("2026-06-04T09:00:00Z").UnixMilli()
	got := c.final(from, to, [][]span{c.layers[0].shifts(from, to)})
	if len(got) != 2 || got[0].user != 1 || got[0].end != utc("2026-06-03T09:00:00Z").UnixMilli() || got[1].user != 2 {
		t.Fatalf("final %+v", got)
	}
	// Two overrides at once: both users are on call.
	c = compile(Schedule{TimeZone: "UTC", Layers: []Layer{layer("2026-06-01T09:00", UnitDay, 1, 1)}},
		[]Override{{ID: 1, UserID: 5, Start: utc("2026-06-01T10:00:00Z"), End: utc("2026-06-01T12:00:00Z")},
			{ID: 2, UserID: 6, Start: utc("2026-06-01T11:00:00Z"), End: utc("2026-06-01T13:00:00Z")}})
	if got := c.at(utc("2026-06-01T11:30:00Z").UnixMilli()); fmt.Sprint(got) != "[5 6]" {
		t.Fatalf("two overrides: %v", got)
	}
}

func TestLayerEndAndNotYetStarted(t *testing.T) {
	l := layer("2026-06-01T09:00", UnitDay, 1, 1, 2)
	end := "2026-06-03T09:00"
	l.End = &end
	c := compile(Schedule{TimeZone: "UTC", Layers: []Layer{l}}, nil)
	for at, want := range map[string]int{"2026-06-01T08:00:00Z": 0, "2026-06-02T10:00:00Z": 1, "2026-06-03T09:00:00Z": 0} {
		if got := c.at(utc(at).UnixMilli()); len(got) != want {
			t.Errorf("at %s: %v", at, got)
		}
	}
	if sh := c.layers[0].shifts(utc("2026-05-01T00:00:00Z").UnixMilli(), utc("2026-07-01T00:00:00Z").UnixMilli()); len(sh) != 2 {
		t.Errorf("shifts of an ending layer: %v", sh)
	}
}

// TestComputedAgreesWithStepping checks the arithmetic against a plain walk
// minute by minute over random layers in zones with DST.
func TestComputedAgreesWithStepping(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"}
	units := []string{UnitHour, UnitDay, UnitWeek, UnitMonth}
	for i := range 40 {
		tz := zones[rng.IntN(len(zones))]
		l := Layer{Start: fmt.Sprintf("2026-%02d-%02dT%02d:%02d", 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), 15*rng.IntN(4)),
			ShiftUnit: units[rng.IntN(len(units))], ShiftLength: 1 + rng.IntN(3), Participants: []int64{1, 2, 3}}
		if rng.IntN(3) == 0 {
			l.Restrictions = []Restriction{{Days: []string{"mon", "sat"}, Start: "22:00", End: "06:00"}}
		}
		c := compile(Schedule{TimeZone: tz, Layers: []Layer{l}}, nil)
		r := c.layers[0]
		from := r.startMs - int64(2*time.Hour/time.Millisecond)
		to := from + int64(60*24*time.Hour/time.Millisecond)
		sh := r.shifts(from, to)
		j := 0
		for t0 := from; t0 < to; t0 += int64(7 * time.Minute / time.Millisecond) {
			for j < len(sh) && sh[j].end <= t0 {
				j++
			}
			want := int64(0)
			if j < len(sh) && sh[j].start <= t0 {
				want = sh[j].user
			}
			if got := r.at(t0); got != want {
				t.Fatalf("case %d (%s %+v): at %s got %d, shifts say %d", i, tz, l, time.UnixMilli(t0).UTC(), got, want)
			}
		}
		for k := int64(0); k < 30; k++ {
			if b := r.boundary(k); r.index(b) != k || (k > 0 && r.index(b-1) != k-1) {
				t.Fatalf("case %d (%s %+v): boundary %d at %s indexes as %d", i, tz, l, k, time.UnixMilli(b).UTC(), r.index(b))
			}
		}
	}
}

func TestValidateLayer(t *testing.T) {
	var fe errs.Fields
	end := "2026-01-01T00:00"
	validateLayer(Layer{Start: "2026-13-01 09:00", ShiftUnit: "fortnight", Participants: nil}, "layers[0]", &fe)
	validateLayer(Layer{Start: "2026-06-01T09:00", End: &end, ShiftUnit: UnitDay, ShiftLength: 400, Participants: []int64{1},
		Restrictions: []Restriction{{Days: []string{"funday"}, Start: "25:00", End: "09:00"}}}, "layers[1]", &fe)
	got := map[string]bool{}
	for _, f := range fe {
		got[f.Field] = true
	}
	for _, want := range []string{"layers[0].start", "layers[0].shift_unit", "layers[0].participants", "layers[1].end",
		"layers[1].shift_length", "layers[1].restrictions[0].start", "layers[1].restrictions[0].days"} {
		if !got[want] {
			t.Errorf("no error for %s: %v", want, fe)
		}
	}
}
