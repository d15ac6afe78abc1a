package web_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// TestHeartbeatBrowser creates a heartbeat in Chromium, beats it with the
// URL the page shows, and sees it up and then down. With STEADY_E2E_SHOTS it
// also saves its pages at a laptop's and a phone's width.
func TestHeartbeatBrowser(t *testing.T) {
	tab := newChrome(t, e2eTimeout)
	s := testkit.Start(t, db.SQLite, manualHeartbeats)
	s.NewService("Backups")
	dir := os.Getenv(shotsEnv)
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
				if wide := run(t, tab, "measure "+name, chromedp.Evaluate[[]string](overflowJS)); len(wide) > 0 {
					t.Errorf("%s: wider than a phone's screen: %v", name, wide)
				}
			}
			if dir != "" {
				png := run(t, tab, "screenshot "+name, chromedp.FullScreenshot(100))
				if err := os.WriteFile(filepath.Join(dir, name+"-"+size.suffix+".png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		do(t, tab, "reset", chromedp.EmulateViewport(1280, 800))
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	do(t, tab, "sign in", chromedp.Navigate(s.URL+"/heartbeats"), chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SendKeys(chromedp.ID("f-email"), testkit.AdminEmail),
		chromedp.SendKeys(chromedp.ID("f-password"), s.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/heartbeats/new"]`)),
	)
	shoot("heartbeats-empty")
	do(t, tab, "new heartbeat", chromedp.Click(chromedp.CSS(`a[href="/heartbeats/new"]`)), chromedp.WaitVisible(chromedp.ID("f-name")))
	shoot("heartbeat-new")
	do(t, tab, "create it",
		chromedp.SendKeys(chromedp.ID("f-name"), "nightly-backup"),
		chromedp.Clear(chromedp.ID("f-interval")), chromedp.SendKeys(chromedp.ID("f-interval"), "1d"),
		chromedp.Clear(chromedp.ID("f-grace")), chromedp.SendKeys(chromedp.ID("f-grace"), "1h"),
		chromedp.Click(chromedp.CSS(`form[action="/heartbeats"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("beat-url")),
	)
	shoot("heartbeat-created")
	url := run(t, tab, "beat URL", chromedp.Value(chromedp.ID("beat-url")))
	if !strings.HasPrefix(url, s.URL+"/api/v1/heartbeats/hb_") {
		t.Fatalf("the page shows the beat URL %q", url)
	}
	resp, err := http.Post(url, "", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("beat: %v %v", resp, err)
	}
	resp.Body.Close()
	do(t, tab, "list", chromedp.Navigate(s.URL+"/heartbeats"), chromedp.WaitVisible(chromedp.CSS("tbody tr")))
	if st := run(t, tab, "status", chromedp.Text(chromedp.CSS("tbody tr .badge"))); st != "Up" {
		t.Fatalf("after a beat the list says %q", st)
	}
	shoot("heartbeats-up")

	s.Clock.Advance(25*time.Hour + time.Minute)
	if n, err := s.App.Heartbeats.Check(context.Background()); n != 1 || err != nil {
		t.Fatalf("Check: %d %v", n, err)
	}
	do(t, tab, "sign in again", chromedp.Navigate(s.URL+"/heartbeats/1"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if loc := run(t, tab, "location", chromedp.Location()); strings.Contains(loc, "/login") {
		do(t, tab, "sign in", chromedp.SendKeys(chromedp.ID("f-email"), testkit.AdminEmail),
			chromedp.SendKeys(chromedp.ID("f-password"), s.AdminPassword),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.badge`)))
	}
	if st := run(t, tab, "status", chromedp.Text(chromedp.CSS(".page-head .badge"))); st != "Down" {
		t.Fatalf("after a missed beat the page says %q", st)
	}
	shoot("heartbeat-down")
}
