package event

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON scanner under the hand-written decoders of the inbound formats
// (generic_decode.go, pagerduty_decode.go). Each decoder takes only what it
// is sure of and answers !ok for anything else, which its caller then
// decodes with encoding/json, the reference that also words the error.

// jsonDecoder reads one body; it is made per call, so the parsers stay
// safe for concurrent use.
type jsonDecoder struct {
	b []byte
	i int
	// For generic batches: prev holds the label names of the event before,
	// in their order, and keys those of this one: a batch tends to repeat
	// them, and reusing the strings saves an allocation each.
	keys, prev []string
}

// peek returns the next byte, or 0 at the end.
func (d *jsonDecoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// next consumes the next byte, or returns 0 at the end.
func (d *jsonDecoder) next() byte {
	if d.i < len(d.b) {
		d.i++
		return d.b[d.i-1]
	}
	return 0
}

// space skips JSON white space.
func (d *jsonDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

// null consumes a null if one comes next.
func (d *jsonDecoder) null() bool {
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// colon consumes the ':' after an object key and the space around it.
func (d *jsonDecoder) colon() bool {
	d.space()
	if d.next() != ':' {
		return false
	}
	d.space()
	return true
}

// members decodes an object: member reads one member (its key, the colon
// and its value), members the braces and commas around them.
func (d *jsonDecoder) members(member func() bool) bool { return d.list('{', '}', member) }

// elements decodes an array the same way: elem reads one element.
func (d *jsonDecoder) elements(elem func() bool) bool { return d.list('[', ']', elem) }

// list decodes the items of an object or array between open and end.
func (d *jsonDecoder) list(open, end byte, item func() bool) bool {
	if d.next() != open {
		return false
	}
	d.space()
	if d.peek() == end {
		d.i++
		return true
	}
	for {
		d.space()
		if !item() {
			return false
		}
		d.space()
		switch d.next() {
		case ',':
		case end:
			return true
		default:
			return false
		}
	}
}

// key reads an object key that needs no decoding: plain, without escapes.
// The fields' names are such keys, so any other cannot be one exactly.
func (d *jsonDecoder) key() ([]byte, bool) {
	if d.next() != '"' {
		return nil, false
	}
	for j := d.i; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			k := d.b[d.i:j]
			d.i = j + 1
			return k, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// composite decodes the object or array that comes next into dst with
// encoding/json, on its exact bytes: for values of arbitrary shape (an
// event's details), which only encoding/json gives exactly.
func (d *jsonDecoder) composite(dst any) bool {
	start := d.i
	if c := d.peek(); (c != '{' && c != '[') || !d.skip() {
		return false
	}
	return json.Unmarshal(d.b[start:d.i], dst) == nil
}

// skip passes over one object or array, minding strings; it need not check
// the syntax, which json.Unmarshal does on what it spans.
func (d *jsonDecoder) skip() bool {
	depth := 0
	for ; d.i < len(d.b); d.i++ {
		switch d.b[d.i] {
		case '"':
			for d.i++; d.i < len(d.b) && d.b[d.i] != '"'; d.i++ {
				if d.b[d.i] == '\\' {
					d.i++
				}
			}
		case '{', '[':
			// encoding/json limits the nesting of the whole body, which
			// json.Unmarshal of this part alone would not see.
			if depth++; depth > 500 {
				return false
			}
		case '}', ']':
			if depth--; depth == 0 {
				d.i++
				return true
			}
		}
	}
	return false
}

// field is a member of an object of type T: a string (str says where it
// goes; known: its value is most often one of words) or any other value,
// which value decodes (never a null).
type field[T any] struct {
	name  string
	str   func(*T) *string
	known bool
	value func(*jsonDecoder, *T) bool
}

// object decodes into dst an object whose members are all among fields,
// named exactly and each at most once (encoding/json merges a repeated
// object or array into the first, which is not worth copying); a null
// member leaves its field as it is, as encoding/json does.
func object[T any](d *jsonDecoder, dst *T, fields []field[T]) bool {
	var seen uint64
	return d.members(func() bool {
		key, ok := d.key()
		if !ok || !d.colon() {
			return false
		}
		for i := range fields {
			f := &fields[i]
			if string(key) != f.name {
				continue
			}
			if seen&(1<<i) != 0 {
				return false
			}
			seen |= 1 << i
			if d.null() {
				return true
			}
			if f.str == nil {
				return f.value(d, dst)
			}
			*f.str(dst), ok = d.str(f.known)
			return ok
		}
		return false
	})
}

// array decodes an array of objects of type T, each by object: a null
// element is refused (encoding/json would add a zero one).
func array[T any](d *jsonDecoder, dst *[]T, fields []field[T]) bool {
	*dst = []T{}
	return d.elements(func() bool {
		var zero T
		*dst = append(*dst, zero)
		return object(d, &(*dst)[len(*dst)-1], fields)
	})
}

var linkFields = []field[Link]{
	{name: "href", str: func(l *Link) *string { return &l.Href }},
	{name: "text", str: func(l *Link) *string { return &l.Text }},
}

// links decodes an array of links (generic events, PagerDuty).
func (d *jsonDecoder) links(dst *[]Link) bool { return array(d, dst, linkFields) }

// str reads a JSON string. Without escapes its bytes are copied as they are;
// known says the value is most often one of a few words, whose constant
// strings are then used instead of a copy.
func (d *jsonDecoder) str(known bool) (string, bool) {
	if d.next() != '"' {
		return "", false
	}
	start, ascii := d.i, true
	for j := start; j < len(d.b); j++ {
		c := d.b[j]
		// Printable ASCII other than '"' and '\\' (one compare for both ends).
		if c-0x20 < utf8.RuneSelf-0x20 && c != '"' && c != '\\' {
			continue
		}
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(d.b[start:j]) {
				return "", false
			}
			d.i = j + 1
			if known {
				if w := word(d.b[start:j]); w != "" {
					return w, true
				}
			}
			return string(d.b[start:j]), true
		case c == '\\':
			return d.unescape(start)
		case c < 0x20:
			return "", false
		default:
			ascii = false
		}
	}
	return "", false
}

// words are the actions and severities, as senders spell them.
var words = [...]string{string(Trigger), string(Acknowledge), string(Resolve),
	string(Critical), string(Error), string(Warning), string(Info)}

// word returns the constant for an action or severity, "" for anything else.
func word(b []byte) string {
	for _, w := range words {
		if string(b) == w {
			return w
		}
	}
	return ""
}

// unescape decodes the string that starts at start (after its quote) and
// has an escape, as encoding/json does: a \u surrogate that is not part of
// a pair becomes U+FFFD. Raw invalid UTF-8, which encoding/json would
// replace, is left to encoding/json.
func (d *jsonDecoder) unescape(start int) (string, bool) {
	out := make([]byte, 0, 32)
	ascii := true
	for j := start; j < len(d.b); {
		c := d.b[j]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(d.b[start:j]) {
				return "", false
			}
			d.i = j + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			if c >= utf8.RuneSelf {
				ascii = false
			}
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(d.b) {
			return "", false
		}
		switch e := d.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(d.b[j+2:])
			if !ok {
				return "", false
			}
			j += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if j+1 < len(d.b) && d.b[j] == '\\' && d.b[j+1] == 'u' {
					r2, ok = hex4(d.b[j+2:])
				}
				if p := utf16.DecodeRune(r, r2); ok && p != utf8.RuneError {
					r = p
					j += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return "", false
		}
		j += 2
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
