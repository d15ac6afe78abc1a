package web

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// copyFiles returns the embedded templates and assets as a MapFS that a test
// may change.
func copyFiles(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTemplatesFailAtStart(t *testing.T) {
	s := &Server{}
	var err error
	if s.assets, err = hashAssets(files); err != nil {
		t.Fatal(err)
	}
	if _, err := parseViews(files, s.funcs()); err != nil {
		t.Fatalf("the shipped templates do not parse: %v", err)
	}
	for name, change := range map[string]func(fstest.MapFS){
		"a page's file is missing": func(m fstest.MapFS) { delete(m, "templates/teams.html") },
		"a page calls an unknown template": func(m fstest.MapFS) {
			m["templates/teams.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{template "no-such-part" .}}{{end}}`)}
		},
		"a page defines no content": func(m fstest.MapFS) {
			m["templates/teams.html"] = &fstest.MapFile{Data: []byte(`{{define "body"}}x{{end}}`)}
		},
		"a page does not parse": func(m fstest.MapFS) {
			m["templates/teams.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{if}}{{end}}`)}
		},
		"a template file belongs to no page": func(m fstest.MapFS) {
			m["templates/orphan.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{end}}`)}
		},
	} {
		m := copyFiles(t)
		change(m)
		if _, err := parseViews(m, s.funcs()); err == nil {
			t.Errorf("%s: parseViews succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestNewNeedsServices(t *testing.T) {
	if _, err := New(Deps{}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("New without services: %v", err)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/",
		"/":                     "/",
		"/teams":                "/teams",
		"/teams/3?tab=members":  "/teams/3?tab=members",
		"/audit?action=user.":   "/audit?action=user.",
		"//evil.example":        "/",
		"///evil.example":       "/",
		`/\evil.example`:        "/",
		"https://evil.example/": "/",
		"evil.example":          "/",
		"javascript:alert(1)":   "/",
		"/login":                "/",
		"/login/mfa":            "/",
		"/logout":               "/",
		"/a\nb":                 "/",
		"/a\tb":                 "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLabels(t *testing.T) {
	f := newForm(nil)
	f.Fail("email", "is required")
	f.Fail("password_confirm", "does not match")
	f.Fail("some_field", "is odd")
	got := f.Summary()
	want := []string{"Email is required", "Repeated password does not match", "Some field is odd"}
	if len(got) != len(want) {
		t.Fatalf("summary %v", got)
	}
	for i, w := range want {
		if got[i].Text != w {
			t.Errorf("summary[%d] = %q, want %q", i, got[i].Text, w)
		}
	}
	if sentence("a team with this name exists") != "A team with this name exists." {
		t.Errorf("sentence: %q", sentence("a team with this name exists"))
	}
}
