package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// referenceDecode is the decode step of ParseGeneric as it was with
// encoding/json alone: what decodeGeneric must give whenever it answers.
func referenceDecode(body []byte) ([]GenericEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var in []GenericEvent
	var err error
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		err = dec.Decode(&in)
	} else {
		var one GenericEvent
		err = dec.Decode(&one)
		in = []GenericEvent{one}
	}
	if err == nil && dec.More() {
		err = errMore
	}
	return in, err
}

var errMore = errors.New("the body holds more than one value")

// referenceParse is ParseGeneric on the encoding/json path only.
func referenceParse(body []byte, newKey func() string) ([]Event, error) {
	array := isBatch(body)
	in, err := decodeGenericJSON(body, array)
	if err != nil {
		return nil, err
	}
	return genericEvents(in, array, now, newKey)
}

func isBatch(body []byte) bool {
	t := bytes.TrimLeft(body, " \t\r\n")
	return len(t) > 0 && t[0] == '['
}

// counter returns a fresh generator of dedup keys, so that two parses of the
// same body generate the same ones.
func counter() func() string {
	n := 0
	return func() string { n++; return "gen-" + strconv.Itoa(n) }
}

// sameAsReference checks body on both paths and returns whether the fast
// decoder took it.
func sameAsReference(t testing.TB, body []byte) bool {
	t.Helper()
	ok, wantErr := sameDecode(t, body, decodeGeneric, referenceDecode)
	if _, err := decodeGenericJSON(body, isBatch(body)); (err == nil) != (wantErr == nil) {
		t.Fatalf("%q: fallback says %v, encoding/json %v", body, err, wantErr)
	}
	evs, err := ParseGeneric(body, now, counter())
	wantEvs, wantParseErr := referenceParse(body, counter())
	if !reflect.DeepEqual(err, wantParseErr) || !reflect.DeepEqual(evs, wantEvs) {
		t.Fatalf("%q: ParseGeneric gives\n%+v %v\nwant\n%+v %v", body, evs, err, wantEvs, wantParseErr)
	}
	return ok
}

func TestDecodeGeneric(t *testing.T) {
	for _, c := range []struct {
		name, body string
		handled    bool
	}{
		{"plain", `{"summary":"disk full","severity":"warning","labels":{"host":"a"}}`, true},
		{"every field", `{"action":"acknowledge","dedup_key":"k","summary":"s","severity":"critical","host":"h","component":"c","group":"g","class":"cl",
			"labels":{"a":"1","b":""},"details":{"n":1.5,"x":[true,null,"s",{"y":-2e3}]},"links":[{"href":"http://a","text":"A"},{"href":"http://b"}],"occurred_at":"2026-11-21T10:00:00Z"}`, true},
		{"batch", `[{"summary":"a"},{"action":"resolve","dedup_key":"x"}]`, true},
		{"escapes", `{"summary":"a\nb\"c\\d\/e\tf\rg\bh\fi","host":"\u00e9\u20AC\u0000"}`, true},
		{"surrogate pair", `{"summary":"\ud83d\ude00 smile"}`, true},
		{"lone high surrogate", `{"summary":"a\ud83d b"}`, true},
		{"lone low surrogate", `{"summary":"a\ude00b"}`, true},
		{"high then not low", `{"summary":"\ud83d\u0041"}`, true},
		{"two highs", `{"summary":"\ud83d\ud83d\ude00"}`, true},
		{"surrogate at the end", `{"summary":"\ud83d"}`, true},
		{"surrogate before a plain escape", `{"summary":"\ud83d\n"}`, true},
		{"bad hex", `{"summary":"\u12g4"}`, false},
		{"unknown escape", `{"summary":"\x"}`, false},
		{"non-ASCII", `{"summary":"Überlast – 90 % 😀","labels":{"zoné":"été"}}`, true},
		{"invalid UTF-8", "{\"summary\":\"a\xffb\"}", false},
		{"invalid UTF-8 with escape", "{\"summary\":\"\\n\xc3\"}", false},
		{"invalid UTF-8 in details", "{\"summary\":\"a\",\"details\":{\"x\":\"\xff\"}}", true},
		{"control character", "{\"summary\":\"a\tb\"}", false},
		{"whitespace everywhere", " \t\r\n[ \n{ \"summary\" \t: \"a\" , \"labels\" : { \"k\" : \"v\" , \"j\":\"w\" } , \"links\" : [ { \"href\" : \"h\" } , { } ] , \"details\" : { \"a\" : [ 1 , 2 ] } } \r\n, {} ]\n\t ", true},
		{"empty object", `{}`, true},
		{"empty array", `[]`, true},
		{"empty array with space", ` [ ] `, true},
		{"empty labels, links, details", `{"summary":"a","labels":{},"links":[],"details":{}}`, true},
		{"nulls", `{"action":null,"dedup_key":null,"summary":null,"severity":null,"host":null,"component":null,"group":null,"class":null,"labels":null,"details":null,"links":null,"occurred_at":null}`, true},
		{"null link fields", `{"summary":"a","links":[{"href":null,"text":null}]}`, true},
		{"null link", `{"summary":"a","links":[null]}`, false},
		{"null label", `{"summary":"a","labels":{"a":null}}`, false},
		{"null event", `[{"summary":"a"},null]`, false},
		{"null body", `null`, false},
		{"nested details", `{"summary":"a","details":{"a":{"b":{"c":[[],[{}],"}]\"{"]}},"d":"\u00e9"}}`, true},
		{"deep details", `{"summary":"a","details":{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}}`, false},
		{"details not an object", `{"summary":"a","details":[1]}`, false},
		{"details number too big", `{"summary":"a","details":{"n":1e999}}`, false},
		{"details syntax error", `{"summary":"a","details":{"n":01}}`, false},
		{"duplicate labels", `{"summary":"a","labels":{"k":"1","j":"2","k":"3"}}`, true},
		{"escaped label names", `{"summary":"a","labels":{"\u006b":"1","k":"2","\n":"3"}}`, true},
		{"repeated field", `{"summary":"a","summary":"b"}`, false},
		{"repeated labels", `{"summary":"a","labels":{"a":"1"},"labels":{"b":"2"}}`, false},
		{"repeated link field", `{"summary":"a","links":[{"href":"a","href":"b"}]}`, false},
		{"upper-case field", `{"Summary":"a"}`, false},
		{"upper-case link field", `{"summary":"a","links":[{"HREF":"a"}]}`, false},
		{"escaped field name", `{"summ\u0061ry":"a"}`, false},
		{"unknown field", `{"summary":"a","sevrity":"high"}`, false},
		{"unknown link field", `{"summary":"a","links":[{"href":"a","url":"b"}]}`, false},
		{"trailing garbage", `{"summary":"a"} x`, false},
		{"second value", `{"summary":"a"} {"summary":"b"}`, false},
		{"trailing bracket", `{"summary":"a"}]`, false},
		{"trailing comma", `[{"summary":"a"},]`, false},
		{"trailing comma in object", `{"summary":"a",}`, false},
		{"missing colon", `{"summary" "a"}`, false},
		{"unterminated", `[{"summary":"a"}`, false},
		{"unterminated string", `{"summary":"a`, false},
		{"number in string field", `{"summary":5}`, false},
		{"bool in string field", `{"summary":true}`, false},
		{"number label", `{"summary":"a","labels":{"a":1}}`, false},
		{"labels array", `{"summary":"a","labels":["a"]}`, false},
		{"links object", `{"summary":"a","links":{"href":"a"}}`, false},
		{"string body", `"a"`, false},
		{"empty body", ``, false},
		{"byte order mark", "\xef\xbb\xbf{}", false},
		{"invalid action", `{"summary":"a","action":"explode"}`, true},
		{"bad severity and time", `[{"summary":"a","severity":"loud","occurred_at":"tuesday"},{"action":"resolve"}]`, true},
		{"blank link", `{"summary":"a","links":[{"text":"t"}]}`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := sameAsReference(t, []byte(c.body)); got != c.handled {
				t.Errorf("handled = %v, want %v", got, c.handled)
			}
		})
	}
}

// TestDecodeGenericBatch decodes a full batch whose events differ in shape,
// so that reused label names meet names that only look alike.
func TestDecodeGenericBatch(t *testing.T) {
	var b []byte
	b = append(b, '[')
	for k := range MaxBatch {
		if k > 0 {
			b = append(b, ',')
		}
		switch k % 4 {
		case 0, 1:
			b = benchEvent(b, k)
		case 2:
			b = append(b, `{"summary":"s`...)
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, `","labels":{"alertname":"x","instance\n":"i","job":"j","extra":"e"},"links":[{"href":"h"}],"details":{"k":`...)
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, `}}`...)
		case 3:
			b = append(b, `{"action":"resolve","dedup_key":"k","labels":{"alertnam":"x","instance":"\u0069","":""}}`...)
		}
	}
	b = append(b, ']')
	if !sameAsReference(t, b) {
		t.Fatal("the batch was left to encoding/json")
	}
}

// benchEvent appends an event shaped like those of the batch load in
// internal/bench.
func benchEvent(b []byte, k int) []byte {
	b = append(b, `{"summary":"High request latency on web-`...)
	b = strconv.AppendInt(b, int64(k%500), 10)
	b = append(b, `","dedup_key":"bench-`...)
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, `","severity":"warning","host":"web-`...)
	b = strconv.AppendInt(b, int64(k%500), 10)
	b = append(b, `","labels":{"alertname":"HighLatency","instance":"web-`...)
	b = strconv.AppendInt(b, int64(k%500), 10)
	b = append(b, `:9100","job":"node"}}`...)
	return b
}

func benchBatch(n int) []byte {
	b := []byte{'['}
	for k := range n {
		if k > 0 {
			b = append(b, ',')
		}
		b = benchEvent(b, 7919*k)
	}
	return append(b, ']')
}

func FuzzGenericDecode(f *testing.F) {
	for _, s := range []string{
		`{"summary":"disk full","severity":"warning","labels":{"host":"a"}}`,
		`[{"summary":"a"},{"action":"resolve","dedup_key":"x"}]`,
		`{"action":"acknowledge","dedup_key":"k","summary":"s","severity":"critical","host":"h","component":"c","group":"g","class":"cl","labels":{"a":"1"},"details":{"n":1.5,"x":[true,null]},"links":[{"href":"http://a","text":"A"}],"occurred_at":"2026-11-21T10:00:00Z"}`,
		`{"summary":"a\nb\"c\\d\/e\u00e9\ud83d\ude00\ud83d\ude00x\udc00"}`,
		`{"summary":"Überlast 😀","labels":{"zoné":"été","\u006b":"1","k":"2"}}`,
		"{\"summary\":\"a\xffb\"}",
		" [ {\"summary\" : \"a\" , \"links\" : [ { } ] } ]\n",
		`{"action":null,"summary":null,"labels":null,"details":null,"links":[{"href":null}]}`,
		`{"Summary":"a","SUMMARY":"b"}`,
		`{"summary":"a","summary":"b"}`,
		`{"summary":"a","labels":{"a":"1"},"labels":{"b":"2"}}`,
		`{"summary":"a"}]`,
		`{"summary":"a"} {}`,
		`[{},null]`,
		`{"summary":5,"labels":{"a":true}}`,
		`{"summary":"a","details":{"a":{"b":["}]\"{"]}}}`,
		`{"summary":"a","details":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`,
		`[]`,
		`{}`,
		`null`,
		string(benchBatch(3)),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsReference(t, body)
	})
}

// BenchmarkParseGeneric compares the decode step and the whole of
// ParseGeneric on encoding/json alone and with the hand-written decoder, on
// a batch like those of the ingest benchmark.
//
//	go test -run '^$' -bench ParseGeneric -benchmem ./internal/event/
func BenchmarkParseGeneric(b *testing.B) {
	body := benchBatch(500)
	benchRuns(b, body, append(decodeRuns(body, decodeGeneric, referenceDecode),
		benchRun{"parse/encoding-json", func() error { _, err := referenceParse(body, counter()); return err }},
		benchRun{"parse/hand-written", func() error { _, err := ParseGeneric(body, now, counter()); return err }}))
}
