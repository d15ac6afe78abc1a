package notify

import (
	"fmt"
	"net/mail"
	"net/textproto"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/platform/errs"
)

// Limits of a contact method and a rule.
const (
	MaxMethodLabel       = 100
	MaxMethodAddress     = 2048
	MaxMethodHeaders     = 20
	MaxMethodHeaderValue = 4096
	MinMethodRateLimit   = 1
	MaxMethodRateLimit   = 1000
	MinMethodRateWindow  = 60    // seconds
	MaxMethodRateWindow  = 86400 // seconds
	MaxRuleDelayMinutes  = 1440
)

// MethodKinds lists the contact method kinds.
var MethodKinds = []string{KindEmail, KindWebhook, KindSlack, KindTeams}

// reservedContactHeaders are set by Steady on every webhook request (or by HTTP
// itself); a method may not set them. Any X-Steady-* header is reserved too.
var reservedContactHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Host": true, "Idempotency-Key": true,
	"Connection": true, "Transfer-Encoding": true, "Te": true, "Trailer": true, "Upgrade": true, "Keep-Alive": true,
}

// ReservedMethodHeader reports whether a contact method may not set header
// name: those listed here, any X-Steady-*, and whatever the webhook channel
// sets itself (ReservedHeader).
func ReservedMethodHeader(name string) bool {
	c := textproto.CanonicalMIMEHeaderKey(name)
	return reservedContactHeaders[c] || strings.HasPrefix(c, "X-Steady-") || ReservedHeader(c)
}

// validateContactMethod checks a method and puts its header names in canonical
// form (content-type → Content-Type).
func validateContactMethod(m *Method) error {
	var f errs.Fields
	switch m.Kind {
	case KindEmail, KindWebhook, KindSlack, KindTeams:
	case "":
		f.Add("kind", "is required")
	default:
		f.Add("kind", "must be one of "+strings.Join(MethodKinds, ", "))
	}
	f.Text("label", m.Label)
	f.Check(utf8.RuneCountInString(m.Label) > MaxMethodLabel, "label", fmt.Sprintf("must be at most %d characters", MaxMethodLabel))
	f.Check(strings.ContainsFunc(m.Label, unicode.IsControl), "label", "must not contain control characters")
	checkContactAddress(&f, m.Kind, m.Address)
	m.Headers = checkContactHeaders(&f, m.Kind, m.Headers)
	f.Check(m.RateLimit < MinMethodRateLimit || m.RateLimit > MaxMethodRateLimit, "rate_limit",
		fmt.Sprintf("must be from %d to %d messages", MinMethodRateLimit, MaxMethodRateLimit))
	f.Check(m.RateWindowSeconds < MinMethodRateWindow || m.RateWindowSeconds > MaxMethodRateWindow, "rate_window_seconds",
		fmt.Sprintf("must be from %d to %d seconds", MinMethodRateWindow, MaxMethodRateWindow))
	return f.Err()
}

func checkContactAddress(f *errs.Fields, kind, address string) {
	if address == "" {
		f.Add("address", "is required")
		return
	}
	if !utf8.ValidString(address) || strings.ContainsFunc(address, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) {
		f.Add("address", "must not contain spaces or control characters")
		return
	}
	switch kind {
	case KindEmail:
		a, err := mail.ParseAddress(address)
		f.Check(err != nil || a.Address != address || len(address) > 254, "address", "must be one plain email address such as ada@example.com")
	case KindWebhook, KindSlack, KindTeams:
		if len(address) > MaxMethodAddress {
			f.Add("address", fmt.Sprintf("must be at most %d characters", MaxMethodAddress))
			return
		}
		u, err := url.Parse(address)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "":
			f.Add("address", "must be an absolute URL such as https://example.com/hook")
		case u.Scheme != "http" && u.Scheme != "https":
			f.Add("address", "must be an http or https URL")
		case u.User != nil:
			f.Add("address", "must not hold a user name or password; use a header for credentials")
		}
	}
}

// checkContactHeaders validates a method's extra HTTP headers and returns them with
// canonical names.
func checkContactHeaders(f *errs.Fields, kind string, in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	if len(in) == 0 {
		return out
	}
	if kind == KindEmail {
		f.Add("headers", "only webhook, Slack and Teams contact methods take headers")
		return out
	}
	if len(in) > MaxMethodHeaders {
		f.Add("headers", fmt.Sprintf("must be at most %d headers", MaxMethodHeaders))
		return out
	}
	names := make([]string, 0, len(in))
	for k := range in {
		names = append(names, k)
	}
	sort.Strings(names) // the same input gives the same errors
	for _, name := range names {
		value := in[name]
		field := "headers." + name
		if !validContactHeaderName(name) {
			f.Add(field, "is not a valid HTTP header name")
			continue
		}
		c := textproto.CanonicalMIMEHeaderKey(name)
		if ReservedMethodHeader(c) {
			f.Add(field, "is set by Steady and cannot be changed (Content-Type, Content-Length, Host, Idempotency-Key, X-Steady-* and hop-by-hop headers)")
			continue
		}
		if _, dup := out[c]; dup {
			f.Add(field, "is given twice (header names ignore case)")
			continue
		}
		if !validContactHeaderValue(value) {
			f.Add(field, "must be a valid header value: printable text without line breaks")
			continue
		}
		if len(value) > MaxMethodHeaderValue {
			f.Add(field, fmt.Sprintf("must be at most %d bytes", MaxMethodHeaderValue))
			continue
		}
		out[c] = strings.TrimSpace(value)
	}
	return out
}

// validContactHeaderName: an RFC 9110 token.
func validContactHeaderName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validContactHeaderValue: visible characters, spaces and tabs (RFC 9110
// field-value), valid UTF-8.
func validContactHeaderValue(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// copyContactHeaders copies h; validateContactMethod puts the names in canonical form.
func copyContactHeaders(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = v
	}
	return out
}

// RedactURL keeps a URL's scheme and host, "https://hooks.slack.com/…": contact
// URLs often carry a secret, and are shown this way to anyone but their owner.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "…"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/…"
	}
	return out
}
