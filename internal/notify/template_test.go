package notify_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

var (
	adminCtx  = iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "admin@example.com", Role: iam.RoleAdmin})
	viewerCtx = iam.WithPrincipal(context.Background(), iam.Principal{UserID: 2, Email: "viewer@example.com", Role: iam.RoleViewer})
)

// wantInvalid fails unless err is a validation error naming field (and,
// when given, saying detail).
func wantInvalid(t *testing.T, err error, field, detail string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid {
		t.Fatalf("error %v; want invalid %s", err, field)
	}
	for _, f := range e.Fields {
		if f.Field == field && strings.Contains(f.Detail, detail) {
			return
		}
	}
	t.Fatalf("error fields %+v; want %s: …%s…", e.Fields, field, detail)
}

func TestBuiltinTemplates(t *testing.T) {
	for _, k := range notify.TemplateKinds {
		m, err := notify.RenderBuiltin(notify.SampleData(k))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || m.Text == "" || !strings.Contains(m.HTML, "<html") {
			t.Fatalf("%s: %+v", k, m)
		}
	}
	page, _ := notify.RenderBuiltin(notify.SampleData(notify.MessagePage))
	if page.Subject != "[P1] INC-42: Checkout latency above 2s on api-1 & api-2" {
		t.Fatalf("page subject %q", page.Subject)
	}
	for _, want := range []string{"Ada Lovelace", "Priority: P1", "Service:  checkout-api", "level 1: on call in Primary",
		"Acknowledge: https://steady.example.com/l/sample-acknowledge-token", "2026-03-14 09:26 UTC"} {
		if !strings.Contains(page.Text, want) {
			t.Fatalf("page text lacks %q:\n%s", want, page.Text)
		}
	}
	if !strings.Contains(page.HTML, "api-1 &amp; api-2") {
		t.Fatalf("page html is not escaped:\n%s", page.HTML)
	}
	sum, _ := notify.RenderBuiltin(notify.SampleData(notify.MessageSummary))
	if sum.Subject != "3 pages held back for Ada Lovelace" || !strings.Contains(sum.Text, "- INC-43: Disk almost full on db-1 (P3), acknowledged") {
		t.Fatalf("summary: %q\n%s", sum.Subject, sum.Text)
	}
	// A page without links or optional fields still reads well.
	sparse := notify.MessageData{Kind: notify.MessagePage, Recipient: "Bo", Incident: notify.IncidentInfo{ID: 1, Title: "Down"}}
	m, err := notify.RenderBuiltin(sparse)
	if err != nil || m.Subject != "Down" || strings.Contains(m.Text, "Acknowledge:") || strings.Contains(m.Text, "<no value>") {
		t.Fatalf("sparse page: %v %q\n%s", err, m.Subject, m.Text)
	}
	if _, err := notify.RenderBuiltin(notify.MessageData{Kind: "fax"}); err == nil {
		t.Fatal("an unknown kind rendered")
	}
}

func TestTemplateStore(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		tp := s.App.Templates
		ctx := context.Background()
		var logs bytes.Buffer
		tp.Log = slog.New(slog.NewTextHandler(&logs, nil))

		// Defaults: the built-in templates, through the read pool and in a transaction.
		for _, k := range notify.TemplateKinds {
			want, _ := notify.RenderBuiltin(notify.SampleData(k))
			got, err := tp.Render(ctx, s.App.DB.R, notify.SampleData(k))
			if err != nil || got != want {
				t.Fatalf("%s: %v\n%+v\n%+v", k, err, got, want)
			}
		}
		err := s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tp.Render(ctx, tx, notify.SampleData(notify.MessagePage))
			return err
		})
		if err != nil {
			t.Fatalf("render in a transaction: %v", err)
		}
		l, err := tp.List(viewerCtx)
		if err != nil || len(l) != 3 || l[0].Kind != "page" || l[0].Custom || l[0].UpdatedAt != nil || l[0].Subject != l[0].Builtin.Subject {
			t.Fatalf("list: %v %+v", err, l)
		}

		// Save a replacement: it is used, escaped in HTML, and audited.
		src := notify.TemplateSource{
			Subject: `PAGE {{.Incident.Number}} {{upper .Incident.Priority}}`,
			Text:    "Hi {{.Recipient}}: {{.Incident.Title}}\nack {{.AcknowledgeURL}}",
			HTML:    `<p>{{.Incident.Title}}</p><a href="{{.AcknowledgeURL}}">ack</a>`,
		}
		saved, err := tp.Save(adminCtx, "page", src)
		if err != nil {
			t.Fatal(err)
		}
		if !saved.Custom || saved.UpdatedBy != "admin@example.com" || saved.UpdatedAt == nil || saved.Subject != src.Subject ||
			saved.Builtin.Subject == src.Subject {
			t.Fatalf("saved: %+v", saved)
		}
		data := notify.SampleData(notify.MessagePage)
		data.Incident.Title = `<script>alert("x")</script>`
		m, err := tp.Render(ctx, s.App.DB.R, data)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "PAGE INC-42 P1" || m.Text != "Hi Ada Lovelace: <script>alert(\"x\")</script>\nack "+data.AcknowledgeURL ||
			m.HTML != `<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p><a href="`+data.AcknowledgeURL+`">ack</a>` {
			t.Fatalf("custom render: %+v", m)
		}
		// A second save replaces the first (and the parsed copy is not stale).
		src.Subject = "PAGE v2 {{.Incident.Number}}"
		if _, err := tp.Save(adminCtx, "page", src); err != nil {
			t.Fatal(err)
		}
		if m, _ := tp.Render(ctx, s.App.DB.R, data); m.Subject != "PAGE v2 INC-42" {
			t.Fatalf("after the second save: %q", m.Subject)
		}
		if got, _ := tp.Get(viewerCtx, "page"); !got.Custom || got.Subject != src.Subject {
			t.Fatalf("get: %+v", got)
		}

		// Validation: every error names its field, and nothing is written.
		bad := []struct {
			src           notify.TemplateSource
			field, detail string
		}{
			{notify.TemplateSource{Subject: "{{.Incident.Title", Text: "x"}, "subject", "template error"},
			{notify.TemplateSource{Subject: "s", Text: "{{.Nope}}"}, "text", "can't evaluate field Nope"},
			{notify.TemplateSource{Subject: "s", Text: "x", HTML: "<p>{{if}}</p>"}, "html", "template error"},
			{notify.TemplateSource{Subject: "s", Text: "x", HTML: "<p>{{.Incident.Nope}}</p>"}, "html", "Nope"},
			{notify.TemplateSource{Subject: " ", Text: "x"}, "subject", "is required"},
			{notify.TemplateSource{Subject: "s", Text: ""}, "text", "is required"},
			{notify.TemplateSource{Subject: "{{if false}}x{{end}}", Text: "x"}, "subject", "renders empty"},
			{notify.TemplateSource{Subject: "s", Text: strings.Repeat("x", notify.MaxTextSource+1)}, "text", "at most"},
			{notify.TemplateSource{Subject: "s", Text: "x", HTML: "\x00"}, "html", "valid text"},
		}
		for _, b := range bad {
			_, err := tp.Save(adminCtx, "test", b.src)
			wantInvalid(t, err, b.field, b.detail)
		}
		if got, _ := tp.Get(viewerCtx, "test"); got.Custom {
			t.Fatal("an invalid template was saved")
		}
		if _, err := tp.Save(viewerCtx, "test", notify.TemplateSource{Subject: "s", Text: "t"}); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a viewer saved: %v", err)
		}
		if _, err := tp.Save(adminCtx, "fax", notify.TemplateSource{Subject: "s", Text: "t"}); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("unknown kind: %v", err)
		}
		if _, err := tp.Get(viewerCtx, "fax"); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("unknown kind: %v", err)
		}

		// A replacement that passes the sample but fails on real data gives
		// way to the built-in template, and says so in the log.
		if _, err := tp.Save(adminCtx, "summary", notify.TemplateSource{Subject: "first: {{(index .Held 0).Title}}", Text: "x"}); err != nil {
			t.Fatal(err)
		}
		sum := notify.MessageData{Kind: notify.MessageSummary, Recipient: "Bo"}
		want, _ := notify.RenderBuiltin(sum)
		if got, err := tp.Render(ctx, s.App.DB.R, sum); err != nil || got != want {
			t.Fatalf("fallback: %v %+v", err, got)
		}
		if !strings.Contains(logs.String(), "kind=summary") || !strings.Contains(logs.String(), "built-in") {
			t.Fatalf("log: %s", logs.String())
		}
		// So does one that no longer parses (written behind the store's back).
		if _, err := s.App.DB.W.ExecContext(ctx, "UPDATE notification_templates SET subject = '{{.Broken' WHERE kind = 'page'"); err != nil {
			t.Fatal(err)
		}
		want, _ = notify.RenderBuiltin(data)
		if got, err := tp.Render(ctx, s.App.DB.R, data); err != nil || got != want {
			t.Fatalf("fallback from a broken template: %v %+v", err, got)
		}

		// Preview: of a given source (admins: a template can loop), of the
		// current template (anyone); errors name fields.
		if _, err := tp.Preview(viewerCtx, "test", &notify.TemplateSource{Subject: "s", Text: "t"}); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a viewer ran their own template: %v", err)
		}
		p, err := tp.Preview(adminCtx, "test", &notify.TemplateSource{Subject: "Hello {{.Recipient}}", Text: "t", HTML: "<b>{{.Recipient}}</b>"})
		if err != nil || p.Subject != "Hello Ada Lovelace" || p.HTML != "<b>Ada Lovelace</b>" {
			t.Fatalf("preview: %v %+v", err, p)
		}
		if p, err := tp.Preview(viewerCtx, "test", nil); err != nil || p.Subject != "Test message from Steady" {
			t.Fatalf("preview of the current: %v %+v", err, p)
		}
		_, err = tp.Preview(adminCtx, "test", &notify.TemplateSource{Subject: "s", Text: "{{.Missing}}"})
		wantInvalid(t, err, "text", "Missing")
		// A loop stops as soon as its output is too long.
		_, err = tp.Preview(adminCtx, "test", &notify.TemplateSource{Subject: "s", Text: "{{range 100000000}}0123456789{{end}}"})
		wantInvalid(t, err, "text", "renders more than")

		// Reset: back to the built-in template; again is harmless.
		if err := tp.Reset(viewerCtx, "summary"); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a viewer reset: %v", err)
		}
		for range 2 {
			if err := tp.Reset(adminCtx, "summary"); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := tp.Get(viewerCtx, "summary"); got.Custom || got.Subject != got.Builtin.Subject {
			t.Fatalf("after reset: %+v", got)
		}
		var updates, resets int
		s.App.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'notification_template.update'").Scan(&updates)
		s.App.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'notification_template.reset'").Scan(&resets)
		if updates != 3 || resets != 1 {
			t.Fatalf("audit: %d updates, %d resets", updates, resets)
		}
	})
}
