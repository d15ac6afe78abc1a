package smtpd_test

import (
	"crypto/tls"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/testkit/smtpd"
)

// The server speaks to the standard library's client: STARTTLS before
// anything else in starttls mode, AUTH, dot-unstuffing, RSET and NOOP, and
// the multipart body parsed.
func TestServerWithStandardClient(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Options{TLS: "starttls", Username: "u", Password: "p"})
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Fatal("AUTH offered before STARTTLS")
	}
	if err := c.Mail("a@example.com"); err == nil || !strings.HasPrefix(err.Error(), "530") {
		t.Fatalf("MAIL before STARTTLS: %v", err)
	}
	if err := c.StartTLS(srv.ClientTLS()); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "u", "p", srv.Host)); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
	// A transaction that is reset leaves nothing behind.
	if err := c.Mail("dropped@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("from@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"one@example.com", "two@example.com"} {
		if err := c.Rcpt(to); err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	body := "From: from@example.com\r\nTo: one@example.com\r\nSubject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		".leading dot\r\nsoft=\r\nbreak =C3=BC\r\n" +
		"--b1\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"PHA+aMOpPC9wPg==\r\n--b1--\r\n"
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	msgs := srv.WaitFor(1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.ParseError != nil || m.From != "from@example.com" || len(m.To) != 2 || m.AuthUser != "u" || !m.TLS {
		t.Fatalf("message %+v", m)
	}
	if m.Subject != "Grüße" || m.Text != ".leading dot\nsoftbreak ü" || m.HTML != "<p>hé</p>" {
		t.Fatalf("subject %q text %q html %q", m.Subject, m.Text, m.HTML)
	}
	if !strings.Contains(string(m.Raw), "\r\n.leading dot\r\n") {
		t.Fatalf("raw message is not dot-unstuffed: %q", m.Raw)
	}
}

func TestServerRefusals(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Options{TLS: "tls", Username: "u", Password: "p", FailFirst: 1, RejectTo: []string{"gone@example.com"}})
	dial := func() *smtp.Client {
		conn, err := tls.Dial("tcp", srv.Addr(), srv.ClientTLS())
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClient(conn, srv.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// The standard client hangs up after a refused AUTH.
	if err := dial().Auth(smtp.PlainAuth("", "u", "wrong", srv.Host)); err == nil || !strings.HasPrefix(err.Error(), "535") {
		t.Fatalf("a wrong password: %v", err)
	}
	c := dial()
	if err := c.Mail("a@example.com"); err == nil || !strings.HasPrefix(err.Error(), "502") {
		t.Fatalf("MAIL without AUTH: %v", err)
	}
	if err := c.Auth(smtp.PlainAuth("", "u", "p", srv.Host)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("gone@example.com"); err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Fatalf("a rejected recipient: %v", err)
	}
	if err := c.Rcpt("here@example.com"); err != nil {
		t.Fatal(err)
	}
	w, _ := c.Data()
	w.Write([]byte("Subject: x\r\n\r\nbody\r\n"))
	if err := w.Close(); err == nil || !strings.HasPrefix(err.Error(), "451") {
		t.Fatalf("the first DATA: %v", err)
	}
	if len(srv.Messages()) != 0 || srv.DataCommands() != 1 {
		t.Fatalf("%d messages, %d DATA", len(srv.Messages()), srv.DataCommands())
	}
}
