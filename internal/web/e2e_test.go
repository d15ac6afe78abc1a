package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
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

// TestBrowserIncident follows an incident from an event to its resolution:
// the event comes through the real PagerDuty endpoint, the open list shows
// the incident by itself (live refresh), and a responder acknowledges and
// resolves it through the UI.
func TestBrowserIncident(t *testing.T) {
	tab := newChrome(t, e2eTimeout)
	s := testkit.Start(t, db.SQLite)
	svc := s.NewService("Database")

	do(t, tab, "sign in", chromedp.Navigate(s.URL+"/incidents"), chromedp.WaitVisible(chromedp.ID("login-title")),
		chromedp.SendKeys(chromedp.ID("f-email"), testkit.AdminEmail),
		chromedp.SendKeys(chromedp.ID("f-password"), s.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#incident-list .empty`)),
	)
	if cur := run(t, tab, "first nav item", chromedp.Text(chromedp.CSS(`nav.main-nav li:first-child a`))); cur != "Incidents" {
		t.Fatalf("the first navigation item is %q", cur)
	}
	if l := run(t, tab, "live label", chromedp.Text(chromedp.CSS(`[data-live-label]`))); l != "Updates every 10 seconds." {
		t.Fatalf("with its script the list says %q", l)
	}

	// The event goes through the PagerDuty endpoint, as a monitoring system would send it.
	s.Do("POST", "/v2/enqueue", "", map[string]any{"routing_key": svc.Key, "event_action": "trigger", "dedup_key": "disk-db-1",
		"payload": map[string]any{"summary": "Disk full on db-1", "source": "db-1", "severity": "critical"}}).Want(202)

	// No reload: the list fetches itself and announces the change.
	row := `#incident-list a[href^="/incidents/"]`
	do(t, tab, "the incident appears", chromedp.WaitVisible(chromedp.CSS(row)))
	if txt := run(t, tab, "row", chromedp.Text(chromedp.CSS(`#incident-list tbody tr`))); !strings.Contains(txt, "Disk full on db-1") ||
		!strings.Contains(txt, "Triggered") || !strings.Contains(txt, "P2") {
		t.Fatalf("the new row says %q", txt)
	}
	if said := run(t, tab, "announcement", chromedp.TextContent(chromedp.ID("live-status"))); said != "The incident list changed: 1 incident shown." {
		t.Fatalf("screen readers are told %q", said)
	}

	do(t, tab, "open it", chromedp.Click(chromedp.CSS(row)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/acknowledge"] button`)))
	num := run(t, tab, "number", chromedp.Text(chromedp.CSS("h1 .inc-number")))
	do(t, tab, "acknowledge",
		chromedp.Click(chromedp.CSS(`form[action$="/acknowledge"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/acknowledge"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
	)
	if f := run(t, tab, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); f != "Acknowledged "+num+"." {
		t.Fatalf("after acknowledging the page says %q", f)
	}
	if st := run(t, tab, "status", chromedp.Text(chromedp.CSS(".incident-badges .state"))); st != "Acknowledged" {
		t.Fatalf("after acknowledging the status is %q", st)
	}

	do(t, tab, "resolve with a note",
		chromedp.SendKeys(chromedp.ID("f-resolution"), "Rotated the logs and grew the volume."),
		chromedp.Click(chromedp.CSS(`form[action$="/resolve"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/close"] button`)),
	)
	if f := run(t, tab, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); f != "Resolved "+num+"." {
		t.Fatalf("after resolving the page says %q", f)
	}
	if st := run(t, tab, "status", chromedp.Text(chromedp.CSS(".incident-badges .state"))); st != "Resolved" {
		t.Fatalf("after resolving the status is %q", st)
	}
	if res := run(t, tab, "resolution", chromedp.Text(chromedp.CSS("p.resolution"))); res != "Rotated the logs and grew the volume." {
		t.Fatalf("the resolution reads %q", res)
	}

	// Back on the list of open incidents it is gone.
	do(t, tab, "open list", chromedp.Click(chromedp.CSS(`nav.main-nav a[href="/incidents"]`)), chromedp.WaitVisible(chromedp.CSS(`#incident-list .empty`)))
}

// TestBrowserRules silences a noisy alert from its page in two clicks, and
// tries a rule's condition by pressing Enter in the sample event, which must
// not save the rule.
func TestBrowserRules(t *testing.T) {
	tab := newChrome(t, e2eTimeout)
	s := testkit.Start(t, db.SQLite)
	svc := s.NewService("Database")
	s.Do("POST", "/api/v1/events", svc.Key, map[string]any{"summary": "Disk full on db-1", "dedup_key": "disk", "severity": "critical",
		"labels": map[string]string{"alertname": "DiskFull", "host": "db-1"}}).Want(202)

	do(t, tab, "sign in", chromedp.Navigate(s.URL+"/alerts/1"), chromedp.WaitVisible(chromedp.ID("login-title")),
		chromedp.SendKeys(chromedp.ID("f-email"), testkit.AdminEmail),
		chromedp.SendKeys(chromedp.ID("f-password"), s.AdminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/silences/new?"]`)),
	)
	do(t, tab, "silence similar alerts",
		chromedp.Click(chromedp.CSS(`a[href^="/silences/new?"]`)),
		chromedp.WaitVisible(chromedp.ID("f-matchers")),
		chromedp.Click(chromedp.CSS(`form[action="/silences"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("silenced")),
	)
	if f := run(t, tab, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); !strings.HasPrefix(f, `Silenced {alertname="DiskFull", host="db-1"} until `) {
		t.Fatalf("after two clicks the alert page says %q", f)
	}

	do(t, tab, "try a new rule with Enter",
		chromedp.Navigate(s.URL+"/rules/new"), chromedp.WaitVisible(chromedp.ID("f-condition")),
		chromedp.SendKeys(chromedp.ID("f-name"), "not to be saved"),
		chromedp.SetValue(chromedp.ID("f-condition"), `labels.alertname == "DiskFull"`),
		chromedp.SendKeys(chromedp.ID("f-sample_summary"), "\r"),
		chromedp.WaitVisible(chromedp.CSS(".try-result")),
	)
	if r := run(t, tab, "result", chromedp.Text(chromedp.CSS(".try-result"))); !strings.HasPrefix(r, "Matches.") {
		t.Fatalf("trying the rule says %q", r)
	}
	if n := run(t, tab, "name kept", chromedp.Value(chromedp.ID("f-name"))); n != "not to be saved" {
		t.Fatalf("after trying, the name field holds %q", n)
	}
	var rules struct{ Items []any }
	s.Do("GET", "/api/v1/rules", s.AdminToken, nil).Want(200).JSON(&rules)
	if len(rules.Items) != 0 {
		t.Fatalf("pressing Enter in the sample saved the rule: %v", rules.Items)
	}
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

	// Services, alerts and incidents, with enough in them to look real.
	seed := seedIncidents(t, s)
	page("home-incidents", "/")
	page("incidents", "/incidents")
	page("incidents-search", "/incidents?q=disk&status=any")
	page("incident", fmt.Sprintf("/incidents/%d", seed.disk))
	page("incident-resolved", fmt.Sprintf("/incidents/%d", seed.past))
	page("incident-new", "/incidents/new")
	do(t, tab, "blank title", chromedp.SendKeys(chromedp.ID("f-title"), "   "), chromedp.Click(chromedp.CSS(`form[action="/incidents"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	shoot("incident-new-error")
	page("services", "/services")
	page("service", "/services/1")
	page("service-new", "/services/new")
	page("service-edit", "/services/1/edit")
	page("alerts", "/alerts")
	page("alert", fmt.Sprintf("/alerts/%d", seed.diskAlert))
	page("sla", "/sla")
	page("sla-edit", "/sla/P4")

	// Event rules, silences, maintenance windows and inhibit rules.
	suppressed := seedRules(t, s)
	page("rules", "/rules")
	page("rule-new", "/rules/new")
	do(t, tab, "a condition with a typo", chromedp.SendKeys(chromedp.ID("f-name"), "prod only"),
		chromedp.SetValue(chromedp.ID("f-condition"), `lables.env == "prod"`),
		chromedp.Click(chromedp.CSS(`form[action="/rules"] button[type=submit]:not([formaction])`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	shoot("rule-new-error")
	page("rule", "/rules/3")
	do(t, tab, "try it", chromedp.Click(chromedp.ID("try-button")), chromedp.WaitVisible(chromedp.CSS(".try-result")))
	shoot("rule-try")
	page("silences", "/silences")
	page("silences-ended", "/silences?ended=1")
	page("alert-before-silence", fmt.Sprintf("/alerts/%d", seed.diskAlert))
	do(t, tab, "silence similar alerts", chromedp.Click(chromedp.CSS(`a[href^="/silences/new?"]`)),
		chromedp.WaitVisible(chromedp.ID("f-matchers")))
	shoot("silence-new")
	do(t, tab, "a silence of everything", chromedp.SetValue(chromedp.ID("f-matchers"), `{env=~".*"}`),
		chromedp.Click(chromedp.CSS(`form[action="/silences"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	shoot("silence-new-error")
	do(t, tab, "silence them", chromedp.SetValue(chromedp.ID("f-matchers"), `{host="db-1.prod", component="postgresql"}`),
		chromedp.Click(chromedp.CSS(`form[action="/silences"] button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("silenced")))
	shoot("alert-silenced")
	page("maintenance", "/maintenance")
	page("maintenance-new", "/maintenance/new")
	do(t, tab, "an unknown time zone", chromedp.SendKeys(chromedp.ID("f-name"), "Mars"),
		chromedp.SetValue(chromedp.ID("f-time_zone"), "other"), chromedp.SendKeys(chromedp.ID("f-time_zone_other"), "Mars/Olympus"),
		chromedp.Click(chromedp.CSS(`form[action="/maintenance"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	shoot("maintenance-new-error")
	page("maintenance-edit", "/maintenance/1")
	page("inhibit-rules", "/inhibit-rules")
	page("alerts-suppressed", "/alerts")
	page("alert-suppressed", suppressed)

	// On call, escalation, notifications and heartbeats (the demo's).
	page("schedules", "/schedules")
	page("schedule", "/schedules/1")
	page("schedule-edit", "/schedules/1/edit")
	page("policies", "/escalation-policies")
	page("policy", "/escalation-policies/1")
	page("policy-edit", "/escalation-policies/1/edit")
	page("notifications", "/account/notifications")
	page("notification-templates", "/notification-templates")
	page("notification-template", "/notification-templates/page")
	page("outbox", "/outbox")
	page("heartbeats", "/heartbeats")
	page("heartbeat-new", "/heartbeats/new")

	// The CMDB (the demo's estate; CI 1 is the Checkout API service).
	page("cmdb", "/cmdb")
	page("cmdb-ci", "/cmdb/cis/1")
	page("cmdb-impact", "/cmdb/cis/1/impact")
	page("cmdb-map", "/cmdb/map?ci=1&depth=6")
	page("cmdb-classes", "/cmdb/classes")
	page("cmdb-import", "/cmdb/import")
	page("cmdb-audit", "/cmdb/audit")

	// A viewer reads a rule and tries it.
	v := s.NewUser(iam.RoleViewer)
	do(t, tab, "sign in as a viewer", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.ID("login-title")),
		chromedp.Navigate(s.URL+"/rules/3"), chromedp.WaitVisible(chromedp.ID("login-title")),
		chromedp.SendKeys(chromedp.ID("f-email"), v.Email), chromedp.SendKeys(chromedp.ID("f-password"), v.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)), chromedp.WaitVisible(chromedp.ID("try-button")),
		chromedp.SetValue(chromedp.ID("f-sample_labels"), "alertname=ReplicationLag"), chromedp.Click(chromedp.ID("try-button")),
		chromedp.WaitVisible(chromedp.CSS(".try-result")))
	shoot("rule-viewer")
	page("silences-viewer", "/silences")
}

// seedRules fills a screenshot server with event rules, silences,
// maintenance windows and inhibit rules, through the API, and sends events
// that they suppress. It returns the page of a suppressed alert.
func seedRules(t *testing.T, s *testkit.Server) string {
	t.Helper()
	now := s.Clock.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	for _, r := range []map[string]any{
		{"name": "Drop staging noise", "position": 10, "condition": `labels.env == "staging"`, "actions": map[string]any{"drop": true}},
		{"name": "Info is never urgent", "position": 20, "condition": `severity == "info"`,
			"actions": map[string]any{"suppress": true, "set_priority": "P5"}},
		{"name": "Replication problems page the DB team", "service_id": 1, "position": 10, "stop": true,
			"condition": `labels.alertname matches "^Replication" && severity_rank >= rank("warning")`,
			"actions":   map[string]any{"set_severity": "critical", "set_priority": "P1", "add_labels": map[string]string{"team": "db", "escalate": "yes"}}},
		{"name": "Bad gateways belong to the load balancers", "service_id": 2, "position": 10, "enabled": false,
			"condition": `summary contains "502"`, "actions": map[string]any{"route_to_service_id": 3}},
	} {
		s.Do("POST", "/api/v1/rules", s.AdminToken, r).Want(201)
	}
	for _, si := range []map[string]any{
		{"matchers": `{alertname="DiskFull", host=~"db-.*"}`, "ends_at": at(2 * time.Hour), "comment": "Replacing the disks of the database hosts, CHG-1042."},
		{"matchers": `{severity="info"}`, "ends_at": at(26 * time.Hour), "comment": "Info alerts are noise during the migration."},
		{"matchers": `{service="search", env="prod"}`, "starts_at": at(3 * time.Hour), "ends_at": at(5 * time.Hour), "comment": "Search reindex tonight."},
		{"matchers": `{alertname="CertExpiry"}`, "ends_at": at(time.Hour), "comment": "Renewed by hand."},
	} {
		s.Do("POST", "/api/v1/silences", s.AdminToken, si).Want(201)
	}
	s.Do("DELETE", "/api/v1/silences/4", s.AdminToken, nil).Want(204)
	for _, w := range []map[string]any{
		{"name": "Sunday patching", "description": "OS updates and reboots, one host at a time.", "time_zone": "Europe/Berlin",
			"recurrence": map[string]any{"days": []string{"sun"}, "start_time": "02:00", "duration_minutes": 120}, "service_ids": []int64{1, 2}},
		{"name": "Search cluster rebuild", "starts_at": at(-30 * time.Minute), "ends_at": at(90 * time.Minute), "matchers": `{team="search"}`},
		{"name": "Load balancer firmware", "time_zone": "America/New_York", "starts_at": at(6 * 24 * time.Hour),
			"ends_at": at(6*24*time.Hour + 3*time.Hour), "service_ids": []int64{3}, "matchers": `{team="network"}`},
		{"name": "Business-hours batch", "time_zone": "Asia/Tokyo", "service_ids": []int64{4},
			"recurrence": map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "start_time": "09:00", "duration_minutes": 30,
				"from": "2026-01-01", "until": "2026-12-31"}},
	} {
		s.Do("POST", "/api/v1/maintenance-windows", s.AdminToken, w).Want(201)
	}
	for _, ir := range []map[string]any{
		{"name": "Node down mutes its pods", "source_matchers": `{alertname="NodeDown"}`, "target_matchers": `{alertname=~"Pod.*"}`,
			"equal": []string{"node"}},
		{"name": "Critical mutes warning", "source_matchers": `{severity="critical"}`, "target_matchers": `{severity="warning"}`,
			"equal": []string{"host", "alertname"}},
	} {
		s.Do("POST", "/api/v1/inhibit-rules", s.AdminToken, ir).Want(201)
	}
	search := s.NewService("Search")
	for _, ev := range []map[string]any{
		{"summary": "Disk full on db-7", "dedup_key": "disk-db-7", "severity": "critical", "labels": map[string]string{"alertname": "DiskFull", "host": "db-7"}},
		{"summary": "Index rebuild is slow", "dedup_key": "index-slow", "severity": "info", "labels": map[string]string{"team": "search", "alertname": "IndexSlow"}},
	} {
		s.Do("POST", "/api/v1/events", search.Key, ev).Want(202)
	}
	var alerts struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	s.Do("GET", "/api/v1/alerts?dedup_key=index-slow", s.AdminToken, nil).Want(200).JSON(&alerts)
	if len(alerts.Items) != 1 {
		t.Fatalf("no alert index-slow: %+v", alerts)
	}
	return fmt.Sprintf("/alerts/%d", alerts.Items[0].ID)
}

// seedIncidents fills a screenshot server with services, events and
// incidents in several states.
// seeded names what seedIncidents made (the demo organisation holds the
// first ids).
type seeded struct {
	disk, past, manual int64 // incidents
	diskAlert          int64
}

func seedIncidents(t *testing.T, s *testkit.Server) seeded {
	t.Helper()
	type svc struct {
		name, crit, desc string
		team             int64
	}
	var keys []string
	for _, v := range []svc{
		{"Payments database", "critical", "PostgreSQL primary and replicas behind checkout.", 4},
		{"Storefront API", "critical", "Serves the web shop and the apps.", 2},
		{"Edge load balancers", "high", "HAProxy pair in front of every public service.", 3},
		{"Nightly backups", "medium", "Backups of every database to object storage.", 4},
	} {
		var created struct {
			ID int64 `json:"id"`
		}
		s.Do("POST", "/api/v1/services", s.AdminToken, map[string]any{"name": v.name, "criticality": v.crit,
			"description": v.desc, "team_id": v.team, "labels": map[string]string{"tier": "1"}}).Want(201).JSON(&created)
		var key struct {
			Key string `json:"key"`
		}
		s.Do("POST", fmt.Sprintf("/api/v1/services/%d/integration-keys", created.ID), s.AdminToken,
			map[string]any{"name": "prometheus"}).Want(201).JSON(&key)
		keys = append(keys, key.Key)
	}
	// Events come from db-1.prod, a CI of the demo estate, except the backup
	// host's (which the estate does not know: it stays an incident of its own).
	send := func(key, dedup, summary, sev string) {
		host := "db-1.prod"
		if dedup == "backup-1" {
			host = "backup-1.prod"
		}
		s.Do("POST", "/v2/enqueue", "", map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
			"payload": map[string]any{"summary": summary, "source": host, "severity": sev, "component": "postgresql",
				"custom_details": map[string]any{"mount": "/var/lib/postgresql", "used_percent": 97.4}}}).Want(202)
	}
	ctx := iam.WithPrincipal(context.Background(), iam.Principal{UserID: s.AdminID, Email: testkit.AdminEmail, Name: "Administrator", Role: iam.RoleAdmin})
	m := s.App.Incidents
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// alertOf finds the alert of a dedup key and its incident.
	alertOf := func(dedup string) (alert, inc int64) {
		t.Helper()
		var l struct {
			Items []struct {
				ID         int64 `json:"id"`
				IncidentID int64 `json:"incident_id"`
			} `json:"items"`
		}
		s.Do("GET", "/api/v1/alerts?dedup_key="+dedup, s.AdminToken, nil).Want(200).JSON(&l)
		if len(l.Items) == 0 {
			t.Fatalf("no alert %s", dedup)
		}
		return l.Items[0].ID, l.Items[0].IncidentID
	}
	var out seeded
	// An open incident, acknowledged, with notes and many events.
	send(keys[0], "disk-db-1", "Disk almost full on db-1 (/var/lib/postgresql)", "critical")
	for range 3 {
		send(keys[0], "disk-db-1", "Disk almost full on db-1 (/var/lib/postgresql)", "critical")
	}
	send(keys[0], "repl-lag", "Replication lag above 30 s on db-2", "warning")
	out.diskAlert, out.disk = alertOf("disk-db-1")
	s.Clock.Advance(3 * time.Minute)
	_, err := m.SetStatus(ctx, out.disk, incident.Acknowledged, "", 0)
	must(err)
	_, err = m.AddNote(ctx, out.disk, "WAL archive is not shipping: the archive bucket rejects uploads since 02:10.")
	must(err)
	team, user := int64(4), int64(8) // Databases, and its lead
	_, err = m.Assign(ctx, out.disk, &user, &team)
	must(err)
	s.Clock.Advance(2 * time.Minute)
	// A past incident, resolved with a note; the first finds it similar.
	send(keys[3], "backup-1", "Disk full on backup host", "error")
	_, out.past = alertOf("backup-1")
	_, err = m.SetStatus(ctx, out.past, incident.Resolved, "Deleted backups older than 30 days and fixed the retention job.", 0)
	must(err)
	_, err = m.AddNote(ctx, out.past, "follow-up: alert at 80 % full instead of 95 %")
	must(err)
	// More open incidents of other priorities, one by hand.
	send(keys[1], "5xx", "Checkout returns HTTP 502 for 4 % of requests", "critical")
	send(keys[2], "tls", "TLS certificate of shop.example.com expires in 6 days", "warning")
	manual, err := m.Create(ctx, incident.NewIncident{Title: "Customer reports missing order confirmation emails", Impact: 3, Urgency: 2,
		Tags: []string{"email", "customer"}})
	must(err)
	out.manual = manual.ID
	_, checkout := alertOf("5xx")
	major := true
	_, err = m.Update(ctx, checkout, incident.Patch{Major: &major, Tags: &[]string{"checkout", "revenue"}}, 0)
	must(err)
	must(m.Link(ctx, out.disk, out.past))
	s.Clock.Advance(7 * time.Minute)
	return out
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
