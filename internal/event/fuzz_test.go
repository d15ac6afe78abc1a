package event

import (
	"errors"
	"testing"
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
