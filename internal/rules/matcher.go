// Package rules is the pure decision logic of event processing: label
// matchers, event rules written in the expr language, silences, maintenance
// windows and inhibition, combined by Decide into one verdict per event. It
// touches neither the database nor HTTP; callers load the definitions, build
// the compiled forms once and swap them atomically when the definitions change.
package rules

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// MatchType is a matcher's operator.
type MatchType string

const (
	MatchEqual     MatchType = "="
	MatchNotEqual  MatchType = "!="
	MatchRegexp    MatchType = "=~"
	MatchNotRegexp MatchType = "!~"
)

func (t MatchType) valid() bool {
	return t == MatchEqual || t == MatchNotEqual || t == MatchRegexp || t == MatchNotRegexp
}

// Limits of matchers.
const (
	MaxMatchers     = 64   // per matcher set
	MaxMatcherValue = 4096 // bytes of a value or a regular expression
)

// Matcher tests one label, with Alertmanager's semantics: a missing label has
// the empty value, and regular expressions are anchored at both ends.
//
// Build matchers with NewMatcher, ParseMatchers or ParseMatcherList, or decode
// them from JSON: those compile a regular expression once. A Matcher written
// as a struct literal still works, but compiles its expression at every match.
type Matcher struct {
	Name  string    `json:"name"`
	Type  MatchType `json:"type"`
	Value string    `json:"value"`

	re *valueRegexp // compiled form of a regex matcher; nil until compiled
}

// NewMatcher returns a matcher, checking its name, operator and value.
func NewMatcher(t MatchType, name, value string) (Matcher, error) {
	m := Matcher{Name: name, Type: t, Value: value}
	m.compile()
	var f errs.Fields
	m.check(&f, "")
	return m, f.Err()
}

func (m *Matcher) compile() {
	if m.Type == MatchRegexp || m.Type == MatchNotRegexp {
		m.re = compileValueRegexp(m.Value)
	} else {
		m.re = nil
	}
}

// check adds the problems of m to f, with field names prefixed by prefix.
func (m Matcher) check(f *errs.Fields, prefix string) {
	switch {
	case m.Name == "":
		f.Add(prefix+"name", "is required")
	case len(m.Name) > event.MaxLabelName:
		f.Add(prefix+"name", fmt.Sprintf("must be at most %d bytes", event.MaxLabelName))
	case !utf8.ValidString(m.Name):
		f.Add(prefix+"name", "must be valid UTF-8")
	}
	if !m.Type.valid() {
		f.Add(prefix+"type", `must be one of =, !=, =~, !~`)
	}
	switch {
	case len(m.Value) > MaxMatcherValue:
		f.Add(prefix+"value", fmt.Sprintf("must be at most %d bytes", MaxMatcherValue))
	case !utf8.ValidString(m.Value):
		f.Add(prefix+"value", "must be valid UTF-8")
	case m.Type == MatchRegexp || m.Type == MatchNotRegexp:
		re := m.re
		if re == nil {
			re = compileValueRegexp(m.Value)
		}
		if re.err != nil {
			f.Add(prefix+"value", "is not a valid regular expression: "+re.err.Error())
		}
	}
}

// Validate checks one matcher and names the invalid field.
func (m Matcher) Validate() error {
	var f errs.Fields
	m.check(&f, "")
	return f.Err()
}

// Matches reports whether a label value (the empty string for a missing
// label) satisfies the matcher.
func (m *Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp, MatchNotRegexp:
		re := m.re
		if re == nil {
			re = compileValueRegexp(m.Value)
		}
		if re.err != nil {
			return false // an invalid expression matches nothing, either way
		}
		return re.match(v) == (m.Type == MatchRegexp)
	}
	return false
}

// MatchesEmpty reports whether the matcher matches a missing label.
func (m *Matcher) MatchesEmpty() bool { return m.Matches("") }

// String renders the matcher so that ParseMatchers reads it back.
func (m Matcher) String() string {
	return quoteName(m.Name) + string(m.Type) + strconv.Quote(m.Value)
}

// UnmarshalJSON decodes {"name":…,"type":…,"value":…} or a string such as
// `severity=~"critical|error"`, and compiles the expression.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	if s, ok := jsonString(b); ok {
		p, err := ParseMatcher(s)
		if err != nil {
			return err
		}
		*m = p
		return nil
	}
	type plain Matcher
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*m = Matcher(p)
	m.compile()
	return nil
}

// Matchers is a set of matchers that must all match.
type Matchers []Matcher

// Matches reports whether labels satisfy every matcher. An empty set
// matches everything.
func (ms Matchers) Matches(labels map[string]string) bool {
	for i := range ms {
		if !ms[i].Matches(labels[ms[i].Name]) {
			return false
		}
	}
	return true
}

// MatchesEverything reports whether the set matches a label set with no
// labels at all, and so would match (nearly) every alert.
func (ms Matchers) MatchesEverything() bool {
	for i := range ms {
		if !ms[i].MatchesEmpty() {
			return false
		}
	}
	return true
}

// String renders the set as {a="1", b=~"2"}; ParseMatchers reads it back.
func (ms Matchers) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.String())
	}
	b.WriteByte('}')
	return b.String()
}

// Validate checks every matcher, naming fields matchers[i].name and so on.
func (ms Matchers) Validate() error {
	var f errs.Fields
	ms.check(&f, "matchers")
	return f.Err()
}

// check adds the problems of ms to f under field.
func (ms Matchers) check(f *errs.Fields, field string) {
	if len(ms) > MaxMatchers {
		f.Add(field, fmt.Sprintf("must have at most %d matchers", MaxMatchers))
		return
	}
	for i, m := range ms {
		m.check(f, fmt.Sprintf("%s[%d].", field, i))
	}
}

// MarshalJSON writes a list of {"name","type","value"} objects (never null).
func (ms Matchers) MarshalJSON() ([]byte, error) {
	if ms == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]Matcher(ms))
}

// UnmarshalJSON reads a list of matcher objects, a list of strings each
// holding one matcher, or a single string such as {env="prod", team=~"db|web"}.
func (ms *Matchers) UnmarshalJSON(b []byte) error {
	if s, ok := jsonString(b); ok {
		p, err := ParseMatchers(s)
		if err != nil {
			return err
		}
		*ms = p
		return nil
	}
	var list []Matcher
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*ms = list
	return nil
}

func jsonString(b []byte) (string, bool) {
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) == 0 || b[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return "", false
	}
	return s, true
}

// valueRegexp is a compiled, anchored regular expression, with fast paths
// for the shapes that label matchers use most: a list of literal
// alternatives ("critical|page"), a literal prefix ("web-.*"), ".*" and ".+".
type valueRegexp struct {
	re     *regexp.Regexp
	err    error
	kind   uint8
	prefix string
	set    []string
	setMap map[string]struct{}
}

const (
	reGeneral  uint8 = iota
	reSet            // one of set (or setMap)
	rePrefix         // prefix then anything but a newline
	reAny            // anything without a newline (".*")
	reNonEmpty       // at least one character, no newline (".+")
)

func compileValueRegexp(v string) *valueRegexp {
	re, err := regexp.Compile("^(?:" + v + ")$")
	if err != nil {
		return &valueRegexp{err: err}
	}
	r := &valueRegexp{re: re}
	switch {
	case v == ".*":
		r.kind = reAny
	case v == ".+":
		r.kind = reNonEmpty
	case strings.HasSuffix(v, ".*") && isLiteral(v[:len(v)-2]):
		r.kind, r.prefix = rePrefix, v[:len(v)-2]
	default:
		parts := strings.Split(v, "|")
		for _, p := range parts {
			if !isLiteral(p) {
				return r
			}
		}
		r.kind = reSet
		if len(parts) > 8 {
			r.setMap = make(map[string]struct{}, len(parts))
			for _, p := range parts {
				r.setMap[p] = struct{}{}
			}
		} else {
			r.set = parts
		}
	}
	return r
}

// isLiteral reports whether s, read as a regular expression, matches only
// itself: no metacharacters, and valid UTF-8 so that byte comparison agrees
// with the regexp engine.
func isLiteral(s string) bool { return regexp.QuoteMeta(s) == s && utf8.ValidString(s) }

func (r *valueRegexp) match(s string) bool {
	switch r.kind {
	case reSet:
		if r.setMap != nil {
			_, ok := r.setMap[s]
			return ok
		}
		for _, p := range r.set {
			if s == p {
				return true
			}
		}
		return false
	case rePrefix:
		return strings.HasPrefix(s, r.prefix) && strings.IndexByte(s[len(r.prefix):], '\n') < 0
	case reAny:
		return strings.IndexByte(s, '\n') < 0
	case reNonEmpty:
		return s != "" && strings.IndexByte(s, '\n') < 0
	}
	return r.re.MatchString(s)
}

// --- parsing ---

// ParseMatchers reads a matcher set such as
//
//	{alertname="HighLatency", severity=~"critical|page", env!=dev}
//
// The braces are optional, values may be double-quoted (with Go escapes) or
// unquoted, whitespace around tokens is ignored and a trailing comma is
// allowed. An empty string or {} is the empty set.
func ParseMatchers(s string) (Matchers, error) {
	p := parser{s: s}
	p.space()
	braces := p.peek() == '{'
	if braces {
		p.pos++
	}
	var ms Matchers
	for {
		p.space()
		if braces && p.peek() == '}' {
			p.pos++
			break
		}
		if p.eof() {
			if braces {
				return nil, p.errorf("missing closing '}'")
			}
			break
		}
		m, err := p.matcher()
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
		if len(ms) > MaxMatchers {
			return nil, fmt.Errorf("more than %d matchers", MaxMatchers)
		}
		p.space()
		switch {
		case p.peek() == ',':
			p.pos++
		case braces && p.peek() == '}':
			p.pos++
			p.space()
			if !p.eof() {
				return nil, p.errorf("unexpected text after '}'")
			}
			return ms, nil
		case p.eof():
			if braces {
				return nil, p.errorf("missing closing '}'")
			}
			return ms, nil
		default:
			return nil, p.errorf("expected ',' or '}'")
		}
	}
	p.space()
	if !p.eof() {
		return nil, p.errorf("unexpected text after '}'")
	}
	return ms, nil
}

// ParseMatcher reads exactly one matcher, such as env="prod" (braces allowed).
func ParseMatcher(s string) (Matcher, error) {
	ms, err := ParseMatchers(s)
	if err != nil {
		return Matcher{}, err
	}
	if len(ms) != 1 {
		return Matcher{}, fmt.Errorf("%q: want exactly one matcher, got %d", s, len(ms))
	}
	return ms[0], nil
}

// ParseMatcherList reads a list of single matchers, as Alertmanager's
// source_matchers and target_matchers are written.
func ParseMatcherList(list []string) (Matchers, error) {
	ms := make(Matchers, 0, len(list))
	for i, s := range list {
		m, err := ParseMatcher(s)
		if err != nil {
			return nil, fmt.Errorf("matcher %d: %w", i, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// MustParseMatchers is ParseMatchers for constants; it panics on an error.
func MustParseMatchers(s string) Matchers {
	ms, err := ParseMatchers(s)
	if err != nil {
		panic(err)
	}
	return ms
}

type parser struct {
	s   string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *parser) space() {
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.s[p.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += n
	}
}

func (p *parser) errorf(format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	if p.eof() {
		return fmt.Errorf("%s at end of input", msg)
	}
	rest := p.s[p.pos:]
	if len(rest) > 20 {
		rest = rest[:20] + "…"
	}
	return fmt.Errorf("%s at position %d (%q)", msg, p.pos, rest)
}

func (p *parser) matcher() (Matcher, error) {
	name, err := p.token("label name", false)
	if err != nil {
		return Matcher{}, err
	}
	p.space()
	var t MatchType
	switch {
	case strings.HasPrefix(p.s[p.pos:], "=~"):
		t = MatchRegexp
	case strings.HasPrefix(p.s[p.pos:], "!="):
		t = MatchNotEqual
	case strings.HasPrefix(p.s[p.pos:], "!~"):
		t = MatchNotRegexp
	case strings.HasPrefix(p.s[p.pos:], "="):
		t = MatchEqual
	default:
		return Matcher{}, p.errorf("expected one of =, !=, =~, !~ after %q", name)
	}
	p.pos += len(t)
	p.space()
	value, err := p.token("value", true)
	if err != nil {
		return Matcher{}, err
	}
	m := Matcher{Name: name, Type: t, Value: value}
	m.compile()
	var f errs.Fields
	m.check(&f, "")
	if len(f) > 0 {
		return Matcher{}, fmt.Errorf("%s: %s %s", m.String(), f[0].Field, f[0].Detail)
	}
	return m, nil
}

// token reads a quoted string or an unquoted run of allowed characters. An
// empty unquoted token is allowed only where emptyOK (a value: env=).
func (p *parser) token(what string, emptyOK bool) (string, error) {
	if p.peek() == '"' {
		start := p.pos
		i := p.pos + 1
		for i < len(p.s) && p.s[i] != '"' {
			if p.s[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(p.s) {
			return "", p.errorf("unterminated quoted %s", what)
		}
		s, err := strconv.Unquote(p.s[start : i+1])
		if err != nil {
			return "", p.errorf("invalid quoted %s", what)
		}
		p.pos = i + 1
		return s, nil
	}
	start := p.pos
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.s[p.pos:])
		if !unquotedRune(r) {
			break
		}
		p.pos += n
	}
	if p.pos == start && !emptyOK {
		return "", p.errorf("expected a %s", what)
	}
	return p.s[start:p.pos], nil
}

// unquotedRune reports whether r may appear in an unquoted name or value.
func unquotedRune(r rune) bool {
	if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
		return false
	}
	return !strings.ContainsRune("{}!=~,\\\"'`", r)
}

func quoteName(name string) string {
	if name == "" {
		return `""`
	}
	for _, r := range name {
		if !unquotedRune(r) {
			return strconv.Quote(name)
		}
	}
	return name
}
