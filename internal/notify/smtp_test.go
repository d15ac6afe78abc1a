package notify_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/testkit/smtpd"
)

func emailChannels(srv *smtpd.Server, mode, user, pass string) *notify.Channels {
	return &notify.Channels{SMTP: notify.SMTPConfig{Host: srv.Host, Port: srv.Port, Username: user, Password: pass,
		From: "Steady On-Call <steady@example.com>", TLS: mode}, SMTPRootCAs: srv.CertPool}
}

// pageDelivery is a page rendered with the built-in templates, with text
// that must be escaped in HTML and encoded in the subject.
func pageDelivery(t *testing.T, key string) notify.Delivery {
	t.Helper()
	data := notify.SampleData(notify.MessagePage)
	data.Incident.Title = `Disk <full> on "db-1" & ünïcödé`
	data.Recipient = "Grace <Hopper>"
	m, err := notify.RenderBuiltin(data)
	if err != nil {
		t.Fatal(err)
	}
	return notify.Delivery{Kind: notify.KindEmail, Address: "grace@example.com", IdempotencyKey: key, Message: m, Data: data}
}

func TestEmailTLSModesWithAuth(t *testing.T) {
	for _, c := range []struct {
		mode  string
		mechs []string
	}{
		{"none", nil}, {"starttls", nil}, {"tls", nil},
		{"starttls", []string{"LOGIN"}}, {"none", []string{"LOGIN"}}, {"tls", []string{"PLAIN"}},
	} {
		name := c.mode
		if c.mechs != nil {
			name += "-" + strings.Join(c.mechs, "+")
		}
		t.Run(name, func(t *testing.T) {
			srv := smtpd.Start(t, smtpd.Options{TLS: c.mode, Username: "steady", Password: "s3cret", Mechanisms: c.mechs})
			ch := emailChannels(srv, c.mode, "steady", "s3cret")
			d := pageDelivery(t, "page-17-3-1")
			if err := ch.Send(context.Background(), d); err != nil {
				t.Fatalf("send: %v", err)
			}
			msgs := srv.WaitFor(1, 5*time.Second)
			if len(msgs) != 1 {
				t.Fatalf("%d messages", len(msgs))
			}
			m := msgs[0]
			if m.ParseError != nil {
				t.Fatalf("parse: %v\n%s", m.ParseError, m.Raw)
			}
			if m.AuthUser != "steady" || m.TLS != (c.mode != "none") {
				t.Fatalf("auth user %q, tls %v", m.AuthUser, m.TLS)
			}
			if m.From != "steady@example.com" || len(m.To) != 1 || m.To[0] != "grace@example.com" {
				t.Fatalf("envelope %q → %v", m.From, m.To)
			}
			h := m.Header
			if !strings.Contains(h.Get("From"), "steady@example.com") || !strings.Contains(h.Get("To"), "grace@example.com") {
				t.Fatalf("From %q, To %q", h.Get("From"), h.Get("To"))
			}
			if _, err := h.Date(); err != nil {
				t.Fatalf("Date: %v", err)
			}
			if got := h.Get("Message-Id"); got != "<steady.page-17-3-1@example.com>" {
				t.Fatalf("Message-ID %q", got)
			}
			if h.Get(notify.IdempotencyHeader) != "page-17-3-1" || h.Get("Auto-Submitted") != "auto-generated" {
				t.Fatalf("headers %v", h)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "multipart/alternative") {
				t.Fatalf("Content-Type %q", h.Get("Content-Type"))
			}
			// The subject is MIME-encoded on the wire and decodes to the original.
			if raw := h.Get("Subject"); !strings.HasPrefix(raw, "=?UTF-8?") {
				t.Fatalf("raw subject %q is not encoded", raw)
			}
			if m.Subject != d.Message.Subject || !strings.Contains(m.Subject, "ünïcödé") {
				t.Fatalf("subject %q, want %q", m.Subject, d.Message.Subject)
			}
			if !strings.Contains(m.Text, `Disk <full> on "db-1" & ünïcödé`) || !strings.Contains(m.Text, d.Data.AcknowledgeURL) {
				t.Fatalf("text part:\n%s", m.Text)
			}
			if !strings.Contains(m.HTML, "Disk &lt;full&gt; on &#34;db-1&#34; &amp; ünïcödé") || strings.Contains(m.HTML, "<full>") ||
				!strings.Contains(m.HTML, "Grace &lt;Hopper&gt;") || !strings.Contains(m.HTML, `href="`+d.Data.AcknowledgeURL+`"`) {
				t.Fatalf("html part:\n%s", m.HTML)
			}
		})
	}
}

func TestEmailResendKeepsMessageID(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Options{})
	ch := emailChannels(srv, "none", "", "")
	d := pageDelivery(t, "odd key: with spaces/and@signs")
	for range 2 {
		if err := ch.Send(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	msgs := srv.WaitFor(2, 5*time.Second)
	if len(msgs) != 2 || msgs[0].AuthUser != "" {
		t.Fatalf("%d messages", len(msgs))
	}
	a, b := msgs[0].Header.Get("Message-Id"), msgs[1].Header.Get("Message-Id")
	if a != b || !strings.HasPrefix(a, "<steady.h.") || !strings.HasSuffix(a, "@example.com>") {
		t.Fatalf("Message-IDs %q and %q", a, b)
	}
	// A different key, a different Message-ID.
	d.IdempotencyKey = "another"
	if err := ch.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if m := srv.WaitFor(3, 5*time.Second); len(m) != 3 || m[2].Header.Get("Message-Id") == a {
		t.Fatalf("messages %d", len(m))
	}
}

func TestEmailTextOnly(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Options{})
	ch := emailChannels(srv, "none", "", "")
	err := ch.Send(context.Background(), notify.Delivery{Kind: notify.KindEmail, Address: "a@example.com", IdempotencyKey: "t1",
		Message: notify.Message{Subject: "line one\r\nBcc: victim@example.com", Text: "just text"}})
	if err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(1, 5*time.Second)[0]
	if strings.TrimSpace(m.Text) != "just text" || m.HTML != "" || strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/") {
		t.Fatalf("text-only message: %q %q %q", m.Header.Get("Content-Type"), m.Text, m.HTML)
	}
	if m.Header.Get("Bcc") != "" || m.Subject != "line one Bcc: victim@example.com" || len(m.To) != 1 {
		t.Fatalf("a line break in the subject made a header: %q %v", m.Subject, m.Header)
	}
}

func TestEmailErrorClasses(t *testing.T) {
	ctx := context.Background()
	d := func(addr string) notify.Delivery {
		return notify.Delivery{Kind: notify.KindEmail, Address: addr, IdempotencyKey: "k", Message: notify.Message{Subject: "s", Text: "t"}}
	}
	closed := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return p
	}()

	t.Run("no host is permanent", func(t *testing.T) {
		err := (&notify.Channels{}).Send(ctx, d("a@example.com"))
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "smtp.host") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("bad from is permanent", func(t *testing.T) {
		err := (&notify.Channels{SMTP: notify.SMTPConfig{Host: "127.0.0.1", From: "nobody"}}).Send(ctx, d("a@example.com"))
		if !notify.IsPermanent(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("bad address is permanent", func(t *testing.T) {
		srv := smtpd.Start(t, smtpd.Options{})
		if err := emailChannels(srv, "none", "", "").Send(ctx, d("not an address")); !notify.IsPermanent(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("refused connection is temporary", func(t *testing.T) {
		ch := &notify.Channels{SMTP: notify.SMTPConfig{Host: "127.0.0.1", Port: closed, From: "s@example.com", TLS: "none"}}
		if err := ch.Send(ctx, d("a@example.com")); err == nil || notify.IsPermanent(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("5xx to RCPT is permanent", func(t *testing.T) {
		srv := smtpd.Start(t, smtpd.Options{RejectTo: []string{"gone@example.com"}})
		err := emailChannels(srv, "none", "", "").Send(ctx, d("gone@example.com"))
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "550") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("4xx to DATA is temporary, then it goes through", func(t *testing.T) {
		srv := smtpd.Start(t, smtpd.Options{FailFirst: 1})
		ch := emailChannels(srv, "none", "", "")
		err := ch.Send(ctx, d("a@example.com"))
		if err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "451") {
			t.Fatalf("first attempt: %v", err)
		}
		if err := ch.Send(ctx, d("a@example.com")); err != nil {
			t.Fatalf("second attempt: %v", err)
		}
		if n := len(srv.WaitFor(1, 5*time.Second)); n != 1 || srv.DataCommands() != 2 {
			t.Fatalf("%d messages after %d DATA", n, srv.DataCommands())
		}
	})
	t.Run("wrong password is temporary", func(t *testing.T) {
		srv := smtpd.Start(t, smtpd.Options{TLS: "starttls", Username: "u", Password: "right"})
		err := emailChannels(srv, "starttls", "u", "wrong").Send(ctx, d("a@example.com"))
		if err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "535") {
			t.Fatalf("%v", err)
		}
		if len(srv.Messages()) != 0 {
			t.Fatal("a message went through without authentication")
		}
	})
	t.Run("starttls is required when chosen", func(t *testing.T) {
		srv := smtpd.Start(t, smtpd.Options{TLS: "none"}) // offers no STARTTLS
		err := emailChannels(srv, "starttls", "", "").Send(ctx, d("a@example.com"))
		if err == nil || notify.IsPermanent(err) || len(srv.Messages()) != 0 {
			t.Fatalf("%v; %d messages sent in the clear", err, len(srv.Messages()))
		}
	})
	t.Run("an untrusted certificate is refused", func(t *testing.T) {
		srv := smtpd.Start(t, smtpd.Options{TLS: "tls"})
		ch := emailChannels(srv, "tls", "", "")
		ch.SMTPRootCAs = nil // the system's roots do not know the test certificate
		if err := ch.Send(ctx, d("a@example.com")); err == nil || notify.IsPermanent(err) {
			t.Fatalf("%v", err)
		}
		ch.SMTP.InsecureSkipVerify = true
		if err := ch.Send(ctx, d("a@example.com")); err != nil {
			t.Fatalf("with insecure_skip_verify: %v", err)
		}
	})
}

func TestSMTPConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  notify.SMTPConfig
		mode string
		port int
	}{
		{notify.SMTPConfig{}, "starttls", 587},
		{notify.SMTPConfig{Port: 465}, "tls", 465},
		{notify.SMTPConfig{TLS: "tls"}, "tls", 465},
		{notify.SMTPConfig{TLS: "none"}, "none", 25},
		{notify.SMTPConfig{TLS: "none", Port: 2525}, "none", 2525},
	} {
		if c.cfg.Mode() != c.mode || c.cfg.PortOrDefault() != c.port {
			t.Errorf("%+v: %s:%d, want %s:%d", c.cfg, c.cfg.Mode(), c.cfg.PortOrDefault(), c.mode, c.port)
		}
	}
	bad := []notify.SMTPConfig{
		{Host: "h", From: "x@example.com", TLS: "ssl"},
		{Host: "h", From: "not an address"},
		{Host: "h", From: "x@example.com", Port: 70000},
	}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("%+v is valid", c)
		}
	}
	if (notify.SMTPConfig{}).Validate() != nil || (notify.SMTPConfig{Host: "h", From: "Steady <s@example.com>", TLS: "tls", Port: 465}).Validate() != nil {
		t.Error("a good config is refused")
	}
}
