package web

import (
	"net/http"
	"strings"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/notify"
)

// Message templates: admins read, replace, preview and reset the subject,
// text and HTML of the messages Steady sends (pages, summaries, tests).

// templateKindText says what each kind of message is for.
var templateKindText = map[string]string{
	notify.MessagePage:    "Pages: an incident needs the person at an escalation level. With one-click acknowledge and resolve links.",
	notify.MessageSummary: "Summaries: the pages held back while a contact method was over its rate limit, in one message.",
	notify.MessageTest:    "Test messages: sent when someone tests a contact method.",
}

type templateRow struct {
	notify.Template
	About string
}

func (s *Server) messageTemplatesPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	l, err := s.Templates.List(r.Context())
	if err != nil {
		return err
	}
	rows := make([]templateRow, 0, len(l))
	for _, t := range l {
		rows = append(rows, templateRow{Template: t, About: templateKindText[t.Kind]})
	}
	return s.render(w, r, http.StatusOK, s.v.messageTemplates, view{Title: "Message templates", Nav: "outbox", Data: rows})
}

type templateFormData struct {
	Template notify.Template
	About    string
	Preview  *notify.Preview
}

func (s *Server) showTemplateForm(w http.ResponseWriter, r *http.Request, status int, t notify.Template, f *form, p *notify.Preview) error {
	return s.render(w, r, status, s.v.messageTemplateForm, view{Title: "The " + t.Kind + " template", Nav: "outbox", Form: f,
		Data: templateFormData{Template: t, About: templateKindText[t.Kind], Preview: p}})
}

// messageTemplate reads the kind of the path, for an admin.
func (s *Server) messageTemplate(r *http.Request) (notify.Template, error) {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return notify.Template{}, err
	}
	return s.Templates.Get(r.Context(), r.PathValue("kind"))
}

func (s *Server) messageTemplatePage(w http.ResponseWriter, r *http.Request) error {
	t, err := s.messageTemplate(r)
	if err != nil {
		return err
	}
	f := newForm(nil).Set("subject", t.Subject).Set("text", t.Text).Set("html", t.HTML)
	return s.showTemplateForm(w, r, http.StatusOK, t, f, nil)
}

// templateSource is what the form holds; line ends as the browser sends
// them ("\r\n") become "\n".
func templateSource(f *form) notify.TemplateSource {
	return notify.TemplateSource{Subject: f.Get("subject"), Text: crlf(f.Value("text")), HTML: crlf(f.Value("html"))}
}

func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func (s *Server) saveMessageTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.messageTemplate(r)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showTemplateForm(w, r, status, t, f, nil) }
	out, err := s.Templates.Save(r.Context(), t.Kind, templateSource(f))
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	return s.done(w, r, "/notification-templates", "Saved the %s template. Messages use it from now on.", out.Kind)
}

// previewMessageTemplate shows the form again with what it renders.
func (s *Server) previewMessageTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.messageTemplate(r)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showTemplateForm(w, r, status, t, f, nil) }
	src := templateSource(f)
	p, err := s.Templates.Preview(r.Context(), t.Kind, &src)
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	return s.showTemplateForm(w, r, http.StatusOK, t, f, &p)
}

// previewMessageTemplateHTML answers with the HTML the form renders, as a
// page of its own (for a new tab): its inline styles apply, and no script
// or outside resource loads.
func (s *Server) previewMessageTemplateHTML(w http.ResponseWriter, r *http.Request) error {
	t, err := s.messageTemplate(r)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	src := templateSource(f)
	p, err := s.Templates.Preview(r.Context(), t.Kind, &src)
	if err != nil {
		show := func(status int, f *form) error { return s.showTemplateForm(w, r, status, t, f, nil) }
		return s.retry(w, r, err, f, nil, show)
	}
	if p.HTML == "" {
		p.HTML = "<!DOCTYPE html><title>No HTML</title><p>This template has no HTML part: email is sent as text only.</p>"
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "+
		"form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err = w.Write([]byte(p.HTML))
	return err
}

func (s *Server) resetMessageTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.messageTemplate(r)
	if err != nil {
		return err
	}
	if err := s.Templates.Reset(r.Context(), t.Kind); err != nil {
		return err
	}
	return s.done(w, r, "/notification-templates", "The %s template is the built-in one again.", t.Kind)
}
