package web_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/testkit"
)

// browser is a net/http client with a cookie jar that does not follow
// redirects by itself, so tests can check where a form sends them.
type browser struct {
	t *testing.T
	s *testkit.Server
	c *http.Client
}

func newBrowser(t *testing.T, s *testkit.Server) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, s: s, c: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// page is an answer of the UI.
type page struct {
	t      *testing.T
	b      *browser
	req    string
	Status int
	Header http.Header
	Body   string
	// Cookies are the ones this answer set.
	Cookies []*http.Cookie
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read: %v", req.Method, req.URL.Path, err)
	}
	return &page{t: b.t, b: b, req: req.Method + " " + req.URL.RequestURI(), Status: resp.StatusCode,
		Header: resp.Header, Body: string(body), Cookies: resp.Cookies()}
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.s.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form as is (add "csrf" yourself, or use submit).
func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// submit posts a form of this page with the page's CSRF token, as a browser
// would: fields are name, value pairs.
func (p *page) submit(action string, fields ...string) *page {
	p.t.Helper()
	v := url.Values{"csrf": {p.csrf()}}
	for i := 0; i+1 < len(fields); i += 2 {
		v.Add(fields[i], fields[i+1])
	}
	return p.b.post(action, v)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p *page) csrf() string {
	p.t.Helper()
	m := csrfRe.FindStringSubmatch(p.Body)
	if m == nil {
		p.t.Fatalf("%s: no CSRF token in the page:\n%s", p.req, p.Body)
	}
	return m[1]
}

// want fails unless the status is code.
func (p *page) want(code int) *page {
	p.t.Helper()
	if p.Status != code {
		p.t.Fatalf("%s: status %d, want %d; body:\n%s", p.req, p.Status, code, p.Body)
	}
	return p
}

// redirects checks that the answer is a See Other to a location that starts
// with prefix, and follows it.
func (p *page) redirects(prefix string) *page {
	p.t.Helper()
	loc := p.Header.Get("Location")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		p.t.Fatalf("%s: status %d to %q, want 303 to %s…; body:\n%s", p.req, p.Status, loc, prefix, p.Body)
	}
	return p.b.get(loc)
}

// has fails unless the page shows every text (compared after unescaping
// HTML, so tests can name what a person reads).
func (p *page) has(texts ...string) *page {
	p.t.Helper()
	plain := html.UnescapeString(p.Body)
	for _, s := range texts {
		if !strings.Contains(plain, s) {
			p.t.Fatalf("%s: the page does not show %q:\n%s", p.req, s, p.Body)
		}
	}
	return p
}

// lacks fails if the page shows any of texts.
func (p *page) lacks(texts ...string) *page {
	p.t.Helper()
	plain := html.UnescapeString(p.Body)
	for _, s := range texts {
		if strings.Contains(plain, s) {
			p.t.Fatalf("%s: the page shows %q, and should not:\n%s", p.req, s, p.Body)
		}
	}
	return p
}

// find returns the first submatch of re in the page.
func (p *page) find(re string) string {
	p.t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(p.Body)
	if len(m) < 2 {
		p.t.Fatalf("%s: nothing matches %s in:\n%s", p.req, re, p.Body)
	}
	return m[1]
}

func (p *page) cookie(name string) *http.Cookie {
	for _, c := range p.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// login signs in through the form and returns the page it lands on. It moves
// the fake clock on first, so that the per-address login limit (which every
// test's logins from 127.0.0.1 share) never trips by accident.
func (b *browser) login(email, password string) *page {
	b.t.Helper()
	b.s.Clock.Advance(2 * time.Minute)
	lp := b.get("/login").want(200)
	return lp.submit("/login", "email", email, "password", password, "next", "/")
}

// admin returns a browser signed in as the first admin, on the home page.
func admin(t *testing.T, s *testkit.Server) (*browser, *page) {
	t.Helper()
	b := newBrowser(t, s)
	home := b.login(testkit.AdminEmail, s.AdminPassword).redirects("/").want(200)
	return b, home
}
