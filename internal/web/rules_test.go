package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// onTheMinute moves the fake clock on to the next whole minute, so that
// times typed into minute-sized fields come out in whole minutes.
func onTheMinute(s *testkit.Server) {
	now := s.Clock.Now()
	s.Clock.Advance(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
}

// wantAudit checks that the latest entry of an action came from the UI.
func wantAudit(t *testing.T, s *testkit.Server, actions ...string) {
	t.Helper()
	for _, a := range actions {
		if l := auditOf(s, a); len(l.Items) == 0 || l.Items[0].Source != "web" {
			t.Errorf("%s audit entries: %+v", a, l.Items)
		}
	}
}

// before fails unless a appears before b in the page.
func (p *page) before(a, b string) *page {
	p.t.Helper()
	plain := html.UnescapeString(p.Body)
	i, j := strings.Index(plain, a), strings.Index(plain, b)
	if i < 0 || j < 0 || i > j {
		p.t.Fatalf("%s: %q (at %d) should come before %q (at %d):\n%s", p.req, a, i, b, j, p.Body)
	}
	return p
}

func TestEventRulePages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		dbs, web := s.NewService("Database"), s.NewService("Web shop")
		m := signIn(t, s, s.NewUser(iam.RoleManager))

		list := m.get("/rules").want(200).has("<h1>Rules</h1>", `aria-current="page">Rules</a>`, `href="/rules" aria-current="page">Event rules`,
			"There are no event rules", `href="/rules/new"`, `href="/silences"`, `href="/maintenance"`, `href="/inhibit-rules"`)
		form := m.get("/rules/new").want(200).has("New event rule", `<option value="0" selected>Global: every event</option>`,
			`name="position" type="number" value="10"`, "Variables and examples", `labels.env == "prod" && severity in ["critical", "error"]`,
			`id="f-outcome-keep" name="outcome" value="keep" checked`, `id="f-enabled" name="enabled" type="checkbox" value="1" checked`,
			"Try it", `formaction="/rules/try"`)

		// Without the CSRF token, or with another, nothing is created.
		m.post("/rules", url.Values{"name": {"x"}, "scope": {"0"}, "position": {"1"}, "condition": {"true"}, "outcome": {"drop"}}).
			want(http.StatusForbidden)
		m.post("/rules", url.Values{"csrf": {"forged"}, "name": {"x"}, "scope": {"0"}, "position": {"1"}, "condition": {"true"}, "outcome": {"drop"}}).
			want(http.StatusForbidden)

		// Mistakes are shown next to their fields, with what was typed.
		bad := func(want string, fields ...string) *page {
			t.Helper()
			return form.submit("/rules", fields...).want(http.StatusBadRequest).has("Please correct what is marked below.", want)
		}
		p := bad("Condition does not compile: unknown name lables", "name", "prod only", "scope", "0", "position", "10",
			"condition", `lables.env == "prod"`, "outcome", "suppress")
		p.has(`value="prod only"`, `lables.env == "prod"`, `id="f-outcome-suppress" name="outcome" value="suppress" checked`,
			`<li><a href="#f-condition">Condition does not compile`)
		bad("Drop cannot be combined with other actions", "name", "x", "scope", "0", "position", "10", "condition", "true",
			"outcome", "drop", "set_priority", "P1").has(`<p class="field-error" id="f-drop">`)
		bad("Actions must do something (or the rule must stop)", "name", "x", "scope", "0", "position", "10", "condition", "true",
			"outcome", "keep")
		bad("Order must be a whole number", "name", "x", "scope", "0", "position", "first", "condition", "true", "outcome", "drop")
		bad("Labels to add line 1 must read name=value", "name", "x", "scope", "0", "position", "10", "condition", "true",
			"add_labels", "env prod")
		bad("Name is required", "scope", "0", "position", "10", "condition", "true", "outcome", "drop")
		bad("Applies to must be global or one of the listed services", "name", "x", "scope", "999", "position", "10",
			"condition", "true", "outcome", "drop")

		// A global rule and two rules of a service.
		created := form.submit("/rules", "name", "drop staging noise", "scope", "0", "position", "10",
			"condition", `labels.env == "staging"`, "outcome", "drop", "enabled", "1").redirects("/rules").want(200)
		created.has("Created the event rule drop staging noise.", "Global rules: every event, first", `labels.env == "staging"`,
			"<li>drop</li>", "Enabled</span>")
		form.submit("/rules", "name", "db to web, urgent", "scope", fmt.Sprint(dbs.ID), "position", "20",
			"condition", `summary contains "checkout"`, "outcome", "keep", "route_to", fmt.Sprint(web.ID), "set_severity", "critical",
			"set_priority", "P1", "add_labels", "env=prod\nteam = shop", "stop", "1", "enabled", "1").redirects("/rules").want(200)
		m.get(fmt.Sprintf("/rules/new?service=%d", dbs.ID)).want(200).has(`name="position" type="number" value="30"`,
			fmt.Sprintf(`<option value="%d" selected>Database</option>`, dbs.ID)).
			submit("/rules", "name", "quiet backups", "scope", fmt.Sprint(dbs.ID), "position", "5",
				"condition", `host startsWith "backup-"`, "outcome", "suppress").redirects("/rules").want(200)
		list = m.get("/rules").want(200)
		list.has("Rules of <a href=\"/services/"+fmt.Sprint(dbs.ID)+"\">Database</a>", "<li>route to Web shop</li>",
			"<li>severity → critical</li>", "<li>priority → P1</li>", "<li>add labels env=prod, team=shop</li>", "Stops the list</span>",
			"<li>suppress</li>", "Disabled</span>", fmt.Sprintf(`href="/rules/new?service=%d"`, dbs.ID))
		// Global first, then per service, each in order.
		list.before("drop staging noise", "quiet backups").before("quiet backups", "db to web, urgent")
		ruleURL := list.find(`href="(/rules/\d+)">db to web, urgent<`)

		// Edit: the form starts with the rule's values.
		edit := m.get(ruleURL).want(200).has("<h1>db to web, urgent</h1>", `summary contains "checkout"`,
			fmt.Sprintf(`<option value="%d" selected>Web shop</option>`, web.ID), `<option value="P1" selected>P1</option>`,
			`id="f-stop" name="stop" type="checkbox" value="1" checked`, "env=prod\nteam=shop", `formaction="`+ruleURL+`/try"`,
			`action="`+ruleURL+`/delete" data-confirm="Delete the event rule db to web, urgent?"`)
		edit.submit(ruleURL+"/edit", "name", "db to web", "scope", fmt.Sprint(dbs.ID), "position", "20",
			"condition", `summary contains "checkout`, "outcome", "keep", "set_priority", "P2").want(http.StatusBadRequest).
			has("Condition does not compile", `value="db to web"`)
		edit.submit(ruleURL+"/edit", "name", "db to web", "scope", fmt.Sprint(dbs.ID), "position", "20",
			"condition", `summary contains "checkout"`, "outcome", "keep", "set_priority", "P2").redirects("/rules").want(200).
			has("Saved the event rule db to web.", "<li>priority → P2</li>").lacks("priority → P1")

		// Try it: the condition as typed, on the sample, without saving.
		try := func(from *page, action, condition, labels string) *page {
			t.Helper()
			return from.submit(action, "name", "typed but not saved", "scope", fmt.Sprint(dbs.ID), "position", "20",
				"condition", condition, "outcome", "keep", "sample_summary", "Disk full", "sample_host", "db-1",
				"sample_severity", "critical", "sample_labels", labels)
		}
		try(edit, ruleURL+"/try", `labels.env == "prod" && severity_rank >= rank("error")`, "env=prod").want(200).
			has("Matches.", `value="typed but not saved"`, `labels.env == "prod" && severity_rank >= rank("error")`)
		try(edit, ruleURL+"/try", `labels.env == "prod"`, "env=dev").want(200).has("Does not match.")
		try(edit, ruleURL+"/try", `service_id == `+fmt.Sprint(dbs.ID), "").want(200).has("Matches.")
		try(edit, ruleURL+"/try", `lables.env == "prod"`, "env=prod").want(http.StatusBadRequest).
			has("Cannot try it.", "Condition does not compile: unknown name lables", `<li><a href="#f-condition">`).lacks("Matches.")
		try(edit, ruleURL+"/try", "true", "no equals sign").want(http.StatusBadRequest).has("Sample labels line 1 must read name=value")
		try(form, "/rules/try", `host startsWith "db-"`, "").want(200).has("Matches.", "New event rule", `formaction="/rules/try"`)
		m.get(ruleURL).want(200).has("<h1>db to web</h1>").lacks("typed but not saved")

		// Delete, with its CSRF token only.
		m.post(ruleURL+"/delete", url.Values{}).want(http.StatusForbidden)
		m.get(ruleURL).want(200).submit(ruleURL + "/delete").redirects("/rules").want(200).
			has("Deleted the event rule db to web.").lacks(ruleURL + `"`)
		m.get(ruleURL).want(http.StatusNotFound)
		wantAudit(t, s, "rule.create", "rule.update", "rule.delete")

		// A viewer reads the rules and tries them, and changes nothing.
		v := signIn(t, s, s.NewUser(iam.RoleViewer))
		vl := v.get("/rules").want(200).has("drop staging noise", "Managers can change event rules.").lacks(`href="/rules/new`)
		vr := vl.find(`href="(/rules/\d+)">drop staging noise<`)
		vp := v.get(vr).want(200).has("About this rule", "Every event (global rule)", "<li>drop</li>", "Try it",
			`action="`+vr+`/try"`).lacks(`action="`+vr+`/edit"`, "Delete rule", `name="name"`)
		vp.submit(vr+"/try", "condition", `labels.env == "staging"`, "sample_labels", "env=staging").want(200).has("Matches.", "About this rule")
		vp.submit(vr+"/try", "condition", `labels.env ==`, "sample_labels", "env=staging").want(http.StatusBadRequest).has("Cannot try it.")
		v.get("/rules/new").want(http.StatusForbidden)
		vp.submit("/rules/try", "condition", "true").want(http.StatusForbidden)
		vp.submit("/rules", "name", "sneaky", "scope", "0", "position", "1", "condition", "true", "outcome", "drop").
			want(http.StatusForbidden).has("needs the manager role")
		vp.submit(vr+"/edit", "name", "sneaky", "scope", "0", "position", "1", "condition", "true", "outcome", "drop").
			want(http.StatusForbidden)
		vp.submit(vr + "/delete").want(http.StatusForbidden)

		// A responder may not create rules either.
		r := signIn(t, s, s.NewUser(iam.RoleResponder))
		r.get("/rules/new").want(http.StatusForbidden)
		r.get("/rules").want(200).submit("/rules", "name", "sneaky", "scope", "0", "position", "1", "condition", "true",
			"outcome", "drop").want(http.StatusForbidden)
		m.get("/rules").want(200).lacks("sneaky")
	})
}

// sendLabeled sends a generic event with labels to a service.
func sendLabeled(s *testkit.Server, key, dedup, summary string, labels map[string]string) {
	s.T.Helper()
	s.Do("POST", "/api/v1/events", key, map[string]any{"summary": summary, "dedup_key": dedup, "severity": "warning",
		"labels": labels}).Want(http.StatusAccepted)
}

func TestSilencePages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Database")
		r := signIn(t, s, s.NewUser(iam.RoleResponder))
		onTheMinute(s)

		list := r.get("/silences").want(200).has(`href="/silences" aria-current="page">Silences`, "No silence is active",
			`href="/silences/new"`, "Show ended silences")
		form := r.get("/silences/new").want(200).has("New silence", `id="f-duration-1h" name="duration" value="1h" checked`,
			`{alertname="DiskFull", host=~"db-.*"}`)

		r.post("/silences", url.Values{"matchers": {`{alertname="DiskFull"}`}, "duration": {"1h"}, "comment": {"x"}}).
			want(http.StatusForbidden)

		bad := func(want string, fields ...string) *page {
			t.Helper()
			return form.submit("/silences", fields...).want(http.StatusBadRequest).has(want)
		}
		bad("Matchers: at least one matcher must not match the empty string (a silence cannot match every alert)",
			"matchers", `{env=~".*", team!="db"}`, "duration", "1h", "comment", "everything").
			has(`{env=~".*", team!="db"}`, `<li><a href="#f-matchers">`)
		bad("Matchers: at least one matcher is required", "matchers", "", "duration", "1h", "comment", "nothing")
		bad("Matchers could not be read", "matchers", `{alertname="DiskFull"`, "duration", "1h", "comment", "x")
		bad("Matchers could not be read", "matchers", `{host=~"db-("}`, "duration", "1h", "comment", "x")
		bad("Comment is required", "matchers", `{alertname="DiskFull"}`, "duration", "4h", "comment", "  ")
		bad("End must be a date and time, in UTC", "matchers", `{alertname="DiskFull"}`, "duration", "custom", "comment", "x")
		past := s.Clock.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04")
		bad("End must be in the future", "matchers", `{alertname="DiskFull"}`, "duration", "custom", "ends_at", past, "comment", "x").
			has(`value="` + past + `"`)
		bad("Duration must be one of the choices", "matchers", `{alertname="DiskFull"}`, "duration", "forever", "comment", "x")

		p := form.submit("/silences", "matchers", `{alertname="DiskFull", host=~"db-.*"}`, "duration", "1h", "comment", "replacing disks").
			redirects("/silences").want(200)
		p.has(`Silenced {alertname="DiskFull", host=~"db-.*"} until`, "ends in 1h", "replacing disks", "Active now", "End now")
		ends := s.Clock.Now().Add(26 * time.Hour).UTC().Format("2006-01-02T15:04")
		form.submit("/silences", "matchers", `severity="info"`, "duration", "custom", "ends_at", ends, "comment", "quiet info").
			redirects("/silences").want(200).has("quiet info", "ends in 1d 2h")
		s.Clock.Advance(40 * time.Minute)
		list = r.get("/silences").want(200).has("ends in 20m", "ends in 1d 1h")
		list.before("replacing disks", "quiet info") // the soonest to end first

		// End now.
		id := list.find(`action="/silences/(\d+)/expire"`)
		r.post("/silences/"+id+"/expire", url.Values{}).want(http.StatusForbidden)
		list.submit("/silences/"+id+"/expire").redirects("/silences").want(200).
			has(`Ended the silence of {alertname="DiskFull", host=~"db-.*"}: the alerts it matched page again.`, "quiet info").lacks("replacing disks", "Ended <span")
		r.get("/silences?ended=1").want(200).has("Ended <span", "replacing disks", "Hide ended silences").before("quiet info", "replacing disks")
		wantAudit(t, s, "silence.create", "silence.expire")

		// Silence similar alerts: from the alert page in two clicks.
		sendLabeled(s, svc.Key, "disk-db-1", "Disk full on db-1", map[string]string{"alertname": "DiskFull", "host": "db-1"})
		alerts := r.get("/alerts").want(200)
		alertURL := alerts.find(`href="(/alerts/\d+)">Disk full on db-1`)
		ap := r.get(alertURL).want(200).has("Silence similar alerts").lacks("Silenced.")
		link := html.UnescapeString(ap.find(`href="(/silences/new\?[^"]+)">Silence similar alerts`))
		sf := r.get(link).want(200).has(`{alertname="DiskFull", host="db-1"}`, "Noisy: Disk full on db-1",
			`name="alert" value="`+strings.TrimPrefix(alertURL, "/alerts/")+`"`, "Filled in for alerts like", "back to the alert")
		done := sf.submit("/silences", "matchers", `{alertname="DiskFull", host="db-1"}`, "duration", "1h",
			"comment", "Noisy: Disk full on db-1", "alert", strings.TrimPrefix(alertURL, "/alerts/")).redirects(alertURL).want(200)
		done.has(`Silenced {alertname="DiskFull", host="db-1"} until`, "Silenced.", "page nobody while this silence lasts")

		// An alert without labels is silenced by what matchers see of it.
		trigger(s, svc.Key, "cpu", "CPU hot", "critical")
		cpuURL := r.get("/alerts").want(200).find(`href="(/alerts/\d+)">CPU hot`)
		link = html.UnescapeString(r.get(cpuURL).want(200).find(`href="(/silences/new\?[^"]+)">Silence similar alerts`))
		r.get(link).want(200).has(`host="db-1"`, `severity="critical"`, `source="pagerduty"`)

		// A viewer sees silences, and neither makes nor ends them.
		v := signIn(t, s, s.NewUser(iam.RoleViewer))
		vl := v.get("/silences").want(200).has("quiet info", "Responders can create and end silences.").
			lacks(`href="/silences/new"`, "End now")
		v.get("/silences/new").want(http.StatusForbidden)
		vl.submit("/silences", "matchers", `{a="b"}`, "duration", "1h", "comment", "x").want(http.StatusForbidden).
			has("needs the responder role")
		vl.submit("/silences/1/expire").want(http.StatusForbidden)
		v.get(alertURL).want(200).has("Silenced.").lacks("Silence similar alerts")
	})
}

func TestMaintenancePages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		dbs, web := s.NewService("Database"), s.NewService("Web shop")
		m := signIn(t, s, s.NewUser(iam.RoleManager))

		m.get("/maintenance").want(200).has(`href="/maintenance" aria-current="page">Maintenance windows`, "There are no maintenance windows",
			`href="/maintenance/new"`)
		form := m.get("/maintenance/new").want(200).has("New maintenance window", `id="f-kind-once" name="kind" value="once" checked`,
			`<option value="Europe/Berlin">Europe/Berlin</option>`, `<option value="other">Other (type it below)</option>`,
			`<select id="f-services" name="services" multiple`, "Web shop")

		m.post("/maintenance", url.Values{"name": {"x"}, "kind": {"once"}}).want(http.StatusForbidden)

		bad := func(want string, fields ...string) *page {
			t.Helper()
			return form.submit("/maintenance", fields...).want(http.StatusBadRequest).has(want)
		}
		bad("Time zone is not a known time zone: Mars/Olympus", "name", "Mars", "kind", "once", "time_zone", "other",
			"time_zone_other", "Mars/Olympus", "starts_at", "2030-03-01T02:00", "ends_at", "2030-03-01T04:00", "services", fmt.Sprint(dbs.ID)).
			has(`value="Mars/Olympus"`, `<option value="other" selected>`, `<li><a href="#f-time_zone_other">`)
		bad("Time zone is not a known time zone: Mars/Olympus", "name", "Mars", "kind", "weekly", "time_zone", "other",
			"time_zone_other", "Mars/Olympus", "weekdays", "sun", "start_time", "02:00", "duration", "2h", "services", fmt.Sprint(dbs.ID)).
			has(`id="f-weekday-sun" name="weekdays" value="sun" checked`, `<li><a href="#f-time_zone_other">`)
		bad("Services: a window needs services or matchers (or both)", "name", "x", "kind", "once", "time_zone", "UTC",
			"starts_at", "2030-03-01T02:00", "ends_at", "2030-03-01T04:00")
		bad("End must be after the start", "name", "x", "kind", "once", "time_zone", "UTC",
			"starts_at", "2030-03-01T02:00", "ends_at", "2030-03-01T01:00", "services", fmt.Sprint(dbs.ID))
		bad("Start must be a date and time", "name", "x", "kind", "once", "time_zone", "UTC", "ends_at", "2030-03-01T01:00",
			"services", fmt.Sprint(dbs.ID))
		bad("Days: at least one day is required", "name", "x", "kind", "weekly", "time_zone", "UTC", "start_time", "02:00",
			"duration", "2h", "services", fmt.Sprint(dbs.ID))
		bad("Duration must be whole minutes", "name", "x", "kind", "weekly", "time_zone", "UTC", "weekdays", "sun",
			"start_time", "02:00", "duration", "8d", "services", fmt.Sprint(dbs.ID))
		bad("Matchers: at least one matcher must not match the empty string", "name", "x", "kind", "weekly", "time_zone", "UTC",
			"weekdays", "sun", "start_time", "02:00", "duration", "2h", "matchers", `{env=~".*"}`)
		bad("Name is required", "kind", "once", "time_zone", "UTC", "starts_at", "2030-03-01T02:00", "ends_at", "2030-03-01T04:00",
			"services", fmt.Sprint(dbs.ID))

		// A one-off window in Berlin time, on two services.
		p := form.submit("/maintenance", "name", "Disk swap", "kind", "once", "time_zone", "Europe/Berlin",
			"starts_at", "2030-03-01T02:00", "ends_at", "2030-03-01T04:30", "services", fmt.Sprint(dbs.ID), "services", fmt.Sprint(web.ID)).
			redirects("/maintenance").want(200)
		p.has("Created the maintenance window Disk swap.", "Once, 1 Mar 2030 02:00–04:30 (Europe/Berlin)", "Not active",
			"1 Mar 2030 01:00 UTC", ">Database</a>", ">Web shop</a>")
		// A weekly window in a zone typed in, by labels.
		form.submit("/maintenance", "name", "Sunday patching", "kind", "weekly", "time_zone", "other", "time_zone_other", "America/Halifax",
			"weekdays", "sat", "weekdays", "sun", "start_time", "02:00", "duration", "1h 30m", "from_date", "2030-01-01",
			"matchers", `{env="staging"}`).redirects("/maintenance").want(200).
			has("Weekly, Sat, Sun at 02:00 for 1h 30m (America/Halifax), from 2030-01-01", `{env="staging"}`)
		// One that is active now.
		onTheMinute(s)
		now := s.Clock.Now().UTC()
		form.submit("/maintenance", "name", "Right now", "kind", "once", "time_zone", "UTC",
			"starts_at", now.Add(-time.Hour).Format("2006-01-02T15:04"), "ends_at", now.Add(2*time.Hour).Format("2006-01-02T15:04"),
			"services", fmt.Sprint(dbs.ID)).redirects("/maintenance").want(200)
		list := m.get("/maintenance").want(200).has("Active now", `ends <time`, ">in 2h</time>")
		list.before("Right now", "Disk swap")

		// Edit: the form starts with the window's values, in its zone.
		winURL := list.find(`href="(/maintenance/\d+)">Disk swap<`)
		edit := m.get(winURL).want(200).has(`value="Disk swap"`, `value="2030-03-01T02:00"`, `value="2030-03-01T04:30"`,
			`<option value="Europe/Berlin" selected>`, fmt.Sprintf(`<option value="%d" selected>Database</option>`, dbs.ID))
		edit.submit(winURL+"/edit", "name", "Disk swap, longer", "kind", "once", "time_zone", "Europe/Berlin",
			"starts_at", "2030-03-01T02:00", "ends_at", "2030-03-01T06:00", "services", fmt.Sprint(dbs.ID)).
			redirects("/maintenance").want(200).has("Saved the maintenance window Disk swap, longer.", "02:00–06:00 (Europe/Berlin)")
		weeklyURL := list.find(`href="(/maintenance/\d+)">Sunday patching<`)
		m.get(weeklyURL).want(200).has(`id="f-kind-weekly" name="kind" value="weekly" checked`, `<option value="other" selected>`,
			`value="America/Halifax"`, `id="f-weekday-sat" name="weekdays" value="sat" checked`, `value="1h 30m"`, `value="2030-01-01"`,
			`value="{env="staging"}"`)

		// Delete.
		m.post(winURL+"/delete", url.Values{}).want(http.StatusForbidden)
		edit.submit(winURL + "/delete").redirects("/maintenance").want(200).has("Deleted the maintenance window Disk swap, longer.").
			lacks(winURL + `"`)
		wantAudit(t, s, "maintenance.save", "maintenance.delete")

		// A viewer sees the windows; a responder does not change them either.
		v := signIn(t, s, s.NewUser(iam.RoleViewer))
		vl := v.get("/maintenance").want(200).has("Sunday patching", "Managers can plan and change maintenance windows.").
			lacks(`href="/maintenance/new"`, `href="`+weeklyURL+`"`)
		v.get("/maintenance/new").want(http.StatusForbidden)
		v.get(weeklyURL).want(http.StatusForbidden)
		vl.submit("/maintenance", "name", "x").want(http.StatusForbidden)
		r := signIn(t, s, s.NewUser(iam.RoleResponder))
		r.get("/maintenance").want(200).submit(weeklyURL + "/delete").want(http.StatusForbidden)
	})
}

func TestInhibitRulePages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		m := signIn(t, s, s.NewUser(iam.RoleManager))
		p := m.get("/inhibit-rules").want(200).has(`href="/inhibit-rules" aria-current="page">Inhibit rules`, "There are no inhibit rules",
			"New inhibit rule", `action="/inhibit-rules"`)

		m.post("/inhibit-rules", url.Values{"source_matchers": {`{a="b"}`}, "target_matchers": {`{c="d"}`}}).want(http.StatusForbidden)
		p.submit("/inhibit-rules", "name", "x", "target_matchers", `{alertname=~"Pod.*"}`).want(http.StatusBadRequest).
			has("Source matchers: at least one matcher is required", `value="{alertname=~"Pod.*"}"`)
		p.submit("/inhibit-rules", "name", "x", "source_matchers", `{alertname="NodeDown"}`, "target_matchers", `{alertname=~"Pod.*"`).
			want(http.StatusBadRequest).has("Target matchers could not be read")
		p.submit("/inhibit-rules", "name", "x", "source_matchers", `{alertname="NodeDown"}`, "target_matchers", `{alertname=~"Pod.*"}`,
			"equal", "node, node").want(http.StatusBadRequest).has("Equal labels names node twice")

		list := p.submit("/inhibit-rules", "name", "node down mutes pods", "source_matchers", `{alertname="NodeDown"}`,
			"target_matchers", `alertname=~"Pod.*"`, "equal", "node, cluster").redirects("/inhibit-rules").want(200)
		list.has("Created the inhibit rule node down mutes pods.", `{alertname="NodeDown"}`, `{alertname=~"Pod.*"}`,
			"<code>node</code>, <code>cluster</code>")
		id := list.find(`action="/inhibit-rules/(\d+)/delete"`)

		v := signIn(t, s, s.NewUser(iam.RoleViewer))
		vl := v.get("/inhibit-rules").want(200).has("node down mutes pods", "Managers can create and delete inhibit rules.").
			lacks(`action="/inhibit-rules"`, "/delete")
		vl.submit("/inhibit-rules", "source_matchers", `{a="b"}`, "target_matchers", `{c="d"}`).want(http.StatusForbidden)
		vl.submit("/inhibit-rules/" + id + "/delete").want(http.StatusForbidden)

		m.post("/inhibit-rules/"+id+"/delete", url.Values{}).want(http.StatusForbidden)
		list.submit("/inhibit-rules/"+id+"/delete").redirects("/inhibit-rules").want(200).
			has("Deleted the inhibit rule node down mutes pods.", "There are no inhibit rules")
		wantAudit(t, s, "inhibit.create", "inhibit.delete")
	})
}

func TestSuppressedAlerts(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Database")
		now := s.Clock.Now().UTC()
		var si, win, ru struct {
			ID int64 `json:"id"`
		}
		s.Do("POST", "/api/v1/silences", s.AdminToken, map[string]any{"matchers": `{alertname="DiskFull"}`,
			"ends_at": now.Add(2 * time.Hour).Format(time.RFC3339), "comment": "replacing disks"}).Want(201).JSON(&si)
		s.Do("POST", "/api/v1/maintenance-windows", s.AdminToken, map[string]any{"name": "Staging rebuild",
			"starts_at": now.Add(-time.Hour).Format(time.RFC3339), "ends_at": now.Add(time.Hour).Format(time.RFC3339),
			"matchers": `{env="staging"}`}).Want(201).JSON(&win)
		s.Do("POST", "/api/v1/rules", s.AdminToken, map[string]any{"name": "quiet backups", "condition": `host startsWith "backup-"`,
			"actions": map[string]any{"suppress": true}}).Want(201).JSON(&ru)

		sendLabeled(s, svc.Key, "disk", "Disk full on db-1", map[string]string{"alertname": "DiskFull"})
		sendLabeled(s, svc.Key, "staging-disk", "Disk full on staging", map[string]string{"alertname": "DiskFull", "env": "staging"})
		s.Do("POST", "/api/v1/events", svc.Key, map[string]any{"summary": "Backup slow", "dedup_key": "backup", "severity": "warning",
			"host": "backup-1"}).Want(http.StatusAccepted)
		trigger(s, svc.Key, "cpu", "CPU hot", "critical")

		b := signIn(t, s, s.NewUser(iam.RoleViewer)) // signing in moves the clock on 2 minutes
		list := b.get("/alerts").want(200)
		list.has(`Suppressed</span> <span class="small">by silence <a href="/silences#silence-`+fmt.Sprint(si.ID)+`"><code class="matchers">{alertname="DiskFull"}</code></a> <span class="muted">(ends in 1h 58m)</span>`,
			`by maintenance window <a href="/maintenance#window-`+fmt.Sprint(win.ID)+`">Staging rebuild</a> <span class="muted">(ends in 58m)</span>; silence`,
			`by event rule <a href="/rules/`+fmt.Sprint(ru.ID)+`">quiet backups</a>`)
		cpu := list.find(`href="(/alerts/\d+)">CPU hot`)
		b.get(cpu).want(200).lacks("Suppressed.")
		disk := list.find(`href="(/alerts/\d+)">Disk full on db-1`)
		b.get(disk).want(200).has("Suppressed.", "This alert pages nobody and opens no incident, because of:",
			`silence <a href="/silences#silence-`+fmt.Sprint(si.ID)+`">`, "(ends in 1h 58m)").lacks("Silenced.")
		b.get(list.find(`href="(/alerts/\d+)">Disk full on staging`)).want(200).has("Staging rebuild</a> <span class=\"muted\">(ends in 58m)</span>")

		// When the silence ends the page says so, and where to find it.
		s.Do("DELETE", fmt.Sprintf("/api/v1/silences/%d", si.ID), s.AdminToken, nil).Want(204)
		b.get(disk).want(200).has("Suppressed.", fmt.Sprintf(`href="/silences?ended=1#silence-%d"`, si.ID), "(ended)").lacks("Silenced.")

		// An incident page marks its suppressed alerts too.
		incURL := b.get("/incidents").want(200).find(`href="(/incidents/\d+)"`)
		b.get(incURL).want(200).lacks("Suppressed</span>")
		if _, err := s.App.DB.W.Exec("UPDATE alerts SET suppressed = 'inhibited,rule:999' WHERE dedup_key = 'cpu'"); err != nil {
			t.Fatal(err)
		}
		b.get(incURL).want(200).has(`Suppressed</span> <span class="small">by inhibit rule <a href="/inhibit-rules">a related alert was open</a>; event rule rule 999 <span class="muted">(deleted)</span>`)
	})
}
