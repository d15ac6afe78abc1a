package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// PagerDutyEvent is the body of PagerDuty's Events API v2 (POST /v2/enqueue),
// accepted unchanged so an existing sender only changes its base URL.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload"`
	Images      []Image           `json:"images"`
	Links       []Link            `json:"links"`
	Client      string            `json:"client"`
	ClientURL   string            `json:"client_url"`
}

// PagerDutyPayload is the payload object of a trigger.
type PagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp"`
	Component     string         `json:"component"`
	Group         string         `json:"group"`
	Class         string         `json:"class"`
	CustomDetails any            `json:"custom_details"`
	Extra         map[string]any `json:"-"`
}

// InvalidEvent lists what is wrong with an event, in PagerDuty's words: its
// answer is 400 {"status":"invalid event","message":…,"errors":[…]}.
type InvalidEvent struct {
	Message string
	Errors  []string
}

func (e *InvalidEvent) Error() string {
	return e.Message + ": " + strings.Join(e.Errors, "; ")
}

// ParsePagerDuty parses and validates one Events API v2 body. It returns the
// routing key separately: it names the integration, it is not part of the event.
// newKey makes the dedup key of a trigger that has none.
// Unknown fields are ignored, as PagerDuty does.
func ParsePagerDuty(body []byte, now time.Time, newKey func() string) (Event, string, error) {
	in, ok := decodePagerDuty(body)
	if !ok {
		var err error
		if in, err = decodePagerDutyJSON(body); err != nil {
			return Event{}, "", &InvalidEvent{Message: "Event object is invalid", Errors: []string{"the body is not a valid JSON event object: " + jsonProblem(err)}}
		}
	}
	var problems []string
	if strings.TrimSpace(in.RoutingKey) == "" {
		problems = append(problems, "'routing_key' is missing or blank")
	}
	ev := Event{Source: SourcePagerDuty, DedupKey: in.DedupKey, ReceivedAt: now, OccurredAt: now,
		Client: in.Client, ClientURL: in.ClientURL}
	switch Action(in.EventAction) {
	case Trigger, Acknowledge, Resolve:
		ev.Action = Action(in.EventAction)
	case "":
		problems = append(problems, "'event_action' is missing or blank")
	default:
		problems = append(problems, fmt.Sprintf("'event_action' is invalid (must be one of trigger, acknowledge or resolve, not %q)", clip(in.EventAction, 40)))
	}
	if len(in.DedupKey) > MaxDedupKey {
		problems = append(problems, fmt.Sprintf("'dedup_key' is longer than %d characters", MaxDedupKey))
	}
	if ev.Action != Trigger && ev.Action != "" && strings.TrimSpace(in.DedupKey) == "" {
		problems = append(problems, fmt.Sprintf("'dedup_key' is required to %s an alert", ev.Action))
	}
	if ev.Action == Trigger {
		problems = append(problems, ev.fromPayload(in.Payload)...)
	} else if in.Payload != nil && in.Payload.Summary != "" {
		ev.Summary = clip(in.Payload.Summary, MaxSummary)
	}
	for i, l := range in.Links {
		if strings.TrimSpace(l.Href) == "" {
			problems = append(problems, fmt.Sprintf("'links[%d].href' is missing or blank", i))
		}
	}
	for i, im := range in.Images {
		if strings.TrimSpace(im.Src) == "" {
			problems = append(problems, fmt.Sprintf("'images[%d].src' is missing or blank", i))
		}
	}
	if len(problems) > 0 {
		return Event{}, "", &InvalidEvent{Message: "Event object is invalid", Errors: problems}
	}
	ev.Links, ev.Images = in.Links, in.Images
	if ev.DedupKey == "" {
		// A trigger without a key always opens a new alert; the answer
		// returns the key so the sender can resolve it later.
		ev.DedupKey, ev.GeneratedKey = newKey(), true
	}
	return ev, in.RoutingKey, nil
}

// decodePagerDutyJSON is ParsePagerDuty's decode step with encoding/json:
// the reference for decodePagerDuty, and the path of whatever that leaves.
// Like PagerDuty, it ignores unknown fields and what follows the object.
func decodePagerDutyJSON(body []byte) (PagerDutyEvent, error) {
	var in PagerDutyEvent
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&in)
	return in, err
}

func (ev *Event) fromPayload(p *PagerDutyPayload) []string {
	if p == nil {
		return []string{"'payload' is missing or blank"}
	}
	var problems []string
	if strings.TrimSpace(p.Summary) == "" {
		problems = append(problems, "'payload.summary' is missing or blank")
	}
	if strings.TrimSpace(p.Source) == "" {
		problems = append(problems, "'payload.source' is missing or blank")
	}
	switch Severity(p.Severity) {
	case Critical, Error, Warning, Info:
		ev.Severity = Severity(p.Severity)
	case "":
		problems = append(problems, "'payload.severity' is missing or blank")
	default:
		problems = append(problems, fmt.Sprintf("'payload.severity' is invalid (must be one of critical, error, warning or info, not %q)", clip(p.Severity, 40)))
	}
	if p.Timestamp != "" {
		t, ok := parseTime(p.Timestamp)
		if !ok {
			problems = append(problems, "'payload.timestamp' is not an ISO 8601 time")
		}
		ev.OccurredAt = t
	}
	ev.Summary = clip(p.Summary, MaxSummary)
	ev.Host, ev.Component, ev.Group, ev.Class = p.Source, p.Component, p.Group, p.Class
	switch d := p.CustomDetails.(type) {
	case nil:
	case map[string]any:
		ev.Details = d
	default:
		// PagerDuty accepts a string or any JSON value as custom details.
		ev.Details = map[string]any{"details": d}
	}
	return problems
}

// jsonProblem says where a JSON body went wrong, without echoing it.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		kind := map[string]string{"struct": "an object", "map": "an object", "slice": "an array", "string": "a string",
			"bool": "true or false", "ptr": "an object"}[e.Type.Kind().String()]
		if kind == "" {
			kind = "a number"
		}
		if e.Field == "" {
			return "the body must be a JSON object"
		}
		return fmt.Sprintf("'%s' must be %s", e.Field, kind)
	}
	if err.Error() == "EOF" {
		return "the body is empty"
	}
	return err.Error()
}
