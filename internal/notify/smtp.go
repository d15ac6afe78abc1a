package notify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Email limits: a subject is one line of at most maxSubject characters.
const (
	maxSubject  = 250
	smtpTimeout = 20 * time.Second
)

// IdempotencyHeader carries a message's idempotency key in email, so that a
// resend of the same message can be recognised (its Message-ID is derived
// from the key too).
const IdempotencyHeader = "X-Steady-Idempotency-Key"

// Validate checks the SMTP settings that can be checked without a server.
// An empty Host means email is not set up, which is valid.
func (c SMTPConfig) Validate() error {
	if strings.TrimSpace(c.Host) == "" {
		return nil
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("smtp.port %d is not a port", c.Port)
	}
	switch c.TLS {
	case "", TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return fmt.Errorf("smtp.tls must be none, starttls or tls, not %q", c.TLS)
	}
	if _, err := netmail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("smtp.from %q is not an email address (such as Steady <steady@example.com>)", c.From)
	}
	return nil
}

// Mode is the TLS mode in effect: the configured one, or by default "tls" on
// port 465 and "starttls" elsewhere.
func (c SMTPConfig) Mode() string {
	if c.TLS != "" {
		return c.TLS
	}
	if c.Port == 465 {
		return TLSImplicit
	}
	return TLSStartTLS
}

// PortOrDefault is the configured port, or 25, 587 or 465 after the mode.
func (c SMTPConfig) PortOrDefault() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.Mode() {
	case TLSNone:
		return 25
	case TLSImplicit:
		return 465
	}
	return 587
}

func (c *Channels) sendEmail(ctx context.Context, d Delivery) error {
	cfg := c.SMTP
	if strings.TrimSpace(cfg.Host) == "" {
		return Permanent(errors.New("email is not set up: the server has no smtp.host"))
	}
	if err := cfg.Validate(); err != nil {
		return Permanent(err)
	}
	from, _ := netmail.ParseAddress(cfg.From)
	to, err := netmail.ParseAddress(d.Address)
	if err != nil {
		return Permanent(fmt.Errorf("%q is not an email address", d.Address))
	}

	m := gomail.NewMsg()
	m.FromMailAddress(from)
	m.ToMailAddress(to)
	m.Subject(oneLine(d.Message.Subject, maxSubject))
	m.SetDateWithValue(c.now())
	if d.IdempotencyKey != "" {
		m.SetMessageIDWithValue(messageID(d.IdempotencyKey, from.Address))
		m.SetGenHeader(gomail.Header(IdempotencyHeader), d.IdempotencyKey)
	} else {
		m.SetMessageID()
	}
	m.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	m.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	m.SetBodyString(gomail.TypeTextPlain, d.Message.Text)
	if d.Message.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, d.Message.HTML)
	}

	host, port, mode := strings.TrimSpace(cfg.Host), cfg.PortOrDefault(), cfg.Mode()
	opts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(smtpTimeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12,
			InsecureSkipVerify: cfg.InsecureSkipVerify, RootCAs: c.SMTPRootCAs}),
	}
	switch mode {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.Username != "" {
		mechs := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
		if mode == TLSNone {
			// The administrator chose a connection without TLS: the
			// password goes in the clear, as configured.
			mechs = []gomail.SMTPAuthType{gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
		}
		opts = append(opts, gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password),
			gomail.WithOpportunisticSMTPAuth(mechs...))
	}
	client, err := gomail.NewClient(host, opts...)
	if err != nil {
		return Permanent(fmt.Errorf("smtp settings: %w", err))
	}
	err = client.DialAndSendWithContext(ctx, m)
	if err == nil || m.IsDelivered() {
		// Delivered; an error after the server took the message (closing
		// the connection) must not send it again.
		return nil
	}
	return classifySMTP(fmt.Errorf("email to %s via %s: %w", to.Address, net.JoinHostPort(host, strconv.Itoa(port)), err))
}

// classifySMTP marks as permanent what the server refused for good: a 5xx
// answer to a recipient or to the message itself. Connection, TLS and AUTH
// failures and 4xx answers may pass on a later attempt (or once the
// administrator fixes the settings).
func classifySMTP(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case gomail.ErrGetRcpts:
			return Permanent(err)
		case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			if code := se.ErrorCode(); code >= 500 && code < 600 {
				return Permanent(err)
			}
		}
	}
	return err
}

// dotAtom is what the left part of a Message-ID may hold as it is.
var dotAtom = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+)*$`)

// messageID derives a message's Message-ID from its idempotency key, so that
// a resend carries the same one: "steady.<key>@<domain of From>", or a hash
// of the key when the key cannot stand in a Message-ID as it is.
func messageID(key, from string) string {
	left := "steady." + key
	if len(key) > 120 || !dotAtom.MatchString(key) {
		sum := sha256.Sum256([]byte(key))
		left = "steady.h." + hex.EncodeToString(sum[:16])
	}
	domain := "steady.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	return left + "@" + domain
}
