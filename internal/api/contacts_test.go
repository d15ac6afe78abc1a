package api_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestContactMethodsAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		alice, bob := c.user(iam.RoleViewer), c.user(iam.RoleResponder)
		admin := s.AdminToken
		mine := "/api/v1/users/me/contact-methods"
		alices := path("/api/v1/users/%d/contact-methods", alice.ID)

		// An email method with the defaults; no secret.
		r := c.do("POST", mine, alice.Token, map[string]any{"kind": "email", "address": "alice@example.com", "label": "work"}).Want(201)
		email := r.Map()
		emailID := int64(email["id"].(float64))
		if email["user_id"] != float64(alice.ID) || email["rate_limit"] != float64(10) || email["rate_window_seconds"] != float64(600) ||
			email["label"] != "work" || email["version"] != float64(1) {
			t.Fatalf("email method: %v", email)
		}
		if _, ok := email["secret"]; ok {
			t.Fatalf("an email method got a secret: %v", email)
		}
		if r.Header.Get("Location") != path("/api/v1/users/%d/contact-methods/%d", alice.ID, emailID) || r.Header.Get("ETag") != `"1"` {
			t.Fatalf("create headers: %v", r.Header)
		}

		// A webhook: a signing secret, shown once, header names made canonical.
		r = c.do("POST", mine, alice.Token, map[string]any{"kind": "webhook", "address": "https://hooks.example.com/steady?team=ops",
			"headers": map[string]string{"authorization": "Bearer hook-credential"}, "rate_limit": 5, "rate_window_seconds": 60}).Want(201)
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the answer with a secret may be cached: %v", r.Header)
		}
		hook := r.Map()
		hookID := int64(hook["id"].(float64))
		secret, _ := hook["secret"].(string)
		if b, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(b) != 32 {
			t.Fatalf("webhook secret %q: %v", secret, err)
		}
		if h := hook["headers"].(map[string]any); h["Authorization"] != "Bearer hook-credential" || len(h) != 1 {
			t.Fatalf("headers: %v", h)
		}
		if hook["rate_limit"] != float64(5) || hook["rate_window_seconds"] != float64(60) {
			t.Fatalf("rate fields: %v", hook)
		}
		slack := id(c.do("POST", alices, alice.Token, map[string]any{"kind": "slack", "address": "https://hooks.slack.com/services/T0/B0/xyz"}).Want(201))

		// The secret is in no other answer.
		l, next := items(c.do("GET", mine, alice.Token, nil).Want(200))
		if len(l) != 3 || next != "" || l[0]["id"] != float64(emailID) || l[1]["id"] != float64(hookID) || l[2]["id"] != float64(slack) {
			t.Fatalf("methods: %v", l)
		}
		for _, p := range []string{mine, path("%s/%d", alices, hookID)} {
			if g := c.do("GET", p, alice.Token, nil).Want(200); strings.Contains(string(g.Body), secret) || strings.Contains(string(g.Body), `"secret"`) {
				t.Fatalf("GET %s shows the secret: %s", p, g.Body)
			}
		}

		// Rotation: a new secret, once; the old one is gone. Only webhooks have one.
		rot := c.do("POST", path("%s/%d/rotate-secret", mine, hookID), alice.Token, nil).Want(200)
		newSecret, _ := rot.Map()["secret"].(string)
		if newSecret == "" || newSecret == secret || rot.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("rotated: %s", rot.Body)
		}
		var stored string
		if err := s.App.DB.R.QueryRow("SELECT secret FROM contact_methods WHERE id = $1", hookID).Scan(&stored); err != nil || stored != newSecret {
			t.Fatalf("stored secret %q, %v; want the rotated one", stored, err)
		}
		wantProblem(c.do("POST", path("%s/%d/rotate-secret", mine, emailID), alice.Token, nil), 409)
		if g := c.do("GET", path("%s/%d", mine, hookID), alice.Token, nil).Want(200); strings.Contains(string(g.Body), newSecret) {
			t.Fatalf("GET shows the rotated secret: %s", g.Body)
		}

		// Changes: If-Match, and the kind stays.
		g := c.do("GET", path("%s/%d", mine, emailID), alice.Token, nil).Want(200)
		etag := g.Header.Get("ETag")
		up := c.do("PATCH", path("%s/%d", mine, emailID), alice.Token, map[string]any{"label": "personal", "address": "alice@home.example",
			"rate_limit": 20}, "If-Match", etag).Want(200).Map()
		if up["label"] != "personal" || up["address"] != "alice@home.example" || up["rate_limit"] != float64(20) ||
			up["rate_window_seconds"] != float64(600) || up["version"] != float64(2) {
			t.Fatalf("updated: %v", up)
		}
		wantProblem(c.do("PATCH", path("%s/%d", mine, emailID), alice.Token, map[string]any{"label": "x"}, "If-Match", etag), 412)
		if same := c.do("PATCH", path("%s/%d", mine, emailID), alice.Token, map[string]any{"label": "personal"}).Want(200).Map(); same["version"] != float64(2) {
			t.Fatalf("a change to nothing made a new version: %v", same)
		}
		wantProblem(c.do("PATCH", path("%s/%d", mine, emailID), alice.Token, map[string]any{"kind": "webhook"}), 400, "kind")
		wantProblem(c.do("PATCH", path("%s/%d", mine, emailID), alice.Token, map[string]any{"address": "https://x.example/"}), 400, "address")
		wantProblem(c.do("PATCH", path("%s/%d", mine, hookID), alice.Token, map[string]any{"headers": map[string]string{"Host": "x"}}), 400, "headers.Host")
		up = c.do("PATCH", path("%s/%d", mine, hookID), alice.Token, map[string]any{"headers": map[string]string{}}).Want(200).Map()
		if h := up["headers"].(map[string]any); len(h) != 0 {
			t.Fatalf("headers not replaced: %v", up)
		}

		// Every validation error names its field; nothing is written.
		before := c.count("SELECT COUNT(*) FROM contact_methods")
		long := strings.Repeat("x", 101)
		many := map[string]string{}
		for i := range 21 {
			many[path("X-H%d", i)] = "v"
		}
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"address": "a@example.com"}, "kind"},
			{map[string]any{"kind": "sms", "address": "a@example.com"}, "kind"},
			{map[string]any{"kind": "email"}, "address"},
			{map[string]any{"kind": "email", "address": "not an email"}, "address"},
			{map[string]any{"kind": "email", "address": "a@example.com, b@example.com"}, "address"},
			{map[string]any{"kind": "email", "address": "Ada <a@example.com>"}, "address"},
			{map[string]any{"kind": "webhook", "address": "ftp://example.com/hook"}, "address"},
			{map[string]any{"kind": "webhook", "address": "/relative/hook"}, "address"},
			{map[string]any{"kind": "slack", "address": "https://user:pw@hooks.example.com/x"}, "address"},
			{map[string]any{"kind": "teams", "address": "https:///nohost"}, "address"},
			{map[string]any{"kind": "email", "address": "a@example.com", "label": long}, "label"},
			{map[string]any{"kind": "webhook", "address": "https://h.example/", "headers": many}, "headers"},
			{map[string]any{"kind": "email", "address": "a@example.com", "headers": map[string]string{"X-A": "b"}}, "headers"},
			{map[string]any{"kind": "webhook", "address": "https://h.example/", "headers": map[string]string{"Bad Name": "x"}}, "headers.Bad Name"},
			{map[string]any{"kind": "webhook", "address": "https://h.example/", "headers": map[string]string{"X-Ok": "a\r\nX-Evil: 1"}}, "headers.X-Ok"},
			{map[string]any{"kind": "webhook", "address": "https://h.example/", "headers": map[string]string{"content-type": "text/plain"}}, "headers.content-type"},
			{map[string]any{"kind": "webhook", "address": "https://h.example/", "headers": map[string]string{"Content-Length": "1"}}, "headers.Content-Length"},
			{map[string]any{"kind": "webhook", "address": "https://h.example/", "headers": map[string]string{"Host": "other"}}, "headers.Host"},
			{map[string]any{"kind": "webhook", "address": "https://h.example/", "headers": map[string]string{"Idempotency-Key": "k"}}, "headers.Idempotency-Key"},
			{map[string]any{"kind": "webhook", "address": "https://h.example/", "headers": map[string]string{"x-steady-signature": "s"}}, "headers.x-steady-signature"},
			{map[string]any{"kind": "webhook", "address": "https://h.example/", "headers": map[string]string{"X-A": "1", "x-a": "2"}}, "headers.x-a"},
			{map[string]any{"kind": "email", "address": "a@example.com", "rate_limit": 0}, "rate_limit"},
			{map[string]any{"kind": "email", "address": "a@example.com", "rate_limit": 1001}, "rate_limit"},
			{map[string]any{"kind": "email", "address": "a@example.com", "rate_window_seconds": 59}, "rate_window_seconds"},
			{map[string]any{"kind": "email", "address": "a@example.com", "rate_window_seconds": 86401}, "rate_window_seconds"},
			{map[string]any{"kind": "email", "address": "a@example.com", "secret": "mine"}, "secret"},
		} {
			wantProblem(c.do("POST", mine, alice.Token, tc.body), 400, tc.field)
		}
		if n := c.count("SELECT COUNT(*) FROM contact_methods"); n != before {
			t.Fatalf("refused methods were stored: %d, was %d", n, before)
		}

		// Access: another user's methods are not theirs to see or change;
		// an admin may manage anyone's.
		bobHook := id(c.do("POST", "/api/v1/users/me/contact-methods", bob.Token, map[string]any{"kind": "webhook", "address": "https://bob.example/h"}).Want(201))
		wantProblem(c.do("GET", alices, bob.Token, nil), 403)
		wantProblem(c.do("POST", alices, bob.Token, map[string]any{"kind": "email", "address": "evil@example.com"}), 403)
		wantProblem(c.do("GET", path("%s/%d", alices, emailID), bob.Token, nil), 403)
		wantProblem(c.do("DELETE", path("%s/%d", alices, emailID), bob.Token, nil), 403)
		wantProblem(c.do("POST", path("%s/%d/rotate-secret", alices, hookID), bob.Token, nil), 403)
		wantProblem(c.do("POST", path("%s/%d/test", alices, hookID), bob.Token, nil), 403)
		wantProblem(c.do("GET", path("/api/v1/users/%d/notification-rules", alice.ID), bob.Token, nil), 403)
		// Alice's method under Bob's own id is not found.
		wantProblem(c.do("GET", path("/api/v1/users/me/contact-methods/%d", emailID), bob.Token, nil), 404)
		wantProblem(c.do("DELETE", path("/api/v1/users/me/contact-methods/%d", emailID), bob.Token, nil), 404)
		wantProblem(c.do("PATCH", path("/api/v1/users/me/contact-methods/%d", emailID), bob.Token, map[string]any{"label": "x"}), 404)
		if l, _ := items(c.do("GET", alices, admin, nil).Want(200)); len(l) != 3 {
			t.Fatalf("admin sees %d of alice's methods", len(l))
		}
		adminMade := id(c.do("POST", alices, admin, map[string]any{"kind": "teams", "address": "https://example.webhook.office.com/x"}).Want(201))
		c.do("DELETE", path("%s/%d", alices, adminMade), admin, nil).Want(204)
		wantProblem(c.do("GET", "/api/v1/users/999999/contact-methods", admin, nil), 404)
		wantProblem(c.do("POST", "/api/v1/users/999999/contact-methods", admin, map[string]any{"kind": "email", "address": "a@example.com"}), 404)
		wantProblem(c.do("GET", path("%s/999999", alices), admin, nil), 404)

		// Rules: ordered by delay, then id; each names its method.
		rules := "/api/v1/users/me/notification-rules"
		late := c.do("POST", rules, alice.Token, map[string]any{"contact_method_id": hookID, "delay_minutes": 5}).Want(201).Map()
		if late["contact_method_kind"] != "webhook" || late["delay_minutes"] != float64(5) || late["user_id"] != float64(alice.ID) {
			t.Fatalf("rule: %v", late)
		}
		first := id(c.do("POST", rules, alice.Token, map[string]any{"contact_method_id": emailID}).Want(201))
		c.do("POST", rules, alice.Token, map[string]any{"contact_method_id": slack, "delay_minutes": 5}).Want(201)
		c.do("POST", rules, alice.Token, map[string]any{"contact_method_id": emailID, "delay_minutes": 30}).Want(201)
		rl, _ := items(c.do("GET", rules, alice.Token, nil).Want(200))
		var order []float64
		for _, ru := range rl {
			order = append(order, ru["delay_minutes"].(float64))
		}
		if len(rl) != 4 || rl[0]["id"] != float64(first) || rl[0]["contact_method_label"] != "personal" ||
			order[1] != 5 || order[2] != 5 || rl[1]["contact_method_id"] != float64(hookID) || order[3] != 30 {
			t.Fatalf("rules: %v", rl)
		}
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"delay_minutes": 5}, "contact_method_id"},
			{map[string]any{"contact_method_id": emailID, "delay_minutes": -1}, "delay_minutes"},
			{map[string]any{"contact_method_id": emailID, "delay_minutes": 1441}, "delay_minutes"},
			{map[string]any{"contact_method_id": bobHook}, "contact_method_id"},
			{map[string]any{"contact_method_id": 999999}, "contact_method_id"},
			{map[string]any{"contact_method_id": hookID, "delay_minutes": 5}, "delay_minutes"},
		} {
			wantProblem(c.do("POST", rules, alice.Token, tc.body), 400, tc.field)
		}
		wantProblem(c.do("POST", path("/api/v1/users/%d/notification-rules", alice.ID), bob.Token, map[string]any{"contact_method_id": bobHook}), 403)
		adminRule := id(c.do("POST", path("/api/v1/users/%d/notification-rules", alice.ID), admin, map[string]any{"contact_method_id": slack, "delay_minutes": 60}).Want(201))
		wantProblem(c.do("DELETE", path("/api/v1/users/me/notification-rules/%d", adminRule), bob.Token, nil), 404)
		c.do("DELETE", path("/api/v1/users/%d/notification-rules/%d", alice.ID, adminRule), admin, nil).Want(204)
		wantProblem(c.do("DELETE", path("/api/v1/users/%d/notification-rules/%d", alice.ID, adminRule), admin, nil), 404)

		// Deleting a method deletes its rules.
		c.do("DELETE", path("%s/%d", mine, hookID), alice.Token, nil).Want(204)
		wantProblem(c.do("GET", path("%s/%d", mine, hookID), alice.Token, nil), 404)
		rl, _ = items(c.do("GET", rules, alice.Token, nil).Want(200))
		if len(rl) != 3 {
			t.Fatalf("rules after deleting the webhook: %v", rl)
		}
		for _, ru := range rl {
			if ru["contact_method_id"] == float64(hookID) {
				t.Fatalf("a rule of the deleted method survived: %v", rl)
			}
		}
		if n := c.count("SELECT COUNT(*) FROM notification_rules WHERE contact_method_id = $1", hookID); n != 0 {
			t.Fatalf("%d rules of the deleted method in the database", n)
		}

		// Every change is audited, and no secret or header value reaches the trail.
		if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'contact_method.%' OR action LIKE 'notification_rule.%'"); n < 14 {
			t.Fatalf("%d audit entries for contact changes", n)
		}
		for _, leak := range []string{secret, newSecret, "hook-credential", "T0/B0/xyz"} {
			if n := c.count("SELECT COUNT(*) FROM audit_log WHERE changes LIKE $1 OR summary LIKE $1", "%"+leak+"%"); n != 0 {
				t.Fatalf("the audit trail holds %q", leak)
			}
		}
		del := c.do("GET", "/api/v1/audit?action=contact_method.delete", admin, nil).Want(200)
		if !strings.Contains(string(del.Body), "and its 1 notification rule") {
			t.Fatalf("the delete entry does not say its rules went too: %s", del.Body)
		}
	})
}

// TestContactMethodSendTest: "send a test" queues a message in the outbox.
func TestContactMethodSendTest(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		u := c.user(iam.RoleViewer)
		m := id(c.do("POST", "/api/v1/users/me/contact-methods", u.Token, map[string]any{"kind": "email", "address": "me@example.com"}).Want(201))
		wantProblem(c.do("POST", "/api/v1/users/me/contact-methods/999999/test", u.Token, nil), 404)
		it := c.do("POST", path("/api/v1/users/me/contact-methods/%d/test", m), u.Token, nil).Want(202).Map()
		if it["id"] == nil || it["contact_method_id"] != float64(m) || it["kind"] != "test" {
			t.Fatalf("queued test: %v", it)
		}
		// An admin may test anyone's method.
		c.do("POST", path("/api/v1/users/%d/contact-methods/%d/test", u.ID, m), s.AdminToken, nil).Want(202)
	})
}
