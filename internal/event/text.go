package event

import "strings"

// Scrub makes an event storable on every database: PostgreSQL text cannot
// hold NUL characters, which JSON lets a sender put in any string. NUL is
// dropped from the text an alert keeps in columns of its own (summary, host);
// everything else is stored as JSON, where it is escaped. A dedup key with
// NUL is refused (ok is false): it names the alert, so changing it would
// silently make it another key.
func Scrub(ev *Event) (ok bool) {
	if strings.IndexByte(ev.Summary, 0) >= 0 {
		ev.Summary = strings.ReplaceAll(ev.Summary, "\x00", "")
	}
	if strings.IndexByte(ev.Host, 0) >= 0 {
		ev.Host = strings.ReplaceAll(ev.Host, "\x00", "")
	}
	return strings.IndexByte(ev.DedupKey, 0) < 0
}
