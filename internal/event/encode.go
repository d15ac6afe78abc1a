package event

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The stored JSON of an event and of its labels. Every event is encoded once
// on its way in, so this is written out field by field instead of through
// reflection, which cost a tenth of ingest's CPU. The output decodes to the
// same Event as encoding/json's (TestEncodeMatchesEncodingJSON and the fuzz
// tests check it); only Details, free-form, goes through encoding/json.

func eventJSON(ev *Event) string {
	b := make([]byte, 0, 256+len(ev.Summary))
	b = append(b, `{"source":`...)
	b = appendString(b, string(ev.Source))
	b = append(b, `,"action":`...)
	b = appendString(b, string(ev.Action))
	b = append(b, `,"dedup_key":`...)
	b = appendString(b, ev.DedupKey)
	b = append(b, `,"severity":`...)
	b = appendString(b, string(ev.Severity))
	b = append(b, `,"summary":`...)
	b = appendString(b, ev.Summary)
	b = appendField(b, "host", ev.Host)
	b = appendField(b, "component", ev.Component)
	b = appendField(b, "group", ev.Group)
	b = appendField(b, "class", ev.Class)
	if len(ev.Labels) > 0 {
		b = append(b, `,"labels":`...)
		b = appendLabels(b, ev.Labels)
	}
	if len(ev.Details) > 0 {
		if d, err := json.Marshal(ev.Details); err == nil {
			b = append(b, `,"details":`...)
			b = append(b, d...)
		}
	}
	if len(ev.Links) > 0 {
		b = append(b, `,"links":[`...)
		for i, l := range ev.Links {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"href":`...)
			b = appendString(b, l.Href)
			b = appendField(b, "text", l.Text)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(ev.Images) > 0 {
		b = append(b, `,"images":[`...)
		for i, im := range ev.Images {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"src":`...)
			b = appendString(b, im.Src)
			b = appendField(b, "href", im.Href)
			b = appendField(b, "alt", im.Alt)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendField(b, "client", ev.Client)
	b = appendField(b, "client_url", ev.ClientURL)
	b = append(b, `,"occurred_at":"`...)
	b = ev.OccurredAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","received_at":"`...)
	b = ev.ReceivedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `"}`...)
	return string(b)
}

func labelsJSON(ev *Event) string {
	if len(ev.Labels) == 0 {
		return "{}"
	}
	return string(appendLabels(make([]byte, 0, 32*len(ev.Labels)), ev.Labels))
}

// appendLabels writes labels as an object, keys sorted.
func appendLabels(b []byte, labels map[string]string) []byte {
	var arr [16]string
	keys := arr[:0]
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, labels[k])
	}
	return append(b, '}')
}

// appendField writes ,"name":value for a value that is not empty.
func appendField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028/U+2029
// escaped as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, `\u00`...)
				b = append(b, hexDigit[c>>4], hexDigit[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, `\u202`...)
				b = strconv.AppendInt(b, int64(r&0xf), 16)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigit = "0123456789abcdef"
