package page_test

import (
	"encoding/base64"
	"testing"

	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, k := range []int64{1, 2, 49, 1 << 31, 1<<63 - 1} {
		c := page.Encode(k)
		got, ok := page.Decode(c)
		if !ok || got != k {
			t.Errorf("Decode(Encode(%d)) = %d, %v", k, got, ok)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, c := range map[string]string{
		"empty":          "",
		"not base64":     "!!!",
		"padded base64":  base64.URLEncoding.EncodeToString([]byte("k:12")),
		"no prefix":      base64.RawURLEncoding.EncodeToString([]byte("12")),
		"wrong prefix":   base64.RawURLEncoding.EncodeToString([]byte("x:12")),
		"not a number":   base64.RawURLEncoding.EncodeToString([]byte("k:abc")),
		"zero":           base64.RawURLEncoding.EncodeToString([]byte("k:0")),
		"negative":       base64.RawURLEncoding.EncodeToString([]byte("k:-5")),
		"overflow":       base64.RawURLEncoding.EncodeToString([]byte("k:99999999999999999999")),
		"trailing bytes": base64.RawURLEncoding.EncodeToString([]byte("k:12 ")),
		"plain number":   "12",
	} {
		if k, ok := page.Decode(c); ok {
			t.Errorf("%s: Decode(%q) = %d, true; want false", name, c, k)
		}
	}
}

func TestParse(t *testing.T) {
	good := page.Encode(42)
	cases := []struct {
		name         string
		limit, after string
		want         page.Request
		badFields    []string
	}{
		{name: "defaults", want: page.Request{Limit: page.DefaultLimit}},
		{name: "limit 1", limit: "1", want: page.Request{Limit: 1}},
		{name: "limit max", limit: "1000", want: page.Request{Limit: page.MaxLimit}},
		{name: "cursor", limit: "10", after: good, want: page.Request{Limit: 10, After: 42}},
		{name: "limit 0", limit: "0", badFields: []string{"limit"}},
		{name: "limit negative", limit: "-3", badFields: []string{"limit"}},
		{name: "limit over max", limit: "1001", badFields: []string{"limit"}},
		{name: "limit not a number", limit: "ten", badFields: []string{"limit"}},
		{name: "limit fraction", limit: "1.5", badFields: []string{"limit"}},
		{name: "garbage cursor", after: "garbage!", badFields: []string{"after"}},
		{name: "both bad", limit: "0", after: "garbage!", badFields: []string{"limit", "after"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := page.Parse(c.limit, c.after)
			if len(c.badFields) == 0 {
				if err != nil || got != c.want {
					t.Fatalf("Parse(%q, %q) = %+v, %v; want %+v", c.limit, c.after, got, err, c.want)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.KindInvalid {
				t.Fatalf("Parse(%q, %q) error = %v; want a validation error", c.limit, c.after, err)
			}
			if len(e.Fields) != len(c.badFields) {
				t.Fatalf("fields %+v; want %v", e.Fields, c.badFields)
			}
			for i, f := range c.badFields {
				if e.Fields[i].Field != f || e.Fields[i].Detail == "" {
					t.Errorf("field %d = %+v; want %s with a detail", i, e.Fields[i], f)
				}
			}
		})
	}
}

func TestCut(t *testing.T) {
	key := func(n int) int64 { return int64(n) }
	cases := []struct {
		name      string
		items     []int
		limit     int
		wantItems []int
		wantNext  int64 // 0: no next page
	}{
		{name: "nil", items: nil, limit: 3, wantItems: []int{}},
		{name: "fewer than limit", items: []int{1, 2}, limit: 3, wantItems: []int{1, 2}},
		{name: "exactly limit", items: []int{1, 2, 3}, limit: 3, wantItems: []int{1, 2, 3}},
		{name: "one more than limit", items: []int{1, 2, 3, 4}, limit: 3, wantItems: []int{1, 2, 3}, wantNext: 3},
		{name: "descending keys", items: []int{9, 7, 5}, limit: 2, wantItems: []int{9, 7}, wantNext: 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := page.Cut(c.items, page.Request{Limit: c.limit}, key)
			if l.Items == nil {
				t.Fatal("Items is nil; it must encode as [] not null")
			}
			if len(l.Items) != len(c.wantItems) {
				t.Fatalf("items %v; want %v", l.Items, c.wantItems)
			}
			for i := range l.Items {
				if l.Items[i] != c.wantItems[i] {
					t.Fatalf("items %v; want %v", l.Items, c.wantItems)
				}
			}
			if c.wantNext == 0 {
				if l.Next != "" {
					t.Fatalf("next %q; want none", l.Next)
				}
				return
			}
			k, ok := page.Decode(l.Next)
			if !ok || k != c.wantNext {
				t.Fatalf("next decodes to %d, %v; want %d", k, ok, c.wantNext)
			}
		})
	}
}
