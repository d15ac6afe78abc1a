package web

import (
	"testing"

	"github.com/steadyhq/steady/internal/calendar"
	"github.com/steadyhq/steady/internal/platform/errs"
)

func TestDurations(t *testing.T) {
	for in, want := range map[string]int64{"90": 90, "90s": 90, "15m": 900, "4h": 14400, "3d": 259200, "1d 4h": 100800,
		"1h30m": 5400, " 2H 30M ": 9000} {
		if got, ok := parseDuration(in); !ok || got != want {
			t.Errorf("parseDuration(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "soon", "5x", "m5", "-5", "1.5h", "99999999d"} {
		if got, ok := parseDuration(in); ok {
			t.Errorf("parseDuration(%q) = %d, want a refusal", in, got)
		}
	}
	for sec, want := range map[int64]string{0: "0s", 45: "45s", 900: "15m", 9000: "2h 30m", 100800: "1d 4h", 90061: "1d 1h 1m 1s"} {
		if got := shortDuration(sec); got != want {
			t.Errorf("shortDuration(%d) = %q, want %q", sec, got, want)
		}
		if back, ok := parseDuration(shortDuration(sec)); !ok || back != sec {
			t.Errorf("shortDuration(%d) does not read back: %d", sec, back)
		}
	}
	for sec, want := range map[int64]string{12: "12s", 300: "5m", 5400: "1h 30m", 14400: "4h", 259200: "3d", 100800: "1d 4h"} {
		if got := humanSeconds(sec); got != want {
			t.Errorf("humanSeconds(%d) = %q, want %q", sec, got, want)
		}
	}
}

func TestCalendarText(t *testing.T) {
	day := []calendar.Range{{Start: "09:00", End: "17:00"}}
	for _, c := range []struct {
		cal  calendar.Calendar
		want string
	}{
		{calendar.Calendar{Always: true}, "24×7"},
		{*calendar.BusinessHours("Europe/Berlin"), "Mon–Fri 09:00–17:00 (Europe/Berlin)"},
		{calendar.Calendar{TimeZone: "UTC", Hours: map[string][]calendar.Range{"mon": day, "wed": day, "sat": {{Start: "10:00", End: "14:00"}}}},
			"Mon 09:00–17:00; Wed 09:00–17:00; Sat 10:00–14:00 (UTC)"},
		{calendar.Calendar{Hours: map[string][]calendar.Range{"monday": day, "tuesday": day}}, "Mon–Tue 09:00–17:00 (UTC)"},
	} {
		if got := calendarText(c.cal); got != c.want {
			t.Errorf("calendarText = %q, want %q", got, c.want)
		}
	}
	hs := []calendar.Holiday{{Date: "2026-12-24", Name: "Christmas Eve"}, {Date: "2000-12-25", Name: "Christmas Day", Yearly: true}}
	lines := holidayLines(hs)
	if lines[0] != "2026-12-24 Christmas Eve" || lines[1] != "yearly 12-25 Christmas Day" {
		t.Fatalf("holidayLines: %q", lines)
	}
	for i, l := range lines {
		if h, ok := parseHoliday(l); !ok || h != hs[i] {
			t.Errorf("parseHoliday(%q) = %+v, %v", l, h, ok)
		}
	}
	if _, ok := parseHoliday("yearly 02-29 Leap day"); !ok {
		t.Error("a yearly 29 February is refused")
	}
	for _, l := range []string{"tomorrow", "2026-13-01 x", "yearly", "yearly 12-32 x"} {
		if _, ok := parseHoliday(l); ok {
			t.Errorf("parseHoliday(%q) accepted", l)
		}
	}
}

func TestFoldFields(t *testing.T) {
	err := &errs.Error{Kind: errs.KindInvalid, Message: "invalid input", Fields: []errs.FieldError{
		{Field: "labels.1tier", Detail: "is not a valid label name"}, {Field: "team_id", Detail: "names no team"},
		{Field: "calendar.holidays[2].date", Detail: "must be a date"}, {Field: "name", Detail: "is required"}}}
	got, _ := errs.As(foldFields(err, map[string]string{"labels": "labels", "team_id": "team", "calendar.holidays": "holidays"}))
	want := []errs.FieldError{{Field: "labels", Detail: "1tier is not a valid label name"}, {Field: "team", Detail: "names no team"},
		{Field: "holidays", Detail: "[2].date must be a date"}, {Field: "name", Detail: "is required"}}
	for i := range want {
		if got.Fields[i] != want[i] {
			t.Errorf("field %d: %+v, want %+v", i, got.Fields[i], want[i])
		}
	}
	if err.Fields[0].Field != "labels.1tier" {
		t.Error("foldFields changed the error it was given")
	}
}
