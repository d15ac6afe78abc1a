package calendar

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/platform/errs"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func rg(start, end string) Range { return Range{Start: start, End: end} }

// days gives the same ranges to each of the named days.
func days(names []string, r ...Range) map[string][]Range {
	m := make(map[string][]Range)
	for _, n := range names {
		m[n] = r
	}
	return m
}

var (
	monFri  = []string{"mon", "tue", "wed", "thu", "fri"}
	allWeek = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
)

func mustPrepare(c Calendar) *Calendar {
	if c.Name == "" {
		c.Name = "test"
	}
	if err := c.Prepare(); err != nil {
		panic(err)
	}
	return &c
}

// both returns the calendar prepared and the same calendar unprepared, which
// must behave the same.
func both(c *Calendar) map[string]*Calendar {
	u := *c
	u.prep = nil
	return map[string]*Calendar{"prepared": c, "unprepared": &u}
}

var (
	berlinBusiness = BusinessHours("Europe/Berlin")
	nyBusiness     = BusinessHours("America/New_York")
	// Sundays 00:00–06:00: the night the clocks change.
	berlinSundayNight = mustPrepare(Calendar{TimeZone: "Europe/Berlin", Hours: days([]string{"sun"}, rg("00:00", "06:00"))})
	nySundayNight     = mustPrepare(Calendar{TimeZone: "America/New_York", Hours: days([]string{"sun"}, rg("00:00", "06:00"))})
	// Sundays 02:30–04:00: a start that is skipped in spring, doubled in autumn.
	berlinSkipped = mustPrepare(Calendar{TimeZone: "Europe/Berlin", Hours: days([]string{"sun"}, rg("02:30", "04:00"))})
	berlinAllWeek = mustPrepare(Calendar{TimeZone: "Europe/Berlin", Hours: days(allWeek, rg("09:00", "17:00"))})
	berlin24x7    = mustPrepare(Calendar{TimeZone: "Europe/Berlin", Always: true})
	ny24x7        = mustPrepare(Calendar{TimeZone: "America/New_York", Always: true})
	// 24×7 with a holiday on each DST Sunday, so that it walks local days.
	berlin24x7Holidays = mustPrepare(Calendar{TimeZone: "Europe/Berlin", Always: true, Holidays: []Holiday{
		{Date: "2026-03-29", Name: "spring"}, {Date: "2026-10-25", Name: "autumn"}}})
	ny24x7Holidays = mustPrepare(Calendar{TimeZone: "America/New_York", Always: true, Holidays: []Holiday{
		{Date: "2026-03-08", Name: "spring"}, {Date: "2026-11-01", Name: "autumn"}}})
	berlinHolidays = mustPrepare(Calendar{TimeZone: "Europe/Berlin", Hours: days(monFri, rg("09:00", "17:00")), Holidays: []Holiday{
		{Date: "2026-04-03", Name: "Good Friday"},
		{Date: "2026-04-06", Name: "Easter Monday"},
		{Date: "2026-05-14", Name: "Ascension"},
		{Date: "2000-01-01", Name: "New Year", Yearly: true},
		{Date: "2000-12-25", Name: "Christmas", Yearly: true},
	}})
	// Night shift, Monday to Friday 22:00 until 06:00 the next morning.
	nightShift = mustPrepare(Calendar{TimeZone: "UTC", Hours: days(monFri, rg("22:00", "06:00"))})
	// The same with a holiday on Tuesday 2026-01-13.
	nightShiftHoliday = mustPrepare(Calendar{TimeZone: "UTC", Hours: days(monFri, rg("22:00", "06:00")),
		Holidays: []Holiday{{Date: "2026-01-13", Name: "h"}}})
	// A lunch break: 09:00–12:00 and 13:00–17:00.
	split = mustPrepare(Calendar{TimeZone: "Europe/Berlin", Hours: days(monFri, rg("13:00", "17:00"), rg("09:00", "12:00"))})
)

func TestDefaults(t *testing.T) {
	for name, c := range map[string]*Calendar{"24x7": TwentyFourSeven(), "business": BusinessHours("Europe/Berlin")} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", name, err)
		}
	}
	c := TwentyFourSeven()
	from := at("2026-03-28T12:00:00+01:00")
	if got := c.WorkingBetween(from, from.Add(36*time.Hour)); got != 36*time.Hour {
		t.Errorf("24x7 WorkingBetween = %v; want 36h", got)
	}
	if got := c.Add(from, 1000*time.Hour); !got.Equal(from.Add(1000 * time.Hour)) {
		t.Errorf("24x7 Add = %v", got)
	}
	if !c.IsWorking(at("2026-03-29T01:30:00Z")) || !c.NextWorking(from).Equal(from) {
		t.Error("24x7 is not always working")
	}
	if err := BusinessHours("Mars/Olympus").Validate(); !hasField(err, "time_zone") {
		t.Errorf("BusinessHours with a bad zone: Validate = %v; want time_zone", err)
	}
	if got := BusinessHours("Mars/Olympus").Add(from, time.Hour); !got.IsZero() {
		t.Errorf("an invalid calendar: Add = %v; want the zero time", got)
	}
}

func hasField(err error, field string) bool {
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

func TestValidate(t *testing.T) {
	ok := func(c Calendar) Calendar { c.Name = "x"; return c }
	cases := []struct {
		name  string
		cal   Calendar
		field string // "" when valid
	}{
		{"business", ok(Calendar{TimeZone: "Europe/Berlin", Hours: days(monFri, rg("09:00", "17:00"))}), ""},
		{"full day names", ok(Calendar{TimeZone: "UTC", Hours: days([]string{"Monday", "SUNDAY"}, rg("00:00", "24:00"))}), ""},
		{"24x7 in UTC", ok(Calendar{Always: true}), ""},
		{"24x7 with holidays", ok(Calendar{Always: true, TimeZone: "Asia/Tokyo", Holidays: []Holiday{{Date: "2026-01-01", Yearly: true}}}), ""},
		{"overnight and split", ok(Calendar{TimeZone: "UTC", Hours: days(monFri, rg("22:00", "02:00"), rg("08:00", "12:00"), rg("11:00", "13:00"))}), ""},
		{"midnight end", ok(Calendar{TimeZone: "UTC", Hours: days(monFri, rg("18:00", "00:00"))}), ""},
		{"no name", Calendar{Always: true}, "name"},
		{"long name", Calendar{Name: string(make([]byte, 201)), Always: true}, "name"},
		{"unknown zone", ok(Calendar{TimeZone: "Europe/Atlantis", Always: true}), "time_zone"},
		{"Local zone", ok(Calendar{TimeZone: "Local", Always: true}), "time_zone"},
		{"hours without zone", ok(Calendar{Hours: days(monFri, rg("09:00", "17:00"))}), "time_zone"},
		{"holidays without zone", ok(Calendar{Always: true, Holidays: []Holiday{{Date: "2026-01-01"}}}), "time_zone"},
		{"no hours", ok(Calendar{TimeZone: "UTC"}), "hours"},
		{"empty days", ok(Calendar{TimeZone: "UTC", Hours: map[string][]Range{"mon": nil}}), "hours"},
		{"empty days, no zone", ok(Calendar{Hours: map[string][]Range{"mon": nil}}), "hours"},
		{"24x7 with hours", ok(Calendar{TimeZone: "UTC", Always: true, Hours: days(monFri, rg("09:00", "17:00"))}), "hours"},
		{"bad day", ok(Calendar{TimeZone: "UTC", Hours: days([]string{"funday"}, rg("09:00", "17:00"))}), "hours.funday"},
		{"bad start", ok(Calendar{TimeZone: "UTC", Hours: days([]string{"mon"}, rg("9:00", "17:00"))}), "hours.mon[0].start"},
		{"start 24:00", ok(Calendar{TimeZone: "UTC", Hours: days([]string{"mon"}, rg("24:00", "17:00"))}), "hours.mon[0].start"},
		{"bad end", ok(Calendar{TimeZone: "UTC", Hours: days([]string{"tue"}, rg("09:00", "25:00"))}), "hours.tue[0].end"},
		{"empty range", ok(Calendar{TimeZone: "UTC", Hours: days([]string{"wed"}, rg("09:00", "17:00"), rg("10:00", "10:00"))}), "hours.wed[1].end"},
		{"00:00-00:00", ok(Calendar{TimeZone: "UTC", Hours: days([]string{"wed"}, rg("00:00", "00:00"))}), "hours.wed[0].end"},
		{"too many ranges", ok(Calendar{TimeZone: "UTC", Hours: map[string][]Range{"mon": slices.Repeat([]Range{rg("09:00", "10:00")}, MaxRangesPerDay+1)}}), "hours.mon"},
		{"bad holiday", ok(Calendar{TimeZone: "UTC", Always: true, Holidays: []Holiday{{Date: "2026-01-01"}, {Date: "26-12-25"}}}), "holidays[1].date"},
		{"no such date", ok(Calendar{TimeZone: "UTC", Always: true, Holidays: []Holiday{{Date: "2026-02-30"}}}), "holidays[0].date"},
		{"holiday name", ok(Calendar{TimeZone: "UTC", Always: true, Holidays: []Holiday{{Date: "2026-02-03", Name: "a\x00b"}}}), "holidays[0].name"},
		{"too many holidays", ok(Calendar{TimeZone: "UTC", Always: true, Holidays: make([]Holiday, MaxHolidays+1)}), "holidays"},
	}
	for _, c := range cases {
		err := c.cal.Validate()
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: Validate = %v; want nil", c.name, err)
		case c.field != "" && !hasField(err, c.field):
			t.Errorf("%s: Validate = %v; want a problem with %s", c.name, err, c.field)
		}
		cal := c.cal
		perr := cal.Prepare()
		if (perr == nil) != (c.field == "" || c.field == "name") {
			t.Errorf("%s: Prepare = %v", c.name, perr)
		}
		if perr != nil {
			// An invalid calendar has no working time, and says so quickly.
			from := at("2026-01-05T10:00:00Z")
			if cal.IsWorking(from) || cal.WorkingBetween(from, from.Add(time.Hour)) != 0 ||
				!cal.Add(from, time.Hour).IsZero() || !cal.NextWorking(from).IsZero() {
				t.Errorf("%s: an invalid calendar has working time", c.name)
			}
		}
	}
}

func TestJSON(t *testing.T) {
	in := `{"name":"Support","time_zone":"Europe/Berlin","always":false,
		"hours":{"mon":[{"start":"09:00","end":"12:00"},{"start":"13:00","end":"17:00"}],"fri":[{"start":"22:00","end":"02:00"}]},
		"holidays":[{"date":"2026-12-25","name":"Christmas","yearly":true}]}`
	var c Calendar
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.prep == nil || c.prep.err != nil {
		t.Fatalf("decoding did not prepare the calendar: %+v", c.prep)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Calendar
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	from := at("2026-01-05T08:00:00+01:00") // Monday
	to := at("2026-01-12T08:00:00+01:00")
	if got, want := back.WorkingBetween(from, to), 7*time.Hour+4*time.Hour; got != want {
		t.Errorf("after a round trip: WorkingBetween = %v; want %v (JSON %s)", got, want, out)
	}
	// A decoded invalid calendar decodes (Validate reports it) and has no working time.
	var bad Calendar
	if err := json.Unmarshal([]byte(`{"name":"x","time_zone":"Nowhere/Else","always":true}`), &bad); err != nil {
		t.Fatal(err)
	}
	if bad.IsWorking(from) || !hasField(bad.Validate(), "time_zone") {
		t.Error("an invalid decoded calendar works")
	}
}

type addCase struct {
	name string
	cal  *Calendar
	from string
	d    time.Duration
	want string
}

func TestAdd(t *testing.T) {
	cases := []addCase{
		// Business hours, Europe/Berlin, Monday to Friday 09:00–17:00.
		{"friday afternoon to monday", berlinBusiness, "2026-01-09T16:30:00+01:00", 2 * time.Hour, "2026-01-12T10:30:00+01:00"},
		{"friday afternoon over spring DST", berlinBusiness, "2026-03-27T16:30:00+01:00", 2 * time.Hour, "2026-03-30T10:30:00+02:00"},
		{"friday afternoon over autumn DST", berlinBusiness, "2026-10-23T16:30:00+02:00", 2 * time.Hour, "2026-10-26T10:30:00+01:00"},
		{"ends exactly at closing", berlinBusiness, "2026-01-09T16:30:00+01:00", 30 * time.Minute, "2026-01-09T17:00:00+01:00"},
		{"starts on saturday", berlinBusiness, "2026-01-10T12:00:00+01:00", time.Hour, "2026-01-12T10:00:00+01:00"},
		{"starts before opening", berlinBusiness, "2026-01-12T07:00:00+01:00", time.Hour, "2026-01-12T10:00:00+01:00"},
		{"starts after closing", berlinBusiness, "2026-01-12T18:00:00+01:00", time.Hour, "2026-01-13T10:00:00+01:00"},
		{"a working week", berlinBusiness, "2026-01-12T09:00:00+01:00", 40 * time.Hour, "2026-01-16T17:00:00+01:00"},
		{"a working week and an hour", berlinBusiness, "2026-01-12T09:00:00+01:00", 41 * time.Hour, "2026-01-19T10:00:00+01:00"},
		{"zero", berlinBusiness, "2026-01-10T12:00:00+01:00", 0, "2026-01-10T12:00:00+01:00"},
		{"negative", berlinBusiness, "2026-01-10T12:00:00+01:00", -time.Hour, "2026-01-10T12:00:00+01:00"},
		{"nanoseconds", berlinBusiness, "2026-01-09T16:59:59.999999999+01:00", 2 * time.Nanosecond, "2026-01-12T09:00:00.000000001+01:00"},
		{"from UTC", berlinBusiness, "2026-01-09T15:30:00Z", 2 * time.Hour, "2026-01-12T09:30:00Z"},
		// America/New_York: DST on 8 March and 1 November 2026.
		{"NY friday over spring DST", nyBusiness, "2026-03-06T16:30:00-05:00", 2 * time.Hour, "2026-03-09T10:30:00-04:00"},
		{"NY friday over autumn DST", nyBusiness, "2026-10-30T16:30:00-04:00", 2 * time.Hour, "2026-11-02T10:30:00-05:00"},
		// A range across the DST jump follows the clocks.
		{"Berlin 00:00-06:00 spring", berlinSundayNight, "2026-03-28T12:00:00+01:00", 5 * time.Hour, "2026-03-29T06:00:00+02:00"},
		{"Berlin 00:00-06:00 spring, into the jump", berlinSundayNight, "2026-03-29T00:00:00+01:00", 2 * time.Hour, "2026-03-29T03:00:00+02:00"},
		{"Berlin 00:00-06:00 spring, one more minute", berlinSundayNight, "2026-03-28T12:00:00+01:00", 5*time.Hour + time.Minute, "2026-04-05T00:01:00+02:00"},
		{"Berlin 00:00-06:00 autumn", berlinSundayNight, "2026-10-24T12:00:00+02:00", 7 * time.Hour, "2026-10-25T06:00:00+01:00"},
		{"Berlin 00:00-06:00 autumn, the first 02:30", berlinSundayNight, "2026-10-25T00:00:00+02:00", 150 * time.Minute, "2026-10-25T02:30:00+02:00"},
		{"Berlin 00:00-06:00 autumn, the second 02:30", berlinSundayNight, "2026-10-25T00:00:00+02:00", 210 * time.Minute, "2026-10-25T02:30:00+01:00"},
		{"NY 00:00-06:00 spring", nySundayNight, "2026-03-07T12:00:00-05:00", 5 * time.Hour, "2026-03-08T06:00:00-04:00"},
		{"NY 00:00-06:00 autumn", nySundayNight, "2026-10-31T12:00:00-04:00", 7 * time.Hour, "2026-11-01T06:00:00-05:00"},
		{"Berlin 02:30 skipped", berlinSkipped, "2026-03-28T12:00:00+01:00", time.Hour, "2026-03-29T04:00:00+02:00"},
		{"Berlin 02:30 doubled", berlinSkipped, "2026-10-24T12:00:00+02:00", 150 * time.Minute, "2026-10-25T04:00:00+01:00"},
		{"09:00-17:00 every day, spring", berlinAllWeek, "2026-03-29T09:00:00+02:00", 8 * time.Hour, "2026-03-29T17:00:00+02:00"},
		{"09:00-17:00 every day, autumn", berlinAllWeek, "2026-10-25T09:00:00+01:00", 8 * time.Hour, "2026-10-25T17:00:00+01:00"},
		// 24×7 counts real elapsed time.
		{"24x7 Berlin spring", berlin24x7, "2026-03-28T12:00:00+01:00", 23 * time.Hour, "2026-03-29T12:00:00+02:00"},
		{"24x7 Berlin autumn", berlin24x7, "2026-10-24T12:00:00+02:00", 25 * time.Hour, "2026-10-25T12:00:00+01:00"},
		{"24x7 NY spring", ny24x7, "2026-03-07T12:00:00-05:00", 23 * time.Hour, "2026-03-08T12:00:00-04:00"},
		{"24x7 with a holiday on the spring DST day", berlin24x7Holidays, "2026-03-28T12:00:00+01:00", 13 * time.Hour, "2026-03-30T01:00:00+02:00"},
		{"24x7 with a holiday on the autumn DST day", ny24x7Holidays, "2026-10-31T00:00:00-04:00", 25 * time.Hour, "2026-11-02T01:00:00-05:00"},
		// Holidays.
		{"Good Friday and Easter Monday", berlinHolidays, "2026-04-02T16:00:00+02:00", 2 * time.Hour, "2026-04-07T10:00:00+02:00"},
		{"a fixed holiday", berlinHolidays, "2026-05-13T16:00:00+02:00", 2 * time.Hour, "2026-05-15T10:00:00+02:00"},
		{"a fixed holiday holds one year only", berlinHolidays, "2027-05-13T16:00:00+02:00", 2 * time.Hour, "2027-05-14T10:00:00+02:00"},
		{"a yearly holiday in 2026", berlinHolidays, "2025-12-31T16:00:00+01:00", 2 * time.Hour, "2026-01-02T10:00:00+01:00"},
		{"a yearly holiday in 2027", berlinHolidays, "2026-12-31T16:00:00+01:00", 2 * time.Hour, "2027-01-04T10:00:00+01:00"},
		{"christmas", berlinHolidays, "2026-12-24T16:00:00+01:00", 2 * time.Hour, "2026-12-28T10:00:00+01:00"},
		// Ranges across midnight.
		{"night shift", nightShift, "2026-01-12T12:00:00Z", 3 * time.Hour, "2026-01-13T01:00:00Z"},
		{"night shift, the whole night", nightShift, "2026-01-12T12:00:00Z", 8 * time.Hour, "2026-01-13T06:00:00Z"},
		{"night shift, friday into saturday", nightShift, "2026-01-16T23:00:00Z", 6 * time.Hour, "2026-01-17T05:00:00Z"},
		{"night shift, over the weekend", nightShift, "2026-01-16T23:00:00Z", 8 * time.Hour, "2026-01-19T23:00:00Z"},
		{"night shift, holiday tuesday", nightShiftHoliday, "2026-01-12T12:00:00Z", 3 * time.Hour, "2026-01-14T01:00:00Z"},
		// Several ranges a day.
		{"lunch break", split, "2026-01-12T11:00:00+01:00", 2 * time.Hour, "2026-01-12T14:00:00+01:00"},
		{"up to lunch", split, "2026-01-12T11:00:00+01:00", time.Hour, "2026-01-12T12:00:00+01:00"},
		{"from lunch", split, "2026-01-12T12:30:00+01:00", time.Hour, "2026-01-12T14:00:00+01:00"},
		{"a split day", split, "2026-01-12T00:00:00+01:00", 7 * time.Hour, "2026-01-12T17:00:00+01:00"},
	}
	for _, c := range cases {
		for kind, cal := range both(c.cal) {
			from, want := at(c.from), at(c.want)
			got := cal.Add(from, c.d)
			if !got.Equal(want) {
				t.Errorf("%s (%s): Add(%s, %v) = %s; want %s", c.name, kind, c.from, c.d, got.Format(time.RFC3339Nano), c.want)
				continue
			}
			if got.Location() != from.Location() {
				t.Errorf("%s: Add returned a time in %v; want %v", c.name, got.Location(), from.Location())
			}
			if c.d > 0 {
				if w := cal.WorkingBetween(from, got); w != c.d {
					t.Errorf("%s (%s): WorkingBetween(from, Add(from, d)) = %v; want %v", c.name, kind, w, c.d)
				}
			}
		}
	}
}

type betweenCase struct {
	name     string
	cal      *Calendar
	from, to string
	want     time.Duration
}

func TestWorkingBetween(t *testing.T) {
	cases := []betweenCase{
		{"a working day", berlinBusiness, "2026-01-12T00:00:00+01:00", "2026-01-13T00:00:00+01:00", 8 * time.Hour},
		{"a week", berlinBusiness, "2026-01-12T00:00:00+01:00", "2026-01-19T00:00:00+01:00", 40 * time.Hour},
		{"a weekend", berlinBusiness, "2026-01-09T17:00:00+01:00", "2026-01-12T09:00:00+01:00", 0},
		{"empty", berlinBusiness, "2026-01-12T10:00:00+01:00", "2026-01-12T10:00:00+01:00", 0},
		{"backwards", berlinBusiness, "2026-01-12T12:00:00+01:00", "2026-01-12T10:00:00+01:00", 0},
		{"part of a day", berlinBusiness, "2026-01-12T10:15:00+01:00", "2026-01-12T11:00:00+01:00", 45 * time.Minute},
		{"the DST week in spring", berlinBusiness, "2026-03-27T00:00:00+01:00", "2026-03-31T00:00:00+02:00", 16 * time.Hour},
		{"the DST week in autumn", berlinBusiness, "2026-10-23T00:00:00+02:00", "2026-10-27T00:00:00+01:00", 16 * time.Hour},
		{"a year", berlinBusiness, "2026-01-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00", 261 * 8 * time.Hour},
		{"a year with holidays", berlinHolidays, "2026-01-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00", (261 - 5) * 8 * time.Hour},
		{"NY spring DST Sunday", nySundayNight, "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 5 * time.Hour},
		{"NY autumn DST Sunday", nySundayNight, "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 7 * time.Hour},
		{"NY ordinary Sunday", nySundayNight, "2026-03-15T00:00:00-04:00", "2026-03-16T00:00:00-04:00", 6 * time.Hour},
		{"Berlin spring DST Sunday", berlinSundayNight, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 5 * time.Hour},
		{"Berlin autumn DST Sunday", berlinSundayNight, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 7 * time.Hour},
		{"Berlin 02:30-04:00, spring", berlinSkipped, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", time.Hour},
		{"Berlin 02:30-04:00, autumn", berlinSkipped, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 150 * time.Minute},
		{"Berlin 02:30-04:00, ordinary", berlinSkipped, "2026-03-22T00:00:00+01:00", "2026-03-23T00:00:00+01:00", 90 * time.Minute},
		{"09:00-17:00 on the spring DST Sunday", berlinAllWeek, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 8 * time.Hour},
		{"09:00-17:00 on the autumn DST Sunday", berlinAllWeek, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 8 * time.Hour},
		{"24x7 Berlin spring day", berlin24x7, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23 * time.Hour},
		{"24x7 Berlin autumn day", berlin24x7, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25 * time.Hour},
		{"24x7 NY spring day", ny24x7, "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 23 * time.Hour},
		{"24x7 NY autumn day", ny24x7, "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 25 * time.Hour},
		{"24x7 Berlin, holiday on the spring day", berlin24x7Holidays, "2026-03-28T00:00:00+01:00", "2026-03-31T00:00:00+02:00", 48 * time.Hour},
		{"24x7 Berlin, the autumn day", berlin24x7Holidays, "2026-10-24T00:00:00+02:00", "2026-10-27T00:00:00+01:00", 48 * time.Hour},
		{"24x7 Berlin, a holiday-free day", berlin24x7Holidays, "2026-10-26T00:00:00+01:00", "2026-10-27T00:00:00+01:00", 24 * time.Hour},
		{"24x7 NY, around the autumn holiday", ny24x7Holidays, "2026-10-31T12:00:00-04:00", "2026-11-02T12:00:00-05:00", 24 * time.Hour},
		{"night shift, a week", nightShift, "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z", 40 * time.Hour},
		{"night shift, monday", nightShift, "2026-01-12T00:00:00Z", "2026-01-13T12:00:00Z", 8 * time.Hour},
		{"night shift, saturday morning", nightShift, "2026-01-17T00:00:00Z", "2026-01-18T00:00:00Z", 6 * time.Hour},
		{"night shift, holiday tuesday", nightShiftHoliday, "2026-01-12T12:00:00Z", "2026-01-14T12:00:00Z", 8 * time.Hour},
		{"night shift, no holiday", nightShift, "2026-01-12T12:00:00Z", "2026-01-14T12:00:00Z", 16 * time.Hour},
		{"split day", split, "2026-01-12T00:00:00+01:00", "2026-01-13T00:00:00+01:00", 7 * time.Hour},
		{"split, across lunch", split, "2026-01-12T11:30:00+01:00", "2026-01-12T13:30:00+01:00", time.Hour},
	}
	for _, c := range cases {
		for kind, cal := range both(c.cal) {
			if got := cal.WorkingBetween(at(c.from), at(c.to)); got != c.want {
				t.Errorf("%s (%s): WorkingBetween(%s, %s) = %v; want %v", c.name, kind, c.from, c.to, got, c.want)
			}
		}
	}
}

func TestHoursForms(t *testing.T) {
	// The same working time written in different ways.
	week := func(hours map[string][]Range) time.Duration {
		c := mustPrepare(Calendar{TimeZone: "UTC", Hours: hours})
		return c.WorkingBetween(at("2026-01-12T00:00:00Z"), at("2026-01-19T00:00:00Z"))
	}
	cases := []struct {
		name  string
		hours map[string][]Range
		want  time.Duration
	}{
		{"until midnight (00:00)", days([]string{"mon"}, rg("18:00", "00:00")), 6 * time.Hour},
		{"until midnight (24:00)", days([]string{"mon"}, rg("18:00", "24:00")), 6 * time.Hour},
		{"the whole day", days([]string{"mon"}, rg("00:00", "24:00")), 24 * time.Hour},
		{"overlapping ranges are joined", days([]string{"mon"}, rg("09:00", "12:00"), rg("11:00", "14:00")), 5 * time.Hour},
		{"touching ranges", days([]string{"mon"}, rg("09:00", "12:00"), rg("12:00", "14:00")), 5 * time.Hour},
		{"overnight into the next day's range", map[string][]Range{"mon": {rg("22:00", "06:00")}, "tue": {rg("04:00", "08:00")}}, 10 * time.Hour},
		{"sunday night into monday", days([]string{"sun"}, rg("23:00", "01:00")), 2 * time.Hour},
		{"full day names", days([]string{"Monday", "tuesday"}, rg("09:00", "10:00")), 2 * time.Hour},
	}
	for _, c := range cases {
		if got := week(c.hours); got != c.want {
			t.Errorf("%s: a week has %v of working time; want %v", c.name, got, c.want)
		}
	}
}

func TestIsWorkingNextWorking(t *testing.T) {
	cases := []struct {
		name    string
		cal     *Calendar
		t       string
		working bool
		next    string
	}{
		{"opening", berlinBusiness, "2026-01-12T09:00:00+01:00", true, "2026-01-12T09:00:00+01:00"},
		{"just before opening", berlinBusiness, "2026-01-12T08:59:59.999+01:00", false, "2026-01-12T09:00:00+01:00"},
		{"just before closing", berlinBusiness, "2026-01-16T16:59:59+01:00", true, "2026-01-16T16:59:59+01:00"},
		{"closing", berlinBusiness, "2026-01-16T17:00:00+01:00", false, "2026-01-19T09:00:00+01:00"},
		{"sunday", berlinBusiness, "2026-03-29T12:00:00+02:00", false, "2026-03-30T09:00:00+02:00"},
		{"holiday", berlinHolidays, "2026-04-03T10:00:00+02:00", false, "2026-04-07T09:00:00+02:00"},
		{"lunch", split, "2026-01-12T12:30:00+01:00", false, "2026-01-12T13:00:00+01:00"},
		{"night shift, after midnight", nightShift, "2026-01-13T03:00:00Z", true, "2026-01-13T03:00:00Z"},
		{"night shift, monday morning", nightShift, "2026-01-12T03:00:00Z", false, "2026-01-12T22:00:00Z"},
		{"night shift, saturday morning", nightShift, "2026-01-17T05:59:00Z", true, "2026-01-17T05:59:00Z"},
		{"night shift, saturday night", nightShift, "2026-01-17T22:00:00Z", false, "2026-01-19T22:00:00Z"},
		{"night shift, holiday", nightShiftHoliday, "2026-01-13T03:00:00Z", false, "2026-01-14T00:00:00Z"},
		{"night shift, before the holiday", nightShiftHoliday, "2026-01-12T23:00:00Z", true, "2026-01-12T23:00:00Z"},
		{"Berlin skipped 02:30", berlinSkipped, "2026-03-29T01:00:00Z", true, "2026-03-29T01:00:00Z"},
		{"Berlin skipped 02:30, before the jump", berlinSkipped, "2026-03-29T00:59:00Z", false, "2026-03-29T01:00:00Z"},
		{"Berlin second 02:15", berlinSkipped, "2026-10-25T01:15:00Z", true, "2026-10-25T01:15:00Z"},
		{"Berlin first 02:15", berlinSkipped, "2026-10-25T00:15:00Z", false, "2026-10-25T00:30:00Z"},
		{"24x7 holiday", berlin24x7Holidays, "2026-03-29T12:00:00+02:00", false, "2026-03-30T00:00:00+02:00"},
		{"24x7 day after", berlin24x7Holidays, "2026-03-30T00:00:00+02:00", true, "2026-03-30T00:00:00+02:00"},
	}
	for _, c := range cases {
		for kind, cal := range both(c.cal) {
			tt := at(c.t)
			if got := cal.IsWorking(tt); got != c.working {
				t.Errorf("%s (%s): IsWorking(%s) = %v; want %v", c.name, kind, c.t, got, c.working)
			}
			if got := cal.NextWorking(tt); !got.Equal(at(c.next)) {
				t.Errorf("%s (%s): NextWorking(%s) = %s; want %s", c.name, kind, c.t, got.Format(time.RFC3339Nano), c.next)
			}
		}
	}
}

// reference says whether t is working time by reading its local wall clock,
// independently of the walk in the package. It is right wherever the local
// time of t happens once (not in the hour repeated when clocks go back).
func reference(c *Calendar, t time.Time) bool {
	loc := c.Location()
	lt := t.In(loc)
	day := lt.Format(time.DateOnly)
	for _, h := range c.Holidays {
		if h.Date == day || h.Yearly && h.Date[4:] == day[4:] {
			return false
		}
	}
	if c.Always {
		return true
	}
	minute := lt.Hour()*60 + lt.Minute()
	today := lt.Weekday()
	for k, ranges := range c.Hours {
		wd, _ := parseWeekday(k)
		for _, r := range ranges {
			s, _ := parseClock(r.Start, false)
			e, _ := parseClock(r.End, true)
			switch {
			case e > s:
				if int(today) == wd && minute >= s && minute < e {
					return true
				}
			default:
				if int(today) == wd && minute >= s {
					return true
				}
				if int(today) == (wd+1)%7 && minute < e {
					return true
				}
			}
		}
	}
	return false
}

func testCalendars() map[string]*Calendar {
	return map[string]*Calendar{
		"berlin business":     berlinBusiness,
		"ny business":         nyBusiness,
		"berlin holidays":     berlinHolidays,
		"berlin sunday night": berlinSundayNight,
		"berlin skipped":      berlinSkipped,
		"night shift":         nightShift,
		"night shift holiday": nightShiftHoliday,
		"split":               split,
		"24x7 holidays":       ny24x7Holidays,
		"24x7":                TwentyFourSeven(),
		"lord howe": mustPrepare(Calendar{TimeZone: "Australia/Lord_Howe", // 30-minute DST at 02:00
			Hours: days(allWeek, rg("01:00", "03:00"), rg("20:00", "02:15"))}),
		"kolkata": mustPrepare(Calendar{TimeZone: "Asia/Kolkata", Hours: days([]string{"sat", "sun"}, rg("10:00", "18:30")),
			Holidays: []Holiday{{Date: "2024-02-29", Yearly: true}, {Date: "2026-08-15"}}}),
	}
}

// TestAgainstReference checks IsWorking, WorkingBetween and Add against a
// minute-by-minute reading of the wall clock, on days without a DST change.
func TestAgainstReference(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for name, c := range testCalendars() {
		loc := c.Location()
		for range 40 {
			// A random stretch of up to four days, on minute boundaries.
			from := time.Unix(at("2024-01-01T00:00:00Z").Unix()+rnd.Int64N(4*365*86400), 0).Truncate(time.Minute)
			n := rnd.IntN(4 * 1440)
			if changes(loc, from.Add(-26*time.Hour), from.Add(time.Duration(n)*time.Minute+26*time.Hour)) {
				continue
			}
			var want time.Duration
			for i := range n {
				m := from.Add(time.Duration(i) * time.Minute)
				ref := reference(c, m)
				if got := c.IsWorking(m); got != ref {
					t.Fatalf("%s: IsWorking(%s) = %v; the wall clock says %v", name, m.In(loc), got, ref)
				}
				if ref {
					want += time.Minute
				}
			}
			to := from.Add(time.Duration(n) * time.Minute)
			if got := c.WorkingBetween(from, to); got != want {
				t.Fatalf("%s: WorkingBetween(%s, %s) = %v; want %v", name, from.In(loc), to.In(loc), got, want)
			}
		}
	}
}

// changes reports whether loc's offset changes in [from, to].
func changes(loc *time.Location, from, to time.Time) bool {
	_, end := from.In(loc).ZoneBounds()
	return !end.IsZero() && !end.After(to)
}

// TestAddInverse is the property: WorkingBetween(from, Add(from, d)) == d,
// and Add returns the earliest such instant.
func TestAddInverse(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for name, c := range testCalendars() {
		for range 300 {
			from := time.Unix(at("2020-01-01T00:00:00Z").Unix()+rnd.Int64N(10*365*86400), rnd.Int64N(1e9))
			var d time.Duration
			switch rnd.IntN(3) {
			case 0:
				d = time.Duration(rnd.Int64N(int64(10 * time.Hour)))
			case 1:
				d = time.Duration(rnd.IntN(3000)) * time.Hour
			default:
				d = time.Duration(rnd.IntN(600)) * time.Minute
			}
			d = max(d, 1)
			due := c.Add(from, d)
			if due.IsZero() {
				t.Fatalf("%s: Add(%s, %v) = zero", name, from, d)
			}
			if got := c.WorkingBetween(from, due); got != d {
				t.Fatalf("%s: WorkingBetween(%s, Add(…, %v) = %s) = %v", name, from, d, due, got)
			}
			if got := c.WorkingBetween(from, due.Add(-time.Nanosecond)); got >= d {
				t.Fatalf("%s: Add(%s, %v) = %s is not the earliest instant", name, from, d, due)
			}
			// Working time adds up across any split.
			mid := from.Add(time.Duration(rnd.Int64N(int64(due.Sub(from)) + 1)))
			if a, b := c.WorkingBetween(from, mid), c.WorkingBetween(mid, due); a+b != d {
				t.Fatalf("%s: %v + %v != %v splitting at %s", name, a, b, d, mid)
			}
		}
	}
}

func TestNoWorkingTime(t *testing.T) {
	// Valid calendars whose holidays leave no working time: Add and
	// NextWorking give up after their horizon instead of looping.
	every := make([]Holiday, 0, 366)
	for d := at("2024-01-01T00:00:00Z"); d.Year() == 2024; d = d.AddDate(0, 0, 1) {
		every = append(every, Holiday{Date: d.Format(time.DateOnly), Yearly: true})
	}
	cals := map[string]*Calendar{
		"24x7":     mustPrepare(Calendar{TimeZone: "UTC", Always: true, Holidays: every}),
		"business": mustPrepare(Calendar{TimeZone: "Europe/Berlin", Hours: days(monFri, rg("09:00", "17:00")), Holidays: every}),
	}
	from := at("2026-01-05T10:00:00Z")
	for name, c := range cals {
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := c.Add(from, time.Hour); !got.IsZero() {
			t.Errorf("%s: Add = %v; want zero", name, got)
		}
		if got := c.NextWorking(from); !got.IsZero() {
			t.Errorf("%s: NextWorking = %v; want zero", name, got)
		}
		if c.IsWorking(from) || c.WorkingBetween(from, from.AddDate(3, 0, 0)) != 0 {
			t.Errorf("%s: has working time", name)
		}
	}
	// Far too much working time for the horizon.
	if got := berlinBusiness.Add(from, 200*365*24*time.Hour); !got.IsZero() {
		t.Errorf("Add of 200 years of working time = %v; want zero", got)
	}
	var nilCal *Calendar
	if nilCal.IsWorking(from) || !nilCal.Add(from, time.Hour).IsZero() {
		t.Error("a nil calendar has working time")
	}
}

func TestLongSpans(t *testing.T) {
	from := at("2000-01-01T00:00:00Z")
	far := at("2600-01-01T00:00:00Z")
	// Spans longer than a Duration saturate instead of overflowing.
	if got := TwentyFourSeven().WorkingBetween(from, far); got <= 0 {
		t.Errorf("24x7 over 600 years = %v", got)
	}
	if got := berlinBusiness.WorkingBetween(from, far); got <= 0 {
		t.Errorf("business hours over 600 years = %v", got)
	}
}

// FuzzCalendarAdd builds calendars from the fuzzer's bytes and checks that
// Add, WorkingBetween, IsWorking and NextWorking return (no endless loop, no
// panic) and agree with one another.
func FuzzCalendarAdd(f *testing.F) {
	f.Add(uint8(1), []byte{1, 9, 0, 17, 0}, false, []byte{}, int64(1767225600), int64(2*time.Hour))
	f.Add(uint8(2), []byte{0, 22, 0, 6, 0, 3, 1, 30, 3, 30}, false, []byte{3, 29}, int64(1774742400), int64(30*time.Hour))
	f.Add(uint8(3), []byte{}, true, []byte{10, 25, 3, 29}, int64(1792800000), int64(5000*time.Hour))
	f.Add(uint8(4), []byte{6, 23, 59, 0, 1}, false, []byte{}, int64(-1), int64(1))
	f.Add(uint8(5), []byte{5, 0, 0, 0, 0}, false, []byte{12, 30, 12, 31}, int64(1325203200), int64(1<<62))
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia",
		"America/Havana", "Africa/Casablanca", "Antarctica/Troll", "Asia/Kathmandu", "America/Sao_Paulo"}
	f.Fuzz(func(t *testing.T, zi uint8, hours []byte, always bool, hol []byte, fromSec, dns int64) {
		c := Calendar{Name: "fuzz", TimeZone: zones[int(zi)%len(zones)], Always: always}
		if !always {
			c.Hours = map[string][]Range{}
			names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
			for i := 0; i+4 < len(hours) && i < 60; i += 5 {
				day := names[int(hours[i])%7]
				clock := func(h, m byte) string {
					return time.Date(0, 1, 1, int(h)%24, int(m)%60, 0, 0, time.UTC).Format("15:04")
				}
				c.Hours[day] = append(c.Hours[day], rg(clock(hours[i+1], hours[i+2]), clock(hours[i+3], hours[i+4])))
			}
		}
		for i := 0; i+1 < len(hol) && i < 40; i += 2 {
			d := time.Date(2026, time.Month(int(hol[i])%12+1), int(hol[i+1])%28+1, 0, 0, 0, 0, time.UTC)
			c.Holidays = append(c.Holidays, Holiday{Date: d.Format(time.DateOnly), Yearly: hol[i]&0x80 != 0})
		}
		if c.Validate() != nil {
			return
		}
		if err := c.Prepare(); err != nil {
			t.Fatalf("valid but does not prepare: %v", err)
		}
		// From 1900 to 2200, up to about 30 years of working time.
		from := time.Unix(-2208988800+(fromSec%(300*365*86400)+300*365*86400)%(300*365*86400), dns%1e9)
		d := time.Duration(dns % int64(30*365*24*time.Hour))
		due := c.Add(from, d)
		c.IsWorking(from)
		next := c.NextWorking(from)
		if d <= 0 {
			if !due.Equal(from) {
				t.Fatalf("Add(%s, %v) = %s; want from", from, d, due)
			}
			return
		}
		if due.IsZero() {
			return // beyond the horizon
		}
		if due.Before(from) || next.IsZero() || next.After(due) {
			t.Fatalf("Add(%s, %v) = %s, NextWorking = %s", from, d, due, next)
		}
		if got := c.WorkingBetween(from, due); got != d {
			t.Fatalf("%+v: WorkingBetween(%s, Add(…, %v) = %s) = %v", c, from, d, due, got)
		}
	})
}

func BenchmarkAddYear(b *testing.B) {
	c := BusinessHours("Europe/Berlin")
	from := at("2026-01-05T10:00:00+01:00")
	var due time.Time
	for b.Loop() {
		due = c.Add(from, 2000*time.Hour)
	}
	if due.IsZero() {
		b.Fatal("no deadline")
	}
}

func BenchmarkAddYearHolidays(b *testing.B) {
	from := at("2026-01-05T10:00:00+01:00")
	for b.Loop() {
		berlinHolidays.Add(from, 2000*time.Hour)
	}
}

func BenchmarkWorkingBetweenYear(b *testing.B) {
	c := BusinessHours("Europe/Berlin")
	from, to := at("2026-01-05T10:00:00+01:00"), at("2027-01-05T10:00:00+01:00")
	for b.Loop() {
		c.WorkingBetween(from, to)
	}
}

func BenchmarkAddDay(b *testing.B) {
	c := BusinessHours("Europe/Berlin")
	from := at("2026-01-09T16:30:00+01:00")
	for b.Loop() {
		c.Add(from, 2*time.Hour)
	}
}
