package api_test

import (
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestNotificationTemplatesAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		viewer, manager := c.user(iam.RoleViewer), c.user(iam.RoleManager)
		admin := s.AdminToken

		// Every kind, built-in, with its built-in source.
		l, next := items(c.do("GET", "/api/v1/notification-templates", viewer.Token, nil).Want(200))
		if len(l) != 3 || next != "" || l[0]["kind"] != "page" || l[1]["kind"] != "summary" || l[2]["kind"] != "test" {
			t.Fatalf("list: %v", l)
		}
		for _, tp := range l {
			b := tp["builtin"].(map[string]any)
			if tp["custom"] != false || tp["updated_at"] != nil || tp["subject"] != b["subject"] || b["text"] == "" || b["html"] == "" {
				t.Fatalf("built-in template: %v", tp)
			}
		}
		wantProblem(c.do("GET", "/api/v1/notification-templates/fax", viewer.Token, nil), 404)

		// Only admins change them.
		body := map[string]any{"subject": "[{{.Incident.Priority}}] {{.Incident.Title}}", "text": "Hi {{.Recipient}}", "html": "<p>{{.Incident.Title}}</p>"}
		wantProblem(c.do("PUT", "/api/v1/notification-templates/page", manager.Token, body), 403)
		got := c.do("PUT", "/api/v1/notification-templates/page", admin, body).Want(200).Map()
		if got["custom"] != true || got["subject"] != body["subject"] || got["updated_by"] != testkit.AdminEmail || got["updated_at"] == nil {
			t.Fatalf("saved: %v", got)
		}
		got = c.do("GET", "/api/v1/notification-templates/page", viewer.Token, nil).Want(200).Map()
		if got["custom"] != true || got["html"] != body["html"] {
			t.Fatalf("get after save: %v", got)
		}
		if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action = 'notification_template.update' AND object_id = 'page'"); n != 1 {
			t.Fatalf("%d audit entries", n)
		}

		// Bad templates: 400 naming the field, nothing saved.
		p := wantProblem(c.do("PUT", "/api/v1/notification-templates/test", admin, map[string]any{"subject": "{{.Recipient", "text": "x"}), 400, "subject")
		if !strings.Contains(p.Errors[0].Detail, "template error") {
			t.Fatalf("detail: %v", p.Errors)
		}
		wantProblem(c.do("PUT", "/api/v1/notification-templates/test", admin, map[string]any{"subject": "s", "text": "{{.Nope}}"}), 400, "text")
		wantProblem(c.do("PUT", "/api/v1/notification-templates/test", admin, map[string]any{"subject": "s", "text": "t", "html": "{{end}}"}), 400, "html")
		wantProblem(c.do("PUT", "/api/v1/notification-templates/test", admin, map[string]any{"subject": "s", "text": "t", "extra": 1}), 400, "extra")
		wantProblem(c.do("PUT", "/api/v1/notification-templates/fax", admin, map[string]any{"subject": "s", "text": "t"}), 404)
		if got := c.do("GET", "/api/v1/notification-templates/test", viewer.Token, nil).Want(200).Map(); got["custom"] != false {
			t.Fatalf("a bad template was saved: %v", got)
		}

		// Preview: of the template in effect, or of one sent; nothing saved.
		pv := c.do("POST", "/api/v1/notification-templates/page/preview", viewer.Token, nil).Want(200).Map()
		if pv["kind"] != "page" || pv["subject"] != "[P1] Checkout latency above 2s on api-1 & api-2" || pv["text"] != "Hi Ada Lovelace" ||
			pv["html"] != "<p>Checkout latency above 2s on api-1 &amp; api-2</p>" {
			t.Fatalf("preview of the current: %v", pv)
		}
		// Only an admin may run a template of their own (it may loop).
		wantProblem(c.do("POST", "/api/v1/notification-templates/summary/preview", viewer.Token,
			map[string]any{"subject": "s", "text": "t"}), 403)
		pv = c.do("POST", "/api/v1/notification-templates/summary/preview", admin,
			map[string]any{"subject": "{{len .Held}} held", "text": "{{range .Held}}{{.Number}} {{end}}"}).Want(200).Map()
		if pv["subject"] != "3 held" || pv["text"] != "INC-42 INC-43 INC-44 " || pv["html"] != "" {
			t.Fatalf("preview of a given template: %v", pv)
		}
		wantProblem(c.do("POST", "/api/v1/notification-templates/summary/preview", admin, map[string]any{"subject": "s", "text": "{{.Incident.Nope}}"}), 400, "text")
		if got := c.do("GET", "/api/v1/notification-templates/summary", viewer.Token, nil).Want(200).Map(); got["custom"] != false {
			t.Fatalf("a preview saved: %v", got)
		}

		// Reset: admins only; back to the built-in template; again is fine.
		wantProblem(c.do("DELETE", "/api/v1/notification-templates/page", manager.Token, nil), 403)
		c.do("DELETE", "/api/v1/notification-templates/page", admin, nil).Want(204)
		c.do("DELETE", "/api/v1/notification-templates/page", admin, nil).Want(204)
		got = c.do("GET", "/api/v1/notification-templates/page", viewer.Token, nil).Want(200).Map()
		if got["custom"] != false || got["subject"] != got["builtin"].(map[string]any)["subject"] {
			t.Fatalf("after reset: %v", got)
		}
		if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action = 'notification_template.reset'"); n != 1 {
			t.Fatalf("%d reset audit entries", n)
		}
	})
}
