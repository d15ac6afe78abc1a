package event

import (
	"reflect"
	"testing"
)

// sameDecode checks that a hand-written decoder, whenever it takes body,
// gives exactly what its encoding/json reference gives, and that it never
// takes a body the reference refuses; it returns whether it took body.
func sameDecode[T any](t testing.TB, body []byte, fast func([]byte) (T, bool), reference func([]byte) (T, error)) bool {
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
	return ok
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
