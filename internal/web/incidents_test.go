package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// trigger sends a trigger event through the real PagerDuty endpoint.
func trigger(s *testkit.Server, key, dedup, summary, severity string) {
	s.T.Helper()
	s.Do("POST", "/v2/enqueue", "", map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
		"payload": map[string]any{"summary": summary, "source": "db-1", "severity": severity,
			"custom_details": map[string]any{"disk": "/var", "used_percent": 97}}}).Want(http.StatusAccepted)
}

// incidentOf finds the URL of the incident with this title on a list page.
func incidentOf(p *page, title string) string {
	p.t.Helper()
	return p.find(`href="(/incidents/\d+)"><span class="inc-number">INC-\d+</span> ` + regexp.QuoteMeta(html.EscapeString(title)) + `<`)
}

// signIn returns a browser signed in as u.
func signIn(t *testing.T, s *testkit.Server, u testkit.User) *browser {
	t.Helper()
	b := newBrowser(t, s)
	b.login(u.Email, u.Password).redirects("/").want(200)
	return b
}

func TestIncidentList(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		db1 := s.NewService("Database")
		web := s.NewService("Web shop")
		b, home := admin(t, s)
		home.has("Open incidents", `href="/incidents?priority=P1"`, "No open incident is assigned to you.")

		b.get("/incidents").want(200).has("<h1>Incidents</h1>", `aria-current="page">Incidents`, "No open incidents. All is quiet.",
			`data-refresh="/incidents?fragment=1"`, `aria-live="polite"`, `href="/incidents/new"`)

		trigger(s, db1.Key, "disk-db-1", "Disk full on db-1", "critical")
		trigger(s, db1.Key, "disk-db-2", "Disk full on db-2", "critical") // joins the open incident of its service
		trigger(s, web.Key, "latency", "Checkout latency high", "warning")
		list := b.get("/incidents").want(200)
		diskURL, shopURL := incidentOf(list, "Disk full on db-1"), incidentOf(list, "Checkout latency high")
		list.has("Open incidents, newest first", `<span class="visually-hidden">Priority </span>P2</span>`,
			`<span class="state-mark" aria-hidden="true"></span>Triggered</span>`, "Database", "Web shop",
			`<td class="num" data-label="Alerts">2</td>`, ">just now</time>", "Nobody")
		if strings.Index(list.Body, shopURL+`"`) > strings.Index(list.Body, diskURL+`"`) {
			t.Fatal("the list is not newest first")
		}

		// Filters.
		b.get(fmt.Sprint("/incidents?service=", web.ID)).want(200).has("Checkout latency high", "Incidents that match the filter").
			lacks("Disk full on db-1")
		b.get("/incidents?priority=P4").want(200).has("No incident matches this filter.")
		b.get("/incidents?status=resolved").want(200).has("No incident matches this filter.")
		b.get("/incidents?status=any").want(200).has("Disk full on db-1", "Checkout latency high")
		b.get("/incidents?status=later").want(http.StatusBadRequest).has("Status must be")
		b.get("/incidents?service=abc").want(http.StatusBadRequest).has("Service must be one of the listed services")
		b.get("/incidents?priority=P9").want(http.StatusBadRequest).has("Priority must be P1")
		b.get("/incidents?assignee=me").want(200).has("No incident matches this filter.")
		inc := b.get(diskURL).want(200)
		inc = inc.submit(diskURL+"/assign", "assignee", fmt.Sprint(s.AdminID)).redirects(diskURL).want(200)
		inc.submit(diskURL+"/edit", "title", "Disk full on db-1", "impact", "1", "urgency", "1", "major", "1", "tags", "storage, DB",
			"version", inc.find(`name="version" value="(\d+)"`)).redirects(diskURL).want(200)
		b.get("/incidents?assignee=me").want(200).has("Disk full on db-1").lacks("Checkout latency high")
		b.get("/incidents?major=yes").want(200).has("Disk full on db-1", ">Major</span>").lacks("Checkout latency high")
		b.get("/incidents?major=no").want(200).has("Checkout latency high").lacks("Disk full on db-1")
		b.get("/incidents?tag=storage").want(200).has("Disk full on db-1", `<span class="tag">storage</span>`).lacks("Checkout latency high")
		b.get("/incidents?priority=P1").want(200).has("Disk full on db-1").lacks("Checkout latency high")
		b.get("/").want(200).has("Assigned to you", "Disk full on db-1",
			`<span class="prio-tile-count">1</span> <span class="prio-tile-label">P1 open</span>`)

		// Search: every word, over titles, notes and resolutions, with the filters.
		b.get("/incidents?q=disk+full").want(200).has(`Incidents that match “disk full”`, "Disk full on db-1").lacks("Checkout latency high")
		b.get(diskURL).want(200).submit(diskURL+"/notes", "body", "Rotated the nginx logs").redirects(diskURL)
		b.get("/incidents?q=nginx").want(200).has("Disk full on db-1")
		b.get("/incidents?q=nginx&priority=P3").want(200).has("No incident matches “nginx” with these filters.")
		b.get("/incidents?q=x").want(http.StatusBadRequest).has("Search must contain at least one word", `value="x"`)

		// The fragment is the list alone; its signature changes with the rows.
		frag := b.get("/incidents?fragment=1&status=open").want(200)
		if !strings.HasPrefix(frag.Body, `<div class="incident-table"`) || strings.Contains(frag.Body, "<html") {
			t.Fatalf("the fragment is not the list alone:\n%s", frag.Body)
		}
		frag.has("Disk full on db-1", "Checkout latency high").lacks("<nav")
		if cc := frag.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("the fragment has Cache-Control %q", cc)
		}
		sig := frag.find(`data-sig="([0-9a-f]+)"`)
		if again := b.get("/incidents?fragment=1&status=open").want(200).find(`data-sig="([0-9a-f]+)"`); again != sig {
			t.Fatal("the signature changed without a change")
		}
		trigger(s, web.Key, "latency-2", "Checkout errors", "error")
		after := b.get("/incidents?fragment=1&status=open").want(200)
		if after.find(`data-sig="([0-9a-f]+)"`) == sig {
			t.Fatal("the signature did not change with a new alert")
		}
		after.has(`<td class="num" data-label="Alerts">2</td>`)
		b.get("/incidents?fragment=1&status=nope").want(http.StatusBadRequest).lacks("<html")
		newBrowser(t, s).get("/incidents?fragment=1").redirects("/login")

		// Long lists come in pages; the next page keeps the filter and does not refresh itself.
		form := b.get("/incidents/new").want(200)
		for i := range 52 {
			form.submit("/incidents", "title", fmt.Sprintf("Manual %02d", i), "impact", "3", "urgency", "3").redirects("/incidents/")
		}
		first := b.get("/incidents?priority=P5").want(200).has("Manual 51").lacks("Manual 00<", "Manual 01<")
		next := html.UnescapeString(first.find(`<a href="(/incidents\?[^"]+)" rel="next">`))
		if !strings.Contains(next, "priority=P5") || !strings.Contains(next, "after=") || strings.Contains(next, "fragment") {
			t.Fatalf("next page link %s", next)
		}
		b.get(next).want(200).has("Manual 00", "Manual 01", "← First page").lacks("Manual 51", "data-refresh=")
	})
}

func TestIncidentActions(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Database")
		trigger(s, svc.Key, "disk-db-1", "Disk full on db-1", "critical")
		u := s.NewUser(iam.RoleResponder)
		b := signIn(t, s, u)
		list := b.get("/incidents").want(200)
		incURL := incidentOf(list, "Disk full on db-1")
		id := strings.TrimPrefix(incURL, "/incidents/")
		num := "INC-" + id

		p := b.get(incURL).want(200)
		p.has("<h1><span class=\"inc-number\">"+num+"</span> Disk full on db-1</h1>", "Summary", "Time to acknowledge",
			"Time to resolve", "Running", "Actions", ">Acknowledge</button>", "Start investigating", "Put on hold", ">Resolve</button>",
			"Timeline", "Opened", "event ingest", "Disk full on db-1", "Raw events", "Event as received", "used_percent",
			`href="`+incURL+`/report"`, `href="`+incURL+`/report.md"`, "Similar past incidents", "Assign to me").
			lacks(">Close</button>", ">Reopen</button>")

		// Without the CSRF token, or with a wrong one, nothing happens.
		fields := url.Values{"resolution": {"x"}, "hold_note": {"x"}, "reopen_note": {"x"}, "body": {"sneaky note"},
			"assignee": {fmt.Sprint(u.ID)}, "title": {"Sneaky title"}, "impact": {"1"}, "urgency": {"1"}, "version": {"1"},
			"related": {"INC-1"}}
		for _, action := range []string{"/acknowledge", "/investigate", "/hold", "/resolve", "/close", "/reopen", "/assign",
			"/notes", "/edit", "/links"} {
			b.post(incURL+action, fields).want(http.StatusForbidden).has("did not come from this Steady page")
			forged := url.Values{"csrf": {"forged"}}
			for k, v := range fields {
				forged[k] = v
			}
			b.post(incURL+action, forged).want(http.StatusForbidden)
		}
		b.post("/incidents", url.Values{"title": {"Sneaky incident"}}).want(http.StatusForbidden)
		b.get(incURL).want(200).has("Triggered</span>", "Nobody").lacks("sneaky note", "Sneaky title")
		if l := auditOf(s, "incident."); len(l.Items) != 0 {
			t.Fatalf("forms without their CSRF token changed incidents: %+v", l.Items)
		}

		p = p.submit(incURL + "/acknowledge").redirects(incURL).want(200)
		p.has("Acknowledged "+num+".", "Acknowledged</span>", "Met").lacks(">Acknowledge</button>")
		p = p.submit(incURL+"/investigate").redirects(incURL).want(200).has(num+" is now being investigated.", "Investigating</span>")
		p.submit(incURL+"/hold", "hold_note", " ").want(http.StatusBadRequest).
			has("Please correct what is marked below.", "Note is required", `href="#f-hold_note"`)
		p = p.submit(incURL+"/hold", "hold_note", "Waiting for the storage vendor").redirects(incURL).want(200)
		p.has("Put "+num+" on hold", "On hold</span>", "Paused", "Waiting for the storage vendor", "Resume investigating")
		p = p.submit(incURL + "/investigate").redirects(incURL).want(200).has("Investigating</span>")

		// Assign: to me, then to another user and a team through the selects.
		p = p.submit(incURL+"/assign", "assignee", fmt.Sprint(u.ID)).redirects(incURL).want(200)
		p.has("Assigned "+num+" to Test responder.", "(you)").lacks("Assign to me</button>")
		a, _ := admin(t, s)
		team := a.get("/teams/new").want(200).submit("/teams", "name", "DBA").redirects("/teams/").want(200)
		teamID := team.find(`action="/teams/(\d+)/members"`)
		p = b.get(incURL).want(200).has(`<option value="` + teamID + `">DBA</option>`)
		p = p.submit(incURL+"/assign", "assignee", fmt.Sprint(s.AdminID), "team", teamID).redirects(incURL).want(200)
		p.has("Assigned "+num+" to Administrator and the team DBA.", `href="/teams/`+teamID+`">DBA</a>`)
		p.submit(incURL+"/assign", "assignee", "999999").want(http.StatusBadRequest).has("Assignee names no user")
		p.submit(incURL+"/assign", "assignee", "me").want(http.StatusBadRequest).has("Assignee must be one of the listed users")

		// Notes.
		p.submit(incURL+"/notes", "body", "  ").want(http.StatusBadRequest).has("Note must be 1 to 20000 characters")
		p = p.submit(incURL+"/notes", "body", "Found 40 GB of old logs\nin /var/log/nginx").redirects(incURL).want(200)
		p.has("Added your note to "+num+".", `<span class="tl-kind">Note</span> <span class="tl-actor">`+u.Email+`</span>`,
			"Found 40 GB of old logs\nin /var/log/nginx")
		p = p.submit(incURL+"/notes", "body", "follow-up: alert earlier").redirects(incURL).want(200)

		// Edit: title, impact × urgency, flags, tags; a stale edit is caught.
		version := p.find(`name="version" value="(\d+)"`)
		p = p.submit(incURL+"/edit", "title", "Disk full on the primary", "impact", "2", "urgency", "3", "tags", "disk, Storage",
			"version", version).redirects(incURL).want(200)
		p.has("Saved "+num+".", "Disk full on the primary", "P4", "impact Medium, urgency Low", `>disk</a>`, `>storage</a>`)
		p.submit(incURL+"/edit", "title", "Older title", "impact", "1", "urgency", "1", "version", version).
			want(http.StatusPreconditionFailed).has("Someone changed this incident", `value="Older title"`, "<details class=\"edit-details\" open>")
		p.submit(incURL+"/edit", "title", "", "impact", "1", "urgency", "1", "version", p.find(`name="version" value="(\d+)"`)).
			want(http.StatusBadRequest).has("Title is required")
		p.submit(incURL+"/edit", "title", "x", "impact", "huge", "urgency", "1", "version", "1").
			want(http.StatusBadRequest).has("Impact must be high, medium or low")

		// Links to other incidents.
		other := b.get("/incidents/new").want(200).submit("/incidents", "title", "Replica lag", "impact", "2", "urgency", "2").
			redirects("/incidents/").want(200)
		other.has("Opened INC-", "with priority P3", "Replica lag", "opened by hand")
		otherNum := other.find(`<span class="inc-number">(INC-\d+)</span> Replica lag</h1>`)
		p.submit(incURL+"/links", "related", "nonsense").want(http.StatusBadRequest).has("Related incident must be an incident number")
		p.submit(incURL+"/links", "related", num).want(http.StatusBadRequest).has("Related incident must be another incident")
		p.submit(incURL+"/links", "related", "INC-999999").want(http.StatusBadRequest).has("Related incident names no incident")
		p = p.submit(incURL+"/links", "related", strings.ToLower(otherNum)).redirects(incURL).want(200)
		p.has(num+" is now related to "+otherNum+".", "Replica lag")

		// Resolve needs a resolution note; then close and reopen are offered.
		p.submit(incURL+"/resolve", "resolution", "").want(http.StatusBadRequest).has("Resolution note is required")
		p = p.submit(incURL+"/resolve", "resolution", "Rotated logs and grew the volume").redirects(incURL).want(200)
		p.has("Resolved "+num+".", "Resolved</span>", "Rotated logs and grew the volume", ">Close</button>", ">Reopen</button>").
			lacks(">Resolve</button>", "Start investigating")
		p.submit(incURL + "/acknowledge").want(http.StatusConflict).has("cannot become acknowledged")
		p = p.submit(incURL+"/close").redirects(incURL).want(200).has("Closed "+num+".", "Closed</span>").lacks(">Close</button>")
		p = p.submit(incURL+"/reopen", "reopen_note", "It filled up again").redirects(incURL).want(200)
		p.has("Reopened "+num+".", "Triggered</span>", "It filled up again", ">Acknowledge</button>")
		p = p.submit(incURL+"/resolve", "resolution", "Moved the logs to their own volume").redirects(incURL).want(200)

		// Every action is on the timeline and in the audit trail, from the UI.
		p.has("status changed to investigating", "status changed to on hold: Waiting for the storage vendor", "assigned to",
			"related to "+otherNum, "resolved: Rotated logs and grew the volume", "reopened: It filled up again")
		for _, action := range []string{"incident.acknowledged", "incident.on_hold", "incident.resolved", "incident.closed",
			"incident.reopened", "incident.assign", "incident.note", "incident.update", "incident.link"} {
			if l := auditOf(s, action); len(l.Items) == 0 || l.Items[0].Source != "web" {
				t.Errorf("%s audit entries: %+v", action, l.Items)
			}
		}

		// The report, as Markdown to download and as a page.
		md := b.get(incURL + "/report.md").want(200)
		if ct, cd := md.Header.Get("Content-Type"), md.Header.Get("Content-Disposition"); ct != "text/markdown; charset=utf-8" ||
			cd != `attachment; filename="`+num+`-report.md"` {
			t.Fatalf("Markdown report: Content-Type %q, Content-Disposition %q", ct, cd)
		}
		md.has("# "+num+": Disk full on the primary", "## Timeline", "## Resolution", "Moved the logs to their own volume",
			"- [ ] follow-up: alert earlier", otherNum)
		rep := b.get(incURL + "/report").want(200)
		if ct := rep.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Fatalf("HTML report: Content-Type %q", ct)
		}
		rep.has("<h1>"+num+": Disk full on the primary</h1>", "<h2>Timeline</h2>", "Moved the logs to their own volume")
		if csp := rep.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") || !strings.Contains(csp, "default-src 'none'") {
			t.Fatalf("HTML report CSP %q", csp)
		}

		// A new incident like it shows the old one and how it was fixed.
		trigger(s, svc.Key, "disk-db-3", "Disk full on db-3", "error")
		fresh := incidentOf(b.get("/incidents").want(200), "Disk full on db-3")
		b.get(fresh).want(200).has("Similar past incidents", `href="`+incURL+`"><span class="inc-number">`+num+`</span> Disk full on the primary</a>`,
			"Moved the logs to their own volume")

		b.get("/incidents/999999").want(http.StatusNotFound).has("Incident INC-999999 not found.")
		b.get("/incidents/abc").want(http.StatusNotFound)
		b.get(incURL + "?events_after=garbage").want(http.StatusBadRequest)
	})
}

func TestIncidentPaging(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	svc := s.NewService("Fleet")
	for i := range 25 {
		trigger(s, svc.Key, fmt.Sprintf("host-%02d", i), fmt.Sprintf("Host %02d down", i), "error")
	}
	b, _ := admin(t, s)
	incURL := incidentOf(b.get("/incidents").want(200), "Host 00 down")
	p := b.get(incURL).want(200).has(`<span class="count">25</span>`, "Host 24 down").lacks("Host 04 down<")
	next := html.UnescapeString(p.find(`<a href="(/incidents/\d+\?alerts_after=[^"]+)" rel="next">`))
	if !strings.HasSuffix(next, "#alerts") {
		t.Fatalf("the alerts' next page %s does not return to the alerts", next)
	}
	b.get(next).want(200).has("Host 04 down", "Host 00 down")
	next = html.UnescapeString(p.find(`<a href="(/incidents/\d+\?events_after=[^"]+)" rel="next">`))
	b.get(next).want(200).has("Host 00 down")
}

func TestIncidentRoles(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Database")
		trigger(s, svc.Key, "disk", "Disk full on db-1", "critical")
		v := s.NewUser(iam.RoleViewer)
		b := signIn(t, s, v)
		list := b.get("/incidents").want(200).has("Disk full on db-1").lacks(`href="/incidents/new"`)
		incURL := incidentOf(list, "Disk full on db-1")
		p := b.get(incURL).want(200).has("Disk full on db-1", "Timeline", "Raw events", "Time to acknowledge",
			"you can follow this incident, but acting on it needs the responder role")
		p.lacks(">Acknowledge</button>", ">Resolve</button>", "Add note", "Save assignment", "Edit title", `action="`+incURL+`/links"`)
		for _, action := range []string{"/acknowledge", "/resolve", "/notes", "/assign", "/close", "/hold"} {
			p.submit(incURL+action, "resolution", "viewer was here", "hold_note", "x", "body", "x", "assignee", fmt.Sprint(v.ID)).
				want(http.StatusForbidden).has("needs the responder role")
		}
		p.submit("/incidents", "title", "Viewer incident").want(http.StatusForbidden)
		b.get("/incidents/new").want(http.StatusForbidden)
		b.get(incURL).want(200).has("Triggered</span>", "Nobody").lacks("viewer was here")
		b.get(incURL + "/report.md").want(200) // reading is fine
		if l := auditOf(s, "incident."); len(l.Items) != 0 {
			t.Fatalf("a viewer changed an incident: %+v", l.Items)
		}
	})
}

func TestSecurityIncident(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Identity")
		insider, outsider := s.NewUser(iam.RoleResponder), s.NewUser(iam.RoleResponder)
		a, home := admin(t, s)
		team := home.submit("/teams", "name", "SecOps").redirects("/teams/").want(200)
		teamID := team.find(`action="/teams/(\d+)/members"`)
		team.submit("/teams/"+teamID+"/members", "email", insider.Email, "team_role", "member").redirects("/teams/")

		// One opened by hand as a security incident, one from an event marked as one afterwards.
		form := a.get("/incidents/new").want(200)
		sec := form.submit("/incidents", "title", "Leaked credentials", "impact", "1", "urgency", "1", "team", teamID,
			"security", "1", "description", "Keys found in a public repository").redirects("/incidents/").want(200)
		sec.has("Security incident", "Keys found in a public repository")
		secURL := "/incidents/" + sec.find(`action="/incidents/(\d+)/notes"`)
		trigger(s, svc.Key, "brute", "Brute force on the login", "critical")
		evURL := incidentOf(a.get("/incidents").want(200), "Brute force on the login")
		ev := a.get(evURL).want(200)
		ev.submit(evURL+"/assign", "team", teamID).redirects(evURL)
		ev.submit(evURL+"/edit", "title", "Brute force on the login", "impact", "1", "urgency", "1", "security", "1",
			"version", a.get(evURL).find(`name="version" value="(\d+)"`)).redirects(evURL).want(200).has("Security incident")
		alertURL := a.get(evURL).want(200).find(`href="(/alerts/\d+)"`)

		out := signIn(t, s, outsider)
		out.get("/incidents?status=any").want(200).lacks("Leaked credentials", "Brute force")
		out.get("/incidents?q=credentials&status=any").want(200).lacks("Leaked credentials")
		out.get("/incidents?fragment=1&status=any").want(200).lacks("Leaked credentials", "Brute force")
		for _, path := range []string{secURL, secURL + "/report", secURL + "/report.md", evURL, alertURL} {
			out.get(path).want(http.StatusNotFound).lacks("Leaked credentials", "Keys found", "Brute force")
		}
		out.get("/alerts").want(200).lacks("Brute force")
		out.get(fmt.Sprint("/services/", svc.ID)).want(200).lacks("Brute force")
		op := out.get("/incidents").want(200)
		op.submit(secURL + "/acknowledge").want(http.StatusNotFound)
		op.submit(secURL+"/notes", "body", "peek").want(http.StatusNotFound)
		out.get("/").want(200).has(`<span class="prio-tile-count">0</span> <span class="prio-tile-label">P1 open</span>`)

		in := signIn(t, s, insider)
		in.get("/incidents").want(200).has("Leaked credentials", "Brute force on the login", ">Security</span>")
		in.get(secURL).want(200).has("Keys found in a public repository").submit(secURL + "/acknowledge").redirects(secURL).want(200)
		in.get(alertURL).want(200).has("Brute force on the login")
		in.get("/").want(200).has(`<span class="prio-tile-count">2</span> <span class="prio-tile-label">P1 open</span>`)

		// A responder who marks an incident as a security incident of no team of theirs is told they lose sight of it.
		edge := s.NewService("Edge")
		trigger(s, edge.Key, "other", "Odd traffic", "warning")
		oddURL := incidentOf(out.get("/incidents").want(200), "Odd traffic")
		odd := out.get(oddURL).want(200)
		oddAlert := odd.find(`href="(/alerts/\d+)"`)
		odd.submit(oddURL+"/edit", "title", "Odd traffic", "impact", "2", "urgency", "2", "security", "1",
			"version", odd.find(`name="version" value="(\d+)"`)).redirects("/incidents").want(200).
			has("is now a security incident: only its team and admins can read it.").lacks("Odd traffic</a>")
		out.get(oddAlert).want(http.StatusNotFound)
		out.get("/alerts").want(200).lacks("Odd traffic")
		a.get(oddAlert).want(200).has("Odd traffic")
	})
}

func TestServicesAndKeys(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		m := s.NewUser(iam.RoleManager)
		b := signIn(t, s, m)
		b.get("/services").want(200).has("<h1>Services</h1>", "There are no services yet.", `href="/services/new"`)

		form := b.get("/services/new").want(200).has(`<label for="f-name">Name</label>`, `<option value="medium" selected>Medium</option>`,
			`value="5m"`, `id="f-auto_resolve" name="auto_resolve" type="checkbox" value="1" checked`)
		form.submit("/services", "name", "", "criticality", "high", "group_window", "5m").want(http.StatusBadRequest).
			has("Name is required", `<option value="high" selected>High</option>`)
		form.submit("/services", "name", "Checkout", "criticality", "high", "labels", "tier: 1", "group_window", "5m").
			want(http.StatusBadRequest).has("Labels line 1 must read name=value", "tier: 1")
		form.submit("/services", "name", "Checkout", "criticality", "high", "labels", "1tier=1", "group_window", "5m").
			want(http.StatusBadRequest).has("Labels 1tier is not a valid label name")
		form.submit("/services", "name", "Checkout", "criticality", "high", "group_window", "soon").
			want(http.StatusBadRequest).has("Group window must be a duration")
		page := form.submit("/services", "name", "Checkout", "description", "Takes the money", "criticality", "critical",
			"labels", "tier=1\nowner = payments", "group_by", "cluster", "group_window", "10m", "auto_resolve", "1").
			redirects("/services/").want(200)
		page.has("Created the service Checkout.", "<h1>Checkout</h1>", "Takes the money", "Critical", "<code>owner=payments</code>",
			"alerts with equal <code>cluster</code> share an incident", "for 10m after it opens", "No keys yet", "YOUR-INTEGRATION-KEY")
		svcURL := "/services/" + page.find(`action="/services/(\d+)/keys"`)
		form.submit("/services", "name", "Checkout", "criticality", "low", "group_window", "0").want(http.StatusConflict).
			has("Name is already taken")
		b.get("/services").want(200).has(`<a href="`+svcURL+`">Checkout</a>`, "Takes the money")
		b.get("/services?q=check").want(200).has("Checkout", "Services that match the filter")
		b.get("/services?q=zzz").want(200).has("No service matches this filter.")

		// Keys: create, use, revoke.
		page = page.submit(svcURL+"/keys", "key_name", "prometheus-eu").redirects(svcURL).want(200)
		page.has("Created the integration key prometheus-eu.", "prometheus-eu", "by user:"+m.Email, "Never")
		key := page.find(`class="secret key-value" type="text" value="([a-z2-7]{32})" readonly`)
		base := s.URL
		page.has(base+"/v2/enqueue", base+"/api/v1/integrations/alertmanager", base+"/api/v1/events",
			`"routing_key": "`+key+`"`, "credentials: "+key, "Authorization: Bearer "+key).lacks("YOUR-INTEGRATION-KEY")
		trigger(s, key, "pay-1", "Payments failing", "critical")
		page = b.get(svcURL).want(200).has("Payments failing", "INC-", "Open incidents").lacks(">Never<")
		keyID := page.find(`action="` + svcURL + `/keys/(\d+)/revoke"`)
		page.submit(svcURL+"/keys", "key_name", strings.Repeat("k", 201)).want(http.StatusBadRequest).
			has("Key name must be at most 200 characters")
		b.post(svcURL+"/keys/"+keyID+"/revoke", url.Values{}).want(http.StatusForbidden)
		page = page.submit(svcURL + "/keys/" + keyID + "/revoke").redirects(svcURL).want(200)
		page.has("Revoked the integration key prometheus-eu", "Revoked</span>").lacks(`value="` + key + `"`)
		s.Do("POST", "/v2/enqueue", "", map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": "x",
			"payload": map[string]any{"summary": "x", "source": "x", "severity": "info"}}).Want(http.StatusNotFound)

		// Edit, and a stale edit.
		edit := b.get(svcURL+"/edit").want(200).has(`value="Checkout"`, "tier=1", `value="10m"`, `name="version" value="1"`)
		edit.submit(svcURL+"/edit", "name", "Checkout EU", "criticality", "high", "group_by", "cluster, region", "group_window", "1h 30m",
			"version", "1").redirects(svcURL).want(200).
			has("Saved the service Checkout EU.", "<h1>Checkout EU</h1>", "High", "<code>cluster</code>, <code>region</code>",
				"for 1h 30m after it opens", "No: people resolve incidents")
		edit.submit(svcURL+"/edit", "name", "Checkout US", "criticality", "high", "group_window", "5m", "version", "1").
			want(http.StatusPreconditionFailed).has("Someone changed this service", `value="Checkout US"`, `name="version" value="2"`)

		// Others: a viewer sees the service and how to send, but no keys and no buttons.
		v := signIn(t, s, s.NewUser(iam.RoleViewer))
		vp := v.get(svcURL).want(200).has("Checkout EU", "Sending events", base+"/v2/enqueue", "A manager can give you an integration key.")
		vp.lacks("Integration keys", "secret key-value", "Edit service", "Create key")
		vp.submit(svcURL+"/keys", "key_name", "sneaky").want(http.StatusForbidden)
		vp.submit(svcURL + "/delete").want(http.StatusForbidden)
		v.get("/services").want(200).lacks(`href="/services/new"`)
		v.get("/services/new").want(http.StatusForbidden)
		r := signIn(t, s, s.NewUser(iam.RoleResponder))
		r.get(svcURL + "/edit").want(http.StatusForbidden)
		r.get(svcURL).want(200).has(`href="/incidents/new?service=`).lacks("Integration keys")

		// Delete.
		b.get(svcURL + "/edit").want(200).submit(svcURL + "/delete").redirects("/services").want(200).
			has("Deleted the service Checkout EU").lacks(svcURL)
		b.get(svcURL).want(http.StatusNotFound)
		for _, a := range []string{"service.create", "service.update", "service.key.create", "service.key.revoke", "service.delete"} {
			if l := auditOf(s, a); len(l.Items) == 0 || l.Items[0].Source != "web" {
				t.Errorf("%s audit entries: %+v", a, l.Items)
			}
		}
	})
}

func TestAlertPages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		dbs, web := s.NewService("Database"), s.NewService("Web")
		for range 22 {
			trigger(s, dbs.Key, "disk", "Disk full on db-1", "critical")
		}
		trigger(s, web.Key, "5xx", "Too many errors", "warning")
		s.Do("POST", "/v2/enqueue", "", map[string]any{"routing_key": web.Key, "event_action": "resolve", "dedup_key": "5xx"}).Want(202)
		b := signIn(t, s, s.NewUser(iam.RoleViewer))
		list := b.get("/alerts").want(200).has("<h1>Alerts</h1>", "All alerts, newest first", "Disk full on db-1", "Too many errors",
			`<td class="num" data-label="Events">22</td>`, "Resolved</span>", "Critical</span>")
		b.get(fmt.Sprint("/alerts?service=", web.ID)).want(200).has("Too many errors").lacks("Disk full on db-1")
		b.get("/alerts?status=open").want(200).has("Disk full on db-1").lacks("Too many errors")
		b.get("/alerts?status=resolved").want(200).has("Too many errors").lacks("Disk full on db-1")
		b.get("/alerts?status=gone").want(http.StatusBadRequest).has("Status must be triggered, acknowledged, resolved or open")
		b.get("/alerts?service=x").want(http.StatusBadRequest).has("Service must be one of the listed services")
		b.get("/alerts?service=999").want(200).has("No alert matches this filter.")

		alertURL := list.find(`href="(/alerts/\d+)">Disk full on db-1`)
		p := b.get(alertURL).want(200).has("<h1>Disk full on db-1</h1>", "Last event", "Database", "<code>disk</code>",
			"used_percent", "pagerduty", "INC-", "Raw events", "22 events")
		next := html.UnescapeString(p.find(`<a href="(/alerts/\d+\?events_after=[^"]+)" rel="next">`))
		b.get(next).want(200).has("Event as received", "← First page")
		b.get("/alerts/999999").want(http.StatusNotFound).has("Alert 999999 not found.")
	})
}

func TestSLAPages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		v := signIn(t, s, s.NewUser(iam.RoleManager))
		v.get("/sla").want(200).has("SLA policies", "5m", "4h", "24×7", "Mon–Fri 09:00–17:00 (UTC)", "Admins can change these targets.").
			lacks(`href="/sla/P1"`)
		v.get("/sla/P1").want(http.StatusForbidden)
		v.get("/").want(200).submit("/sla/P1", "ack", "1m", "resolve", "1h", "mode", "always").want(http.StatusForbidden)

		a, _ := admin(t, s)
		a.get("/sla").want(200).has(`href="/sla/P4"`).lacks("Admins can change")
		form := a.get("/sla/P4").want(200).has("SLA of P4", `value="4h"`, `value="3d"`, `id="f-mode-hours" name="mode" value="hours" checked`,
			`id="f-day-mon" name="days" value="mon" checked`, `id="f-day-sat" name="days" value="sat">`, `value="UTC"`)
		bad := func(want string, fields ...string) {
			t.Helper()
			form.submit("/sla/P4", fields...).want(http.StatusBadRequest).has(want)
		}
		bad("Time to acknowledge must be a duration", "ack", "soon", "resolve", "3d", "mode", "always")
		bad("Time to resolve must be from 1 second to a year", "ack", "1h", "resolve", "400d", "mode", "always")
		bad("Mode must be around the clock or working hours", "ack", "1h", "resolve", "3d")
		bad("Working days must include at least one day", "ack", "1h", "resolve", "3d", "mode", "hours", "start", "09:00", "end", "17:00", "time_zone", "UTC")
		bad("Time zone is not a known time zone", "ack", "1h", "resolve", "3d", "mode", "hours", "days", "mon", "start", "09:00",
			"end", "17:00", "time_zone", "Mars/Olympus")
		bad("Holidays line 2 must read", "ack", "1h", "resolve", "3d", "mode", "always", "time_zone", "UTC", "holidays", "2026-12-24 Eve\nsoon")
		bad("End of the working day must differ from the start", "ack", "1h", "resolve", "3d", "mode", "hours", "days", "mon",
			"start", "09:00", "end", "09:00", "time_zone", "UTC")

		form.submit("/sla/P4", "ack", "2h 30m", "resolve", "2d", "mode", "hours", "days", "mon", "days", "tue", "days", "wed",
			"days", "thu", "days", "fri", "start", "08:00", "end", "18:00", "time_zone", "Europe/Berlin",
			"holidays", "2026-12-24 Christmas Eve\nyearly 12-25 Christmas Day").redirects("/sla").want(200).
			has("Saved the SLA of P4: acknowledge within 2h 30m, resolve within 2d.", "Mon–Fri 08:00–18:00 (Europe/Berlin)",
				"2026-12-24 Christmas Eve; yearly 12-25 Christmas Day")
		a.get("/sla/P4").want(200).has(`value="2h 30m"`, `value="Europe/Berlin"`, "yearly 12-25 Christmas Day")
		a.get("/sla/P3").want(200).submit("/sla/P3", "ack", "30m", "resolve", "12h", "mode", "always", "time_zone", "UTC").
			redirects("/sla").want(200).has("Saved the SLA of P3")
		a.get("/sla/P9").want(http.StatusNotFound)
		if l := auditOf(s, "sla.policy.update"); len(l.Items) != 2 || l.Items[0].Source != "web" {
			t.Fatalf("SLA audit entries: %+v", l.Items)
		}

		// New incidents count on the new targets.
		p := a.get("/incidents/new").want(200).submit("/incidents", "title", "Slow reports", "impact", "2", "urgency", "2").
			redirects("/incidents/").want(200)
		p.has("of 30m used", "of 12h used", "P3, 24x7")
	})
}
