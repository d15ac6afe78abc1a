package oncall

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCalendarRender(t *testing.T) {
	long := strings.Repeat("Überstunden, Bereitschaft; ", 6) // multi-byte characters across the fold
	cal := Calendar{ProdID: "-//Steady//On-call//EN", Name: "On call: Payments, EU", Now: time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC),
		Events: []Event{{UID: "schedule-1-2-3@steady", Summary: long, Description: "line one\nline two \\ end",
			Start: time.Date(2026, 11, 2, 9, 0, 0, 0, time.FixedZone("CET", 3600)), End: time.Date(2026, 11, 9, 8, 0, 0, 0, time.UTC)}}}
	out := string(cal.Render())
	if !strings.HasSuffix(out, "END:VCALENDAR\r\n") || strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") {
		t.Fatalf("lines must end with CRLF:\n%q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	for _, l := range lines {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("a fold split a character: %q", l)
		}
	}
	// Unfolding gives the content lines back.
	unfolded := strings.ReplaceAll(out, "\r\n ", "")
	for _, want := range []string{
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Steady//On-call//EN\r\n",
		"X-WR-CALNAME:On call: Payments\\, EU\r\n",
		"BEGIN:VEVENT\r\nUID:schedule-1-2-3@steady\r\nDTSTAMP:20261102T083000Z\r\nDTSTART:20261102T080000Z\r\nDTEND:20261109T080000Z\r\n",
		"SUMMARY:" + strings.ReplaceAll(strings.ReplaceAll(long, ",", `\,`), ";", `\;`) + "\r\n",
		`DESCRIPTION:line one\nline two \\ end` + "\r\n",
		"END:VEVENT\r\nEND:VCALENDAR\r\n",
	} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("missing %q in\n%s", want, unfolded)
		}
	}
	if n := strings.Count(out, "\r\n "); n < 2 {
		t.Errorf("the long summary was folded %d times", n)
	}
}
