package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// messageTemplate is a template as the API answers it.
type messageTemplate struct {
	Kind      string `json:"kind"`
	Subject   string `json:"subject"`
	Text      string `json:"text"`
	HTML      string `json:"html"`
	Custom    bool   `json:"custom"`
	UpdatedAt string `json:"updated_at"`
	UpdatedBy string `json:"updated_by"`
}

// templateSourceFlags are the flags that give a template's sources.
type templateSourceFlags struct {
	subject, subjectFile, textFile, htmlFile string
	noHTML                                   bool
}

func (f *templateSourceFlags) add(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.subject, "subject", "", "the subject template, as text")
	fl.StringVar(&f.subjectFile, "subject-file", "", "file with the subject template (- for standard input)")
	fl.StringVar(&f.textFile, "text-file", "", "file with the text template (- for standard input)")
	fl.StringVar(&f.htmlFile, "html-file", "", "file with the HTML template (- for standard input)")
	fl.BoolVar(&f.noHTML, "no-html", false, "send email without an HTML part")
}

func (f *templateSourceFlags) given() bool {
	return f.subject != "" || f.subjectFile != "" || f.textFile != "" || f.htmlFile != "" || f.noHTML
}

// body returns the sources, each part read from its flag or, when not
// given, taken from base.
func (f *templateSourceFlags) body(stdin io.Reader, base messageTemplate) (map[string]any, error) {
	if f.subject != "" && f.subjectFile != "" {
		return nil, usageError{fmt.Errorf("give --subject or --subject-file, not both")}
	}
	if f.noHTML && f.htmlFile != "" {
		return nil, usageError{fmt.Errorf("give --html-file or --no-html, not both")}
	}
	dashes := 0
	for _, p := range []string{f.subjectFile, f.textFile, f.htmlFile} {
		if p == "-" {
			dashes++
		}
	}
	if dashes > 1 {
		return nil, usageError{fmt.Errorf("only one of the template files can be standard input (-)")}
	}
	read := func(path, cur string) (string, error) {
		switch path {
		case "":
			return cur, nil
		case "-":
			b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
			return string(b), err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", usageError{err}
		}
		return string(b), nil
	}
	subject := base.Subject
	if f.subject != "" {
		subject = f.subject
	}
	subject, err := read(f.subjectFile, subject)
	if err != nil {
		return nil, err
	}
	text, err := read(f.textFile, base.Text)
	if err != nil {
		return nil, err
	}
	html, err := read(f.htmlFile, base.HTML)
	if err != nil {
		return nil, err
	}
	if f.noHTML {
		html = ""
	}
	return map[string]any{"subject": strings.TrimRight(subject, "\r\n"), "text": text, "html": html}, nil
}

func templatePath(kind string) string {
	return "/api/v1/notification-templates/" + url.PathEscape(kind)
}

func (e *env) getTemplate(ctx context.Context, kind string) (messageTemplate, error) {
	var t messageTemplate
	err := e.client().do(ctx, "GET", templatePath(kind), nil, &t)
	return t, err
}

// printMessage writes a template or a rendered message as a person reads it.
func (e *env) printMessage(head, subject, text, html string) {
	w := e.stdout
	if head != "" {
		fmt.Fprintln(w, head)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Subject:", subject)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "--- text ---")
	fmt.Fprintln(w, strings.TrimRight(text, "\n"))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "--- html ---")
	if html == "" {
		fmt.Fprintln(w, "(none: email has a text part only)")
	} else {
		fmt.Fprintln(w, strings.TrimRight(html, "\n"))
	}
}

func (e *env) templateCmd() *cobra.Command {
	c := &cobra.Command{Use: "template", Short: "Message templates: the subject, text and HTML of pages, summaries and tests",
		Long: `Message templates: per kind (page, summary, test) a subject and text written in Go's
text/template, and an HTML body in html/template, over the message data
(.Recipient, .Incident.Title, .Incident.Priority, .AcknowledgeURL, .Held, …).
Admins may replace the built-in templates and reset them.`}
	c.AddCommand(e.listCmd("list", "List the message templates (built-in or custom)", "/api/v1/notification-templates",
		"kind custom updated_at updated_by subject"))

	c.AddCommand(&cobra.Command{
		Use: "show KIND", Short: "Show a kind's template in effect", Args: args(1, "a kind: page, summary or test"),
		RunE: func(c *cobra.Command, a []string) error {
			if e.output != "table" && e.output != "" {
				return e.call(c.Context(), "GET", templatePath(a[0]), nil, nil)
			}
			t, err := e.getTemplate(c.Context(), a[0])
			if err != nil {
				return err
			}
			head := t.Kind + ": the built-in template"
			if t.Custom {
				head = fmt.Sprintf("%s: custom, saved %s by %s", t.Kind, cell(t.UpdatedAt), t.UpdatedBy)
			}
			e.printMessage(head, t.Subject, t.Text, t.HTML)
			return nil
		},
	})

	var set templateSourceFlags
	setCmd := &cobra.Command{
		Use:   "set KIND [--subject S | --subject-file F] [--text-file F] [--html-file F | --no-html]",
		Short: "Replace a kind's template (the parts not given stay as they are)",
		Args:  args(1, "a kind: page, summary or test"),
		RunE: func(c *cobra.Command, a []string) error {
			if !set.given() {
				return usageError{fmt.Errorf("give at least one of --subject, --subject-file, --text-file, --html-file, --no-html")}
			}
			cur, err := e.getTemplate(c.Context(), a[0])
			if err != nil {
				return err
			}
			body, err := set.body(e.stdin, cur)
			if err != nil {
				return err
			}
			var out messageTemplate
			if err := e.client().do(c.Context(), "PUT", templatePath(a[0]), body, &out); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "saved the %s template\n", out.Kind)
			return nil
		},
	}
	set.add(setCmd)
	c.AddCommand(setCmd)

	c.AddCommand(&cobra.Command{
		Use: "reset KIND", Short: "Go back to a kind's built-in template", Args: args(1, "a kind: page, summary or test"),
		RunE: func(c *cobra.Command, a []string) error {
			if err := e.client().do(c.Context(), "DELETE", templatePath(a[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "the %s template is the built-in one\n", a[0])
			return nil
		},
	})

	var pv templateSourceFlags
	previewCmd := &cobra.Command{
		Use:   "preview KIND [--subject-file F] [--text-file F] [--html-file F]",
		Short: "Render a kind's template (in effect, or with the parts given) with sample data",
		Args:  args(1, "a kind: page, summary or test"),
		RunE: func(c *cobra.Command, a []string) error {
			var body any
			if pv.given() {
				cur, err := e.getTemplate(c.Context(), a[0])
				if err != nil {
					return err
				}
				if body, err = pv.body(e.stdin, cur); err != nil {
					return err
				}
			}
			var out struct {
				Subject string `json:"subject"`
				Text    string `json:"text"`
				HTML    string `json:"html"`
			}
			if e.output != "table" && e.output != "" {
				return e.call(c.Context(), "POST", templatePath(a[0])+"/preview", body, nil)
			}
			if err := e.client().do(c.Context(), "POST", templatePath(a[0])+"/preview", body, &out); err != nil {
				return err
			}
			e.printMessage("", out.Subject, out.Text, out.HTML)
			return nil
		},
	}
	pv.add(previewCmd)
	c.AddCommand(previewCmd)
	return c
}
