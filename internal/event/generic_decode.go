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

// The fields of GenericEvent, as bits, to refuse repeats: encoding/json
// merges a repeated map or slice into the first, which is not worth copying.
const (
	fAction = 1 << iota
	fDedupKey
	fSummary
	fSeverity
	fHost
	fComponent
	fGroup
	fClass
	fLabels
	fDetails
	fLinks
	fOccurredAt
)

// event decodes one object into g, which must be zero.
func (d *jsonDecoder) event(g *GenericEvent) bool {
	d.prev, d.keys = d.keys, d.prev[:0]
	seen := 0
	return d.members(func() bool {
		key, ok := d.key()
		if !ok || !d.colon() {
			return false
		}
		var f int
		var dst *string
		switch string(key) {
		case "action":
			f, dst = fAction, &g.Action
		case "dedup_key":
			f, dst = fDedupKey, &g.DedupKey
		case "summary":
			f, dst = fSummary, &g.Summary
		case "severity":
			f, dst = fSeverity, &g.Severity
		case "host":
			f, dst = fHost, &g.Host
		case "component":
			f, dst = fComponent, &g.Component
		case "group":
			f, dst = fGroup, &g.Group
		case "class":
			f, dst = fClass, &g.Class
		case "occurred_at":
			f, dst = fOccurredAt, &g.OccurredAt
		case "labels":
			f = fLabels
		case "details":
			f = fDetails
		case "links":
			f = fLinks
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
		case fLabels:
			return d.labels(g)
		case fDetails:
			return d.details(g)
		case fLinks:
			return d.links(&g.Links)
		}
		*dst, ok = d.str(f == fAction || f == fSeverity)
		return ok
	})
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

// details hands the details object to encoding/json: it is arbitrary JSON,
// seldom large, and decoding the exact bytes alone gives the same map.
func (d *jsonDecoder) details(g *GenericEvent) bool { return d.composite(&g.Details) }
