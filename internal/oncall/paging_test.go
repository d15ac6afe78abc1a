package oncall_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
	"github.com/steadyhq/steady/internal/testkit/smtpd"
)

// open fetches a one-click link without any session, as a mail client would.
func open(t *testing.T, method, link string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func incidentStatus(t *testing.T, s *testkit.Server, id int64) string {
	t.Helper()
	var in struct {
		Status string `json:"status"`
	}
	s.Do("GET", fmt.Sprintf("/api/v1/incidents/%d", id), s.AdminToken, nil).Want(200).JSON(&in)
	return in.Status
}

func auditActions(t *testing.T, s *testkit.Server, action string) []map[string]any {
	t.Helper()
	var l struct {
		Items []map[string]any `json:"items"`
	}
	s.Do("GET", "/api/v1/audit?action="+action, s.AdminToken, nil).Want(200).JSON(&l)
	return l.Items
}

// TestAcknowledgeFromEmail: a user without notification rules is emailed at
// their account address through a real SMTP server; the email's link
// acknowledges the incident without signing in, once.
func TestAcknowledgeFromEmail(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		mail := smtpd.Start(t, smtpd.Options{TLS: "starttls", Username: "steady", Password: "mail-secret"})
		s := testkit.Start(t, d, testkit.Options{Modify: func(o *app.Options) {
			o.ManualOnCall = true
			o.SMTP = notify.SMTPConfig{Host: mail.Host, Port: mail.Port, Username: "steady", Password: "mail-secret",
				From: "steady@example.com", TLS: "starttls", InsecureSkipVerify: true}
		}})
		u := s.NewUser(iam.RoleResponder)
		svc := policyFor(t, s, 0, level{5, []map[string]any{{"kind": "user", "id": u.ID}}})
		id := trigger(t, s, svc, "api-latency")
		pump(t, s)
		msgs := mail.WaitFor(1, 10*time.Second)
		if len(msgs) != 1 || msgs[0].To[0] != u.Email || !msgs[0].TLS || msgs[0].AuthUser != "steady" {
			t.Fatalf("email: %+v", msgs)
		}
		m := msgs[0]
		if !strings.Contains(m.Subject, fmt.Sprintf("INC-%d", id)) || m.HTML == "" || m.Text == "" {
			t.Fatalf("subject %q, text %d bytes, html %d bytes", m.Subject, len(m.Text), len(m.HTML))
		}
		links := regexp.MustCompile(`https?://[^\s"<>]+/l/[A-Za-z0-9_\-.]+`).FindAllString(m.Text, -1)
		if len(links) < 2 {
			t.Fatalf("the email has no one-click links:\n%s", m.Text)
		}
		ack := links[0]
		for _, l := range links {
			if strings.Contains(m.Text, "Acknowledge") && strings.Index(m.Text, l) > strings.Index(m.Text, "Acknowledge") {
				ack = l
				break
			}
		}

		// Opening the link changes nothing: it asks.
		code, body := open(t, "GET", ack)
		if code != 200 || !strings.Contains(body, "Acknowledge") || incidentStatus(t, s, id) != "triggered" {
			t.Fatalf("GET the link: %d, status %s\n%s", code, incidentStatus(t, s, id), body)
		}
		code, body = open(t, "POST", ack)
		if code != 200 || incidentStatus(t, s, id) != "acknowledged" {
			t.Fatalf("POST the link: %d, status %s\n%s", code, incidentStatus(t, s, id), body)
		}
		entries := auditActions(t, s, "incident.acknowledged")
		if len(entries) != 1 || !strings.Contains(fmt.Sprint(entries[0]["actor_name"]), "one-click link") {
			t.Fatalf("audit of the acknowledge: %v", entries)
		}

		// A forged link (its incident changed) and an expired one are refused
		// and audited.
		u2, _ := url.Parse(ack)
		token := strings.TrimPrefix(u2.Path, "/l/")
		swap := byte('B')
		if token[3] == swap {
			swap = 'C'
		}
		forged := s.URL + "/l/" + token[:3] + string(swap) + token[4:]
		if code, _ := open(t, "POST", forged); code != 403 {
			t.Fatalf("a forged link answered %d", code)
		}
		s.Clock.Advance(notify.DefaultLinkTTL + time.Minute)
		if code, body := open(t, "POST", ack); code != 403 || !strings.Contains(body, "expired") {
			t.Fatalf("an expired link answered %d:\n%s", code, body)
		}
		if refused := auditActions(t, s, "link.refused"); len(refused) != 2 {
			t.Fatalf("refused links audited: %v", refused)
		}
	})
}

// TestRateLimitSummary: a storm cannot flood one contact method: past its
// limit, pages wait and go out as one summary when the window ends.
func TestRateLimitSummary(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := startManual(t, d)
		r := newReceiver(t)
		u := s.NewUser(iam.RoleResponder)
		var m struct {
			ID int64 `json:"id"`
		}
		s.Do("POST", fmt.Sprintf("/api/v1/users/%d/contact-methods", u.ID), s.AdminToken,
			map[string]any{"kind": "webhook", "address": r.URL, "rate_limit": 2, "rate_window_seconds": 600}).Want(201).JSON(&m)
		s.Do("POST", fmt.Sprintf("/api/v1/users/%d/notification-rules", u.ID), s.AdminToken,
			map[string]any{"contact_method_id": m.ID, "delay_minutes": 0}).Want(201)
		svc := policyFor(t, s, 0, level{30, []map[string]any{{"kind": "user", "id": u.ID}}})
		for i := range 5 {
			trigger(t, s, svc, fmt.Sprintf("node-%d", i))
		}
		pump(t, s)
		r.waitFor(t, 2)
		time.Sleep(100 * time.Millisecond)
		if n := len(r.got()); n != 2 {
			t.Fatalf("%d pages went out, want the limit of 2", n)
		}
		s.Clock.Advance(10 * time.Minute)
		pump(t, s)
		got := r.waitFor(t, 3)
		sum := got[2].Body
		if sum["event"] != "notification.summary" {
			t.Fatalf("third delivery is %v, want the summary", sum["event"])
		}
		if held, _ := sum["held"].([]any); len(held) != 3 {
			t.Fatalf("the summary lists %d incidents, want 3: %v", len(held), sum)
		}
		var l struct {
			Items []struct {
				Status string `json:"status"`
			} `json:"items"`
		}
		s.Do("GET", "/api/v1/outbox?status=summarized", s.AdminToken, nil).Want(200).JSON(&l)
		if len(l.Items) != 3 {
			t.Fatalf("%d summarized pages, want 3", len(l.Items))
		}
	})
}

// TestDelayedRuleCancelledByAcknowledge: "webhook after 5 minutes if
// unacknowledged" does not fire once the incident is acknowledged; and a
// reassignment pages the new assignee at once.
func TestDelayedRuleCancelledByAcknowledge(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := startManual(t, d)
		now, later := newReceiver(t), newReceiver(t)
		u := s.NewUser(iam.RoleResponder)
		for _, x := range []struct {
			r     *receiver
			delay int
		}{{now, 0}, {later, 5}} {
			var m struct {
				ID int64 `json:"id"`
			}
			s.Do("POST", fmt.Sprintf("/api/v1/users/%d/contact-methods", u.ID), s.AdminToken,
				map[string]any{"kind": "webhook", "address": x.r.URL}).Want(201).JSON(&m)
			s.Do("POST", fmt.Sprintf("/api/v1/users/%d/notification-rules", u.ID), s.AdminToken,
				map[string]any{"contact_method_id": m.ID, "delay_minutes": x.delay}).Want(201)
		}
		svc := policyFor(t, s, 0, level{30, []map[string]any{{"kind": "user", "id": u.ID}}})
		id := trigger(t, s, svc, "queue-depth")
		pump(t, s)
		now.waitFor(t, 1)
		s.Clock.Advance(2 * time.Minute)
		s.Do("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", id), u.Token, nil).Want(200)
		s.Clock.Advance(10 * time.Minute)
		pump(t, s)
		time.Sleep(100 * time.Millisecond)
		if n := len(later.got()); n != 0 {
			t.Fatalf("the delayed rule fired after the acknowledge (%d)", n)
		}

		// Reassigning restarts at the new target.
		r := newReceiver(t)
		bob := responder(t, s, r, "bob")
		s.Do("POST", fmt.Sprintf("/api/v1/incidents/%d/assign", id), u.Token, map[string]any{"assignee_id": bob.ID}).Want(200)
		pump(t, s)
		got := r.waitFor(t, 1)
		if got[0].Body["reason"] != "assigned to the incident" {
			t.Fatalf("reassignment page: %v", got[0].Body)
		}
	})
}

// TestAccountEmailRateLimited: the account-address email of a user without
// rules has the default rate limit of a contact method too.
func TestAccountEmailRateLimited(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		mail := smtpd.Start(t, smtpd.Options{})
		s := testkit.Start(t, d, testkit.Options{Modify: func(o *app.Options) {
			o.ManualOnCall = true
			o.SMTP = notify.SMTPConfig{Host: mail.Host, Port: mail.Port, From: "steady@example.com", TLS: "none"}
		}})
		u := s.NewUser(iam.RoleResponder)
		svc := policyFor(t, s, 0, level{30, []map[string]any{{"kind": "user", "id": u.ID}}})
		for i := range notify.DefaultMethodRateLimit + 2 {
			trigger(t, s, svc, fmt.Sprintf("disk-%d", i))
		}
		pump(t, s)
		mail.WaitFor(notify.DefaultMethodRateLimit, 10*time.Second)
		time.Sleep(100 * time.Millisecond)
		if n := len(mail.Messages()); n != notify.DefaultMethodRateLimit {
			t.Fatalf("%d emails, want the limit of %d", n, notify.DefaultMethodRateLimit)
		}
		s.Clock.Advance(notify.DefaultMethodRateWindow * time.Second)
		pump(t, s)
		msgs := mail.WaitFor(notify.DefaultMethodRateLimit+1, 10*time.Second)
		last := msgs[len(msgs)-1]
		if !strings.Contains(last.Text, "disk-10") || !strings.Contains(last.Text, "disk-11") {
			t.Fatalf("the summary does not name the held pages:\n%s\n%s", last.Subject, last.Text)
		}
	})
}
