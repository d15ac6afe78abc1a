package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// AlertmanagerWebhook is the body Prometheus Alertmanager (and Grafana's
// webhook contact point, version "1") posts to a webhook receiver, version
// "4". Newer fields are ignored.
type AlertmanagerWebhook struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   int                 `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []AlertmanagerAlert `json:"alerts"`
}

// AlertmanagerAlert is one alert of a webhook.
type AlertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// ParseAlertmanager turns one webhook into events: a firing alert triggers,
// a resolved one resolves. The dedup key is the alert's fingerprint (the hash
// of its labels Alertmanager computes), or one computed the same way when a
// sender leaves it out, so firing and resolved notices meet on one alert.
func ParseAlertmanager(body []byte, now time.Time) ([]Event, error) {
	var in AlertmanagerWebhook
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
		return nil, &InvalidEvent{Message: "Alertmanager webhook is invalid", Errors: []string{jsonProblem(err)}}
	}
	var problems []string
	// Alertmanager sends version "4"; Grafana's webhook contact point sends
	// the same body with more fields and version "1".
	if in.Version != "" && in.Version != "4" && in.Version != "1" {
		problems = append(problems, fmt.Sprintf("'version' %q is not supported (expected \"4\", or Grafana's \"1\")", clip(in.Version, 20)))
	}
	if len(in.Alerts) == 0 {
		problems = append(problems, "'alerts' is missing or empty")
	}
	if len(in.Alerts) > MaxBatch {
		problems = append(problems, fmt.Sprintf("'alerts' has %d alerts; at most %d are accepted per request", len(in.Alerts), MaxBatch))
	}
	if len(problems) > 0 {
		return nil, &InvalidEvent{Message: "Alertmanager webhook is invalid", Errors: problems}
	}
	out := make([]Event, 0, len(in.Alerts))
	for i, a := range in.Alerts {
		field := fmt.Sprintf("alerts[%d]", i)
		ev := Event{Source: SourceAlertmanager, ReceivedAt: now, OccurredAt: now, Labels: a.Labels, Client: "Alertmanager", ClientURL: in.ExternalURL}
		switch a.Status {
		case "firing":
			ev.Action = Trigger
			if !a.StartsAt.IsZero() {
				ev.OccurredAt = a.StartsAt.UTC()
			}
		case "resolved":
			ev.Action = Resolve
			if !a.EndsAt.IsZero() {
				ev.OccurredAt = a.EndsAt.UTC()
			}
		default:
			problems = append(problems, fmt.Sprintf("'%s.status' must be firing or resolved, not %q", field, clip(a.Status, 20)))
		}
		if len(a.Labels) == 0 {
			problems = append(problems, fmt.Sprintf("'%s.labels' is missing or empty", field))
		}
		checkLabels(a.Labels, field+".labels", &problems)
		ev.DedupKey = a.Fingerprint
		if ev.DedupKey == "" {
			ev.DedupKey, ev.GeneratedKey = Fingerprint(a.Labels), false
		}
		if len(ev.DedupKey) > MaxDedupKey {
			problems = append(problems, fmt.Sprintf("'%s.fingerprint' is longer than %d characters", field, MaxDedupKey))
		}
		sev, ok := ParseSeverity(a.Labels["severity"])
		if !ok {
			sev = Warning
		}
		ev.Severity = sev
		ev.Summary = firstOf(a.Annotations["summary"], a.Annotations["title"], a.Annotations["message"], a.Annotations["description"], a.Labels["alertname"])
		if ev.Summary == "" {
			ev.Summary = "alert " + ev.DedupKey
		}
		ev.Summary = clip(ev.Summary, MaxSummary)
		ev.Host = firstOf(a.Labels["instance"], a.Labels["host"], a.Labels["hostname"], a.Labels["node"])
		ev.Component = firstOf(a.Labels["job"], a.Labels["component"])
		ev.Class = a.Labels["alertname"]
		if len(a.Annotations) > 0 {
			ev.Details = make(map[string]any, len(a.Annotations))
			for k, v := range a.Annotations {
				ev.Details[k] = v
			}
		}
		if a.GeneratorURL != "" {
			ev.Links = append(ev.Links, Link{Href: a.GeneratorURL, Text: "Source"})
		}
		for _, k := range []string{"runbook_url", "dashboard_url"} {
			if u := a.Annotations[k]; u != "" {
				ev.Links = append(ev.Links, Link{Href: u, Text: k})
			}
		}
		out = append(out, ev)
	}
	if len(problems) > 0 {
		return nil, &InvalidEvent{Message: "Alertmanager webhook is invalid", Errors: problems}
	}
	return out, nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
