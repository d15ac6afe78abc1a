package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// GenericEvent is Steady's own event format (POST /api/v1/events): one object,
// or an array of up to MaxBatch of them.
type GenericEvent struct {
	// Action is trigger (default), acknowledge or resolve.
	Action string `json:"action"`
	// DedupKey groups repeats into one alert; without it the labels'
	// fingerprint is used, and without labels a new alert is opened.
	DedupKey   string            `json:"dedup_key"`
	Summary    string            `json:"summary"`
	Severity   string            `json:"severity"`
	Host       string            `json:"host"`
	Component  string            `json:"component"`
	Group      string            `json:"group"`
	Class      string            `json:"class"`
	Labels     map[string]string `json:"labels"`
	Details    map[string]any    `json:"details"`
	Links      []Link            `json:"links"`
	OccurredAt string            `json:"occurred_at"`
}

// ParseGeneric parses one generic event or a batch. Unlike the foreign formats
// it is strict: unknown fields are errors, so typos do not pass unseen.
func ParseGeneric(body []byte, now time.Time, newKey func() string) ([]Event, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	array := len(trimmed) > 0 && trimmed[0] == '['
	// The hand-written decoder takes the common bodies; encoding/json takes
	// the rest and words every error.
	in, ok := decodeGeneric(body)
	if !ok {
		var err error
		if in, err = decodeGenericJSON(body, array); err != nil {
			return nil, err
		}
	}
	return genericEvents(in, array, now, newKey)
}

// decodeGenericJSON is ParseGeneric's decode step with encoding/json: the
// reference that decodeGeneric must match, and the source of the error
// messages.
func decodeGenericJSON(body []byte, array bool) ([]GenericEvent, error) {
	var in []GenericEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var err error
	if array {
		err = dec.Decode(&in)
	} else {
		var one GenericEvent
		err = dec.Decode(&one)
		in = []GenericEvent{one}
	}
	if err != nil {
		msg := jsonProblem(err)
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			msg = "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		return nil, &InvalidEvent{Message: "Event is invalid", Errors: []string{msg}}
	}
	if dec.More() {
		return nil, &InvalidEvent{Message: "Event is invalid", Errors: []string{"the body must hold one JSON value"}}
	}
	return in, nil
}

// genericEvents checks decoded generic events and turns them into Events;
// array says the body was a batch, so problems name their index.
func genericEvents(in []GenericEvent, array bool, now time.Time, newKey func() string) ([]Event, error) {
	if len(in) == 0 {
		return nil, &InvalidEvent{Message: "Event is invalid", Errors: []string{"the batch is empty"}}
	}
	if len(in) > MaxBatch {
		return nil, &InvalidEvent{Message: "Event is invalid", Errors: []string{fmt.Sprintf("the batch has %d events; at most %d are accepted", len(in), MaxBatch)}}
	}
	var problems []string
	out := make([]Event, 0, len(in))
	for i, g := range in {
		p := ""
		if len(in) > 1 || array {
			p = fmt.Sprintf("[%d].", i)
		}
		ev := Event{Source: SourceGeneric, ReceivedAt: now, OccurredAt: now, DedupKey: g.DedupKey,
			Host: g.Host, Component: g.Component, Group: g.Group, Class: g.Class, Labels: g.Labels, Details: g.Details, Links: g.Links}
		switch Action(g.Action) {
		case "", Trigger:
			ev.Action = Trigger
		case Acknowledge, Resolve:
			ev.Action = Action(g.Action)
		default:
			problems = append(problems, fmt.Sprintf("'%saction' must be trigger, acknowledge or resolve", p))
		}
		if g.Severity == "" {
			ev.Severity = Warning
		} else if s, ok := ParseSeverity(g.Severity); ok {
			ev.Severity = s
		} else {
			problems = append(problems, fmt.Sprintf("'%sseverity' must be critical, error, warning or info", p))
		}
		if ev.Action == Trigger && strings.TrimSpace(g.Summary) == "" {
			problems = append(problems, fmt.Sprintf("'%ssummary' is required for a trigger", p))
		}
		ev.Summary = clip(g.Summary, MaxSummary)
		if len(g.DedupKey) > MaxDedupKey {
			problems = append(problems, fmt.Sprintf("'%sdedup_key' is longer than %d characters", p, MaxDedupKey))
		}
		checkLabels(g.Labels, p+"labels", &problems)
		if ev.DedupKey == "" {
			switch {
			case ev.Action != Trigger:
				problems = append(problems, fmt.Sprintf("'%sdedup_key' is required to %s an alert", p, ev.Action))
			case len(g.Labels) > 0:
				ev.DedupKey = Fingerprint(g.Labels)
			default:
				ev.DedupKey, ev.GeneratedKey = newKey(), true
			}
		}
		if g.OccurredAt != "" {
			t, ok := parseTime(g.OccurredAt)
			if !ok {
				problems = append(problems, fmt.Sprintf("'%soccurred_at' must be an RFC 3339 time", p))
			}
			ev.OccurredAt = t
		}
		for j, l := range g.Links {
			if strings.TrimSpace(l.Href) == "" {
				problems = append(problems, fmt.Sprintf("'%slinks[%d].href' is missing or blank", p, j))
			}
		}
		out = append(out, ev)
	}
	if len(problems) > 0 {
		return nil, &InvalidEvent{Message: "Event is invalid", Errors: problems}
	}
	return out, nil
}
