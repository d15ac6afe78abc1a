package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/platform/clock"
)

// Channel kinds (a contact method's kind).
const (
	KindEmail   = "email"
	KindWebhook = "webhook"
	KindSlack   = "slack"
	KindTeams   = "teams"
)

// Message kinds (MessageData.Kind, and the template kinds).
const (
	MessagePage    = "page"
	MessageSummary = "summary"
	MessageTest    = "test"
)

// Message is a rendered notification.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

// IncidentInfo is what a message says about an incident.
type IncidentInfo struct {
	ID        int64     `json:"id"`
	Number    string    `json:"number"`
	Title     string    `json:"title"`
	Status    string    `json:"status"`
	Priority  string    `json:"priority"`
	Severity  string    `json:"severity"`
	Service   string    `json:"service"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

// MessageData is what templates and webhook bodies are made from.
type MessageData struct {
	// Kind is "page" (an escalation step), "summary" (pages held back by a
	// rate limit) or "test".
	Kind      string
	Recipient string // the user's name
	Incident  IncidentInfo
	Level     int    // escalation level (1-based), for a page
	Reason    string // why this user is paged ("level 1: on call in Primary")
	// One-click links (signed, expiring); empty for tests and summaries.
	AcknowledgeURL string
	ResolveURL     string
	// Held lists the pages a summary stands for.
	Held []IncidentInfo
	// BaseURL is the server's public URL.
	BaseURL string
}

// Delivery is one message to one contact method.
type Delivery struct {
	Kind           string // KindEmail …
	Address        string // email address or URL
	Secret         string // webhook HMAC key
	Headers        map[string]string
	IdempotencyKey string
	Message        Message
	Data           MessageData
}

// SMTPConfig is how email leaves Steady.
type SMTPConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
	// TLS is "none", "starttls" or "tls".
	TLS                string `yaml:"tls"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SMTP TLS modes.
const (
	TLSNone     = "none"     // plain SMTP, no encryption
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which the server must offer
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, usually port 465)
)

// Channels sends deliveries.
type Channels struct {
	SMTP SMTPConfig
	// HTTP sends webhooks and chat messages; nil means a client with a
	// 15-second timeout. Redirects are followed only to the same host, and
	// only when they keep the method and body (307, 308).
	HTTP *http.Client
	// Version is Steady's version, for the webhook User-Agent.
	Version string
	// SMTPRootCAs replaces the system's root certificates when checking the
	// SMTP server's certificate (a private CA); nil means the system's.
	SMTPRootCAs *x509.CertPool
	// Clock dates messages and signs webhook timestamps; nil means the real clock.
	Clock clock.Clock
}

// Send delivers d once. An error wrapped by Permanent will not succeed on a
// retry (a refused address, a 4xx answer); others may. An error that carries
// a server's Retry-After says so through RetryAfter.
func (c *Channels) Send(ctx context.Context, d Delivery) error {
	switch d.Kind {
	case KindEmail:
		return c.sendEmail(ctx, d)
	case KindWebhook:
		return c.sendWebhook(ctx, d)
	case KindSlack:
		return c.sendSlack(ctx, d)
	case KindTeams:
		return c.sendTeams(ctx, d)
	}
	return Permanent(fmt.Errorf("unknown channel %q", d.Kind))
}

func (c *Channels) now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock.Now()
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one a retry cannot fix.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool { var p permanent; return errors.As(err, &p) }

type retryAfter struct {
	err   error
	after time.Duration
}

func (r retryAfter) Error() string { return r.err.Error() }
func (r retryAfter) Unwrap() error { return r.err }

// RetryAfter reports how long the receiver asked to wait before the next
// attempt (its Retry-After header), when it said so.
func RetryAfter(err error) (time.Duration, bool) {
	var r retryAfter
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// oneLine makes s fit a header or a title: no line breaks, no control
// characters, at most max runes.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, max)
}

// truncate cuts s to at most max runes, ending in "…" when cut.
func truncate(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}
