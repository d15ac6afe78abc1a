package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/cli"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestTemplateCommands(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		return out
	}
	if out := ok("template", "list"); !strings.Contains(out, "page") || !strings.Contains(out, "summary") || !strings.Contains(out, "test") {
		t.Fatalf("template list: %q", out)
	}
	if out := ok("template", "show", "page"); !strings.Contains(out, "page: the built-in template") || !strings.Contains(out, "{{.Incident.Title}}") ||
		!strings.Contains(out, "--- html ---") {
		t.Fatalf("template show: %q", out)
	}

	dir := t.TempDir()
	text := filepath.Join(dir, "page.txt")
	if err := os.WriteFile(text, []byte("Paged: {{.Incident.Title}} ({{.Incident.Priority}})\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok("template", "set", "page", "--subject", "PAGE {{.Incident.Number}}", "--text-file", text, "--no-html")
	out := ok("template", "show", "page")
	if !strings.Contains(out, "page: custom, saved") || !strings.Contains(out, "Subject: PAGE {{.Incident.Number}}") || !strings.Contains(out, "(none: email has a text part only)") {
		t.Fatalf("show after set: %q", out)
	}
	out = ok("template", "preview", "page")
	if !strings.Contains(out, "Subject: PAGE INC-42") || !strings.Contains(out, "Paged: Checkout latency above 2s on api-1 & api-2 (P1)") {
		t.Fatalf("preview: %q", out)
	}
	// A preview of a part given on standard input; nothing saved.
	code, out, errs := runTemplateInput(t, env, "Only {{len .Held}}", "template", "preview", "summary", "--subject-file", "-")
	if code != 0 || !strings.Contains(out, "Subject: Only 3") {
		t.Fatalf("preview from stdin: %d %q %q", code, out, errs)
	}
	if out := ok("template", "list", "-o", "json"); strings.Count(out, `"custom": true`) != 1 {
		t.Fatalf("list after a preview: %q", out)
	}

	// A broken template: the error names the field; nothing changes.
	code, _, errs = run(t, env, "template", "set", "test", "--subject", "{{.Recipient")
	if code != 1 || !strings.Contains(errs, "subject") || !strings.Contains(errs, "template error") {
		t.Fatalf("bad set: %d %q", code, errs)
	}
	if code, _, errs := run(t, env, "template", "set", "page"); code != 2 || !strings.Contains(errs, "at least one") {
		t.Fatalf("set without parts: %d %q", code, errs)
	}
	if code, _, errs := run(t, env, "template", "show", "fax"); code != 1 || !strings.Contains(errs, "fax") {
		t.Fatalf("unknown kind: %d %q", code, errs)
	}

	ok("template", "reset", "page")
	if out := ok("template", "show", "page"); !strings.Contains(out, "page: the built-in template") {
		t.Fatalf("after reset: %q", out)
	}
}

// runTemplateInput is run with stdin as standard input.
func runTemplateInput(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), append([]string{"steady"}, args...), func(k string) string { return env[k] },
		strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}
