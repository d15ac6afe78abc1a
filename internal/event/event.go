// Package event is event management: every inbound format (PagerDuty Events
// API v2, Prometheus Alertmanager webhooks, Steady's generic JSON event) is
// parsed here into one normalized Event, before it is stored, deduplicated
// into alerts and grouped into incidents.
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Action is what an event asks for.
type Action string

const (
	Trigger     Action = "trigger"
	Acknowledge Action = "acknowledge"
	Resolve     Action = "resolve"
)

// Severity is the perceived severity, in PagerDuty's four levels.
type Severity string

const (
	Critical Severity = "critical"
	Error    Severity = "error"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

// Source names the inbound format an event came in through.
type Source string

const (
	SourcePagerDuty    Source = "pagerduty"
	SourceAlertmanager Source = "alertmanager"
	SourceGeneric      Source = "generic"
)

// Limits of an event's fields; longer values are refused (keys) or cut (text).
const (
	MaxDedupKey   = 255
	MaxSummary    = 1024
	MaxLabels     = 64
	MaxLabelName  = 128
	MaxLabelValue = 1024
	MaxBatch      = 1000
)

// Link is a URL attached to an event.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Image is an image attached to an event.
type Image struct {
	Src  string `json:"src"`
	Href string `json:"href,omitempty"`
	Alt  string `json:"alt,omitempty"`
}

// Event is one normalized inbound event.
type Event struct {
	Source   Source   `json:"source"`
	Action   Action   `json:"action"`
	DedupKey string   `json:"dedup_key"`
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	// Host is the affected system (PagerDuty's payload.source, Alertmanager's instance).
	Host      string            `json:"host,omitempty"`
	Component string            `json:"component,omitempty"`
	Group     string            `json:"group,omitempty"`
	Class     string            `json:"class,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Details   map[string]any    `json:"details,omitempty"`
	Links     []Link            `json:"links,omitempty"`
	Images    []Image           `json:"images,omitempty"`
	Client    string            `json:"client,omitempty"`
	ClientURL string            `json:"client_url,omitempty"`
	// OccurredAt is when the source saw it; ReceivedAt when Steady did.
	OccurredAt time.Time `json:"occurred_at"`
	ReceivedAt time.Time `json:"received_at"`
	// GeneratedKey is true when the sender gave no dedup key and Steady made one.
	GeneratedKey bool `json:"-"`
}

// ParseSeverity reads a severity, accepting common synonyms from other tools
// (Alertmanager rules say "page", "high", "warn", …). ok is false for an
// unknown value.
func ParseSeverity(s string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "crit", "page", "fatal", "emergency", "alert", "p1", "disaster":
		return Critical, true
	case "error", "err", "high", "major", "p2":
		return Error, true
	case "warning", "warn", "medium", "minor", "average", "p3":
		return Warning, true
	case "info", "information", "informational", "low", "notice", "debug", "ok", "none", "p4", "p5":
		return Info, true
	}
	return "", false
}

// Rank orders severities: critical is 4, info 1, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case Error:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Fingerprint is a stable dedup key for a label set: the same labels, in any
// order, give the same key.
func Fingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s=%d:%s;", len(k), k, len(labels[k]), labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// checkLabels validates a label set against the limits.
func checkLabels(labels map[string]string, field string, problems *[]string) {
	if len(labels) > MaxLabels {
		*problems = append(*problems, fmt.Sprintf("'%s' has %d entries; at most %d are allowed", field, len(labels), MaxLabels))
		return
	}
	for k, v := range labels {
		switch {
		case k == "":
			*problems = append(*problems, fmt.Sprintf("'%s' has an empty name", field))
		case len(k) > MaxLabelName:
			*problems = append(*problems, fmt.Sprintf("'%s' name %q is longer than %d characters", field, clip(k, 40), MaxLabelName))
		case len(v) > MaxLabelValue:
			*problems = append(*problems, fmt.Sprintf("'%s.%s' is longer than %d characters", field, k, MaxLabelValue))
		}
	}
}

// parseTime reads the timestamps monitoring tools send: RFC 3339 with or
// without fractions, and ISO 8601 offsets without a colon (+0000), as in
// PagerDuty's own examples.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
