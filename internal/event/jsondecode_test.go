package event

import (
	"errors"
	"reflect"
	"testing"
)

// sameDecode checks that a hand-written decoder, whenever it takes body,
// gives exactly what its encoding/json reference gives, and that it never
// takes a body the reference refuses; it returns whether it took body, and
// the reference's error.
func sameDecode[T any](t testing.TB, body []byte, fast func([]byte) (T, bool), reference func([]byte) (T, error)) (bool, error) {
	t.Helper()
	want, wantErr := reference(body)
	got, ok := fast(body)
	if ok {
		if wantErr != nil {
			t.Fatalf("%q: decoded, but encoding/json says %v", body, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded\n%#v\nwant\n%#v", body, got, want)
		}
	}
	return ok, wantErr
}

// benchRun is one way of decoding a body, for benchRuns.
type benchRun struct {
	name string
	run  func() error
}

// benchRuns runs each way of decoding body as a benchmark of its own.
func benchRuns(b *testing.B, body []byte, runs []benchRun) {
	for _, c := range runs {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// decodeRuns are the benchmarks of a decode step: on encoding/json (the
// reference) and with the hand-written decoder, which must take body.
func decodeRuns[T any](body []byte, fast func([]byte) (T, bool), reference func([]byte) (T, error)) []benchRun {
	return []benchRun{
		{"decode/encoding-json", func() error { _, err := reference(body); return err }},
		{"decode/hand-written", func() error {
			if _, ok := fast(body); !ok {
				return errors.New("left to encoding/json")
			}
			return nil
		}},
	}
}
