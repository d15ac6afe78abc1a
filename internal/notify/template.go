package notify

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Message templates: per message kind a subject and a text body
// (text/template) and an HTML body (html/template, which escapes what it
// inserts). The built-in ones are embedded; an admin may replace a kind's
// template, and reset it to the built-in one. A replacement that fails when a
// message is rendered gives way to the built-in template, so that a page is
// never lost to a template error.

// TemplateKinds are the kinds of message that have a template.
var TemplateKinds = []string{MessagePage, MessageSummary, MessageTest}

// Size limits of a template's sources and of what it renders.
const (
	MaxSubjectSource = 1000
	MaxTextSource    = 20000
	MaxHTMLSource    = 100000
	maxTextOut       = 64 << 10
	maxHTMLOut       = 256 << 10
)

//go:embed templates/*.tmpl
var builtinFiles embed.FS

// TemplateSource is the source of one kind's template.
type TemplateSource struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	// HTML may be empty: email then has a text part only.
	HTML string `json:"html"`
}

// Template is one kind's template in effect, and the built-in one.
type Template struct {
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// Custom is true when an admin replaced the built-in template.
	Custom    bool           `json:"custom"`
	UpdatedAt *time.Time     `json:"updated_at"`
	UpdatedBy string         `json:"updated_by"`
	Builtin   TemplateSource `json:"builtin"`
}

// Preview is a template rendered with sample data.
type Preview struct {
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// Templates renders messages from the built-in templates or an admin's
// replacement of them.
type Templates struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock
	// Log hears of replacements that failed and gave way to the built-in
	// template; nil means slog's default logger.
	Log *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedTemplate // kind → the parsed replacement
}

type cachedTemplate struct {
	src TemplateSource
	c   *compiled
}

// NewTemplates returns the template store.
func NewTemplates(d *db.DB, a *audit.Log, c clock.Clock) *Templates {
	return &Templates{DB: d, Audit: a, Clock: c}
}

// compiled is a parsed template set.
type compiled struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template // nil: no HTML part
}

// templateFuncs are the functions templates may call.
var templateFuncs = map[string]any{
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"trim":  strings.TrimSpace,
	"join":  strings.Join,
	"truncate": func(n int, s string) string {
		return truncate(s, n)
	},
	"plural": func(n int, one, many string) string { return plural(n, one, many) },
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}

// compile parses a template's sources. Its errors name the field.
func compile(kind string, src TemplateSource) (*compiled, error) {
	var f errs.Fields
	c := &compiled{}
	var err error
	if c.subject, err = texttemplate.New(kind + ".subject").Option("missingkey=error").Funcs(templateFuncs).Parse(src.Subject); err != nil {
		f.Add("subject", templateError(err))
	}
	if c.text, err = texttemplate.New(kind + ".text").Option("missingkey=error").Funcs(templateFuncs).Parse(src.Text); err != nil {
		f.Add("text", templateError(err))
	}
	if strings.TrimSpace(src.HTML) != "" {
		if c.html, err = htmltemplate.New(kind + ".html").Option("missingkey=error").Funcs(templateFuncs).Parse(src.HTML); err != nil {
			f.Add("html", templateError(err))
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// templateError is a template error without Go's "template: " prefix.
func templateError(err error) string {
	return "template error: " + strings.TrimPrefix(err.Error(), "template: ")
}

// capped is a buffer that refuses to grow past max, so that a template that
// loops ({{range 100000000}}) fails as soon as its output is too long,
// instead of filling the memory first.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, fmt.Errorf("renders more than %d bytes", c.max)
	}
	return c.Buffer.Write(p)
}

// execute renders data. Its errors name the field.
func (c *compiled) execute(data MessageData) (Message, error) {
	var m Message
	b := &capped{max: maxHTMLOut + 1}
	if err := c.subject.Execute(b, data); err != nil {
		return m, errs.Invalid("subject", templateError(err))
	}
	m.Subject = oneLine(b.String(), maxSubject)
	if m.Subject == "" {
		return m, errs.Invalid("subject", "renders empty")
	}
	b.Reset()
	if err := c.text.Execute(b, data); err != nil {
		return m, errs.Invalid("text", templateError(err))
	}
	if b.Len() > maxTextOut {
		return m, errs.Invalid("text", fmt.Sprintf("renders %d bytes; at most %d are sent", b.Len(), maxTextOut))
	}
	m.Text = b.String()
	if strings.TrimSpace(m.Text) == "" {
		return m, errs.Invalid("text", "renders empty")
	}
	if c.html != nil {
		b.Reset()
		if err := c.html.Execute(b, data); err != nil {
			return m, errs.Invalid("html", templateError(err))
		}
		if b.Len() > maxHTMLOut {
			return m, errs.Invalid("html", fmt.Sprintf("renders %d bytes; at most %d are sent", b.Len(), maxHTMLOut))
		}
		m.HTML = b.String()
	}
	return m, nil
}

// builtins are the embedded templates, parsed once; a broken one stops the
// program at start.
var builtinSources, builtins = mustBuiltins()

func mustBuiltins() (map[string]TemplateSource, map[string]*compiled) {
	srcs, out := map[string]TemplateSource{}, map[string]*compiled{}
	read := func(name string) string {
		b, err := builtinFiles.ReadFile("templates/" + name)
		if err != nil {
			panic(fmt.Sprintf("notify: built-in template %s: %v", name, err))
		}
		return string(b)
	}
	for _, k := range TemplateKinds {
		src := TemplateSource{Subject: strings.TrimRight(read(k+".subject.tmpl"), "\n"), Text: read(k + ".text.tmpl"), HTML: read(k + ".html.tmpl")}
		c, err := compile(k, src)
		if err != nil {
			panic(fmt.Sprintf("notify: built-in template %s: %v", k, err))
		}
		if _, err := c.execute(SampleData(k)); err != nil {
			panic(fmt.Sprintf("notify: built-in template %s: %v", k, err))
		}
		srcs[k], out[k] = src, c
	}
	return srcs, out
}

// BuiltinTemplate returns the built-in source of a kind.
func BuiltinTemplate(kind string) (TemplateSource, bool) {
	s, ok := builtinSources[kind]
	return s, ok
}

// RenderBuiltin renders data with the built-in template of its kind.
func RenderBuiltin(data MessageData) (Message, error) {
	c, ok := builtins[data.Kind]
	if !ok {
		return Message{}, fmt.Errorf("there is no message template for kind %q", data.Kind)
	}
	return c.execute(data)
}

func (t *Templates) log() *slog.Logger {
	if t.Log == nil {
		return slog.Default()
	}
	return t.Log
}

func (t *Templates) now() time.Time {
	if t.Clock == nil {
		return time.Now()
	}
	return t.Clock.Now()
}

type templateRow struct {
	src       TemplateSource
	updatedAt time.Time
	updatedBy string
}

// override reads the admin's replacement of kind through q; ok is false when
// there is none.
func override(ctx context.Context, q db.Querier, kind string) (templateRow, bool, error) {
	var r templateRow
	var at int64
	err := q.QueryRowContext(ctx, "SELECT subject, text_body, html_body, updated_at, updated_by FROM notification_templates WHERE kind = $1", kind).
		Scan(&r.src.Subject, &r.src.Text, &r.src.HTML, &at, &r.updatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, db.Classify(err)
	}
	r.updatedAt = clock.FromMillis(at)
	return r, true, nil
}

// compiledOverride parses a replacement once and keeps it while its source
// stays the same.
func (t *Templates) compiledOverride(kind string, src TemplateSource) (*compiled, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.cache[kind]; ok && c.src == src {
		return c.c, nil
	}
	c, err := compile(kind, src)
	if err != nil {
		return nil, err
	}
	if t.cache == nil {
		t.cache = map[string]cachedTemplate{}
	}
	t.cache[kind] = cachedTemplate{src: src, c: c}
	return c, nil
}

// Render renders the template for data.Kind through q: the admin's
// replacement when there is one and it renders, else the built-in one.
func (t *Templates) Render(ctx context.Context, q db.Querier, data MessageData) (Message, error) {
	b, ok := builtins[data.Kind]
	if !ok {
		return Message{}, fmt.Errorf("there is no message template for kind %q", data.Kind)
	}
	row, found, err := override(ctx, q, data.Kind)
	if err != nil {
		return Message{}, err
	}
	if found {
		c, err := t.compiledOverride(data.Kind, row.src)
		if err == nil {
			var m Message
			if m, err = c.execute(data); err == nil {
				return m, nil
			}
		}
		t.log().WarnContext(ctx, "the custom message template failed; the built-in one is used instead",
			"kind", data.Kind, "updated_by", row.updatedBy, "error", err.Error())
	}
	return b.execute(data)
}

func knownKind(kind string) error {
	if _, ok := builtins[kind]; !ok {
		return errs.NotFound("there is no message template %q (the kinds are page, summary and test)", kind)
	}
	return nil
}

func (t *Templates) template(ctx context.Context, q db.Querier, kind string) (Template, error) {
	if err := knownKind(kind); err != nil {
		return Template{}, err
	}
	b := builtinSources[kind]
	out := Template{Kind: kind, Subject: b.Subject, Text: b.Text, HTML: b.HTML, Builtin: b}
	row, found, err := override(ctx, q, kind)
	if err != nil {
		return out, err
	}
	if found {
		at := row.updatedAt
		out.Subject, out.Text, out.HTML = row.src.Subject, row.src.Text, row.src.HTML
		out.Custom, out.UpdatedAt, out.UpdatedBy = true, &at, row.updatedBy
	}
	return out, nil
}

// List returns every kind's template.
func (t *Templates) List(ctx context.Context) ([]Template, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	out := make([]Template, 0, len(TemplateKinds))
	for _, k := range TemplateKinds {
		tp, err := t.template(ctx, t.DB.R, k)
		if err != nil {
			return nil, err
		}
		out = append(out, tp)
	}
	return out, nil
}

// Get returns one kind's template.
func (t *Templates) Get(ctx context.Context, kind string) (Template, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Template{}, err
	}
	return t.template(ctx, t.DB.R, kind)
}

// check validates a template's sources: sizes, then parsing, then a render
// with the kind's sample data. Errors name the field.
func check(kind string, src TemplateSource) error {
	var f errs.Fields
	f.Text("subject", src.Subject)
	f.Text("text", src.Text)
	f.Text("html", src.HTML)
	f.Check(strings.TrimSpace(src.Subject) == "", "subject", "is required")
	f.Check(strings.TrimSpace(src.Text) == "", "text", "is required")
	f.Check(len(src.Subject) > MaxSubjectSource, "subject", fmt.Sprintf("must be at most %d bytes", MaxSubjectSource))
	f.Check(len(src.Text) > MaxTextSource, "text", fmt.Sprintf("must be at most %d bytes", MaxTextSource))
	f.Check(len(src.HTML) > MaxHTMLSource, "html", fmt.Sprintf("must be at most %d bytes", MaxHTMLSource))
	if err := f.Err(); err != nil {
		return err
	}
	c, err := compile(kind, src)
	if err != nil {
		return err
	}
	_, err = c.execute(SampleData(kind))
	return err
}

// Save replaces a kind's template. It must parse and render the kind's
// sample data.
func (t *Templates) Save(ctx context.Context, kind string, src TemplateSource) (Template, error) {
	if err := iam.Require(ctx, iam.RoleAdmin); err != nil {
		return Template{}, err
	}
	if err := knownKind(kind); err != nil {
		return Template{}, err
	}
	if err := check(kind, src); err != nil {
		return Template{}, err
	}
	by := "steady"
	if p, ok := iam.PrincipalFrom(ctx); ok {
		by = p.Actor().Name
	}
	var out Template
	err := t.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notification_templates (kind, subject, text_body, html_body, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (kind) DO UPDATE SET subject = excluded.subject, text_body = excluded.text_body,
				html_body = excluded.html_body, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			kind, src.Subject, src.Text, src.HTML, t.now().UnixMilli(), by); err != nil {
			return err
		}
		if err := t.Audit.Record(ctx, tx, audit.Event{Action: "notification_template.update", ObjectType: "notification_template",
			ObjectID: kind, Summary: "changed the " + kind + " message template",
			Changes: map[string]any{"subject": src.Subject, "text": src.Text, "html": src.HTML}}); err != nil {
			return err
		}
		var err error
		out, err = t.template(ctx, tx, kind)
		return err
	})
	return out, err
}

// Reset goes back to the built-in template of a kind. Resetting a kind that
// uses the built-in template already changes nothing.
func (t *Templates) Reset(ctx context.Context, kind string) error {
	if err := iam.Require(ctx, iam.RoleAdmin); err != nil {
		return err
	}
	if err := knownKind(kind); err != nil {
		return err
	}
	return t.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM notification_templates WHERE kind = $1", kind)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return t.Audit.Record(ctx, tx, audit.Event{Action: "notification_template.reset", ObjectType: "notification_template",
			ObjectID: kind, Summary: "reset the " + kind + " message template to the built-in one"})
	})
}

// Preview renders a kind's sample data with src (admins), or with the
// template in effect when src is nil (anyone). Nothing is saved.
func (t *Templates) Preview(ctx context.Context, kind string, src *TemplateSource) (Preview, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Preview{}, err
	}
	if err := knownKind(kind); err != nil {
		return Preview{}, err
	}
	if src != nil {
		// Running a template someone wrote is the admins' right (as saving
		// one is): a template can loop for as long as it likes.
		if err := iam.Require(ctx, iam.RoleAdmin); err != nil {
			return Preview{}, err
		}
	}
	if src == nil {
		cur, err := t.template(ctx, t.DB.R, kind)
		if err != nil {
			return Preview{}, err
		}
		src = &TemplateSource{Subject: cur.Subject, Text: cur.Text, HTML: cur.HTML}
	}
	if err := check(kind, *src); err != nil {
		return Preview{}, err
	}
	c, err := compile(kind, *src)
	if err != nil {
		return Preview{}, err
	}
	m, err := c.execute(SampleData(kind))
	if err != nil {
		return Preview{}, err
	}
	return Preview{Kind: kind, Subject: m.Subject, Text: m.Text, HTML: m.HTML}, nil
}

// SampleData is made-up data of a kind, for previews and for checking a
// template before it is saved.
func SampleData(kind string) MessageData {
	base := "https://steady.example.com"
	opened := time.Date(2026, 3, 14, 9, 26, 0, 0, time.UTC)
	inc := IncidentInfo{ID: 42, Number: "INC-42", Title: "Checkout latency above 2s on api-1 & api-2", Status: "triggered",
		Priority: "P1", Severity: "critical", Service: "checkout-api", URL: base + "/incidents/42", CreatedAt: opened}
	d := MessageData{Kind: kind, Recipient: "Ada Lovelace", BaseURL: base}
	switch kind {
	case MessagePage:
		d.Incident, d.Level, d.Reason = inc, 1, "level 1: on call in Primary"
		d.AcknowledgeURL = base + "/l/sample-acknowledge-token"
		d.ResolveURL = base + "/l/sample-resolve-token"
	case MessageSummary:
		d.Held = []IncidentInfo{inc,
			{ID: 43, Number: "INC-43", Title: "Disk almost full on db-1", Status: "acknowledged", Priority: "P3", Severity: "warning",
				Service: "orders-db", URL: base + "/incidents/43", CreatedAt: opened.Add(4 * time.Minute)},
			{ID: 44, Number: "INC-44", Title: "Certificate of shop.example.com expires in 5 days", Status: "triggered", Priority: "P4",
				Severity: "info", Service: "edge", URL: base + "/incidents/44", CreatedAt: opened.Add(9 * time.Minute)}}
	}
	return d
}
