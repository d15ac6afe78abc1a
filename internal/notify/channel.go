package notify

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Channel kinds (a contact method's kind).
const (
	KindEmail   = "email"
	KindWebhook = "webhook"
	KindSlack   = "slack"
	KindTeams   = "teams"
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

// Channels sends deliveries.
type Channels struct {
	SMTP SMTPConfig
	HTTP *http.Client
}

// Send delivers d once. An error wrapped by Permanent will not succeed on a
// retry (a refused address, a 4xx answer); others may.
func (c *Channels) Send(ctx context.Context, d Delivery) error {
	return Permanent(errors.New("channels: not built yet"))
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one a retry cannot fix.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool { var p permanent; return errors.As(err, &p) }
