package event

// decodePagerDuty decodes an Events API v2 body without reflection: with one
// event per request, encoding/json was about a twentieth of all the CPU of
// the single-event load. It gives exactly what encoding/json gives into
// PagerDutyEvent and takes only what it is sure of: a field unknown,
// differently cased, escaped or repeated, a value of another type, custom
// details that are a number or true/false, trailing data or
// any syntax error make it answer !ok, and ParsePagerDuty decodes with
// encoding/json (which ignores unknown fields, as PagerDuty does, and words
// the error).
func decodePagerDuty(body []byte) (in PagerDutyEvent, ok bool) {
	d := jsonDecoder{b: body}
	d.space()
	if d.peek() != '{' {
		return in, false
	}
	seen := 0
	ok = d.members(func() bool {
		key, ok := d.key()
		if !ok || !d.colon() {
			return false
		}
		var f int
		var dst *string
		switch string(key) {
		case "routing_key":
			f, dst = 1, &in.RoutingKey
		case "event_action":
			f, dst = 2, &in.EventAction
		case "dedup_key":
			f, dst = 4, &in.DedupKey
		case "client":
			f, dst = 8, &in.Client
		case "client_url":
			f, dst = 16, &in.ClientURL
		case "payload":
			f = 32
		case "images":
			f = 64
		case "links":
			f = 128
		default:
			return false
		}
		if seen&f != 0 {
			return false
		}
		seen |= f
		if d.null() {
			return true
		}
		switch f {
		case 32:
			in.Payload = &PagerDutyPayload{}
			return d.payload(in.Payload)
		case 64:
			return d.images(&in.Images)
		case 128:
			return d.links(&in.Links)
		}
		*dst, ok = d.str(f == 2)
		return ok
	})
	d.space()
	if !ok || d.i != len(d.b) {
		return PagerDutyEvent{}, false
	}
	return in, true
}

// payload decodes the payload object of an Events API v2 body.
func (d *jsonDecoder) payload(p *PagerDutyPayload) bool {
	seen := 0
	return d.members(func() bool {
		key, ok := d.key()
		if !ok || !d.colon() {
			return false
		}
		var f int
		var dst *string
		switch string(key) {
		case "summary":
			f, dst = 1, &p.Summary
		case "source":
			f, dst = 2, &p.Source
		case "severity":
			f, dst = 4, &p.Severity
		case "timestamp":
			f, dst = 8, &p.Timestamp
		case "component":
			f, dst = 16, &p.Component
		case "group":
			f, dst = 32, &p.Group
		case "class":
			f, dst = 64, &p.Class
		case "custom_details":
			f = 128
		default:
			return false
		}
		if seen&f != 0 {
			return false
		}
		seen |= f
		if d.null() {
			return true
		}
		if f == 128 {
			// PagerDuty takes any JSON value here; a string is common.
			if d.peek() == '"' {
				s, ok := d.str(false)
				p.CustomDetails = s
				return ok
			}
			return d.composite(&p.CustomDetails)
		}
		*dst, ok = d.str(f == 4)
		return ok
	})
}

// images decodes the images array of an Events API v2 body.
func (d *jsonDecoder) images(dst *[]Image) bool {
	*dst = []Image{}
	return d.elements(func() bool {
		var im Image
		seen := 0
		ok := d.members(func() bool {
			key, ok := d.key()
			if !ok || !d.colon() {
				return false
			}
			f, s := 1, &im.Src
			switch string(key) {
			case "src":
			case "href":
				f, s = 2, &im.Href
			case "alt":
				f, s = 4, &im.Alt
			default:
				return false
			}
			if seen&f != 0 {
				return false
			}
			seen |= f
			if !d.null() {
				*s, ok = d.str(false)
			}
			return ok
		})
		*dst = append(*dst, im)
		return ok
	})
}
