package web_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestEscalationPolicyPages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		alice := s.NewUser(iam.RoleResponder)
		var ops struct {
			ID int64 `json:"id"`
		}
		s.Do("POST", "/api/v1/teams", s.AdminToken, map[string]any{"name": "Ops"}).Want(201).JSON(&ops)
		var sched int64
		if err := s.App.DB.W.QueryRow(`INSERT INTO schedules (name, description, time_zone, created_at, updated_at)
			VALUES ('Primary', '', 'UTC', 1, 1) RETURNING id`).Scan(&sched); err != nil {
			t.Fatal(err)
		}
		svc := s.NewService("Checkout")
		user, schedule, team := fmt.Sprintf("user:%d", alice.ID), fmt.Sprintf("schedule:%d", sched), fmt.Sprintf("team:%d", ops.ID)
		m := signIn(t, s, s.NewUser(iam.RoleManager))

		m.get("/escalation-policies").want(200).has("<h1>Escalation policies</h1>", `aria-current="page">Escalation</a>`,
			"There are no escalation policies yet", `href="/escalation-policies/new"`)
		form := m.get("/escalation-policies/new").want(200).has("New escalation policy", `name="levels" value="1"`, "Level 1",
			fmt.Sprintf(`<option value="%s">Test responder <%s></option>`, user, alice.Email),
			fmt.Sprintf(`<option value="%s">Primary</option>`, schedule), fmt.Sprintf(`<option value="%s">Ops</option>`, team),
			`name="delay-0" type="number" inputmode="numeric" min="1" max="1440" value="15"`, "Add a level").
			lacks("Remove level 1")

		// The editor's buttons send the form back and it comes back changed, with what was typed.
		p := form.submit("/escalation-policies", "op", "add-level", "name", "Checkout", "repeat", "2", "levels", "1",
			"delay-0", "5", "target-0", user, "target-0", "").want(200)
		p.has(`name="levels" value="2"`, "Level 2", `value="Checkout"`, fmt.Sprintf(`<option value="%s" selected>`, user),
			`id="f-target-0-1"`, `id="f-target-1-0"`, `name="delay-1" type="number" inputmode="numeric" min="1" max="1440" value="5"`,
			"Remove level 1", "Remove level 2").lacks(`id="f-target-0-2"`)
		p = p.submit("/escalation-policies", "op", "more-targets-0", "name", "Checkout", "repeat", "2", "levels", "2",
			"delay-0", "5", "target-0", user, "target-0", schedule, "delay-1", "10", "target-1", team).want(200)
		p.has(`id="f-target-0-2"`, fmt.Sprintf(`<option value="%s" selected>`, schedule), fmt.Sprintf(`<option value="%s" selected>`, team))
		p.submit("/escalation-policies", "op", "remove-level-0", "name", "Checkout", "repeat", "2", "levels", "2",
			"delay-0", "5", "target-0", user, "delay-1", "10", "target-1", team).want(200).
			has(`name="levels" value="1"`, fmt.Sprintf(`<option value="%s" selected>`, team), `value="10"`).lacks("Level 2", "Remove level 1")

		// Mistakes are shown beside their fields; nothing is stored.
		bad := p.submit("/escalation-policies", "op", "save", "name", "Checkout", "repeat", "2", "levels", "2",
			"delay-0", "5", "target-0", user, "delay-1", "x", "target-1", team).want(http.StatusBadRequest)
		bad.has("Please correct what is marked below.", "Level 2: the delay must be a whole number of minutes",
			`<li><a href="#f-delay-1">`, `value="Checkout"`)
		bad = p.submit("/escalation-policies", "op", "save", "name", "", "repeat", "12", "levels", "2",
			"delay-0", "0", "target-0", "", "target-0", fmt.Sprintf("user:%d", alice.ID+1000), "delay-1", "5", "target-1", "").
			want(http.StatusBadRequest)
		bad.has("Name is required", "Repeat must be from 0 to 9", "Level 1: the delay must be from 1 to 1440 minutes",
			"Level 1, target 2 names no user", `<li><a href="#f-target-0-1">`, "Level 2: at least one target is required",
			`<li><a href="#f-targets-1">`)
		if n := countPolicies(t, s); n != 0 {
			t.Fatalf("%d policies after refused forms", n)
		}

		// Save: to the policy page, which reads the levels in order.
		view := p.submit("/escalation-policies", "name", "Checkout", "description", "Card payments", "team", fmt.Sprint(ops.ID),
			"repeat", "2", "levels", "2", "delay-0", "5", "target-0", user, "target-0", schedule, "target-0", "",
			"delay-1", "10", "target-1", team).redirects("/escalation-policies/").want(200)
		view.has("Created the escalation policy Checkout.", "<h1>Checkout</h1>", "Card payments",
			fmt.Sprintf(`<strong>Level 1</strong> — page <a href="/users/%d">Test responder</a>, the on-call of <a href="/schedules/%d">Primary</a>; after 5 min → Level 2`, alice.ID, sched),
			fmt.Sprintf(`<strong>Level 2</strong> — page team <a href="/teams/%d">Ops</a>; after 10 min → Level 1 again`, ops.ID),
			"Repeat 2 times", "No service uses it yet", "Edit policy").
			before("Level 1</strong>", "Level 2</strong>")
		wantAudit(t, s, "escalation_policy.create")
		pid := view.find(`href="/escalation-policies/(\d+)/edit"`)
		m.get("/escalation-policies").want(200).has(`href="/escalation-policies/`+pid+`">Checkout</a>`,
			"5m: Test responder (user), Primary (schedule)", "10m: Ops (team)", "2 more times")

		// Edit: the form starts filled in; a stale version is refused and explained.
		edit := m.get("/escalation-policies/"+pid+"/edit").want(200).has("Edit Checkout", `name="version" value="1"`,
			fmt.Sprintf(`<option value="%s" selected>`, user), fmt.Sprintf(`<option value="%s" selected>`, schedule),
			fmt.Sprintf(`<option value="%s" selected>`, team), `name="levels" value="2"`)
		edit.submit("/escalation-policies/"+pid+"/edit", "name", "Checkout", "repeat", "0", "levels", "1", "delay-0", "3",
			"target-0", team, "version", "1").redirects("/escalation-policies/"+pid).want(200).
			has("Saved the escalation policy Checkout.", "— page team <a", "Ops</a>; after 3 min → nobody else is paged", "Runs once")
		edit.submit("/escalation-policies/"+pid+"/edit", "name", "Checkout", "repeat", "0", "levels", "1", "delay-0", "4",
			"target-0", team, "version", "1").want(http.StatusPreconditionFailed).has("Someone changed this policy", `name="version" value="2"`)
		wantAudit(t, s, "escalation_policy.update")

		// Attach it to a service from the service's form; both pages show it.
		se := m.get(fmt.Sprintf("/services/%d/edit", svc.ID)).want(200).has(`<label for="f-escalation_policy">Escalation policy`,
			`<option value="" selected>No escalation policy</option>`, `<option value="`+pid+`">Checkout</option>`)
		se.submit(fmt.Sprintf("/services/%d/edit", svc.ID), "name", "Checkout", "criticality", "high", "group_window", "5m",
			"escalation_policy", pid, "version", "1").redirects(fmt.Sprintf("/services/%d", svc.ID)).want(200).
			has(`<a href="/escalation-policies/`+pid+`">Checkout</a>`, "(1 level)")
		pol := m.get("/escalation-policies/" + pid).want(200).has(fmt.Sprintf(`<a href="/services/%d">Checkout</a>`, svc.ID))

		// Deleting a policy in use is refused with the services named.
		pol.submit("/escalation-policies/" + pid + "/delete").redirects("/escalation-policies/" + pid).want(200).
			has("is used by the service(s) Checkout")

		// Viewers read, but get no editor and may not delete.
		v := signIn(t, s, s.NewUser(iam.RoleViewer))
		vp := v.get("/escalation-policies/"+pid).want(200).has("<strong>Level 1</strong> — page team").lacks("Edit policy", "Delete policy")
		v.get("/escalation-policies/new").want(http.StatusForbidden)
		vp.submit("/escalation-policies/" + pid + "/delete").want(http.StatusForbidden)
		vp.submit("/escalation-policies", "name", "x", "levels", "1", "delay-0", "5", "target-0", team).want(http.StatusForbidden)

		// Detach, then delete.
		se = m.get(fmt.Sprintf("/services/%d/edit", svc.ID)).want(200).has(`<option value="` + pid + `" selected>Checkout</option>`)
		se.submit(fmt.Sprintf("/services/%d/edit", svc.ID), "name", "Checkout", "criticality", "high", "group_window", "5m",
			"escalation_policy", "", "version", "2").redirects(fmt.Sprintf("/services/%d", svc.ID)).want(200).
			has("No escalation policy: its incidents page nobody.")
		pol.submit("/escalation-policies/"+pid+"/delete").redirects("/escalation-policies").want(200).
			has("Deleted the escalation policy Checkout.", "There are no escalation policies yet")
		wantAudit(t, s, "escalation_policy.delete")
	})
}

func countPolicies(t *testing.T, s *testkit.Server) int {
	t.Helper()
	var n int
	if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM escalation_policies").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
