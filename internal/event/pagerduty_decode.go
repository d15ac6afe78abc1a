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
	if d.peek() != '{' || !object(&d, &in, pagerDutyFields) {
		return PagerDutyEvent{}, false
	}
	d.space()
	if d.i != len(d.b) {
		return PagerDutyEvent{}, false
	}
	return in, true
}

// pagerDutyFields are the members of an Events API v2 body, payloadFields
// those of its payload and imageFields those of an image.
var (
	pagerDutyFields = []field[PagerDutyEvent]{
		{name: "routing_key", str: func(e *PagerDutyEvent) *string { return &e.RoutingKey }},
		{name: "event_action", str: func(e *PagerDutyEvent) *string { return &e.EventAction }, known: true},
		{name: "dedup_key", str: func(e *PagerDutyEvent) *string { return &e.DedupKey }},
		{name: "payload", value: func(d *jsonDecoder, e *PagerDutyEvent) bool {
			e.Payload = &PagerDutyPayload{}
			return object(d, e.Payload, payloadFields)
		}},
		{name: "images", value: func(d *jsonDecoder, e *PagerDutyEvent) bool { return array(d, &e.Images, imageFields) }},
		{name: "links", value: func(d *jsonDecoder, e *PagerDutyEvent) bool { return d.links(&e.Links) }},
		{name: "client", str: func(e *PagerDutyEvent) *string { return &e.Client }},
		{name: "client_url", str: func(e *PagerDutyEvent) *string { return &e.ClientURL }},
	}
	payloadFields = []field[PagerDutyPayload]{
		{name: "summary", str: func(p *PagerDutyPayload) *string { return &p.Summary }},
		{name: "source", str: func(p *PagerDutyPayload) *string { return &p.Source }},
		{name: "severity", str: func(p *PagerDutyPayload) *string { return &p.Severity }, known: true},
		{name: "timestamp", str: func(p *PagerDutyPayload) *string { return &p.Timestamp }},
		{name: "component", str: func(p *PagerDutyPayload) *string { return &p.Component }},
		{name: "group", str: func(p *PagerDutyPayload) *string { return &p.Group }},
		{name: "class", str: func(p *PagerDutyPayload) *string { return &p.Class }},
		{name: "custom_details", value: func(d *jsonDecoder, p *PagerDutyPayload) bool {
			// PagerDuty takes any JSON value here; a string is common.
			if d.peek() == '"' {
				s, ok := d.str(false)
				p.CustomDetails = s
				return ok
			}
			return d.composite(&p.CustomDetails)
		}},
	}
	imageFields = []field[Image]{
		{name: "src", str: func(im *Image) *string { return &im.Src }},
		{name: "href", str: func(im *Image) *string { return &im.Href }},
		{name: "alt", str: func(im *Image) *string { return &im.Alt }},
	}
)
