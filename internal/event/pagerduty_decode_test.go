package event

import (
	"os"
	"strings"
	"testing"
)

// samePagerDutyAsReference checks body on both decode paths and returns
// whether the hand-written decoder took it.
func samePagerDutyAsReference(t testing.TB, body []byte) bool {
	t.Helper()
	ok, _ := sameDecode(t, body, decodePagerDuty, decodePagerDutyJSON)
	return ok
}

// pdBody is an Events API v2 trigger as PagerDuty documents it, with every
// field (the API tests send it too).
var pdBody = func() string {
	b, err := os.ReadFile("testdata/pagerduty-documented.json")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestDecodePagerDuty(t *testing.T) {
	for _, c := range []struct {
		name, body string
		handled    bool
	}{
		{"documented trigger", pdBody, true},
		{"single-event load", `{"routing_key":"k","event_action":"trigger","dedup_key":"bench-1","payload":{"summary":"High request latency on web-1","source":"web-1","severity":"warning","custom_details":{"instance":"web-1:9100"}}}`, true},
		{"resolve", `{"routing_key":"k","event_action":"resolve","dedup_key":"d"}`, true},
		{"acknowledge with summary", `{"routing_key":"k","event_action":"acknowledge","dedup_key":"d","payload":{"summary":"s"}}`, true},
		{"string details", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":"free text \u00e9\n"}}`, true},
		{"array details", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":[1,"a",{"b":null}]}}`, true},
		{"empty details", `{"payload":{"custom_details":{}},"links":[]}`, true},
		{"empty array and string details", `{"payload":{"custom_details":[]}}`, true},
		{"empty string details", `{"payload":{"custom_details":""}}`, true},
		{"null link", `{"links":[null]}`, false},
		{"upper-case image field", `{"images":[{"SRC":"s"}]}`, false},
		{"number details", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","custom_details":5}}`, false},
		{"bool details", `{"routing_key":"k","payload":{"custom_details":true}}`, false},
		{"nulls", `{"routing_key":null,"event_action":null,"dedup_key":null,"client":null,"client_url":null,"payload":null,"images":null,"links":null}`, true},
		{"null payload fields", `{"payload":{"summary":null,"source":null,"severity":null,"timestamp":null,"component":null,"group":null,"class":null,"custom_details":null}}`, true},
		{"empty payload, images, links", `{"payload":{},"images":[],"links":[]}`, true},
		{"empty object", `{}`, true},
		{"whitespace everywhere", " \r\n{ \"routing_key\" : \"k\" ,\t\"images\" : [ { \"src\" : \"s\" } , { } ] , \"payload\" : { \"custom_details\" : { \"a\" : [ 1 ] } } }\n ", true},
		{"escapes", `{"routing_key":"k\u0041","dedup_key":"a\"b\\c\/d","payload":{"summary":"\ud83d\ude00 \ud83d x"}}`, true},
		{"non-ASCII", `{"payload":{"summary":"Überlast – 90 %","source":"hôte"}}`, true},
		{"invalid UTF-8", "{\"payload\":{\"summary\":\"a\xffb\"}}", false},
		{"invalid action and severity", `{"event_action":"explode","payload":{"severity":"loud"}}`, true},
		{"unknown field", `{"routing_key":"k","event_type":"trigger"}`, false},
		{"unknown payload field", `{"payload":{"summary":"s","sevrity":"x"}}`, false},
		{"unknown image field", `{"images":[{"src":"s","title":"t"}]}`, false},
		{"upper-case field", `{"Routing_Key":"k"}`, false},
		{"escaped field name", `{"routing_\u006bey":"k"}`, false},
		{"repeated field", `{"dedup_key":"a","dedup_key":"b"}`, false},
		{"repeated payload", `{"payload":{"summary":"a"},"payload":{"source":"b"}}`, false},
		{"repeated payload field", `{"payload":{"summary":"a","summary":"b"}}`, false},
		{"repeated image field", `{"images":[{"src":"a","src":"b"}]}`, false},
		{"null image", `{"images":[null]}`, false},
		{"number in string field", `{"routing_key":5}`, false},
		{"payload a string", `{"payload":"s"}`, false},
		{"links an object", `{"links":{"href":"h"}}`, false},
		{"deep details", `{"payload":{"custom_details":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}}`, false},
		{"details syntax error", `{"payload":{"custom_details":{"n":01}}}`, false},
		{"trailing data", `{"routing_key":"k"} x`, false},
		{"second object", `{"routing_key":"k"}{}`, false},
		{"trailing comma", `{"routing_key":"k",}`, false},
		{"unterminated", `{"routing_key":"k"`, false},
		{"array body", `[{"routing_key":"k"}]`, false},
		{"null body", `null`, false},
		{"empty body", ``, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := samePagerDutyAsReference(t, []byte(c.body)); got != c.handled {
				t.Errorf("handled = %v, want %v", got, c.handled)
			}
		})
	}
}

func FuzzPagerDutyDecode(f *testing.F) {
	for _, s := range []string{
		pdBody,
		`{"routing_key":"k","event_action":"resolve","dedup_key":"d"}`,
		`{"payload":{"custom_details":"a\nb"},"images":[{"src":"s"},{}],"links":[{"href":"h","text":null}]}`,
		`{"routing_key":null,"payload":null,"images":null,"links":null}`,
		`{"payload":{"custom_details":[1,{"a":"}]\"{"}]}}`,
		`{"Routing_key":"k","routing_key":"j"}`,
		`{"dedup_key":"a","dedup_key":"b"}`,
		`{"routing_key":"k"} {}`,
		"{\"payload\":{\"summary\":\"\xff\"}}",
		`{"payload":{"summary":"\ud83d\ude00\udc00"}}`,
		`{"routing_key":5}`,
		`{}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		samePagerDutyAsReference(t, body)
	})
}

// BenchmarkParsePagerDuty compares the decode step on encoding/json and
// with the hand-written decoder, on the documented trigger.
//
//	go test -run '^$' -bench ParsePagerDuty -benchmem ./internal/event/
func BenchmarkParsePagerDuty(b *testing.B) {
	body := []byte(pdBody)
	benchRuns(b, body, append(decodeRuns(body, decodePagerDuty, decodePagerDutyJSON),
		benchRun{"parse", func() error { _, _, err := ParsePagerDuty(body, now, counter()); return err }}))
}
