package rules

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/errs"
)

func TestParseMatchers(t *testing.T) {
	type m = Matcher
	cases := []struct {
		in   string
		want []m // nil with err set: must fail
		str  string
		err  string
	}{
		{in: ``, want: []m{}, str: `{}`},
		{in: `{}`, want: []m{}, str: `{}`},
		{in: ` { } `, want: []m{}, str: `{}`},
		{in: `{alertname="HighLatency", severity=~"critical|page"}`,
			want: []m{{Name: "alertname", Type: MatchEqual, Value: "HighLatency"}, {Name: "severity", Type: MatchRegexp, Value: "critical|page"}},
			str:  `{alertname="HighLatency", severity=~"critical|page"}`},
		{in: `alertname="HighLatency",severity=~"critical|page"`,
			want: []m{{Name: "alertname", Type: MatchEqual, Value: "HighLatency"}, {Name: "severity", Type: MatchRegexp, Value: "critical|page"}},
			str:  `{alertname="HighLatency", severity=~"critical|page"}`},
		{in: `env!=dev, team!~db.*`, want: []m{{Name: "env", Type: MatchNotEqual, Value: "dev"}, {Name: "team", Type: MatchNotRegexp, Value: "db.*"}},
			str: `{env!="dev", team!~"db.*"}`},
		{in: `{ a = "1" , b =~ "x" , }`, want: []m{{Name: "a", Type: MatchEqual, Value: "1"}, {Name: "b", Type: MatchRegexp, Value: "x"}}, str: `{a="1", b=~"x"}`},
		{in: `a=1,`, want: []m{{Name: "a", Type: MatchEqual, Value: "1"}}, str: `{a="1"}`},
		{in: `a=""`, want: []m{{Name: "a", Type: MatchEqual, Value: ""}}, str: `{a=""}`},
		{in: `{a=}`, want: []m{{Name: "a", Type: MatchEqual, Value: ""}}, str: `{a=""}`},
		{in: `a="say \"hi\"\n\\ \u00e9"`, want: []m{{Name: "a", Type: MatchEqual, Value: "say \"hi\"\n\\ é"}}, str: `{a="say \"hi\"\n\\ é"}`},
		{in: `a="x,y}{z"`, want: []m{{Name: "a", Type: MatchEqual, Value: "x,y}{z"}}, str: `{a="x,y}{z"}`},
		{in: `app.kubernetes.io/name=web`, want: []m{{Name: "app.kubernetes.io/name", Type: MatchEqual, Value: "web"}}, str: `{app.kubernetes.io/name="web"}`},
		{in: `"my label"="v"`, want: []m{{Name: "my label", Type: MatchEqual, Value: "v"}}, str: `{"my label"="v"}`},
		{in: `région=Île-de-France`, want: []m{{Name: "région", Type: MatchEqual, Value: "Île-de-France"}}, str: `{région="Île-de-France"}`},
		{in: `a=~"[a-z]{2}"`, want: []m{{Name: "a", Type: MatchRegexp, Value: "[a-z]{2}"}}, str: `{a=~"[a-z]{2}"}`},

		{in: `{a="1"`, err: "missing closing '}'"},
		{in: `{a="1" b="2"}`, err: "expected ',' or '}'"},
		{in: `a="1"}`, err: "expected ',' or '}'"},
		{in: `{a="1"} x`, err: "unexpected text"},
		{in: `{}}`, err: "unexpected text"},
		{in: `a`, err: "expected one of"},
		{in: `a=="1"`, err: "expected ','"},
		{in: `a<"1"`, err: "expected one of"},
		{in: `="1"`, err: "expected a label name"},
		{in: `""="1"`, err: "name is required"},
		{in: `a="1`, err: "unterminated"},
		{in: `a="\q"`, err: "invalid quoted"},
		{in: `a=~"("`, err: "not a valid regular expression"},
		{in: `a=1,,b=2`, err: "expected a label name"},
		{in: `,`, err: "expected a label name"},
		{in: `a='1'`, err: "expected ','"},
		{in: `a=x{2}`, err: "expected ','"},
		{in: `a="\xff"`, err: "valid UTF-8"},
	}
	for _, c := range cases {
		got, err := ParseMatchers(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseMatchers(%q) = %v, %v; want error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMatchers(%q): %v", c.in, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("ParseMatchers(%q) = %v; want %v", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i].Name != c.want[i].Name || got[i].Type != c.want[i].Type || got[i].Value != c.want[i].Value {
				t.Errorf("ParseMatchers(%q)[%d] = %+v; want %+v", c.in, i, got[i], c.want[i])
			}
		}
		if s := got.String(); s != c.str {
			t.Errorf("ParseMatchers(%q).String() = %s; want %s", c.in, s, c.str)
		}
		again, err := ParseMatchers(got.String())
		if err != nil || again.String() != got.String() {
			t.Errorf("round trip of %q: %v, %v", c.in, again, err)
		}
	}
}

func TestParseMatcherAndList(t *testing.T) {
	m, err := ParseMatcher(`severity=~"critical|page"`)
	if err != nil || m.Name != "severity" || m.Type != MatchRegexp || m.Value != "critical|page" {
		t.Fatalf("ParseMatcher = %+v, %v", m, err)
	}
	if _, err := ParseMatcher(`a=1, b=2`); err == nil {
		t.Error("ParseMatcher accepted two matchers")
	}
	if _, err := ParseMatcher(``); err == nil {
		t.Error("ParseMatcher accepted nothing")
	}
	ms, err := ParseMatcherList([]string{`alertname="NodeDown"`, `env!~"dev|test"`, `{team=db}`})
	if err != nil || ms.String() != `{alertname="NodeDown", env!~"dev|test", team="db"}` {
		t.Fatalf("ParseMatcherList = %s, %v", ms, err)
	}
	if _, err := ParseMatcherList([]string{`a=1`, `b`}); err == nil || !strings.Contains(err.Error(), "matcher 1") {
		t.Errorf("ParseMatcherList with a bad entry: %v", err)
	}
}

func TestMatcherSemantics(t *testing.T) {
	cases := []struct {
		matchers string
		labels   map[string]string
		want     bool
	}{
		{`a="1"`, map[string]string{"a": "1"}, true},
		{`a="1"`, map[string]string{"a": "2"}, false},
		{`a="1"`, nil, false},
		{`a!="1"`, nil, true},
		{`a!="1"`, map[string]string{"a": "1"}, false},
		// A missing label is the empty string.
		{`a=""`, nil, true},
		{`a=""`, map[string]string{"a": "x"}, false},
		{`a!=""`, nil, false},
		{`a!=""`, map[string]string{"a": "x"}, true},
		{`a=~".*"`, nil, true},
		{`a=~".+"`, nil, false},
		{`a!~".+"`, nil, true},
		// Regexes are anchored at both ends.
		{`a=~"b"`, map[string]string{"a": "abc"}, false},
		{`a=~"b.*"`, map[string]string{"a": "abc"}, false},
		{`a=~".*b.*"`, map[string]string{"a": "abc"}, true},
		{`a=~"critical|page"`, map[string]string{"a": "critical"}, true},
		{`a=~"critical|page"`, map[string]string{"a": "page"}, true},
		{`a=~"critical|page"`, map[string]string{"a": "critical-page"}, false},
		{`a=~"critical|page"`, map[string]string{"a": "xpage"}, false},
		{`a=~"a|b|c|d|e|f|g|h|i|j"`, map[string]string{"a": "j"}, true},
		{`a=~"a|b|c|d|e|f|g|h|i|j"`, map[string]string{"a": "k"}, false},
		{`a=~"web-.*"`, map[string]string{"a": "web-1"}, true},
		{`a=~"web-.*"`, map[string]string{"a": "web-"}, true},
		{`a=~"web-.*"`, map[string]string{"a": "xweb-1"}, false},
		{`a=~"web-.*"`, map[string]string{"a": "web-1\n2"}, false},
		{`a=~".*"`, map[string]string{"a": "x\ny"}, false},
		{`a=~"(?s).*"`, map[string]string{"a": "x\ny"}, true},
		{`a=~"(?i)Web"`, map[string]string{"a": "WEB"}, true},
		{`a!~"dev|test"`, map[string]string{"a": "prod"}, true},
		{`a!~"dev|test"`, map[string]string{"a": "dev"}, false},
		{`a=~"[0-9]+"`, map[string]string{"a": "123"}, true},
		{`a=~"[0-9]+"`, map[string]string{"a": "12a"}, false},
		// All matchers must match; the empty set matches everything.
		{`a="1", b="2"`, map[string]string{"a": "1", "b": "2"}, true},
		{`a="1", b="2"`, map[string]string{"a": "1", "b": "3"}, false},
		{`{}`, map[string]string{"a": "1"}, true},
		{`{}`, nil, true},
	}
	for _, c := range cases {
		ms := MustParseMatchers(c.matchers)
		if got := ms.Matches(c.labels); got != c.want {
			t.Errorf("%s.Matches(%v) = %v; want %v", c.matchers, c.labels, got, c.want)
		}
		// A matcher built as a literal (no compiled regexp) agrees.
		lit := make(Matchers, len(ms))
		for i, m := range ms {
			lit[i] = Matcher{Name: m.Name, Type: m.Type, Value: m.Value}
		}
		if got := lit.Matches(c.labels); got != c.want {
			t.Errorf("literal %s.Matches(%v) = %v; want %v", c.matchers, c.labels, got, c.want)
		}
	}
}

// The fast paths for common regex shapes agree with the regexp engine.
func TestRegexFastPaths(t *testing.T) {
	exprs := []string{".*", ".+", "web-.*", "critical|page", "a|b|c|d|e|f|g|h|i|j", "", "|x", "a.b", "prod", "é|ü"}
	values := []string{"", "web-", "web-1", "web-1\n", "critical", "page", "crit", "j", "x", "a.b", "axb", "prod", "\n", "é", "ü", "e"}
	for _, e := range exprs {
		fast := compileValueRegexp(e)
		slow := regexp.MustCompile("^(?:" + e + ")$")
		for _, v := range values {
			if got, want := fast.match(v), slow.MatchString(v); got != want {
				t.Errorf("%q on %q: fast %v, regexp %v (kind %d)", e, v, got, want, fast.kind)
			}
		}
	}
	if k := compileValueRegexp("critical|page").kind; k != reSet {
		t.Errorf("critical|page: kind %d; want the set fast path", k)
	}
	if k := compileValueRegexp("web-.*").kind; k != rePrefix {
		t.Errorf("web-.*: kind %d; want the prefix fast path", k)
	}
	if k := compileValueRegexp("a.b").kind; k != reGeneral {
		t.Errorf("a.b: kind %d; want the regexp", k)
	}
}

func TestMatcherValidate(t *testing.T) {
	cases := []struct {
		m     Matcher
		field string
	}{
		{Matcher{Name: "a", Type: MatchEqual, Value: "x"}, ""},
		{Matcher{Name: "", Type: MatchEqual, Value: "x"}, "name"},
		{Matcher{Name: strings.Repeat("n", 129), Type: MatchEqual}, "name"},
		{Matcher{Name: "a", Type: "==", Value: "x"}, "type"},
		{Matcher{Name: "a", Type: MatchRegexp, Value: "("}, "value"},
		{Matcher{Name: "a", Type: MatchEqual, Value: strings.Repeat("v", MaxMatcherValue+1)}, "value"},
		{Matcher{Name: "a", Type: MatchEqual, Value: "\xff"}, "value"},
	}
	for _, c := range cases {
		err := c.m.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.m, err)
			}
			continue
		}
		checkField(t, err, c.field)
	}
	if _, err := NewMatcher(MatchRegexp, "a", "(("); err == nil {
		t.Error("NewMatcher accepted a bad regexp")
	}
	m, err := NewMatcher(MatchRegexp, "a", "x|y")
	if err != nil || !m.Matches("y") || m.re == nil {
		t.Errorf("NewMatcher = %+v, %v", m, err)
	}
	// A literal with an invalid regexp matches nothing, either way.
	bad := Matcher{Name: "a", Type: MatchNotRegexp, Value: "("}
	if bad.Matches("x") {
		t.Error("an invalid !~ matcher matched")
	}
	ms := Matchers{{Name: "a", Type: MatchEqual}, {Name: "", Type: MatchEqual}, {Name: "c", Type: MatchRegexp, Value: "["}}
	checkField(t, ms.Validate(), "matchers[1].name")
	checkField(t, ms.Validate(), "matchers[2].value")
}

func TestMatchersJSON(t *testing.T) {
	ms := MustParseMatchers(`{env="prod", severity=~"critical|error"}`)
	b, err := json.Marshal(ms)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"env","type":"=","value":"prod"},{"name":"severity","type":"=~","value":"critical|error"}]`
	if string(b) != want {
		t.Fatalf("Marshal = %s; want %s", b, want)
	}
	if b, _ := json.Marshal(Matchers(nil)); string(b) != "[]" {
		t.Errorf("nil Matchers marshal to %s; want []", b)
	}
	for _, in := range []string{
		want,
		`["env=\"prod\"", "severity=~critical|error"]`,
		`"{env=\"prod\", severity=~\"critical|error\"}"`,
		` "env=prod,severity=~\"critical|error\"" `,
	} {
		var got Matchers
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
			continue
		}
		if got.String() != ms.String() {
			t.Errorf("Unmarshal(%s) = %s; want %s", in, got, ms)
		}
		if got[1].re == nil {
			t.Errorf("Unmarshal(%s) did not compile the regexp", in)
		}
		if !got.Matches(map[string]string{"env": "prod", "severity": "error"}) {
			t.Errorf("Unmarshal(%s) does not match", in)
		}
	}
	var bad Matchers
	if err := json.Unmarshal([]byte(`"{env="`), &bad); err == nil {
		t.Error("Unmarshal of a broken string worked")
	}
	// An object with a bad regexp decodes; Validate names it.
	if err := json.Unmarshal([]byte(`[{"name":"a","type":"=~","value":"("}]`), &bad); err != nil {
		t.Fatal(err)
	}
	checkField(t, bad.Validate(), "matchers[0].value")
}

// checkField fails unless err is a validation error naming field.
func checkField(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid {
		t.Errorf("error %v; want a validation error on %s", err, field)
		return
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Errorf("error %v does not name %s", err, field)
}

func FuzzParseMatchers(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{alertname="HighLatency", severity=~"critical|page"}`, `a!=b,c!~d.*`,
		`"x y"="\u00e9\n"`, `{a=,}`, `a=~"(?i)x|y"`, `{a="\"}"}`, `a=1}`, `{`, `a=~(`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMatchers(s)
		if err != nil {
			return
		}
		str := ms.String()
		again, err := ParseMatchers(str)
		if err != nil {
			t.Fatalf("%q parsed to %s, which does not parse: %v", s, str, err)
		}
		if len(again) != len(ms) {
			t.Fatalf("%q: %d matchers, round trip %d", s, len(ms), len(again))
		}
		for i := range ms {
			if ms[i].Name != again[i].Name || ms[i].Type != again[i].Type || ms[i].Value != again[i].Value {
				t.Fatalf("%q: matcher %d %+v, round trip %+v", s, i, ms[i], again[i])
			}
		}
		if again.String() != str {
			t.Fatalf("%q: String %s, then %s", s, str, again.String())
		}
		if err := ms.Validate(); err != nil {
			t.Fatalf("%q parsed but does not validate: %v", s, err)
		}
		ms.Matches(map[string]string{"a": "x"})
	})
}

func BenchmarkMatchers(b *testing.B) {
	ms := MustParseMatchers(`{alertname="HighLatency", env!="dev", severity=~"critical|page"}`)
	labels := map[string]string{
		"alertname": "HighLatency", "env": "prod", "severity": "page",
		"instance": "web-1:9100", "job": "node", "team": "web",
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ms.Matches(labels) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkMatchersRegexp(b *testing.B) {
	ms := MustParseMatchers(`{alertname="HighLatency", env!="dev", instance=~"web-[0-9]+:9100"}`)
	labels := map[string]string{
		"alertname": "HighLatency", "env": "prod", "severity": "page",
		"instance": "web-1:9100", "job": "node", "team": "web",
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ms.Matches(labels) {
			b.Fatal("no match")
		}
	}
}
