package iam

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"},  // é is two bytes: not cut in half
		{"日本語", 4, "日"}, // three bytes each
		{"日本語", 6, "日本"},
		{"a\x00b", 10, "a\uFFFDb"},
		{"a\xffb", 10, "a\uFFFDb"},
		{"", 5, ""},
	} {
		got := truncate(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) || len(got) > max(c.n, len(c.want)) {
			t.Errorf("truncate(%q, %d) = %q; want %q", c.in, c.n, got, c.want)
		}
	}
	long := strings.Repeat("é", 1000)
	if got := truncate(long, 301); len(got) != 300 || !utf8.ValidString(got) {
		t.Errorf("truncate of a long text: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}
