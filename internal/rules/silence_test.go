package rules

import (
	"strings"
	"testing"
	"time"
)

func TestSilenceValidate(t *testing.T) {
	good := Silence{Matchers: MustParseMatchers(`{alertname="DiskFull", env=""}`), StartsAt: at("2026-05-01T10:00:00Z"),
		EndsAt: at("2026-05-01T12:00:00Z"), CreatedBy: "ada@example.com", Comment: "replacing the disk"}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid silence: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(s *Silence)
		field string
	}{
		{"no matchers", func(s *Silence) { s.Matchers = nil }, "matchers"},
		{"only empty-matching matchers", func(s *Silence) { s.Matchers = MustParseMatchers(`{env="", team=~".*"}`) }, "matchers"},
		{"not-equal matches empty", func(s *Silence) { s.Matchers = MustParseMatchers(`{env!="prod"}`) }, "matchers"},
		{"negative regex matching empty", func(s *Silence) { s.Matchers = MustParseMatchers(`{env!~".+"}`) }, "matchers"},
		{"bad matcher", func(s *Silence) { s.Matchers = Matchers{{Name: "", Type: MatchEqual, Value: "x"}} }, "matchers[0].name"},
		{"too many matchers", func(s *Silence) {
			s.Matchers = nil
			for range MaxMatchers + 1 {
				s.Matchers = append(s.Matchers, Matcher{Name: "a", Type: MatchEqual, Value: "x"})
			}
		}, "matchers"},
		{"no start", func(s *Silence) { s.StartsAt = time.Time{} }, "starts_at"},
		{"no end", func(s *Silence) { s.EndsAt = time.Time{} }, "ends_at"},
		{"ends at start", func(s *Silence) { s.EndsAt = s.StartsAt }, "ends_at"},
		{"ends before start", func(s *Silence) { s.EndsAt = s.StartsAt.Add(-time.Minute) }, "ends_at"},
		{"no comment", func(s *Silence) { s.Comment = "  " }, "comment"},
		{"long comment", func(s *Silence) { s.Comment = strings.Repeat("c", MaxComment+1) }, "comment"},
	}
	for _, c := range cases {
		s := good
		c.edit(&s)
		err := s.Validate()
		if err == nil {
			t.Errorf("%s: Validate() = nil", c.name)
			continue
		}
		checkField(t, err, c.field)
	}
	// A matcher that requires a label to be present is enough.
	for _, m := range []string{`env!=""`, `env=~".+"`, `env=~"a|"`, `env!~""`} {
		s := good
		s.Matchers = MustParseMatchers(m)
		err := s.Validate()
		if m == `env=~"a|"` {
			checkField(t, err, "matchers") // a|"" matches the empty string too
		} else if err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}

func TestSilenceMatches(t *testing.T) {
	s := Silence{ID: 1, Matchers: MustParseMatchers(`{alertname="DiskFull", env=~"prod|staging"}`),
		StartsAt: at("2026-05-01T10:00:00Z"), EndsAt: at("2026-05-01T12:00:00Z"), Comment: "x"}
	labels := map[string]string{"alertname": "DiskFull", "env": "prod", "host": "db-1"}
	cases := []struct {
		labels map[string]string
		t      string
		want   bool
	}{
		{labels, "2026-05-01T09:59:59Z", false},
		{labels, "2026-05-01T10:00:00Z", true}, // StartsAt is inclusive
		{labels, "2026-05-01T11:59:59Z", true},
		{labels, "2026-05-01T12:00:00Z", false}, // EndsAt is exclusive
		{map[string]string{"alertname": "DiskFull", "env": "dev"}, "2026-05-01T11:00:00Z", false},
		{map[string]string{"alertname": "DiskFull"}, "2026-05-01T11:00:00Z", false},
	}
	for _, c := range cases {
		if got := s.Matches(c.labels, at(c.t)); got != c.want {
			t.Errorf("Matches(%v, %s) = %v; want %v", c.labels, c.t, got, c.want)
		}
	}
	if !s.Active(at("2026-05-01T11:00:00Z")) || s.Active(at("2026-05-01T12:00:00Z")) {
		t.Error("Active")
	}
	if s.Expired(at("2026-05-01T11:59:59Z")) || !s.Expired(at("2026-05-01T12:00:00Z")) {
		t.Error("Expired")
	}
}
