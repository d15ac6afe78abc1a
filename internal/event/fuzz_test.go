package event

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// The parsers face the network: whatever the bytes, they must return either
// events that satisfy the limits or an *InvalidEvent, and never panic.

func checkEvent(t *testing.T, ev Event) {
	if ev.DedupKey == "" || len(ev.DedupKey) > MaxDedupKey {
		t.Fatalf("dedup key %q", ev.DedupKey)
	}
	if len(ev.Summary) > MaxSummary {
		t.Fatalf("summary of %d bytes", len(ev.Summary))
	}
	switch ev.Action {
	case Trigger, Acknowledge, Resolve:
	default:
		t.Fatalf("action %q", ev.Action)
	}
	sameAsEncodingJSON(t, ev)
}

// sameAsEncodingJSON checks that the stored JSON of ev decodes to what
// encoding/json's encoding of it does.
func sameAsEncodingJSON(t *testing.T, ev Event) {
	t.Helper()
	std, err := json.Marshal(ev)
	if err != nil {
		return // not encodable (a NaN in details): nothing to compare
	}
	var want, got Event
	if err := json.Unmarshal(std, &want); err != nil {
		t.Fatal(err)
	}
	ours := eventJSON(&ev)
	if err := json.Unmarshal([]byte(ours), &got); err != nil {
		t.Fatalf("stored JSON does not decode: %v\n%s", err, ours)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored JSON decodes to\n%+v\nwant\n%+v\n%s\n%s", got, want, ours, std)
	}
	var labels, wantLabels map[string]string
	if err := json.Unmarshal([]byte(labelsJSON(&ev)), &labels); err != nil {
		t.Fatalf("labels JSON: %v", err)
	}
	if wantLabels = ev.Labels; len(wantLabels) == 0 {
		wantLabels = map[string]string{}
	}
	if len(labels) != len(wantLabels) || (len(labels) > 0 && !reflect.DeepEqual(labels, want.Labels)) {
		t.Fatalf("labels JSON decodes to %v; want %v", labels, want.Labels)
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	for _, ev := range []Event{
		{Source: SourceGeneric, Action: Trigger, DedupKey: "k", Severity: Error, Summary: "s", OccurredAt: at, ReceivedAt: at.UTC()},
		{Source: SourcePagerDuty, Action: Resolve, DedupKey: "quote \" back\\slash", Summary: "tab\tnew\nline\r\x00\x1f\x7f <&> \u2028\u2029 é 😀 \xff\xfe bad",
			Host: "h", Component: "c", Group: "g", Class: "cl", Client: "cli", ClientURL: "http://x/?a=1&b=<2>",
			Labels:  map[string]string{"b": "2", "a": "1", "\u00e9\n": "\xff", "z": ""},
			Details: map[string]any{"n": 1.5, "nested": map[string]any{"x": []any{"a", true, nil}}},
			Links:   []Link{{Href: "http://l"}, {Href: "http://m", Text: "t\""}},
			Images:  []Image{{Src: "http://i"}, {Src: "s", Href: "h", Alt: "a"}}},
		{Action: Acknowledge, DedupKey: "only"},
	} {
		sameAsEncodingJSON(t, ev)
	}
}

func invalid(t *testing.T, err error) {
	var ie *InvalidEvent
	if !errors.As(err, &ie) || len(ie.Errors) == 0 {
		t.Fatalf("error %v is not an InvalidEvent with reasons", err)
	}
}

func FuzzPagerDuty(f *testing.F) {
	f.Add([]byte(`{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"error","timestamp":"2015-07-17T08:42:58.315+0000"}}`))
	f.Add([]byte(`{"routing_key":"k","event_action":"resolve","dedup_key":"d"}`))
	f.Add([]byte(`{"payload":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, _, err := ParsePagerDuty(body, now, key)
		if err != nil {
			invalid(t, err)
			return
		}
		checkEvent(t, ev)
		if ev.Action == Trigger && ev.Severity.Rank() == 0 {
			t.Fatalf("trigger without severity")
		}
	})
}

func FuzzAlertmanager(f *testing.F) {
	f.Add([]byte(amBody))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ParseAlertmanager(body, now)
		if err != nil {
			invalid(t, err)
			return
		}
		if len(evs) == 0 || len(evs) > MaxBatch {
			t.Fatalf("%d events", len(evs))
		}
		for _, ev := range evs {
			checkEvent(t, ev)
		}
	})
}

func FuzzGeneric(f *testing.F) {
	f.Add([]byte(`{"summary":"disk full","labels":{"host":"a"}}`))
	f.Add([]byte(`[{"summary":"a"},{"action":"resolve","dedup_key":"x"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ParseGeneric(body, now, key)
		if err != nil {
			invalid(t, err)
			return
		}
		for _, ev := range evs {
			checkEvent(t, ev)
		}
	})
}
