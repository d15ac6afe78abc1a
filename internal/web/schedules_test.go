package web_test

import (
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// person creates a user with a name of their own, through the API.
func person(s *testkit.Server, name, email string) string {
	var u struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", "/api/v1/users", s.AdminToken, map[string]any{"email": email, "name": name, "role": "responder"}).Want(201).JSON(&u)
	return strconv.FormatInt(u.ID, 10)
}

func TestSchedulePages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		s.Clock.Set(time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC))
		alice, bob := person(s, "Alice Archer", "alice@example.com"), person(s, "Bob Baker", "bob@example.com")
		m := signIn(t, s, s.NewUser(iam.RoleManager))
		r := signIn(t, s, s.NewUser(iam.RoleResponder))
		v := signIn(t, s, s.NewUser(iam.RoleViewer))

		m.get("/schedules").want(200).has("<h1>On-call schedules</h1>", `aria-current="page">On call</a>`, "There are no schedules yet", `href="/schedules/new"`)
		v.get("/schedules").want(200).lacks(`href="/schedules/new"`)
		v.get("/schedules/new").want(http.StatusForbidden)

		// The form grows by submit buttons: a participant, a layer.
		form := m.get("/schedules/new").want(200).has("New schedule", `name="l0_start" type="datetime-local"`, "Add a participant", "Add a layer")
		if n := strings.Count(form.Body, `name="l0_p"`); n != 2 {
			t.Fatalf("%d participant selects on a new form", n)
		}
		grown := form.submit("/schedules", "name", "Primary", "time_zone", "Europe/Berlin", "layers", "1", "l0_name", "Weekly",
			"l0_start", "2026-10-12T09:00", "l0_length", "1", "l0_unit", "week", "l0_p", alice, "l0_p", bob, "op", "add_p_0").want(200)
		if n := strings.Count(grown.Body, `name="l0_p"`); n != 3 {
			t.Fatalf("%d participant selects after adding one", n)
		}
		grown.has(`value="`+alice+`" selected`, `value="Primary"`)
		two := grown.submit("/schedules", "name", "Primary", "time_zone", "Europe/Berlin", "layers", "1", "l0_name", "Weekly",
			"l0_start", "2026-10-12T09:00", "l0_length", "1", "l0_unit", "week", "l0_p", alice, "op", "add_layer").want(200)
		two.has("Layer 2", `name="l1_start"`)

		// Mistakes come back marked, and nothing is stored.
		bad := two.submit("/schedules", "name", "Primary", "time_zone", "other", "time_zone_other", "Mars/Base", "layers", "2",
			"l0_start", "2026-10-12T09:00", "l0_length", "1", "l0_unit", "week", "l0_p", "",
			"l1_start", "tomorrow", "l1_length", "1", "l1_unit", "day", "l1_p", bob, "op", "save").want(http.StatusBadRequest)
		bad.has("Please correct what is marked below.", "Layer 1: participants must name at least one user", "Layer 2: start must be a local date",
			"Time zone is not a known IANA time zone")
		if n := s.Do("GET", "/api/v1/schedules", s.AdminToken, nil).Want(200).Map()["items"].([]any); len(n) != 0 {
			t.Fatalf("a refused form stored %v", n)
		}

		created := bad.submit("/schedules", "name", "Primary", "description", "Payments on call", "time_zone", "Europe/Berlin", "layers", "1",
			"l0_name", "Weekly", "l0_start", "2026-10-12T09:00", "l0_length", "1", "l0_unit", "week", "l0_p", alice, "l0_p", "", "l0_p", bob,
			"op", "save").redirects("/schedules/").want(200)
		created.has("Schedule Primary is created.", "On call now", "Bob Baker", "Europe/Berlin", "Weekly", "Alice Archer → Bob Baker",
			`class="timeline table-wrap"`, `class="tl-bar tl-c`, "On call", "Mon 26 Oct 09:00") // the hand-off in Berlin time, after the DST change
		sid := created.find(`action="/schedules/(\d+)/overrides"`)

		// Overrides: a responder adds one; it shows in the list, the timeline and who is on call.
		page := r.get("/schedules/" + sid).want(200).has("Add an override")
		v.get("/schedules/"+sid).want(200).lacks("Add an override", "Edit schedule")
		page.submit("/schedules/"+sid+"/overrides", "user", alice, "starts_at", "2026-10-20T14:00", "ends_at", "2026-10-20T13:00").want(http.StatusBadRequest).
			has("must be after the start")
		ov := page.submit("/schedules/"+sid+"/overrides", "user", alice, "replaces", bob, "starts_at", "2026-10-20T13:30", "ends_at", "2026-10-21T09:00",
			"override_note", "swap").redirects("/schedules/" + sid).want(200)
		ov.has("Alice Archer is on call from Tue 20 Oct 13:30 to Wed 21 Oct 09:00.", "swap", `class="badge badge-override"`, "tl-override")
		ov.find(`On call now</h2>\s*<ul class="plain-list oncall-now">\s*<li><span class="oncall-name">(Alice Archer)</span> <span class="badge badge-override">`)
		m.get("/schedules").want(200).has("Primary", "Alice Archer")
		m.get("/").want(200).has("On call now", "Primary", "Alice Archer")
		oid := ov.find(`action="/schedules/` + sid + `/overrides/(\d+)/delete"`)
		ov.submit("/schedules/" + sid + "/overrides/" + oid + "/delete").redirects("/schedules/" + sid).want(200).has("The override is removed.")

		// The calendar feed: the address is shown once and works without signing in.
		fp := r.get("/schedules/" + sid).want(200).has("This schedule has no calendar address yet.").
			submit("/schedules/" + sid + "/feed").want(200)
		url := fp.find(`id="feed-url" class="secret" type="text" value="([^"]+)"`)
		if !strings.Contains(url, "/feeds/stdyfeed_") {
			t.Fatalf("feed URL %q", url)
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		ics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
			!strings.Contains(string(ics), "SUMMARY:Alice Archer on call (Primary)") {
			t.Fatalf("feed: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), ics)
		}
		r.get("/schedules/" + sid).want(200).has("This schedule has a calendar address (ending").lacks(url)
		if resp, err := http.Get(s.URL + "/feeds/stdyfeed_nothing.ics"); err != nil || resp.StatusCode != 404 {
			t.Fatalf("an unknown feed key: %v %v", resp, err)
		}
		// One's own feed.
		mine := r.get("/schedules").want(200).has("Your shifts in your calendar").submit("/schedules/feed").want(200)
		mine.find(`id="my-feed-url" class="secret" type="text" value="([^"]+/feeds/stdyfeed_[^"]+)"`)

		// Edit: a second layer for office hours, from the edit form.
		edit := m.get("/schedules/"+sid+"/edit").want(200).has(`value="Primary"`, `name="l0_start" type="datetime-local" value="2026-10-12T09:00"`,
			`value="`+alice+`" selected`)
		ver := edit.find(`name="version" value="(\d+)"`)
		saved := edit.submit("/schedules/"+sid+"/edit", "version", ver, "name", "Primary", "time_zone", "Europe/Berlin", "layers", "2",
			"l0_name", "Weekly", "l0_start", "2026-10-12T09:00", "l0_length", "1", "l0_unit", "week", "l0_p", alice, "l0_p", bob,
			"l1_name", "Office", "l1_start", "2026-10-19T09:00", "l1_length", "1", "l1_unit", "day", "l1_p", alice,
			"l1_days", "mon", "l1_days", "tue", "l1_days", "wed", "l1_days", "thu", "l1_days", "fri", "l1_from", "09:00", "l1_to", "17:00",
			"op", "save").redirects("/schedules/" + sid).want(200)
		saved.has("Schedule Primary is saved.", "Office", "only mon, tue, wed, thu, fri 09:00–17:00").before(`<span class="tl-label">Office</span>`, `<span class="tl-label">Weekly</span>`)
		// Windows the form does not show (set through the API) survive a save.
		var cur map[string]any
		s.Do("GET", "/api/v1/schedules/"+sid, s.AdminToken, nil).Want(200).JSON(&cur)
		l1 := cur["layers"].([]any)[1].(map[string]any)
		l1["restrictions"] = append(l1["restrictions"].([]any), map[string]any{"days": []string{"sat"}, "start": "10:00", "end": "12:00"})
		delete(l1, "id")
		l0 := cur["layers"].([]any)[0].(map[string]any)
		delete(l0, "id")
		s.Do("PUT", "/api/v1/schedules/"+sid, s.AdminToken, map[string]any{"name": "Primary", "time_zone": "Europe/Berlin",
			"layers": []any{l0, l1}}).Want(200)
		edit2 := m.get("/schedules/" + sid + "/edit").want(200).has("This layer has 1 more on-call window")
		more := html.UnescapeString(edit2.find(`name="l1_more" value="([^"]+)"`))
		edit2.submit("/schedules/"+sid+"/edit", "version", edit2.find(`name="version" value="(\d+)"`), "name", "Primary", "time_zone", "Europe/Berlin", "layers", "2",
			"l0_name", "Weekly", "l0_start", "2026-10-12T09:00", "l0_length", "1", "l0_unit", "week", "l0_p", alice, "l0_p", bob,
			"l1_name", "Office", "l1_start", "2026-10-19T09:00", "l1_length", "1", "l1_unit", "day", "l1_p", alice,
			"l1_days", "mon", "l1_from", "09:00", "l1_to", "17:00", "l1_more", more, "op", "save").redirects("/schedules/" + sid).want(200)
		s.Do("GET", "/api/v1/schedules/"+sid, s.AdminToken, nil).Want(200).JSON(&cur)
		if rs := cur["layers"].([]any)[1].(map[string]any)["restrictions"].([]any); len(rs) != 2 || rs[1].(map[string]any)["start"] != "10:00" {
			t.Fatalf("restrictions after a save from the form: %v", rs)
		}

		// A stale version is refused.
		edit.submit("/schedules/"+sid+"/edit", "version", ver, "name", "Primary", "time_zone", "Europe/Berlin", "layers", "0", "op", "save").
			want(http.StatusPreconditionFailed).has("Someone else changed this schedule")

		// A schedule an escalation policy pages stays, and the page says which policy.
		var pid int64
		if err := s.App.DB.W.QueryRow(`INSERT INTO escalation_policies (name, created_at, updated_at) VALUES ('Payments paging', 1, 1) RETURNING id`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.App.DB.W.Exec(`INSERT INTO escalation_levels (policy_id, level, delay_minutes) VALUES ($1, 0, 5)`, pid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.App.DB.W.Exec(`INSERT INTO escalation_targets (policy_id, level, position, kind, target_id) VALUES ($1, 0, 0, 'schedule', $2)`, pid, sid); err != nil {
			t.Fatal(err)
		}
		m.get("/schedules/" + sid).want(200).submit("/schedules/" + sid + "/delete").redirects("/schedules/" + sid).want(200).
			has(`paged by the escalation policy "Payments paging"`)
		if _, err := s.App.DB.W.Exec(`DELETE FROM escalation_policies WHERE id = $1`, pid); err != nil {
			t.Fatal(err)
		}
		m.get("/schedules/"+sid).want(200).submit("/schedules/"+sid+"/delete").redirects("/schedules").want(200).
			has("Schedule Primary is deleted.", "There are no schedules yet")
		wantAudit(t, s, "schedule.create", "schedule.update", "schedule.delete", "schedule.override.create", "schedule.override.delete",
			"oncall.feed.rotate")
	})
}
