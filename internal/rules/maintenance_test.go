package rules

import (
	"encoding/json"
	"github.com/steadyhq/steady/internal/platform/clock"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func recurring(tz, start string, minutes int, days ...string) MaintenanceWindow {
	w := MaintenanceWindow{ID: 1, Name: "w", TimeZone: tz, ServiceIDs: []int64{1},
		Recurrence: &Recurrence{Days: days, StartTime: start, DurationMinutes: minutes}}
	if err := w.Prepare(); err != nil {
		panic(err)
	}
	return w
}

type activeCase struct {
	t    string
	want bool
}

func checkActive(t *testing.T, name string, w MaintenanceWindow, cases []activeCase) {
	t.Helper()
	unprepared := w
	unprepared.prep = nil
	for _, c := range cases {
		tt := at(c.t)
		if got := w.ActiveAt(tt); got != c.want {
			t.Errorf("%s: ActiveAt(%s = %s local) = %v; want %v", name, c.t, tt.In(w.schedule().loc).Format("Mon 2006-01-02 15:04:05 MST"), got, c.want)
		}
		if got := unprepared.ActiveAt(tt); got != c.want {
			t.Errorf("%s (not prepared): ActiveAt(%s) = %v; want %v", name, c.t, got, c.want)
		}
	}
}

func TestMaintenanceDSTBerlin(t *testing.T) {
	// Sundays 02:30 for an hour. On 29 March 2026 the clocks go from 02:00 CET
	// to 03:00 CEST, so 02:30 does not exist: the window opens at 03:00 CEST
	// (01:00 UTC). On 25 October 2026 they go back from 03:00 CEST to 02:00
	// CET, so 02:30 happens twice: the first (CEST, 00:30 UTC) counts.
	w := recurring("Europe/Berlin", "02:30", 60, "sun")
	checkActive(t, "Berlin 02:30", w, []activeCase{
		{"2026-03-22T01:29:59Z", false}, // a normal Sunday: 02:30 CET = 01:30 UTC
		{"2026-03-22T01:30:00Z", true},
		{"2026-03-22T02:29:59Z", true},
		{"2026-03-22T02:30:00Z", false},
		{"2026-03-29T00:30:00Z", false}, // 01:30 CET
		{"2026-03-29T00:59:59Z", false}, // 01:59:59 CET, the last second before the gap
		{"2026-03-29T01:00:00Z", true},  // 03:00 CEST, the first instant after the gap
		{"2026-03-29T01:59:59Z", true},
		{"2026-03-29T02:00:00Z", false}, // an hour of elapsed time later
		{"2026-03-30T01:00:00Z", false}, // Monday
		{"2026-10-18T00:30:00Z", true},  // a normal CEST Sunday
		{"2026-10-25T00:29:59Z", false},
		{"2026-10-25T00:30:00Z", true}, // 02:30 CEST, the first 02:30
		{"2026-10-25T01:29:59Z", true},
		{"2026-10-25T01:30:00Z", false}, // 02:30 CET, the second 02:30: not a new start
		{"2026-10-25T02:00:00Z", false},
		{"2026-11-01T01:30:00Z", true}, // 02:30 CET on the next Sunday
		{"2026-11-01T00:30:00Z", false},
	})
	next := []struct{ t, start, end string }{
		{"2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"},
		{"2026-03-29T01:30:00Z", "2026-04-05T00:30:00Z", "2026-03-29T02:00:00Z"},
		{"2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"},
		{"2026-10-25T00:45:00Z", "2026-11-01T01:30:00Z", "2026-10-25T01:30:00Z"},
		{"2026-10-25T01:30:00Z", "2026-11-01T01:30:00Z", "2026-11-01T02:30:00Z"},
	}
	for _, c := range next {
		if s, ok := w.NextStart(at(c.t)); !ok || !s.Equal(at(c.start)) {
			t.Errorf("NextStart(%s) = %s, %v; want %s", c.t, s.UTC().Format(time.RFC3339), ok, c.start)
		}
		if e, ok := w.NextEnd(at(c.t)); !ok || !e.Equal(at(c.end)) {
			t.Errorf("NextEnd(%s) = %s, %v; want %s", c.t, e.UTC().Format(time.RFC3339), ok, c.end)
		}
	}
}

func TestMaintenanceDSTNewYork(t *testing.T) {
	// 8 March 2026: 02:00 EST → 03:00 EDT (07:00 UTC). 1 November 2026:
	// 02:00 EDT → 01:00 EST (06:00 UTC), so 01:30 happens twice.
	gap := recurring("America/New_York", "02:15", 30, "sun", "mon")
	checkActive(t, "New York 02:15", gap, []activeCase{
		{"2026-03-01T07:15:00Z", true}, // 02:15 EST
		{"2026-03-08T06:59:59Z", false},
		{"2026-03-08T07:00:00Z", true}, // 03:00 EDT, first instant after the gap
		{"2026-03-08T07:29:59Z", true},
		{"2026-03-08T07:30:00Z", false},
		{"2026-03-09T06:15:00Z", true}, // Monday 02:15 EDT
		{"2026-03-09T07:15:00Z", false},
	})
	twice := recurring("America/New_York", "01:30", 60, "sun")
	checkActive(t, "New York 01:30", twice, []activeCase{
		{"2026-11-01T05:29:59Z", false},
		{"2026-11-01T05:30:00Z", true}, // 01:30 EDT, the first
		{"2026-11-01T06:29:59Z", true},
		{"2026-11-01T06:30:00Z", false}, // 01:30 EST, the second
		{"2026-11-08T06:30:00Z", true},  // 01:30 EST the week after
	})
}

func TestMaintenanceAcrossMidnight(t *testing.T) {
	// Weekday nights 22:00 for four hours, Berlin.
	w := recurring("Europe/Berlin", "22:00", 240, "mon", "tue", "wed", "thu", "fri")
	checkActive(t, "nightly", w, []activeCase{
		{"2026-06-05T19:59:59Z", false}, // Friday 21:59:59 CEST
		{"2026-06-05T20:00:00Z", true},  // Friday 22:00
		{"2026-06-05T23:30:00Z", true},  // Saturday 01:30, from Friday's occurrence
		{"2026-06-06T00:00:00Z", false}, // Saturday 02:00
		{"2026-06-06T20:30:00Z", false}, // Saturday 22:30: no Saturday occurrence
		{"2026-06-07T23:00:00Z", false}, // Monday 01:00: no Sunday occurrence
		{"2026-06-08T21:00:00Z", true},  // Monday 23:00
	})
	// Saturday 22:00 for four hours of elapsed time across the spring change:
	// 22:00 CET (21:00 UTC) to 03:00 CEST (01:00 UTC).
	dst := recurring("Europe/Berlin", "22:00", 240, "sat")
	checkActive(t, "across the gap", dst, []activeCase{
		{"2026-03-28T20:59:59Z", false},
		{"2026-03-28T21:00:00Z", true},
		{"2026-03-29T00:59:59Z", true},
		{"2026-03-29T01:00:00Z", false},
	})
	// And across the autumn change: 22:00 CEST (20:00 UTC) to 01:00 CET (00:00 UTC).
	checkActive(t, "across the repeat", dst, []activeCase{
		{"2026-10-24T19:59:59Z", false},
		{"2026-10-24T20:00:00Z", true},
		{"2026-10-24T23:59:59Z", true},
		{"2026-10-25T00:00:00Z", false},
	})
	if e, ok := dst.NextEnd(at("2026-10-24T21:00:00Z")); !ok || !e.Equal(at("2026-10-25T00:00:00Z")) {
		t.Errorf("NextEnd = %s, %v", e, ok)
	}
}

func TestMaintenanceBounds(t *testing.T) {
	w := recurring("UTC", "09:00", 60, "mon", "tue", "wed", "thu", "fri")
	w.Recurrence.From, w.Recurrence.Until = "2026-03-02", "2026-03-06"
	if err := w.Prepare(); err != nil {
		t.Fatal(err)
	}
	checkActive(t, "bounded", w, []activeCase{
		{"2026-02-27T09:30:00Z", false}, // the Friday before From
		{"2026-03-02T09:30:00Z", true},
		{"2026-03-06T09:30:00Z", true}, // Until is inclusive
		{"2026-03-09T09:30:00Z", false},
	})
	if s, ok := w.NextStart(at("2026-01-01T00:00:00Z")); !ok || !s.Equal(at("2026-03-02T09:00:00Z")) {
		t.Errorf("NextStart before From = %s, %v", s, ok)
	}
	if s, ok := w.NextStart(at("2026-03-06T09:30:00Z")); ok {
		t.Errorf("NextStart after the last = %s", s)
	}
	if e, ok := w.NextEnd(at("2026-03-06T09:30:00Z")); !ok || !e.Equal(at("2026-03-06T10:00:00Z")) {
		t.Errorf("NextEnd in the last = %s, %v", e, ok)
	}
	if _, ok := w.NextEnd(at("2026-03-06T10:00:00Z")); ok {
		t.Error("NextEnd after the last")
	}
}

func TestMaintenanceMergedPeriods(t *testing.T) {
	// All day Monday to Friday: one period from Monday 00:00 to Saturday 00:00.
	w := recurring("Europe/Berlin", "00:00", 24*60, "mon", "tue", "wed", "thu", "fri")
	wed := at("2026-06-10T10:00:00Z")
	if !w.ActiveAt(wed) {
		t.Fatal("not active on Wednesday")
	}
	if e, ok := w.NextEnd(wed); !ok || !e.Equal(at("2026-06-12T22:00:00Z")) {
		t.Errorf("NextEnd(Wednesday) = %s, %v; want Saturday 00:00 CEST", e, ok)
	}
	if s, ok := w.NextStart(wed); !ok || !s.Equal(at("2026-06-14T22:00:00Z")) {
		t.Errorf("NextStart(Wednesday) = %s, %v; want Monday 00:00 CEST", s, ok)
	}
	sat := at("2026-06-13T10:00:00Z")
	if e, ok := w.NextEnd(sat); !ok || !e.Equal(at("2026-06-19T22:00:00Z")) {
		t.Errorf("NextEnd(Saturday) = %s, %v; want the next Saturday", e, ok)
	}
	// Every day, all day: always active, never starts again.
	all := recurring("UTC", "00:00", 24*60, "mon", "tue", "wed", "thu", "fri", "sat", "sun")
	if !all.ActiveAt(wed) {
		t.Error("all-day window not active")
	}
	if s, ok := all.NextStart(wed); ok {
		t.Errorf("NextStart of a window that never closes = %s", s)
	}
	if _, ok := all.NextEnd(wed); !ok {
		t.Error("NextEnd of a window that never closes gives none; want the end of the horizon")
	}
	// A week-long occurrence starting Mondays.
	week := recurring("UTC", "06:00", 7*24*60-60, "mon")
	checkActive(t, "week", week, []activeCase{
		{"2026-06-08T06:00:00Z", true},
		{"2026-06-14T23:00:00Z", true},
		{"2026-06-15T05:30:00Z", false},
		{"2026-06-15T06:00:00Z", true},
	})
}

func TestMaintenanceOneOff(t *testing.T) {
	w := MaintenanceWindow{ID: 3, Name: "upgrade", StartsAt: at("2026-10-25T00:00:00Z"), EndsAt: at("2026-10-25T03:00:00Z"), ServiceIDs: []int64{1}}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	checkActive(t, "one-off", w, []activeCase{
		{"2026-10-24T23:59:59Z", false},
		{"2026-10-25T00:00:00Z", true},
		{"2026-10-25T02:59:59Z", true},
		{"2026-10-25T03:00:00Z", false},
	})
	before := at("2026-10-24T00:00:00Z")
	if s, ok := w.NextStart(before); !ok || !s.Equal(w.StartsAt) {
		t.Errorf("NextStart = %s, %v", s, ok)
	}
	if e, ok := w.NextEnd(before); !ok || !e.Equal(w.EndsAt) {
		t.Errorf("NextEnd = %s, %v", e, ok)
	}
	if _, ok := w.NextStart(at("2026-10-25T01:00:00Z")); ok {
		t.Error("NextStart during the window")
	}
	if _, ok := w.NextEnd(at("2026-10-25T03:00:00Z")); ok {
		t.Error("NextEnd after the window")
	}
	// The time zone of a one-off window is for display: offsets in the times count.
	w.TimeZone = "America/New_York"
	w.StartsAt = time.Date(2026, 3, 8, 1, 0, 0, 0, time.FixedZone("EST", -5*3600))
	w.EndsAt = time.Date(2026, 3, 8, 4, 0, 0, 0, time.FixedZone("EDT", -4*3600))
	if err := w.Prepare(); err != nil {
		t.Fatal(err)
	}
	checkActive(t, "one-off New York", w, []activeCase{
		{"2026-03-08T05:59:59Z", false},
		{"2026-03-08T06:00:00Z", true},
		{"2026-03-08T07:59:59Z", true}, // two hours of elapsed time: 02:00–03:00 does not exist
		{"2026-03-08T08:00:00Z", false},
	})
}

func TestMaintenanceScope(t *testing.T) {
	w := MaintenanceWindow{ID: 1, Name: "w", StartsAt: at("2026-01-01T00:00:00Z"), EndsAt: at("2026-01-02T00:00:00Z"),
		ServiceIDs: []int64{4, 5}, Matchers: MustParseMatchers(`{env="staging"}`)}
	in := at("2026-01-01T12:00:00Z")
	out := at("2026-01-03T12:00:00Z")
	cases := []struct {
		service int64
		labels  map[string]string
		t       time.Time
		want    bool
	}{
		{4, nil, in, true},
		{5, map[string]string{"env": "prod"}, in, true},
		{6, map[string]string{"env": "staging"}, in, true},
		{6, map[string]string{"env": "prod"}, in, false},
		{0, nil, in, false},
		{4, nil, out, false},
		{6, map[string]string{"env": "staging"}, out, false},
	}
	for _, c := range cases {
		if got := w.Matches(c.service, c.labels, c.t); got != c.want {
			t.Errorf("Matches(%d, %v, %s) = %v; want %v", c.service, c.labels, c.t, got, c.want)
		}
	}
	onlyServices := w
	onlyServices.Matchers = nil
	if onlyServices.Applies(6, map[string]string{"env": "staging"}) {
		t.Error("a window without matchers applied to another service")
	}
}

func TestMaintenanceValidate(t *testing.T) {
	good := MaintenanceWindow{Name: "nightly", TimeZone: "Europe/Berlin", ServiceIDs: []int64{1},
		Recurrence: &Recurrence{Days: []string{"Mon", "tuesday"}, StartTime: "22:00", DurationMinutes: 60, From: "2026-01-01", Until: "2026-12-31"}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid window: %v", err)
	}
	oneOff := MaintenanceWindow{Name: "once", Matchers: MustParseMatchers(`host="db-1"`), StartsAt: at("2026-01-01T00:00:00Z"), EndsAt: at("2026-01-01T01:00:00Z")}
	if err := oneOff.Validate(); err != nil {
		t.Fatalf("valid one-off window: %v", err)
	}
	cases := []struct {
		name  string
		base  MaintenanceWindow
		edit  func(w *MaintenanceWindow)
		field string
	}{
		{"no name", good, func(w *MaintenanceWindow) { w.Name = "" }, "name"},
		{"unknown zone", good, func(w *MaintenanceWindow) { w.TimeZone = "Europe/Atlantis" }, "time_zone"},
		{"Local", good, func(w *MaintenanceWindow) { w.TimeZone = "Local" }, "time_zone"},
		{"recurring without zone", good, func(w *MaintenanceWindow) { w.TimeZone = "" }, "time_zone"},
		{"no days", good, func(w *MaintenanceWindow) { w.Recurrence.Days = nil }, "recurrence.days"},
		{"bad day", good, func(w *MaintenanceWindow) { w.Recurrence.Days = []string{"mon", "funday"} }, "recurrence.days"},
		{"24:00", good, func(w *MaintenanceWindow) { w.Recurrence.StartTime = "24:00" }, "recurrence.start_time"},
		{"7:00", good, func(w *MaintenanceWindow) { w.Recurrence.StartTime = "7:00" }, "recurrence.start_time"},
		{"no start", good, func(w *MaintenanceWindow) { w.Recurrence.StartTime = "" }, "recurrence.start_time"},
		{"zero duration", good, func(w *MaintenanceWindow) { w.Recurrence.DurationMinutes = 0 }, "recurrence.duration_minutes"},
		{"long duration", good, func(w *MaintenanceWindow) { w.Recurrence.DurationMinutes = 7*24*60 + 1 }, "recurrence.duration_minutes"},
		{"bad from", good, func(w *MaintenanceWindow) { w.Recurrence.From = "2026-13-01" }, "recurrence.from"},
		{"bad until", good, func(w *MaintenanceWindow) { w.Recurrence.Until = "31.12.2026" }, "recurrence.until"},
		{"until before from", good, func(w *MaintenanceWindow) { w.Recurrence.Until = "2025-12-31" }, "recurrence.until"},
		{"recurring with start", good, func(w *MaintenanceWindow) { w.StartsAt = at("2026-01-01T00:00:00Z") }, "starts_at"},
		{"no scope", good, func(w *MaintenanceWindow) { w.ServiceIDs = nil }, "service_ids"},
		{"bad service id", good, func(w *MaintenanceWindow) { w.ServiceIDs = []int64{0} }, "service_ids"},
		{"matchers matching everything", good, func(w *MaintenanceWindow) { w.Matchers = MustParseMatchers(`env=~".*"`) }, "matchers"},
		{"bad matcher", good, func(w *MaintenanceWindow) { w.Matchers = Matchers{{Name: "a", Type: MatchRegexp, Value: "("}} }, "matchers[0].value"},
		{"one-off without start", oneOff, func(w *MaintenanceWindow) { w.StartsAt = time.Time{} }, "starts_at"},
		{"one-off without end", oneOff, func(w *MaintenanceWindow) { w.EndsAt = time.Time{} }, "ends_at"},
		{"one-off ending first", oneOff, func(w *MaintenanceWindow) { w.EndsAt = w.StartsAt }, "ends_at"},
		{"one-off unknown zone", oneOff, func(w *MaintenanceWindow) { w.TimeZone = "Mars/Olympus" }, "time_zone"},
	}
	for _, c := range cases {
		w := c.base
		if w.Recurrence != nil {
			r := *w.Recurrence
			w.Recurrence = &r
		}
		c.edit(&w)
		err := w.Validate()
		if err == nil {
			t.Errorf("%s: Validate() = nil", c.name)
			continue
		}
		checkField(t, err, c.field)
		// A window that does not validate is never active.
		if c.field != "name" && c.field != "service_ids" && c.field != "matchers" && c.field != "matchers[0].value" {
			if w.Prepare() == nil {
				t.Errorf("%s: Prepare() = nil", c.name)
			}
			if w.ActiveAt(at("2026-06-01T22:30:00Z")) {
				t.Errorf("%s: an invalid window is active", c.name)
			}
		}
	}
}

func TestMaintenanceJSON(t *testing.T) {
	in := `{"id":7,"name":"patching","time_zone":"Europe/Berlin","recurrence":{"days":["sun"],"start_time":"02:30","duration_minutes":60},
		"service_ids":[3],"matchers":"{env=\"prod\"}"}`
	var w MaintenanceWindow
	if err := json.Unmarshal([]byte(in), &w); err != nil {
		t.Fatal(err)
	}
	if w.prep == nil || w.prep.err != nil {
		t.Fatalf("decoding did not prepare the schedule: %+v", w.prep)
	}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	if !w.Recurring() || !w.ActiveAt(at("2026-03-29T01:00:00Z")) || !w.Applies(9, map[string]string{"env": "prod"}) {
		t.Error("decoded window does not work")
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	var again MaintenanceWindow
	if err := json.Unmarshal(b, &again); err != nil || again.Recurrence.StartTime != "02:30" || again.Matchers.String() != `{env="prod"}` {
		t.Errorf("round trip: %s → %+v, %v", b, again, err)
	}
}

func TestLocalInstant(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := func(s string) int64 { d, _ := parseDate(s); return d }
	cases := []struct {
		date   string
		minute int
		want   string
	}{
		{"2026-03-29", 2*60 + 30, "2026-03-29T01:00:00Z"},
		{"2026-03-29", 2 * 60, "2026-03-29T01:00:00Z"},
		{"2026-03-29", 1*60 + 59, "2026-03-29T00:59:00Z"},
		{"2026-03-29", 3 * 60, "2026-03-29T01:00:00Z"},
		{"2026-10-25", 2*60 + 30, "2026-10-25T00:30:00Z"},
		{"2026-10-25", 2 * 60, "2026-10-25T00:00:00Z"},
		{"2026-10-25", 3 * 60, "2026-10-25T02:00:00Z"},
		{"2026-07-01", 0, "2026-06-30T22:00:00Z"},
	}
	for _, c := range cases {
		if got := localInstant(day(c.date), c.minute, berlin); !got.Equal(at(c.want)) {
			t.Errorf("%s %02d:%02d = %s; want %s", c.date, c.minute/60, c.minute%60, got.UTC().Format(time.RFC3339), c.want)
		}
	}
	for d, want := range map[string]int{"1970-01-01": 4, "2026-03-29": 0, "2026-10-24": 6, "1969-12-31": 3} {
		if got := clock.WeekdayOf(day(d)); got != want {
			t.Errorf("WeekdayOf(%s) = %d; want %d", d, got, want)
		}
	}
}

func BenchmarkMaintenanceActiveAt(b *testing.B) {
	w := recurring("Europe/Berlin", "22:00", 240, "mon", "tue", "wed", "thu", "fri")
	t := at("2026-06-05T23:30:00Z")
	b.ReportAllocs()
	for b.Loop() {
		if !w.ActiveAt(t) {
			b.Fatal("not active")
		}
	}
}
