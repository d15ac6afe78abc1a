package rules

import (
	"strconv"
	"time"

	"github.com/steadyhq/steady/internal/event"
)

// Input is everything Decide looks at for one event.
type Input struct {
	// Event is the incoming event; Decide does not change it.
	Event *event.Event
	// ServiceID is the service the event was sent to (0 for none).
	ServiceID int64
	// Now is the time to judge silences and maintenance windows at.
	Now time.Time
	// Engine holds the event rules; nil means none.
	Engine *Engine
	// Silences and Maintenance may hold inactive entries; they are checked at Now.
	Silences    []Silence
	Maintenance []MaintenanceWindow
	// Inhibitor holds the inhibit rules and the open alerts; nil means none.
	Inhibitor *Inhibitor
}

// Decision is the verdict on one event.
type Decision struct {
	// Drop: do not store the event as an alert.
	Drop bool `json:"drop"`
	// Suppress: store the event, page nobody. Reasons says why.
	Suppress bool `json:"suppress"`
	// Reasons lists why the event was dropped or suppressed, in the order
	// checked: "rule:<id>", "maintenance:<id>", "silence:<id>", "inhibited".
	Reasons []string `json:"reasons"`
	// ServiceID, Severity, Priority and Labels are the event's after the rules.
	ServiceID int64             `json:"service_id"`
	Severity  event.Severity    `json:"severity"`
	Priority  string            `json:"priority"`
	Labels    map[string]string `json:"labels"`
	// MatchedRules lists the rules whose conditions held; RuleErrors those
	// whose conditions failed to evaluate (and so did not match).
	MatchedRules []int64 `json:"matched_rules"`
	RuleErrors   []int64 `json:"rule_errors"`
	// InhibitedBy is the id of the open alert that inhibits this one, if any.
	InhibitedBy string `json:"inhibited_by,omitempty"`
}

// Decide runs the event rules (which may drop the event, re-route it and
// change its severity, priority and labels), then checks the final service
// and labels against maintenance windows, silences and inhibition. Every
// suppression that applies is listed, not only the first.
func Decide(in Input) Decision {
	var ev event.Event
	if in.Event != nil {
		ev = *in.Event // Apply copies the labels before changing them
	}
	out := in.Engine.Apply(&ev, in.ServiceID)
	d := Decision{
		Drop:         out.Drop,
		ServiceID:    out.ServiceID,
		Severity:     ev.Severity,
		Priority:     out.Priority,
		Labels:       ev.Labels,
		MatchedRules: out.Matched,
		RuleErrors:   out.Errors,
	}
	if out.Drop {
		// The dropping rule is the last that matched.
		d.Reasons = []string{"rule:" + strconv.FormatInt(out.Matched[len(out.Matched)-1], 10)}
		return d
	}
	for _, id := range out.SuppressedBy {
		d.Reasons = append(d.Reasons, "rule:"+strconv.FormatInt(id, 10))
	}
	var view map[string]string // built only when something needs to match labels
	labels := func() map[string]string {
		if view == nil {
			view = MatchLabels(&ev)
		}
		return view
	}
	for i := range in.Maintenance {
		if w := &in.Maintenance[i]; w.Matches(d.ServiceID, labels(), in.Now) {
			d.Reasons = append(d.Reasons, "maintenance:"+strconv.FormatInt(w.ID, 10))
		}
	}
	for i := range in.Silences {
		if s := &in.Silences[i]; s.Matches(labels(), in.Now) {
			d.Reasons = append(d.Reasons, "silence:"+strconv.FormatInt(s.ID, 10))
		}
	}
	if in.Inhibitor != nil && in.Inhibitor.Len() > 0 {
		if _, src, ok := in.Inhibitor.InhibitedBy(labels()); ok {
			d.Reasons = append(d.Reasons, "inhibited")
			d.InhibitedBy = src
		}
	}
	d.Suppress = len(d.Reasons) > 0
	return d
}

// MatchLabels is what matchers (silences, maintenance windows, inhibition)
// see of an event: its labels, plus severity, host, component, group, class
// and source where the event has no label of that name, so that a silence on
// severity="info" works for senders that do not put severity in labels.
func MatchLabels(ev *event.Event) map[string]string {
	extra := [...][2]string{{"severity", string(ev.Severity)}, {"host", ev.Host}, {"component", ev.Component},
		{"group", ev.Group}, {"class", ev.Class}, {"source", string(ev.Source)}}
	out := make(map[string]string, len(ev.Labels)+len(extra))
	for _, kv := range extra {
		if kv[1] != "" {
			out[kv[0]] = kv[1]
		}
	}
	for k, v := range ev.Labels {
		out[k] = v
	}
	return out
}
