package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func key() string { return "generated-key" }

func problems(t *testing.T, err error) string {
	t.Helper()
	var ie *InvalidEvent
	if !errors.As(err, &ie) {
		t.Fatalf("want *InvalidEvent, got %v", err)
	}
	return strings.Join(ie.Errors, " | ")
}

func TestPagerDutyDocumentedExample(t *testing.T) {
	body := `{
	  "payload": {
	    "summary": "Example alert on host1.example.com",
	    "timestamp": "2015-07-17T08:42:58.315+0000",
	    "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
	    "severity": "info", "component": "postgres", "group": "prod-datapipe", "class": "deploy",
	    "custom_details": {"ping time": "1500ms", "load avg": 0.75}
	  },
	  "routing_key": "samplekeyhere", "dedup_key": "samplekeyhere",
	  "images": [{"src": "https://example.com/logo.png", "href": "https://example.com/", "alt": "Example text"}],
	  "links": [{"href": "https://example.com/", "text": "Link text"}],
	  "event_action": "trigger", "client": "Sample Monitoring Service", "client_url": "https://monitoring.example.com",
	  "some_future_field": true
	}`
	ev, rk, err := ParsePagerDuty([]byte(body), now, key)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2015, 7, 17, 8, 42, 58, 315e6, time.UTC)
	if rk != "samplekeyhere" || ev.Action != Trigger || ev.DedupKey != "samplekeyhere" || ev.Severity != Info ||
		ev.Component != "postgres" || ev.Group != "prod-datapipe" || ev.Class != "deploy" || !ev.OccurredAt.Equal(want) ||
		ev.Details["load avg"] != 0.75 || len(ev.Links) != 1 || len(ev.Images) != 1 || ev.Client != "Sample Monitoring Service" {
		t.Fatalf("parsed %+v", ev)
	}
}

func TestPagerDutyRules(t *testing.T) {
	cases := []struct {
		name, body string
		wantErr    string // substring of the problems; "" means valid
		check      func(Event) bool
	}{
		{"trigger without dedup key gets one", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"error"}}`, "",
			func(e Event) bool { return e.DedupKey == "generated-key" && e.GeneratedKey }},
		{"acknowledge", `{"routing_key":"k","event_action":"acknowledge","dedup_key":"d"}`, "", func(e Event) bool { return e.Action == Acknowledge }},
		{"resolve", `{"routing_key":"k","event_action":"resolve","dedup_key":"d"}`, "", func(e Event) bool { return e.Action == Resolve }},
		{"resolve needs a key", `{"routing_key":"k","event_action":"resolve"}`, "'dedup_key' is required", nil},
		{"no routing key", `{"event_action":"trigger","payload":{"summary":"s","source":"h","severity":"error"}}`, "'routing_key' is missing", nil},
		{"bad action", `{"routing_key":"k","event_action":"explode"}`, "'event_action' is invalid", nil},
		{"no payload", `{"routing_key":"k","event_action":"trigger"}`, "'payload' is missing", nil},
		{"bad severity", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"urgent"}}`, "'payload.severity' is invalid", nil},
		{"all payload fields missing", `{"routing_key":"k","event_action":"trigger","payload":{}}`, "'payload.summary' is missing", nil},
		{"bad timestamp", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","timestamp":"yesterday"}}`, "'payload.timestamp'", nil},
		{"long dedup key", `{"routing_key":"k","event_action":"trigger","dedup_key":"` + strings.Repeat("x", 256) + `","payload":{"summary":"s","source":"h","severity":"info"}}`, "longer than 255", nil},
		{"long summary is cut", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"` + strings.Repeat("é", 600) + `","source":"h","severity":"info"}}`, "",
			func(e Event) bool { return len(e.Summary) <= MaxSummary && strings.HasPrefix(e.Summary, "éé") }},
		{"not json", `{"routing_key":`, "not a valid JSON", nil},
		{"wrong type", `{"routing_key":5}`, "routing_key", nil},
		{"string custom details", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":"disk full"}}`, "",
			func(e Event) bool { return e.Details["details"] == "disk full" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, _, err := ParsePagerDuty([]byte(c.body), now, key)
			if c.wantErr != "" {
				if got := problems(t, err); !strings.Contains(got, c.wantErr) {
					t.Fatalf("problems %q, want %q", got, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.check != nil && !c.check(ev) {
				t.Fatalf("unexpected event %+v", ev)
			}
		})
	}
}

const amBody = `{
  "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": 0, "status": "firing",
  "receiver": "steady", "groupLabels": {"alertname": "HighLatency"},
  "commonLabels": {"alertname": "HighLatency", "severity": "page"}, "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093", "notification_reason": "new", "routeLabels": {},
  "alerts": [
    {"status": "firing", "labels": {"alertname": "HighLatency", "instance": "api-1:9100", "job": "api", "severity": "page"},
     "annotations": {"summary": "p99 latency above 2s on api-1", "runbook_url": "https://runbooks/latency"},
     "startsAt": "2026-03-01T11:58:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prometheus:9090/graph?g0.expr=x", "fingerprint": "a1b2c3d4e5f60718"},
    {"status": "resolved", "labels": {"alertname": "HighLatency", "instance": "api-2:9100", "severity": "warning"},
     "annotations": {}, "startsAt": "2026-03-01T11:00:00Z", "endsAt": "2026-03-01T11:55:00Z", "generatorURL": "", "fingerprint": ""}
  ]
}`

func TestAlertmanagerWebhook(t *testing.T) {
	evs, err := ParseAlertmanager([]byte(amBody), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	a, b := evs[0], evs[1]
	if a.Action != Trigger || a.DedupKey != "a1b2c3d4e5f60718" || a.Severity != Critical || a.Summary != "p99 latency above 2s on api-1" ||
		a.Host != "api-1:9100" || a.Component != "api" || a.Class != "HighLatency" || len(a.Links) != 2 ||
		!a.OccurredAt.Equal(time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC)) {
		t.Fatalf("firing alert: %+v", a)
	}
	if b.Action != Resolve || b.DedupKey != Fingerprint(b.Labels) || b.Summary != "HighLatency" || b.Severity != Warning ||
		!b.OccurredAt.Equal(time.Date(2026, 3, 1, 11, 55, 0, 0, time.UTC)) {
		t.Fatalf("resolved alert: %+v", b)
	}
}

func TestAlertmanagerInvalid(t *testing.T) {
	for body, want := range map[string]string{
		`{"version":"4","alerts":[]}`:                                        "'alerts' is missing",
		`{"version":"3","alerts":[{"status":"firing","labels":{"a":"b"}}]}`:  "not supported",
		`{"version":"4","alerts":[{"status":"pending","labels":{"a":"b"}}]}`: "'alerts[0].status'",
		`{"version":"4","alerts":[{"status":"firing","labels":{}}]}`:         "'alerts[0].labels' is missing",
		`[1,2]`: "must be a JSON object",
	} {
		_, err := ParseAlertmanager([]byte(body), now)
		if got := problems(t, err); !strings.Contains(got, want) {
			t.Errorf("%s: problems %q, want %q", body, got, want)
		}
	}
}

func TestFingerprintIgnoresOrder(t *testing.T) {
	a := Fingerprint(map[string]string{"a": "1", "b": "2"})
	b := Fingerprint(map[string]string{"b": "2", "a": "1"})
	c := Fingerprint(map[string]string{"a": "12"})
	if a != b || a == c {
		t.Fatalf("%s %s %s", a, b, c)
	}
}

func TestGeneric(t *testing.T) {
	evs, err := ParseGeneric([]byte(`{"summary":"disk 95% full","severity":"high","labels":{"host":"db-1","check":"disk"}}`), now, key)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Severity != Error || evs[0].Action != Trigger || evs[0].DedupKey != Fingerprint(evs[0].Labels) {
		t.Fatalf("%+v", evs[0])
	}
	evs, err = ParseGeneric([]byte(`[{"summary":"a"},{"action":"resolve","dedup_key":"x"}]`), now, key)
	if err != nil || len(evs) != 2 || !evs[0].GeneratedKey || evs[1].Action != Resolve {
		t.Fatalf("%+v %v", evs, err)
	}
	for body, want := range map[string]string{
		`{"summary":"a","sevrity":"high"}`:             "unknown field",
		`[]`:                                           "empty",
		`{"severity":"loud","summary":"x"}`:            "'severity'",
		`[{"summary":"ok"},{"action":"resolve"}]`:      "'[1].dedup_key' is required",
		`{"summary":"x","occurred_at":"last tuesday"}`: "'occurred_at'",
		`{}`:                              "'summary' is required",
		`{"summary":"a"} {"summary":"b"}`: "one JSON value",
	} {
		_, err := ParseGeneric([]byte(body), now, key)
		if got := problems(t, err); !strings.Contains(got, want) {
			t.Errorf("%s: problems %q, want %q", body, got, want)
		}
	}
	big, _ := json.Marshal(make([]GenericEvent, MaxBatch+1))
	if _, err := ParseGeneric(big, now, key); !strings.Contains(problems(t, err), "at most 1000") {
		t.Fatal("a batch over the limit must be refused")
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{"CRITICAL": Critical, "page": Critical, "warn": Warning, "P2": Error, "low": Info} {
		if got, ok := ParseSeverity(in); !ok || got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
	if _, ok := ParseSeverity("purple"); ok {
		t.Error("an unknown severity must not parse")
	}
}
