package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// TestBrowserEscalationPolicy builds a two-level policy in the editor with a
// real browser: the editor's buttons send the form back without a script,
// and Enter in a text field saves rather than pressing "Remove level".
func TestBrowserEscalationPolicy(t *testing.T) {
	tab := newChrome(t, e2eTimeout)
	s := testkit.Start(t, db.SQLite)
	var ops struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", "/api/v1/teams", s.AdminToken, map[string]any{"name": "Ops"}).Want(201).JSON(&ops)

	do(t, tab, "sign in", chromedp.Navigate(s.URL+"/escalation-policies/new"), chromedp.WaitVisible(chromedp.ID("login-title")),
		chromedp.SendKeys(chromedp.ID("f-email"), testkit.AdminEmail),
		chromedp.SendKeys(chromedp.ID("f-password"), s.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("f-target-0-0")),
	)
	do(t, tab, "fill level 1 and add a level",
		chromedp.SendKeys(chromedp.ID("f-name"), "Checkout"),
		chromedp.SetValue(chromedp.ID("f-target-0-0"), fmt.Sprintf("user:%d", s.AdminID)),
		chromedp.SetValue(chromedp.ID("f-delay-0"), "5"),
		chromedp.Click(chromedp.CSS(`button[value="add-level"]`)),
		chromedp.WaitVisible(chromedp.ID("f-target-1-0")),
	)
	if n := run(t, tab, "name kept", chromedp.Value(chromedp.ID("f-name"))); n != "Checkout" {
		t.Fatalf("after adding a level the name field holds %q", n)
	}
	if v := run(t, tab, "target kept", chromedp.Value(chromedp.ID("f-target-0-0"))); v != fmt.Sprintf("user:%d", s.AdminID) {
		t.Fatalf("after adding a level the first target is %q", v)
	}
	do(t, tab, "fill level 2 and save with Enter",
		chromedp.SetValue(chromedp.ID("f-target-1-0"), fmt.Sprintf("team:%d", ops.ID)),
		chromedp.SendKeys(chromedp.ID("f-name"), "\r"),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
	)
	if f := run(t, tab, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); !strings.HasPrefix(f, "Created the escalation policy Checkout.") {
		t.Fatalf("after pressing Enter the page says %q", f)
	}
	levels := run(t, tab, "levels", chromedp.Text(chromedp.CSS("ol.escalation-levels")))
	if !strings.Contains(levels, "Level 1 — page") || !strings.Contains(levels, "after 5 min → Level 2") ||
		!strings.Contains(levels, "Level 2 — page team Ops") {
		t.Fatalf("the policy page reads %q", levels)
	}
}
