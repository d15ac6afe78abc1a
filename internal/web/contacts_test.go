package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestNotificationsPage(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		u := s.NewUser(iam.RoleViewer)
		b := signIn(t, s, u)
		base := "/account/notifications"

		b.get("/account").want(200).has(`href="/account/notifications"`, "Manage your contact methods and notification rules")
		p := b.get(base).want(200).has("<h1>Your notifications</h1>", `href="/account" aria-current="page"`, "No contact methods yet",
			"No notification rules: a page emails "+u.Email+" at once.", "Add a contact method", `name="kind" value="webhook"`,
			`name="email_address" type="email"`, `name="webhook_header"`, "Add a contact method first")

		// Without the CSRF token nothing is added.
		b.post(base+"/methods", url.Values{"kind": {"email"}, "email_address": {"x@example.com"}}).want(http.StatusForbidden)

		// Mistakes are shown on the form that was sent, with what was typed.
		p.submit(base+"/methods", "kind", "email", "email_address", "not-an-email", "email_label", "work",
			"email_rate_limit", "10", "email_rate_window", "10").want(http.StatusBadRequest).
			has("Please correct what is marked below.", "Email address must be one plain email address", `value="not-an-email"`,
				`<details class="edit-details" open id="add-email">`)
		p.submit(base+"/methods", "kind", "webhook", "webhook_address", "https://hooks.example.com/x", "webhook_header", "Host: other",
			"webhook_rate_limit", "10", "webhook_rate_window", "10").want(http.StatusBadRequest).has("Webhook header Host is set by Steady")
		p.submit(base+"/methods", "kind", "webhook", "webhook_address", "https://hooks.example.com/x", "webhook_header", "no colon here",
			"webhook_rate_limit", "10", "webhook_rate_window", "10").want(http.StatusBadRequest).has("Webhook header line 1 must read Name: value")
		p.submit(base+"/methods", "kind", "slack", "slack_address", "https://hooks.slack.com/x", "slack_rate_limit", "0",
			"slack_rate_window", "0").want(http.StatusBadRequest).has("Slack rate window must be a whole number of minutes from 1 to 1440")
		p.submit(base+"/methods", "kind", "slack", "slack_address", "https://hooks.slack.com/x", "slack_rate_limit", "5000",
			"slack_rate_window", "5").want(http.StatusBadRequest).has("Slack rate limit must be from 1 to 1000 messages")
		if n := contactCount(t, s, "SELECT COUNT(*) FROM contact_methods"); n != 0 {
			t.Fatalf("%d methods stored by refused forms", n)
		}

		// An email method, then a webhook whose secret is shown once.
		p.submit(base+"/methods", "kind", "email", "email_address", u.Email, "email_label", "work",
			"email_rate_limit", "10", "email_rate_window", "10").redirects(base).want(200).
			has("Added Email work ("+u.Email+").", "Email <span class=\"muted\">work</span>", "10 per 10m")
		hp := p.submit(base+"/methods", "kind", "webhook", "webhook_address", "https://hooks.example.com/steady", "webhook_label", "pager",
			"webhook_header", "Authorization: Bearer web-credential\nX-Team: ops", "webhook_rate_limit", "5", "webhook_rate_window", "30").
			want(200).has("Copy this signing secret now.", "Authorization: …", "X-Team: …", "5 per 30m").lacks("web-credential")
		secret := hp.find(`id="method-secret" class="secret" type="text" value="([^"]+)"`)
		hook := int64(0)
		fmt.Sscan(hp.find(`<tr id="method-(\d+)">\s*<th scope="row">Webhook`), &hook)
		email := int64(0)
		fmt.Sscan(hp.find(`<tr id="method-(\d+)">\s*<th scope="row">Email`), &email)
		var stored string
		if err := s.App.DB.R.QueryRow("SELECT secret FROM contact_methods WHERE id = $1", hook).Scan(&stored); err != nil || stored != secret {
			t.Fatalf("shown secret %q, stored %q (%v)", secret, stored, err)
		}
		p = b.get(base).want(200).lacks(secret, "Copy this signing secret")
		rot := p.submit(fmt.Sprintf("%s/methods/%d/rotate-secret", base, hook)).want(200).has("the previous secret no longer works")
		if again := rot.find(`id="method-secret" class="secret" type="text" value="([^"]+)"`); again == secret || again == "" {
			t.Fatalf("rotation showed %q", again)
		}

		// Rules: email at once, webhook after 5 minutes if unacknowledged.
		p = b.get(base).want(200).has(`<select id="f-contact_method" name="contact_method" required>`,
			fmt.Sprintf(`<option value="%d">Webhook pager (https://hooks.example.com/…)</option>`, hook))
		p.submit(base+"/rules", "contact_method", fmt.Sprint(hook), "delay", "5").redirects(base).want(200).
			has("Added a rule: Webhook pager (https://hooks.example.com/…) after 5 minutes.")
		p = p.submit(base+"/rules", "contact_method", fmt.Sprint(email), "delay", "0").redirects(base).want(200)
		p.has("<strong>Email work ("+u.Email+")</strong> at once", "<strong>Webhook pager (https://hooks.example.com/…)</strong> after 5 minutes, if the incident is still unacknowledged").
			before("Email work ("+u.Email+")</strong> at once", "Webhook pager (https://hooks.example.com/…)</strong> after 5 minutes")
		p.submit(base+"/rules", "contact_method", fmt.Sprint(email), "delay", "0").want(http.StatusBadRequest).
			has("Delay this contact method already has a rule with this delay")
		p.submit(base+"/rules", "contact_method", fmt.Sprint(email), "delay", "soon").want(http.StatusBadRequest).
			has("Delay must be a whole number of minutes")
		p.submit(base+"/rules", "contact_method", fmt.Sprint(email), "delay", "2000").want(http.StatusBadRequest).
			has("Delay must be from 0 to 1440")

		// A test message is queued, with a link to follow it.
		p.submit(fmt.Sprintf("%s/methods/%d/test", base, email)).want(200).
			has("Queued a test message to Email work ("+u.Email+")", `href="/outbox/`)
		if n := contactCount(t, s, "SELECT COUNT(*) FROM outbox WHERE kind = 'test' AND contact_method_id = $1", email); n != 1 {
			t.Fatalf("%d test messages queued", n)
		}

		// Deleting the webhook deletes its rule.
		p.submit(fmt.Sprintf("%s/methods/%d/delete", base, hook)).redirects(base).want(200).
			has("Deleted Webhook pager (https://hooks.example.com/…) and its notification rules.").lacks("after 5 minutes")
		rule := int64(0)
		p = b.get(base).want(200)
		fmt.Sscan(p.find(`<li id="rule-(\d+)">`), &rule)
		p.submit(fmt.Sprintf("%s/rules/%d/delete", base, rule)).redirects(base).want(200).
			has("Deleted the notification rule.", "No notification rules")
		wantAudit(t, s, "contact_method.create", "contact_method.rotate_secret", "contact_method.delete",
			"notification_rule.create", "notification_rule.delete")

		// Another user may not see or change these; an admin may.
		other := signIn(t, s, s.NewUser(iam.RoleManager))
		other.get(fmt.Sprintf("/users/%d/notifications", u.ID)).want(http.StatusForbidden)
		op := other.get("/account/notifications").want(200)
		op.submit(fmt.Sprintf("/users/%d/notifications/methods/%d/delete", u.ID, email)).want(http.StatusForbidden)
		op.submit(fmt.Sprintf("/account/notifications/methods/%d/delete", email)).want(http.StatusNotFound)
		op.submit(fmt.Sprintf("/users/%d/notifications/methods", u.ID), "kind", "email", "email_address", "evil@example.com",
			"email_rate_limit", "10", "email_rate_window", "10").want(http.StatusForbidden)

		a, _ := admin(t, s)
		ap := a.get(fmt.Sprintf("/users/%d/notifications", u.ID)).want(200).has("Notifications of Test viewer", `href="/users" aria-current="page"`,
			"Email work ("+u.Email+")")
		ap.submit(fmt.Sprintf("/users/%d/notifications/methods", u.ID), "kind", "teams", "teams_address", "https://example.webhook.office.com/x",
			"teams_rate_limit", "10", "teams_rate_window", "10").redirects(fmt.Sprintf("/users/%d/notifications", u.ID)).want(200).
			has("Added Microsoft Teams (https://example.webhook.office.com/…).")
		a.get("/users/999999/notifications").want(http.StatusNotFound)
		if n := contactCount(t, s, "SELECT COUNT(*) FROM contact_methods WHERE user_id = $1 AND kind = 'teams'", u.ID); n != 1 {
			t.Fatalf("the admin's method for the user: %d", n)
		}
		if strings.Contains(b.get(base).Body, "evil@example.com") {
			t.Fatal("another user's form added a method")
		}
	})
}

// contactCount runs a COUNT query on the server's database.
func contactCount(t *testing.T, s *testkit.Server, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.App.DB.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
