package event

// decodeGeneric decodes a generic event body without reflection: with
// batches of hundreds of events, encoding/json was a fifth of the ingest CPU.
// It gives exactly what decodeGenericJSON gives, and takes only what it is
// sure of: anything else (a syntax error, a field name that is unknown,
// differently cased, escaped or repeated, invalid UTF-8, an unusual null, a
// value of another type, trailing data) makes it answer !ok, and the caller
// decodes with encoding/json, which also words the error.
func decodeGeneric(body []byte) (in []GenericEvent, ok bool) {
	d := jsonDecoder{b: body}
	d.space()
	switch d.peek() {
	case '{':
		in = make([]GenericEvent, 1)
		if !d.event(&in[0]) {
			return nil, false
		}
	case '[':
		in = []GenericEvent{}
		ok := d.elements(func() bool {
			start := d.i
			in = append(in, GenericEvent{})
			if !d.event(&in[len(in)-1]) {
				return false
			}
			if len(in) == 1 {
				// Batches are mostly alike: guess their length from the first
				// event, rather than growing the slice ten times over.
				n := min(len(d.b)/(d.i-start+1)+1, MaxBatch+1)
				in = append(make([]GenericEvent, 0, n), in[0])
			}
			return true
		})
		if !ok {
			return nil, false
		}
	default:
		return nil, false
	}
	d.space()
	if d.i != len(d.b) {
		return nil, false
	}
	return in, true
}

// genericFields are the members of a generic event, the most common first.
var genericFields = []field[GenericEvent]{
	{name: "summary", str: func(g *GenericEvent) *string { return &g.Summary }},
	{name: "dedup_key", str: func(g *GenericEvent) *string { return &g.DedupKey }},
	{name: "severity", str: func(g *GenericEvent) *string { return &g.Severity }, known: true},
	{name: "host", str: func(g *GenericEvent) *string { return &g.Host }},
	{name: "labels", value: (*jsonDecoder).labels},
	{name: "action", str: func(g *GenericEvent) *string { return &g.Action }, known: true},
	{name: "component", str: func(g *GenericEvent) *string { return &g.Component }},
	{name: "group", str: func(g *GenericEvent) *string { return &g.Group }},
	{name: "class", str: func(g *GenericEvent) *string { return &g.Class }},
	{name: "details", value: func(d *jsonDecoder, g *GenericEvent) bool { return d.composite(&g.Details) }},
	{name: "links", value: func(d *jsonDecoder, g *GenericEvent) bool { return d.links(&g.Links) }},
	{name: "occurred_at", str: func(g *GenericEvent) *string { return &g.OccurredAt }},
}

// event decodes one object into g, which must be zero.
func (d *jsonDecoder) event(g *GenericEvent) bool {
	d.prev, d.keys = d.keys, d.prev[:0]
	return object(d, g, genericFields)
}

// labels decodes the labels object; a repeated name keeps its last value.
func (d *jsonDecoder) labels(g *GenericEvent) bool {
	g.Labels = map[string]string{}
	return d.members(func() bool {
		k, ok := d.label()
		if !ok || !d.colon() {
			return false
		}
		v, ok := d.str(false)
		g.Labels[k] = v
		return ok
	})
}

// label reads a label's name, reusing the string of the event before when
// the name is the same one at the same place.
func (d *jsonDecoder) label() (string, bool) {
	n, start := len(d.keys), d.i
	if n < len(d.prev) && d.peek() == '"' {
		p := d.prev[n]
		if e := d.i + 1 + len(p); e < len(d.b) && d.b[e] == '"' && string(d.b[d.i+1:e]) == p {
			d.i = e + 1
			d.keys = append(d.keys, p)
			return p, true
		}
	}
	k, ok := d.str(false)
	if !ok {
		return "", false
	}
	if d.i-start != len(k)+2 {
		// Escaped: its bytes differ from the name, so never compare them.
		// "" can only match a raw "", which is the same name.
		d.keys = append(d.keys, "")
	} else {
		d.keys = append(d.keys, k)
	}
	return k, true
}
