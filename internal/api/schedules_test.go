package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestSchedulesAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		s.Clock.Set(time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC))
		c := on(t, s)
		manager, responder, viewer := c.user(iam.RoleManager), c.user(iam.RoleResponder), c.user(iam.RoleViewer)
		alice, bob := c.user(iam.RoleResponder), c.user(iam.RoleResponder)

		// A weekly rotation handing off on Monday 09:00 Berlin time, and a
		// higher layer for office hours.
		body := map[string]any{"name": "Primary", "time_zone": "Europe/Berlin", "description": "payments on call",
			"layers": []any{
				map[string]any{"name": "Weekly", "start": "2026-10-12T09:00", "shift_unit": "week", "participants": []int64{alice.ID, bob.ID}},
			}}
		r := c.do("POST", "/api/v1/schedules", manager.Token, body).Want(201)
		if r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") == "" {
			t.Fatalf("create headers: %v", r.Header)
		}
		sc := r.Map()
		sid := int64(sc["id"].(float64))
		if l := sc["layers"].([]any); len(l) != 1 || l[0].(map[string]any)["shift_length"] != float64(1) {
			t.Fatalf("created: %v", sc)
		}

		// Validation names each field.
		wantProblem(c.do("POST", "/api/v1/schedules", manager.Token, map[string]any{"name": "x", "time_zone": "Mars/Olympus", "layers": []any{
			map[string]any{"start": "2026-13-01", "shift_unit": "fortnight", "participants": []int64{}},
			map[string]any{"start": "2026-10-12T09:00", "shift_unit": "day", "participants": []int64{alice.ID, 987654},
				"restrictions": []any{map[string]any{"start": "9am", "end": "17:00"}}},
		}}), 400, "time_zone", "layers[0].start", "layers[0].shift_unit", "layers[0].participants", "layers[1].restrictions[0].start")
		wantProblem(c.do("POST", "/api/v1/schedules", manager.Token, map[string]any{"name": "x", "time_zone": "UTC", "layers": []any{
			map[string]any{"start": "2026-10-12T09:00", "shift_unit": "day", "participants": []int64{alice.ID, 987654}}}}), 400, "layers[0].participants[1]")
		wantProblem(c.do("POST", "/api/v1/schedules", manager.Token, map[string]any{"name": "x", "time_zone": "UTC", "team_id": 999, "layers": []any{}}), 400, "team_id")
		wantProblem(c.do("POST", "/api/v1/schedules", manager.Token, map[string]any{"name": "Primary", "time_zone": "UTC", "layers": []any{}}), 409, "name")
		wantProblem(c.do("POST", "/api/v1/schedules", manager.Token, map[string]any{"name": "y", "time_zone": "UTC", "layers": []any{}, "colour": "red"}), 400, "colour")
		wantProblem(c.do("POST", "/api/v1/schedules", responder.Token, body), 403)
		if n := c.count("SELECT COUNT(*) FROM schedules"); n != 1 {
			t.Fatalf("%d schedules after refused creates", n)
		}

		// Who is on call: the week of 19 October is Bob's; Alice takes over
		// on 26 October at 09:00 CET, which is 08:00Z after the DST change.
		oc := func(at string) []int64 {
			var out struct {
				Users []struct {
					UserID int64   `json:"user_id"`
					Until  *string `json:"until"`
				} `json:"users"`
			}
			c.do("GET", path("/api/v1/schedules/%d/oncall?at=%s", sid, at), viewer.Token, nil).Want(200).JSON(&out)
			var ids []int64
			for _, u := range out.Users {
				ids = append(ids, u.UserID)
			}
			return ids
		}
		if got := oc("2026-10-26T07:59:00Z"); len(got) != 1 || got[0] != bob.ID {
			t.Fatalf("before the hand-off: %v", got)
		}
		if got := oc("2026-10-26T08:00:00Z"); len(got) != 1 || got[0] != alice.ID {
			t.Fatalf("after the hand-off: %v", got)
		}
		now := c.do("GET", path("/api/v1/schedules/%d/oncall", sid), viewer.Token, nil).Want(200).Map()
		if u := now["users"].([]any)[0].(map[string]any); u["user_id"] != float64(bob.ID) || u["until"] != "2026-10-26T08:00:00Z" {
			t.Fatalf("now: %v", now)
		}
		wantProblem(c.do("GET", path("/api/v1/schedules/%d/oncall?at=yesterday", sid), viewer.Token, nil), 400, "at")

		// The timeline, and its limits.
		tl := c.do("GET", path("/api/v1/schedules/%d/shifts?from=2026-10-19T00:00:00Z&to=2026-11-02T00:00:00Z", sid), viewer.Token, nil).Want(200).Map()
		final := tl["final"].([]any)
		if len(final) != 3 || final[1].(map[string]any)["start"] != "2026-10-19T07:00:00Z" || final[2].(map[string]any)["start"] != "2026-10-26T08:00:00Z" {
			t.Fatalf("final shifts: %v", final)
		}
		wantProblem(c.do("GET", path("/api/v1/schedules/%d/shifts?from=2026-10-01T00:00:00Z&to=2027-01-30T00:00:00Z", sid), viewer.Token, nil), 400, "to")
		wantProblem(c.do("GET", path("/api/v1/schedules/%d/shifts?from=2026-10-02T00:00:00Z&to=2026-10-01T00:00:00Z", sid), viewer.Token, nil), 400, "to")
		wantProblem(c.do("GET", "/api/v1/schedules/424242/shifts", viewer.Token, nil), 404)

		// Replace with If-Match.
		get := c.do("GET", path("/api/v1/schedules/%d", sid), viewer.Token, nil).Want(200)
		if get.Header.Get("ETag") != `"1"` {
			t.Fatalf("ETag %q", get.Header.Get("ETag"))
		}
		body["layers"] = append(body["layers"].([]any), map[string]any{"name": "Office", "start": "2026-10-19T09:00", "shift_unit": "day",
			"participants": []int64{manager.ID}, "restrictions": []any{map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "start": "09:00", "end": "17:00"}}})
		wantProblem(c.do("PUT", path("/api/v1/schedules/%d", sid), manager.Token, body, "If-Match", `"7"`), 412)
		put := c.do("PUT", path("/api/v1/schedules/%d", sid), manager.Token, body, "If-Match", `"1"`).Want(200)
		if put.Header.Get("ETag") != `"2"` {
			t.Fatalf("ETag after replace %q", put.Header.Get("ETag"))
		}
		wantProblem(c.do("PUT", path("/api/v1/schedules/%d", sid), manager.Token, body, "If-Match", `"1"`), 412)
		wantProblem(c.do("PUT", path("/api/v1/schedules/%d", sid), viewer.Token, body), 403)
		if got := oc("2026-10-20T10:00:00Z"); len(got) != 1 || got[0] != manager.ID {
			t.Fatalf("office hours (12:00 Berlin): %v", got)
		}
		if got := oc("2026-10-20T16:00:00Z"); len(got) != 1 || got[0] != bob.ID {
			t.Fatalf("after office hours: %v", got)
		}

		// Overrides: responders add and remove them; they win over every layer.
		wantProblem(c.do("POST", path("/api/v1/schedules/%d/overrides", sid), responder.Token, map[string]any{"user_id": responder.ID,
			"start": "2026-10-21T10:00:00Z", "end": "2026-10-21T09:00:00Z"}), 400, "end")
		wantProblem(c.do("POST", path("/api/v1/schedules/%d/overrides", sid), responder.Token, map[string]any{"user_id": 999999,
			"start": "2026-10-21T08:00:00Z", "end": "2026-10-21T09:00:00Z"}), 400, "user_id")
		wantProblem(c.do("POST", path("/api/v1/schedules/%d/overrides", sid), viewer.Token, map[string]any{"user_id": viewer.ID,
			"start": "2026-10-21T08:00:00Z", "end": "2026-10-21T09:00:00Z"}), 403)
		ov := c.do("POST", path("/api/v1/schedules/%d/overrides", sid), responder.Token, map[string]any{"user_id": responder.ID,
			"replaces_user_id": manager.ID, "start": "2026-10-21T08:00:00Z", "end": "2026-10-21T12:00:00Z", "note": "dentist"}).Want(201).Map()
		oid := int64(ov["id"].(float64))
		if got := oc("2026-10-21T10:00:00Z"); len(got) != 1 || got[0] != responder.ID {
			t.Fatalf("during the override: %v", got)
		}
		if l, _ := items(c.do("GET", path("/api/v1/schedules/%d/overrides", sid), viewer.Token, nil).Want(200)); len(l) != 1 || l[0]["note"] != "dentist" {
			t.Fatalf("overrides: %v", l)
		}
		tl = c.do("GET", path("/api/v1/schedules/%d/shifts?from=2026-10-21T00:00:00Z&to=2026-10-22T00:00:00Z", sid), viewer.Token, nil).Want(200).Map()
		var marked bool
		for _, f := range tl["final"].([]any) {
			if m := f.(map[string]any); m["override_id"] == float64(oid) && m["user_id"] == float64(responder.ID) {
				marked = true
			}
		}
		if !marked || len(tl["overrides"].([]any)) != 1 || len(tl["layers"].([]any)) != 2 {
			t.Fatalf("timeline with override: %v", tl)
		}

		// Everyone on call now, and one user's shifts.
		all, _ := items(c.do("GET", "/api/v1/oncall?at=2026-10-21T10:00:00Z", viewer.Token, nil).Want(200))
		if len(all) != 1 || all[0]["schedule_name"] != "Primary" || all[0]["users"].([]any)[0].(map[string]any)["user_id"] != float64(responder.ID) {
			t.Fatalf("on call now: %v", all)
		}
		us, _ := items(c.do("GET", path("/api/v1/users/%d/shifts?from=2026-10-19T00:00:00Z&to=2026-11-09T00:00:00Z", alice.ID), viewer.Token, nil).Want(200))
		// Her week ends on 19 October at 09:00 CEST, and from 26 October the
		// office-hours layer (09:00–17:00 CET on weekdays) shows her gaps.
		if len(us) != 6 || us[0]["end"] != "2026-10-19T07:00:00Z" || us[1]["start"] != "2026-10-26T16:00:00Z" ||
			us[1]["end"] != "2026-10-27T08:00:00Z" || us[5]["end"] != "2026-11-02T08:00:00Z" {
			t.Fatalf("Alice's shifts: %v", us)
		}
		if l, _ := items(c.do("GET", "/api/v1/users/me/shifts", responder.Token, nil).Want(200)); len(l) != 1 {
			t.Fatalf("my shifts: %v", l)
		}
		wantProblem(c.do("GET", "/api/v1/users/999999/shifts", viewer.Token, nil), 404)

		c.do("DELETE", path("/api/v1/schedules/%d/overrides/%d", sid, oid), responder.Token, nil).Want(204)
		wantProblem(c.do("DELETE", path("/api/v1/schedules/%d/overrides/%d", sid, oid), responder.Token, nil), 404)
		if got := oc("2026-10-21T10:00:00Z"); len(got) != 1 || got[0] != manager.ID {
			t.Fatalf("after removing the override: %v", got)
		}

		// Calendar feeds: the URL is shown once and works without a token.
		f := c.do("GET", path("/api/v1/schedules/%d/feed", sid), viewer.Token, nil).Want(200).Map()
		if f["active"] != false {
			t.Fatalf("feed before rotation: %v", f)
		}
		feed := c.do("POST", path("/api/v1/schedules/%d/feed", sid), responder.Token, nil).Want(201)
		if feed.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("feed answer cache control %q", feed.Header.Get("Cache-Control"))
		}
		fm := feed.Map()
		url := fm["url"].(string)
		if !strings.HasPrefix(url, s.URL+"/feeds/stdyfeed_") || !strings.HasSuffix(url, ".ics") {
			t.Fatalf("feed url %q", url)
		}
		ics := fetch(t, url)
		if !strings.HasPrefix(ics, "BEGIN:VCALENDAR\r\n") || !strings.Contains(ics, "DTSTART:20261026T080000Z") {
			t.Fatalf("schedule feed:\n%s", ics)
		}
		if f := c.do("GET", path("/api/v1/schedules/%d/feed", sid), viewer.Token, nil).Want(200).Map(); f["active"] != true || f["key"] != nil {
			t.Fatalf("feed after rotation: %v", f)
		}
		c.do("POST", path("/api/v1/schedules/%d/feed", sid), responder.Token, nil).Want(201)
		if st := fetchStatus(t, url); st != 404 {
			t.Fatalf("the old feed URL after rotation: %d", st)
		}
		wantProblem(c.do("POST", path("/api/v1/schedules/%d/feed", sid), viewer.Token, nil), 403)

		// A user's feed: only they or an admin.
		wantProblem(c.do("POST", path("/api/v1/users/%d/feed", alice.ID), manager.Token, nil), 403)
		uf := c.do("POST", "/api/v1/users/me/feed", alice.Token, nil).Want(201).Map()
		if ics := fetch(t, uf["url"].(string)); !strings.Contains(ics, "SUMMARY:On call: Primary") || !strings.Contains(ics, "DTEND:20261102T080000Z") {
			t.Fatalf("user feed:\n%s", ics)
		}
		c.do("GET", path("/api/v1/users/%d/feed", alice.ID), s.AdminToken, nil).Want(200)
		c.do("DELETE", path("/api/v1/users/%d/feed", alice.ID), s.AdminToken, nil).Want(204)
		if st := fetchStatus(t, uf["url"].(string)); st != 404 {
			t.Fatalf("a revoked user feed: %d", st)
		}

		// A schedule an escalation policy pages cannot be deleted.
		w := s.App.DB.W
		var pid int64
		if err := w.QueryRow(`INSERT INTO escalation_policies (name, created_at, updated_at) VALUES ('Payments', 1, 1) RETURNING id`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Exec(`INSERT INTO escalation_levels (policy_id, level, delay_minutes) VALUES ($1, 0, 5)`, pid); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Exec(`INSERT INTO escalation_targets (policy_id, level, position, kind, target_id) VALUES ($1, 0, 0, 'schedule', $2)`, pid, sid); err != nil {
			t.Fatal(err)
		}
		p := wantProblem(c.do("DELETE", path("/api/v1/schedules/%d", sid), manager.Token, nil), 409)
		if !strings.Contains(p.Detail, "Payments") {
			t.Fatalf("conflict does not name the policy: %v", p)
		}
		if _, err := w.Exec(`DELETE FROM escalation_policies WHERE id = $1`, pid); err != nil {
			t.Fatal(err)
		}
		wantProblem(c.do("DELETE", path("/api/v1/schedules/%d", sid), viewer.Token, nil), 403)
		c.do("DELETE", path("/api/v1/schedules/%d", sid), manager.Token, nil).Want(204)
		wantProblem(c.do("GET", path("/api/v1/schedules/%d", sid), viewer.Token, nil), 404)
		if n := c.count("SELECT COUNT(*) FROM schedule_layers"); n != 0 {
			t.Fatalf("%d layers left", n)
		}

		if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'schedule.%' OR action LIKE 'oncall.feed.%'"); n != 9 {
			t.Fatalf("%d audit entries for schedule changes; want 9", n)
		}
	})
}

// TestScheduleListAndNames covers the list, its filters and paging.
func TestScheduleList(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	c := on(t, s)
	u := c.user(iam.RoleResponder)
	for _, n := range []string{"Database", "Network", "Payments"} {
		c.do("POST", "/api/v1/schedules", s.AdminToken, map[string]any{"name": n, "time_zone": "UTC", "layers": []any{
			map[string]any{"start": "2026-01-01T00:00", "shift_unit": "day", "shift_length": 2, "participants": []int64{u.ID, u.ID}}}}).Want(201)
	}
	l, next := items(c.do("GET", "/api/v1/schedules?limit=2", s.AdminToken, nil).Want(200))
	if len(l) != 2 || next == "" {
		t.Fatalf("first page: %v %q", l, next)
	}
	l, next = items(c.do("GET", "/api/v1/schedules?limit=2&after="+next, s.AdminToken, nil).Want(200))
	if len(l) != 1 || next != "" || l[0]["name"] != "Payments" {
		t.Fatalf("second page: %v %q", l, next)
	}
	if l, _ := items(c.do("GET", "/api/v1/schedules?q=net", s.AdminToken, nil).Want(200)); len(l) != 1 || l[0]["name"] != "Network" {
		t.Fatalf("q=net: %v", l)
	}
	// The same user twice in a row is one long shift.
	tl := c.do("GET", "/api/v1/schedules/1/shifts?from=2026-01-01T00:00:00Z&to=2026-01-09T00:00:00Z", s.AdminToken, nil).Want(200).Map()
	if f := tl["final"].([]any); len(f) != 1 || f[0].(map[string]any)["end"] != "2026-01-09T00:00:00Z" {
		t.Fatalf("merged shifts: %v", f)
	}
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("GET %s: %d %s\n%s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return string(b)
}

func fetchStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
