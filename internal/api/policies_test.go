package api_test

import (
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// newSchedule stores a bare schedule (no layers) for policies to target.
func newSchedule(t *testing.T, s *testkit.Server, name string) int64 {
	t.Helper()
	var id int64
	if err := s.App.DB.W.QueryRow(`INSERT INTO schedules (name, description, time_zone, created_at, updated_at)
		VALUES ($1, '', 'UTC', 1, 1) RETURNING id`, name).Scan(&id); err != nil {
		t.Fatalf("insert schedule: %v", err)
	}
	return id
}

func level(delay int, targets ...map[string]any) map[string]any {
	return map[string]any{"delay_minutes": delay, "targets": targets}
}

func tgt(kind string, id any) map[string]any {
	if name, ok := id.(string); ok {
		return map[string]any{"kind": kind, "name": name}
	}
	return map[string]any{"kind": kind, "id": id}
}

func TestEscalationPoliciesAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		manager, responder, viewer := c.user(iam.RoleManager), c.user(iam.RoleResponder), c.user(iam.RoleViewer)
		ops := id(c.do("POST", "/api/v1/teams", s.AdminToken, map[string]any{"name": "Ops"}).Want(201))
		primary := newSchedule(t, s, "Primary")
		svc := s.NewService("checkout")

		// Create: targets by id and by name (a user by email, a schedule and a team by name).
		body := map[string]any{"name": "Checkout on call", "description": "Pages the primary, then Ops", "team_id": ops, "repeat": 2,
			"levels": []any{
				level(5, tgt("user", responder.Email), tgt("schedule", "primary")),
				level(10, tgt("team", ops), tgt("user", viewer.ID)),
			}}
		r := c.do("POST", "/api/v1/escalation-policies", manager.Token, body).Want(201)
		if r.Header.Get("ETag") != `"1"` || !strings.HasPrefix(r.Header.Get("Location"), "/api/v1/escalation-policies/") {
			t.Fatalf("create headers: %v", r.Header)
		}
		var p struct {
			ID     int64 `json:"id"`
			TeamID int64 `json:"team_id"`
			Repeat int   `json:"repeat"`
			Levels []struct {
				DelayMinutes int `json:"delay_minutes"`
				Targets      []struct {
					Kind string `json:"kind"`
					ID   int64  `json:"id"`
					Name string `json:"name"`
				} `json:"targets"`
			} `json:"levels"`
			Services []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"services"`
			Version int64 `json:"version"`
		}
		r.JSON(&p)
		if p.Repeat != 2 || p.TeamID != ops || len(p.Levels) != 2 || p.Levels[0].DelayMinutes != 5 || len(p.Levels[0].Targets) != 2 ||
			p.Levels[0].Targets[0].ID != responder.ID || p.Levels[0].Targets[0].Name != "Test responder" ||
			p.Levels[0].Targets[1].ID != primary || p.Levels[0].Targets[1].Name != "Primary" ||
			p.Levels[1].Targets[0].Kind != "team" || p.Levels[1].Targets[0].Name != "Ops" || len(p.Services) != 0 {
			t.Fatalf("created policy: %s", r.Body)
		}
		pid := p.ID
		if n := c.count("SELECT COUNT(*) FROM escalation_targets WHERE kind = 'schedule' AND target_id = $1", primary); n != 1 {
			t.Fatalf("%d schedule targets stored", n)
		}

		// Access: viewers read, responders may not write.
		wantProblem(c.do("POST", "/api/v1/escalation-policies", responder.Token, body), 403)
		c.do("GET", path("/api/v1/escalation-policies/%d", pid), viewer.Token, nil).Want(200)
		wantProblem(c.do("DELETE", path("/api/v1/escalation-policies/%d", pid), responder.Token, nil), 403)
		wantProblem(c.do("GET", "/api/v1/escalation-policies/424242", viewer.Token, nil), 404)

		// Validation names every wrong field.
		wantProblem(c.do("POST", "/api/v1/escalation-policies", manager.Token, map[string]any{"name": "Checkout on call",
			"levels": []any{level(5, tgt("user", responder.ID))}}), 409, "name")
		wantProblem(c.do("POST", "/api/v1/escalation-policies", manager.Token, map[string]any{"name": "x", "levels": []any{}}), 400, "levels")
		wantProblem(c.do("POST", "/api/v1/escalation-policies", manager.Token, map[string]any{"name": "x",
			"levels": []any{level(5)}}), 400, "levels[0].targets")
		wantProblem(c.do("POST", "/api/v1/escalation-policies", manager.Token, map[string]any{"name": "x", "repeat": 10, "team_id": 4242,
			"levels": []any{level(5, tgt("user", responder.ID)), level(0, tgt("user", 424242), tgt("pager", 1)), level(1441, tgt("user", "nobody@example.com"))}}),
			400, "repeat", "levels[1].delay_minutes", "levels[1].targets[0].id", "levels[1].targets[1].kind", "levels[2].delay_minutes",
			"levels[2].targets[0].name")
		wantProblem(c.do("POST", "/api/v1/escalation-policies", manager.Token, map[string]any{"name": "x", "team_id": 4242,
			"levels": []any{level(5, tgt("team", ops), tgt("team", "ops"))}}), 400, "team_id", "levels[0].targets[1].id")
		var many []any
		for range 21 {
			many = append(many, level(1, tgt("user", responder.ID)))
		}
		wantProblem(c.do("POST", "/api/v1/escalation-policies", manager.Token, map[string]any{"name": "x", "levels": many}), 400, "levels")
		var crowd []map[string]any
		for range 11 {
			crowd = append(crowd, tgt("user", responder.ID))
		}
		wantProblem(c.do("POST", "/api/v1/escalation-policies", manager.Token, map[string]any{"name": "x",
			"levels": []any{level(5, crowd...)}}), 400, "levels[0].targets")
		wantProblem(c.do("POST", "/api/v1/escalation-policies", manager.Token, map[string]any{"name": "x", "levels": []any{level(5, tgt("user", 1))},
			"extra": true}), 400, "extra")
		if n := c.count("SELECT COUNT(*) FROM escalation_policies"); n != 1 {
			t.Fatalf("%d policies after refused writes, want 1", n)
		}

		// Replace with If-Match: a stale version is refused and changes nothing.
		body["levels"] = []any{level(15, tgt("schedule", primary))}
		body["repeat"] = 0
		r = c.do("PUT", path("/api/v1/escalation-policies/%d", pid), manager.Token, body, "If-Match", `"1"`).Want(200)
		if r.Header.Get("ETag") != `"2"` {
			t.Fatalf("replace ETag %q", r.Header.Get("ETag"))
		}
		wantProblem(c.do("PUT", path("/api/v1/escalation-policies/%d", pid), manager.Token, body, "If-Match", `"1"`), 412)
		wantProblem(c.do("PUT", path("/api/v1/escalation-policies/%d", pid), manager.Token, map[string]any{"name": "y", "levels": []any{level(0, tgt("team", ops))}}),
			400, "levels[0].delay_minutes")
		c.do("GET", path("/api/v1/escalation-policies/%d", pid), viewer.Token, nil).Want(200).JSON(&p)
		if p.Version != 2 || p.Repeat != 0 || len(p.Levels) != 1 || p.Levels[0].DelayMinutes != 15 || p.Levels[0].Targets[0].Kind != "schedule" {
			t.Fatalf("replaced policy: %+v", p)
		}

		// Attach to a service, list with the services using it, and refuse to delete it then.
		wantProblem(c.do("PATCH", path("/api/v1/services/%d", svc.ID), manager.Token, map[string]any{"escalation_policy_id": 424242}), 400, "escalation_policy_id")
		sv := c.do("PATCH", path("/api/v1/services/%d", svc.ID), manager.Token, map[string]any{"escalation_policy_id": pid}).Want(200).Map()
		if sv["escalation_policy_id"] != float64(pid) {
			t.Fatalf("attached: %v", sv)
		}
		other := c.do("POST", "/api/v1/services", manager.Token, map[string]any{"name": "billing", "escalation_policy_id": pid}).Want(201).Map()
		if other["escalation_policy_id"] != float64(pid) {
			t.Fatalf("created with a policy: %v", other)
		}
		l, next := items(c.do("GET", "/api/v1/escalation-policies?q=checkout&limit=10", viewer.Token, nil).Want(200))
		if len(l) != 1 || next != "" || len(l[0]["services"].([]any)) != 2 {
			t.Fatalf("list: %v", l)
		}
		if l, _ := items(c.do("GET", "/api/v1/escalation-policies?q=nothing", viewer.Token, nil).Want(200)); len(l) != 0 {
			t.Fatalf("filtered list: %v", l)
		}
		if l, _ := items(c.do("GET", path("/api/v1/escalation-policies?team=%d", ops), viewer.Token, nil).Want(200)); len(l) != 1 {
			t.Fatalf("team list: %v", l)
		}
		pr := wantProblem(c.do("DELETE", path("/api/v1/escalation-policies/%d", pid), manager.Token, nil), 409)
		if !strings.Contains(pr.Detail, "checkout") || !strings.Contains(pr.Detail, "billing") {
			t.Fatalf("the conflict does not name the services: %+v", pr)
		}

		// Detach (0), then delete.
		sv = c.do("PATCH", path("/api/v1/services/%d", svc.ID), manager.Token, map[string]any{"escalation_policy_id": 0}).Want(200).Map()
		if sv["escalation_policy_id"] != nil {
			t.Fatalf("detached: %v", sv)
		}
		c.do("DELETE", path("/api/v1/services/%d", int64(other["id"].(float64))), manager.Token, nil).Want(204)
		c.do("DELETE", path("/api/v1/escalation-policies/%d", pid), manager.Token, nil).Want(204)
		wantProblem(c.do("DELETE", path("/api/v1/escalation-policies/%d", pid), manager.Token, nil), 404)
		if n := c.count("SELECT COUNT(*) FROM escalation_targets"); n != 0 {
			t.Fatalf("%d targets left behind", n)
		}
		a, _ := items(c.do("GET", "/api/v1/audit?action=escalation_policy.", s.AdminToken, nil).Want(200))
		if len(a) != 3 {
			t.Fatalf("%d audit entries, want 3 (create, update, delete)", len(a))
		}
	})
}

// A target whose user, schedule or team is deleted is named "(deleted)" on
// reads and left out of what the engine loads.
func TestEscalationPolicyDeletedTargets(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		gone, stays := c.user(iam.RoleResponder), c.user(iam.RoleResponder)
		team := id(c.do("POST", "/api/v1/teams", s.AdminToken, map[string]any{"name": "Night"}).Want(201))
		sched := newSchedule(t, s, "Weekend")
		pid := id(c.do("POST", "/api/v1/escalation-policies", s.AdminToken, map[string]any{"name": "p", "levels": []any{
			level(5, tgt("user", gone.ID), tgt("user", stays.ID)), level(5, tgt("team", team), tgt("schedule", sched))}}).Want(201))
		c.do("DELETE", path("/api/v1/users/%d", gone.ID), s.AdminToken, nil).Want(204)
		c.do("DELETE", path("/api/v1/teams/%d", team), s.AdminToken, nil).Want(204)
		if _, err := s.App.DB.W.Exec("DELETE FROM schedules WHERE id = $1", sched); err != nil {
			t.Fatal(err)
		}
		got := c.do("GET", path("/api/v1/escalation-policies/%d", pid), s.AdminToken, nil).Want(200).Map()
		lv := got["levels"].([]any)
		t0 := lv[0].(map[string]any)["targets"].([]any)
		t1 := lv[1].(map[string]any)["targets"].([]any)
		if len(t0) != 2 || t0[0].(map[string]any)["name"] != "(deleted)" || t0[1].(map[string]any)["name"] == "(deleted)" ||
			len(t1) != 2 || t1[0].(map[string]any)["name"] != "(deleted)" || t1[1].(map[string]any)["name"] != "(deleted)" {
			t.Fatalf("read with deleted targets: %v", lv)
		}
		p, err := s.App.Policies.Load(t.Context(), s.App.DB.R, pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Levels) != 2 || len(p.Levels[0].Targets) != 1 || p.Levels[0].Targets[0].ID != stays.ID || len(p.Levels[1].Targets) != 0 {
			t.Fatalf("loaded: %+v", p)
		}
		// Saving it again needs the deleted targets gone.
		wantProblem(c.do("PUT", path("/api/v1/escalation-policies/%d", pid), s.AdminToken, map[string]any{"name": "p", "levels": []any{
			level(5, tgt("user", gone.ID))}}), 400, "levels[0].targets[0].id")
	})
}
