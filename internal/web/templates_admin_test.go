package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestMessageTemplatePages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		b, _ := admin(t, s)

		list := b.get("/notification-templates").want(200).has("<h1>Message templates</h1>", `aria-current="page">Outbox</a>`,
			`href="/notification-templates/page"`, `href="/notification-templates/summary"`, `href="/notification-templates/test"`, "Built-in")
		list.lacks("Custom</span>")
		form := b.get("/notification-templates/page").want(200).has("<h1>The page template</h1>", `name="subject"`,
			`id="f-text" name="text"`, `id="f-html" name="html"`, `formaction="/notification-templates/page/preview"`,
			"Data the templates can use", "The built-in page template", "{{.Incident.Title}}")
		form.lacks("Reset to the built-in template")

		// Preview: the form comes back with what it renders; nothing is saved.
		fields := []string{"subject", "PAGE {{.Incident.Number}} for {{.Recipient}}", "text", "Hi {{.Recipient}}\r\n{{.AcknowledgeURL}}",
			"html", "<p>{{.Incident.Title}}</p>"}
		pv := form.submit("/notification-templates/page/preview", fields...).want(200)
		pv.has("Preview with sample data", "PAGE INC-42 for Ada Lovelace", "https://steady.example.com/l/sample-acknowledge-token",
			"<p>Checkout latency above 2s on api-1 &amp; api-2</p>")
		if got, _ := s.App.Templates.Get(context.Background(), "page"); got.Custom {
			t.Fatal("a preview saved the template")
		}
		// The HTML preview is the rendered page alone, under a strict policy.
		raw := form.submit("/notification-templates/page/preview.html", fields...).want(200)
		if raw.Body != "<p>Checkout latency above 2s on api-1 &amp; api-2</p>" || !strings.Contains(raw.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("html preview: %q %v", raw.Body, raw.Header)
		}

		// A broken template comes back with the error next to its field.
		bad := form.submit("/notification-templates/page", "subject", "{{.Incident.Title", "text", "x", "html", "").want(http.StatusBadRequest)
		bad.has("Please correct what is marked below.", "Subject template error", `value="{{.Incident.Title"`)
		form.submit("/notification-templates/page/preview", "subject", "s", "text", "x", "html", "{{.Nope}}").want(http.StatusBadRequest).
			has("HTML template error")

		// Save: used by the next message, line ends as typed.
		form.submit("/notification-templates/page", fields...).redirects("/notification-templates").want(200).
			has("Saved the page template.", "Custom</span>", testkit.AdminEmail)
		m, err := s.App.Templates.Render(context.Background(), s.App.DB.R, notify.SampleData(notify.MessagePage))
		if err != nil || m.Subject != "PAGE INC-42 for Ada Lovelace" || m.Text != "Hi Ada Lovelace\nhttps://steady.example.com/l/sample-acknowledge-token" {
			t.Fatalf("render after save: %v %+v", err, m)
		}
		wantAudit(t, s, "notification_template.update")

		// Reset.
		edit := b.get("/notification-templates/page").want(200).has("Reset to the built-in template", `value="PAGE {{.Incident.Number}} for {{.Recipient}}"`)
		edit.submit("/notification-templates/page/reset").redirects("/notification-templates").want(200).
			has("The page template is the built-in one again.").lacks("Custom</span>")
		wantAudit(t, s, "notification_template.reset")

		b.get("/notification-templates/fax").want(404)

		// Admins only.
		mgr := signIn(t, s, s.NewUser(iam.RoleManager))
		mgr.get("/notification-templates").want(403)
		mgr.get("/notification-templates/page").want(403)
	})
}
