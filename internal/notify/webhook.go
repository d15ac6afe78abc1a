package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhook headers.
const (
	HeaderTimestamp   = "X-Steady-Timestamp"
	HeaderSignature   = "X-Steady-Signature"
	HeaderIdempotency = "Idempotency-Key"
)

// Webhook events (WebhookBody.Event).
const (
	EventPage    = "incident.page"
	EventSummary = "notification.summary"
	EventTest    = "notification.test"
)

// WebhookBody is the JSON a webhook contact method receives. Its fields
// are always present: incident is null and held is empty when they do not
// apply; level is 0 outside a page; links are "" when there is none.
type WebhookBody struct {
	Event          string         `json:"event"`
	IdempotencyKey string         `json:"idempotency_key"`
	SentAt         time.Time      `json:"sent_at"`
	Recipient      string         `json:"recipient"`
	Incident       *IncidentInfo  `json:"incident"`
	Level          int            `json:"level"`
	Reason         string         `json:"reason"`
	Links          WebhookLinks   `json:"links"`
	Message        WebhookMessage `json:"message"`
	Held           []IncidentInfo `json:"held"`
}

// WebhookLinks are the one-click links (signed, expiring) and the incident's page.
type WebhookLinks struct {
	Acknowledge string `json:"acknowledge"`
	Resolve     string `json:"resolve"`
	Incident    string `json:"incident"`
}

// WebhookMessage is the rendered message, for receivers that only relay it.
type WebhookMessage struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// eventOf names the webhook event of a message kind.
func eventOf(kind string) string {
	switch kind {
	case MessageSummary:
		return EventSummary
	case MessageTest:
		return EventTest
	}
	return EventPage
}

// NewWebhookBody builds the webhook body of d, sent at at.
func NewWebhookBody(d Delivery, at time.Time) WebhookBody {
	b := WebhookBody{
		Event: eventOf(d.Data.Kind), IdempotencyKey: d.IdempotencyKey, SentAt: at.UTC().Truncate(time.Second),
		Recipient: d.Data.Recipient, Level: d.Data.Level, Reason: d.Data.Reason,
		Links:   WebhookLinks{Acknowledge: d.Data.AcknowledgeURL, Resolve: d.Data.ResolveURL, Incident: d.Data.Incident.URL},
		Message: WebhookMessage{Subject: d.Message.Subject, Text: d.Message.Text},
		Held:    d.Data.Held,
	}
	if d.Data.Incident.ID != 0 {
		inc := d.Data.Incident
		b.Incident = &inc
	}
	if b.Held == nil {
		b.Held = []IncidentInfo{}
	}
	return b
}

// WebhookSignature returns the X-Steady-Signature value of a webhook body sent with the
// X-Steady-Timestamp ts (Unix seconds): "v1=" and the hex HMAC-SHA256 of
// ts + "." + body under the method's secret.
func WebhookSignature(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a received webhook: the signature header against
// the body and timestamp, and the timestamp against now within tolerance
// (replays of old deliveries fail). Receivers written in Go can use it.
func VerifyWebhook(secret, ts, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("the timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("the timestamp is too far from now")
	}
	if !hmac.Equal([]byte(signature), []byte(WebhookSignature(secret, ts, body))) {
		return errors.New("the signature does not match")
	}
	return nil
}

// reservedHeaders are set by Steady (or by HTTP itself) on every request; a
// method's own headers cannot replace them. Every X-Steady-* header is
// reserved too.
var reservedHeaders = []string{"Content-Type", "Content-Length", "Host", HeaderIdempotency,
	"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade"}

// ReservedHeader reports whether a contact method's custom header would
// replace one Steady sets itself.
func ReservedHeader(name string) bool {
	if len(name) >= len("X-Steady-") && strings.EqualFold(name[:len("X-Steady-")], "X-Steady-") {
		return true
	}
	for _, r := range reservedHeaders {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

// customHeaders are a method's own headers that may be sent: valid, and not
// reserved.
func customHeaders(d Delivery) http.Header {
	h := http.Header{}
	for k, v := range d.Headers {
		if CheckHeader(k, v) == nil {
			h.Set(k, v)
		}
	}
	return h
}

// CheckHeader says what is wrong with a custom webhook header, or nil: its
// name must be an HTTP token and not reserved, its value one line.
func CheckHeader(name, value string) error {
	if name == "" {
		return errors.New("a header needs a name")
	}
	for _, r := range name {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return fmt.Errorf("header name %q is not a valid HTTP header name", name)
		}
	}
	if ReservedHeader(name) {
		return fmt.Errorf("header %s is set by Steady and cannot be replaced", http.CanonicalHeaderKey(name))
	}
	if strings.ContainsAny(value, "\r\n\x00") || !utf8.ValidString(value) {
		return fmt.Errorf("the value of header %s must be one line of text", http.CanonicalHeaderKey(name))
	}
	return nil
}

func (c *Channels) userAgent() string {
	if c.Version == "" {
		return "Steady/steady"
	}
	return "Steady/" + c.Version
}

func (c *Channels) sendWebhook(ctx context.Context, d Delivery) error {
	at := c.now()
	body, err := json.Marshal(NewWebhookBody(d, at))
	if err != nil {
		return Permanent(err)
	}
	h := customHeaders(d)
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set(HeaderTimestamp, ts)
	if d.Secret != "" {
		h.Set(HeaderSignature, WebhookSignature(d.Secret, ts, body))
	}
	return c.post(ctx, "webhook", d, body, h)
}

// maxErrorBody is how much of a refusal's body goes into the error.
const maxErrorBody = 512

// post sends body to d.Address and classifies the answer: 2xx is delivered;
// 408, 425, 429 and 5xx, timeouts and connection errors may pass later (with
// the receiver's Retry-After); other answers will not.
func (c *Channels) post(ctx context.Context, what string, d Delivery, body []byte, h http.Header) error {
	u, err := url.Parse(d.Address)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Permanent(fmt.Errorf("%s address %q is not an http(s) URL", what, d.Address))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("%s: %w", what, err))
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.userAgent())
	if _, ok := h["User-Agent"]; ok {
		req.Header.Set("User-Agent", h.Get("User-Agent"))
	}
	if d.IdempotencyKey != "" {
		req.Header.Set(HeaderIdempotency, d.IdempotencyKey)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		// *url.Error's text holds the whole URL, whose path is often the
		// secret: keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s to %s: %w", what, u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	text := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?"))
	err = fmt.Errorf("%s to %s answered %s", what, u.Host, resp.Status)
	if text != "" {
		err = fmt.Errorf("%w: %s", err, oneLine(text, 200))
	}
	switch s := resp.StatusCode; {
	case s == http.StatusRequestTimeout, s == http.StatusTooEarly, s == http.StatusTooManyRequests, s >= 500:
		if after, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
			return retryAfter{err: err, after: after}
		}
		return err
	case s >= 300 && s < 400:
		return Permanent(fmt.Errorf("%w (redirects are followed only to the same host, with 307 or 308)", err))
	}
	return Permanent(err)
}

// parseRetryAfter reads a Retry-After value: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, 7*24*3600)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// client is the HTTP client with Steady's redirect rule: follow at most 5
// redirects, only on the same host and scheme, and only those that keep the
// method and body (307, 308); anything else is answered as it is.
func (c *Channels) client() *http.Client {
	cl := http.Client{Timeout: 15 * time.Second}
	if c.HTTP != nil {
		cl = *c.HTTP
	}
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		keep := req.Response != nil && (req.Response.StatusCode == http.StatusTemporaryRedirect ||
			req.Response.StatusCode == http.StatusPermanentRedirect)
		if !keep || len(via) >= 5 || !strings.EqualFold(req.URL.Host, first.Host) || req.URL.Scheme != first.Scheme {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &cl
}
