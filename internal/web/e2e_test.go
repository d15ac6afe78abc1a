package web_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// The browser tests drive Debian's Chromium. They run only with STEADY_E2E=1
// (CI sets it); then a Chromium that cannot start fails them.
const (
	e2eEnv     = "STEADY_E2E"
	chromium   = "/usr/bin/chromium"
	e2eTimeout = 90 * time.Second
	// shotsEnv names a directory for screenshots of every page at a laptop's
	// and a phone's width, to look at the pages as a person would.
	shotsEnv = "STEADY_E2E_SHOTS"
)

// newChrome starts a headless Chromium for the test and returns a tab. Every
// action under the returned context ends within timeout, so a stuck
// browser fails the test instead of hanging it.
func newChrome(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if os.Getenv(e2eEnv) != "1" {
		t.Skip(e2eEnv + " is not 1: skipping the browser test (it drives " + chromium + "; CI sets " + e2eEnv + "=1)")
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root, where the sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	tab, tcancel := chromedp.NewContext(actx)
	t.Cleanup(tcancel)
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("Chromium (%s) did not start: %v", chromium, err)
	}
	return tab
}

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func TestBrowser(t *testing.T) {
	tab := newChrome(t, e2eTimeout)
	s := testkit.Start(t, db.SQLite)

	do(t, tab, "open the UI", chromedp.Navigate(s.URL+"/teams"), chromedp.WaitVisible(chromedp.ID("login-title")))
	if loc := run(t, tab, "location", chromedp.Location()); !strings.Contains(loc, "/login?next=%2Fteams") {
		t.Fatalf("a stranger opening /teams lands on %s, want the sign-in page", loc)
	}
	do(t, tab, "sign in",
		chromedp.SendKeys(chromedp.ID("f-email"), testkit.AdminEmail),
		chromedp.SendKeys(chromedp.ID("f-password"), s.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.main-nav`)),
	)
	if h := run(t, tab, "heading", chromedp.Text(chromedp.CSS("main h1"))); h != "Teams" {
		t.Fatalf("after signing in the page is %q, want the Teams page it was asked for", h)
	}

	do(t, tab, "create a team",
		chromedp.Click(chromedp.CSS(`a[href="/teams/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "Site Reliability"),
		chromedp.SendKeys(chromedp.ID("f-description"), "Keeps production up."),
		chromedp.Click(chromedp.CSS(`form[action="/teams"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
	)
	if f := run(t, tab, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); f != "Created the team Site Reliability." {
		t.Fatalf("after creating the team the page says %q", f)
	}

	do(t, tab, "list the teams",
		chromedp.Click(chromedp.CSS(`nav.main-nav a[href="/teams"]`)),
		chromedp.WaitVisible(chromedp.CSS("table caption")),
	)
	if row := run(t, tab, "team row", chromedp.Text(chromedp.CSS("tbody tr"))); !strings.Contains(row, "Site Reliability") ||
		!strings.Contains(row, "Keeps production up.") {
		t.Fatalf("the team list shows %q", row)
	}
	if cur := run(t, tab, "current nav", chromedp.Text(chromedp.CSS(`nav.main-nav a[aria-current="page"]`))); cur != "Teams" {
		t.Fatalf("the navigation marks %q as current", cur)
	}

	do(t, tab, "sign out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("login-title")),
	)
	if n := run(t, tab, "notice", chromedp.Text(chromedp.CSS(".notice"))); n != "You have signed out." {
		t.Fatalf("after signing out the page says %q", n)
	}
	do(t, tab, "open a page again", chromedp.Navigate(s.URL+"/teams"), chromedp.WaitVisible(chromedp.ID("login-title")))
}

// TestScreenshots saves every page at a laptop's and a phone's width into
// the directory named by STEADY_E2E_SHOTS, on a server with the demo
// organisation. It checks nothing a person would not see; it is for looking.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv(shotsEnv)
	if dir == "" {
		t.Skip(shotsEnv + " is not set: no screenshots wanted")
	}
	tab := newChrome(t, 3*e2eTimeout)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := testkit.Start(t, db.SQLite, testkit.Options{Modify: func(o *app.Options) { o.Demo = true }})

	shoot := func(name string) {
		t.Helper()
		for _, size := range []struct {
			suffix string
			w, h   int64
			mobile bool
		}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}} {
			var opts []chromedp.EmulateViewportOption
			if size.mobile {
				opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile)
			}
			do(t, tab, "resize", chromedp.EmulateViewport(size.w, size.h, opts...), chromedp.Sleep(150*time.Millisecond))
			if size.mobile {
				// Nothing may stick out of a phone's screen (tables scroll inside their box).
				wide := run(t, tab, "measure "+name, chromedp.Evaluate[[]string](overflowJS))
				if len(wide) > 0 {
					t.Errorf("%s: wider than a phone's screen: %v", name, wide)
				}
			}
			png := run(t, tab, "screenshot "+name, chromedp.FullScreenshot(100))
			if err := os.WriteFile(filepath.Join(dir, name+"-"+size.suffix+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do(t, tab, "reset", chromedp.EmulateViewport(1280, 800))
	}
	page := func(name, path string) {
		t.Helper()
		do(t, tab, "open "+path, chromedp.Navigate(s.URL+path), chromedp.WaitVisible(chromedp.CSS("main")))
		shoot(name)
	}

	page("login", "/login")
	do(t, tab, "wrong password",
		chromedp.SendKeys(chromedp.ID("f-email"), testkit.AdminEmail),
		chromedp.SendKeys(chromedp.ID("f-password"), "wrong"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")),
	)
	shoot("login-error")
	do(t, tab, "sign in",
		chromedp.SendKeys(chromedp.ID("f-password"), s.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS("nav.main-nav")),
	)
	shoot("home")
	page("teams", "/teams")
	page("team", "/teams/1")
	page("team-edit", "/teams/1/edit")
	page("users", "/users")
	page("user", "/users/2")
	page("user-new", "/users/new")
	do(t, tab, "taken email", chromedp.SendKeys(chromedp.ID("f-email"), "ada@example.com"), chromedp.SendKeys(chromedp.ID("f-name"), "Ada"),
		chromedp.Click(chromedp.CSS(`form[action="/users"] button`)), chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	shoot("user-new-error")
	page("tokens", "/tokens")
	page("token-new", "/tokens/new")
	do(t, tab, "new token", chromedp.SendKeys(chromedp.ID("f-name"), "backup script on db-1"),
		chromedp.Click(chromedp.CSS(`form[action="/tokens"] button`)), chromedp.WaitVisible(chromedp.CSS(".secret-box")))
	shoot("token-created")
	page("audit", "/audit")
	page("account", "/account")
	page("account-password", "/account/password")
	page("account-totp", "/account/totp")
	do(t, tab, "start TOTP", chromedp.Click(chromedp.CSS(`form[action="/account/totp"] button`)),
		chromedp.WaitVisible(chromedp.ID("totp-secret")))
	shoot("account-totp-setup")
	page("not-found", "/no/such/page")
}

// overflowJS lists the elements that reach past the right edge of the screen.
const overflowJS = `(() => {
  const w = screen.width, out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest(".table-wrap")) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1) {
      out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\s+/).join(".") : "") +
        " (right edge " + Math.round(r.right) + "px)");
    }
  }
  return out.slice(0, 8);
})()`
