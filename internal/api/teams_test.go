package api_test

import (
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

type teamDoc struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	MemberCount int    `json:"member_count"`
	Version     int64  `json:"version"`
}

type memberDoc struct {
	UserID   int64  `json:"user_id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	TeamRole string `json:"team_role"`
}

func TestTeams(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := s.AdminToken
		manager := c.user(iam.RoleManager)
		responder := c.user(iam.RoleResponder)
		viewer := c.user(iam.RoleViewer)

		members := func(c *client, team int64) []memberDoc {
			c.t.Helper()
			var l struct {
				Items []memberDoc `json:"items"`
				Next  string      `json:"next"`
			}
			c.do("GET", path("/api/v1/teams/%d/members", team), viewer.Token, nil).Want(200).JSON(&l)
			if l.Items == nil || l.Next != "" {
				c.t.Fatalf("members %+v", l)
			}
			return l.Items
		}

		t.Run("create, read, change", func(t *testing.T) {
			c := on(t, s)
			r := c.do("POST", "/api/v1/teams", manager.Token, map[string]any{"name": " Database ", "description": " Keeps the data "}).Want(201)
			var tm teamDoc
			r.JSON(&tm)
			if tm.Name != "Database" || tm.Description != "Keeps the data" || tm.MemberCount != 0 || tm.Version != 1 ||
				r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != path("/api/v1/teams/%d", tm.ID) {
				t.Fatalf("created %+v %v", tm, r.Header)
			}
			wantProblem(c.do("POST", "/api/v1/teams", manager.Token, map[string]any{"name": "Database"}), 409, "name")
			wantProblem(c.do("POST", "/api/v1/teams", responder.Token, map[string]any{"name": "Responders"}), 403)
			var got teamDoc
			c.do("GET", path("/api/v1/teams/%d", tm.ID), viewer.Token, nil).Want(200).JSON(&got)
			if got != tm {
				t.Fatalf("read %+v; want %+v", got, tm)
			}
			wantProblem(c.do("PATCH", path("/api/v1/teams/%d", tm.ID), responder.Token, map[string]any{"name": "x"}), 403)
			r = c.do("PATCH", path("/api/v1/teams/%d", tm.ID), manager.Token, map[string]any{"description": "Postgres and SQLite"}, "If-Match", `"1"`).Want(200)
			r.JSON(&got)
			if got.Name != "Database" || got.Description != "Postgres and SQLite" || r.Header.Get("ETag") != `"2"` {
				t.Fatalf("changed %+v %v", got, r.Header)
			}
			wantProblem(c.do("PATCH", path("/api/v1/teams/%d", tm.ID), manager.Token, map[string]any{"name": "Stale"}, "If-Match", `"1"`), 412)
			c.do("POST", "/api/v1/teams", manager.Token, map[string]any{"name": "Network"}).Want(201)
			wantProblem(c.do("PATCH", path("/api/v1/teams/%d", tm.ID), manager.Token, map[string]any{"name": "Network"}), 409, "name")
			wantProblem(c.do("GET", "/api/v1/teams/999999", viewer.Token, nil), 404)

			l, _ := items(c.do("GET", "/api/v1/teams?q=DATA", viewer.Token, nil).Want(200))
			if len(l) != 1 || l[0]["name"] != "Database" {
				t.Fatalf("q=DATA: %v", l)
			}
			c.do("POST", "/api/v1/teams", manager.Token, map[string]any{"name": "100% Uptime"}).Want(201)
			for _, q := range []string{"%25", "0%25+U", "_"} {
				l, _ = items(c.do("GET", "/api/v1/teams?q="+q, viewer.Token, nil).Want(200))
				want := 1
				if q == "_" {
					want = 0
				}
				if len(l) != want {
					t.Fatalf("q=%s: %v", q, l)
				}
			}
		})

		t.Run("members and team roles", func(t *testing.T) {
			c := on(t, s)
			team := id(c.do("POST", "/api/v1/teams", manager.Token, map[string]any{"name": "Platform"}).Want(201))
			mp := path("/api/v1/teams/%d/members", team)
			var m memberDoc
			c.do("POST", mp, manager.Token, map[string]any{"user_id": viewer.ID}).Want(201).JSON(&m)
			if m.UserID != viewer.ID || m.TeamRole != "member" || m.Email != viewer.Email {
				t.Fatalf("added %+v", m)
			}
			c.do("POST", mp, manager.Token, map[string]any{"user_id": responder.ID, "team_role": "lead"}).Want(201).JSON(&m)
			if m.TeamRole != "lead" {
				t.Fatalf("added %+v", m)
			}
			wantProblem(c.do("POST", mp, responder.Token, map[string]any{"user_id": manager.ID}), 403)
			wantProblem(c.do("POST", path("/api/v1/teams/%d/members", 999999), manager.Token, map[string]any{"user_id": viewer.ID}), 404)
			ms := members(c, team)
			if len(ms) != 2 {
				t.Fatalf("members %+v", ms)
			}
			var tm teamDoc
			c.do("GET", path("/api/v1/teams/%d", team), viewer.Token, nil).Want(200).JSON(&tm)
			if tm.MemberCount != 2 {
				t.Fatalf("member_count %d", tm.MemberCount)
			}
			// Setting a member again changes their team role.
			c.do("POST", mp, manager.Token, map[string]any{"user_id": viewer.ID, "team_role": "lead"}).Want(201)
			c.do("POST", mp, manager.Token, map[string]any{"user_id": responder.ID, "team_role": "member"}).Want(201)
			roles := map[int64]string{}
			for _, m := range members(c, team) {
				roles[m.UserID] = m.TeamRole
			}
			if len(roles) != 2 || roles[viewer.ID] != "lead" || roles[responder.ID] != "member" {
				t.Fatalf("roles %v", roles)
			}
			l, _ := items(c.do("GET", path("/api/v1/users?team=%d", team), viewer.Token, nil).Want(200))
			if len(l) != 2 {
				t.Fatalf("users of the team: %v", l)
			}

			wantProblem(c.do("DELETE", path("%s/%d", mp, viewer.ID), responder.Token, nil), 403)
			c.do("DELETE", path("%s/%d", mp, viewer.ID), manager.Token, nil).Want(204)
			wantProblem(c.do("DELETE", path("%s/%d", mp, viewer.ID), manager.Token, nil), 404)
			if ms := members(c, team); len(ms) != 1 || ms[0].UserID != responder.ID {
				t.Fatalf("after removing: %+v", ms)
			}
		})

		t.Run("deleting a team removes its memberships", func(t *testing.T) {
			c := on(t, s)
			team := id(c.do("POST", "/api/v1/teams", manager.Token, map[string]any{"name": "Doomed"}).Want(201))
			for _, u := range []testkit.User{viewer, responder} {
				c.do("POST", path("/api/v1/teams/%d/members", team), manager.Token, map[string]any{"user_id": u.ID}).Want(201)
			}
			users := c.count("SELECT COUNT(*) FROM users")
			wantProblem(c.do("DELETE", path("/api/v1/teams/%d", team), responder.Token, nil), 403)
			c.do("DELETE", path("/api/v1/teams/%d", team), manager.Token, nil).Want(204)
			wantProblem(c.do("GET", path("/api/v1/teams/%d", team), viewer.Token, nil), 404)
			wantProblem(c.do("GET", path("/api/v1/teams/%d/members", team), viewer.Token, nil), 404)
			wantProblem(c.do("DELETE", path("/api/v1/teams/%d", team), manager.Token, nil), 404)
			if n := c.count("SELECT COUNT(*) FROM team_members WHERE team_id = $1", team); n != 0 {
				t.Fatalf("%d memberships of a deleted team remain", n)
			}
			if c.count("SELECT COUNT(*) FROM users") != users {
				t.Fatal("deleting a team deleted users")
			}
		})

		t.Run("deleting a user removes their memberships", func(t *testing.T) {
			c := on(t, s)
			team := id(c.do("POST", "/api/v1/teams", manager.Token, map[string]any{"name": "Leavers"}).Want(201))
			u := c.user(iam.RoleViewer)
			c.do("POST", path("/api/v1/teams/%d/members", team), manager.Token, map[string]any{"user_id": u.ID}).Want(201)
			c.do("DELETE", path("/api/v1/users/%d", u.ID), admin, nil).Want(204)
			if ms := members(c, team); len(ms) != 0 {
				t.Fatalf("a deleted user is still a member: %+v", ms)
			}
		})
	})
}
