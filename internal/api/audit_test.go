package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// TestAuditTrail makes state-changing calls through the API and checks that
// each one left exactly one entry naming who did what to which object, with
// the request's id and source "api"; that refused calls left none; and that
// the filters select what they say.
func TestAuditTrail(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := testkit.User{ID: s.AdminID, Email: testkit.AdminEmail, Token: s.AdminToken}
		manager := c.user(iam.RoleManager)
		viewer := c.user(iam.RoleViewer)
		start := s.Clock.Now()
		s.Clock.Advance(time.Hour)

		type call struct {
			by          testkit.User
			method, p   string
			body        any
			status      int
			action      string
			objectType  string
			objectID    func() string // nil: the id in the answer
			changesKeys []string
		}
		var (
			userID, teamID, tokenID int64
		)
		str := func(p *int64) func() string { return func() string { return fmt.Sprint(*p) } }
		calls := []call{
			{by: admin, method: "POST", p: "/api/v1/users", body: map[string]any{"email": "audited@example.com", "name": "Audited", "role": "responder"},
				status: 201, action: "user.create", objectType: "user", changesKeys: []string{"email", "name", "role", "password_set"}},
			{by: viewer, method: "PATCH", p: "/api/v1/users/me", body: map[string]any{"name": "Renamed"},
				status: 200, action: "user.update", objectType: "user", objectID: func() string { return fmt.Sprint(viewer.ID) }, changesKeys: []string{"name"}},
			{by: manager, method: "POST", p: "/api/v1/teams", body: map[string]any{"name": "Audit team"},
				status: 201, action: "team.create", objectType: "team"},
			{by: manager, method: "PATCH", p: "/api/v1/teams/{team}", body: map[string]any{"description": "now described"},
				status: 200, action: "team.update", objectType: "team", objectID: str(&teamID), changesKeys: []string{"description"}},
			{by: manager, method: "POST", p: "/api/v1/teams/{team}/members", body: map[string]any{"user_id": "{user}", "team_role": "lead"},
				status: 201, action: "team.member.set", objectType: "team", objectID: str(&teamID), changesKeys: []string{"user_id", "team_role"}},
			{by: manager, method: "DELETE", p: "/api/v1/teams/{team}/members/{user}",
				status: 204, action: "team.member.remove", objectType: "team", objectID: str(&teamID)},
			{by: viewer, method: "POST", p: "/api/v1/tokens", body: map[string]any{"name": "audited token", "user_id": viewer.ID},
				status: 201, action: "token.create", objectType: "token"},
			{by: viewer, method: "DELETE", p: "/api/v1/tokens/{token}",
				status: 200, action: "token.revoke", objectType: "token", objectID: str(&tokenID)},
			{by: viewer, method: "POST", p: "/api/v1/users/me/totp",
				status: 201, action: "user.totp.start", objectType: "user", objectID: func() string { return fmt.Sprint(viewer.ID) }},
			{by: admin, method: "DELETE", p: "/api/v1/users/{viewer}/totp",
				status: 204, action: "user.totp.disable", objectType: "user", objectID: func() string { return fmt.Sprint(viewer.ID) }},
			{by: admin, method: "PATCH", p: "/api/v1/users/{user}", body: map[string]any{"role": "manager", "disabled": true},
				status: 200, action: "user.update", objectType: "user", objectID: str(&userID), changesKeys: []string{"role", "disabled"}},
			{by: manager, method: "DELETE", p: "/api/v1/teams/{team}",
				status: 204, action: "team.delete", objectType: "team", objectID: str(&teamID)},
			{by: admin, method: "DELETE", p: "/api/v1/users/{user}",
				status: 204, action: "user.delete", objectType: "user", objectID: str(&userID)},
		}
		fill := func(p string) string {
			return strings.NewReplacer("{team}", fmt.Sprint(teamID), "{user}", fmt.Sprint(userID), "{token}", fmt.Sprint(tokenID),
				"{viewer}", fmt.Sprint(viewer.ID)).Replace(p)
		}
		type made struct {
			call
			requestID, objectID string
		}
		var done []made
		for i, cl := range calls {
			body := cl.body
			if m, ok := body.(map[string]any); ok && m["user_id"] == "{user}" {
				body = map[string]any{"user_id": userID, "team_role": m["team_role"]}
			}
			rid := fmt.Sprintf("audit-test-%s-%d", d, i)
			r := c.do(cl.method, fill(cl.p), cl.by.Token, body, "X-Request-Id", rid).Want(cl.status)
			if r.Header.Get("X-Request-Id") != rid {
				t.Fatalf("request id %q not echoed: %q", rid, r.Header.Get("X-Request-Id"))
			}
			oid := ""
			if cl.objectID != nil {
				oid = cl.objectID()
			} else {
				oid = fmt.Sprint(id(r))
				switch cl.action {
				case "user.create":
					userID = id(r)
				case "team.create":
					teamID = id(r)
				case "token.create":
					tokenID = id(r)
				}
			}
			done = append(done, made{call: cl, requestID: rid, objectID: oid})
		}

		// Refused and failed calls leave nothing.
		refused := []struct {
			by        testkit.User
			method, p string
			body      any
		}{
			{viewer, "POST", "/api/v1/users", map[string]any{"email": "nope@example.com", "name": "Nope"}},
			{viewer, "POST", "/api/v1/teams", map[string]any{"name": "Nope"}},
			{admin, "POST", "/api/v1/users", map[string]any{"email": "bad", "name": "Bad"}},
			{admin, "PATCH", "/api/v1/users/me", map[string]any{"role": "viewer"}},
			{manager, "DELETE", "/api/v1/teams/999999", nil},
			{testkit.User{Token: "stdy_nothing"}, "POST", "/api/v1/teams", map[string]any{"name": "Nope"}},
		}
		for i, r := range refused {
			rid := fmt.Sprintf("refused-%d", i)
			if res := c.do(r.method, r.p, r.by.Token, r.body, "X-Request-Id", rid); res.Status < 400 {
				t.Fatalf("%s %s succeeded: %d", r.method, r.p, res.Status)
			}
		}

		all, next := items(c.do("GET", "/api/v1/audit?limit=1000", manager.Token, nil).Want(200))
		if next != "" {
			t.Fatal("more than 1000 entries")
		}
		byRequest := map[string][]map[string]any{}
		for _, e := range all {
			byRequest[e["request_id"].(string)] = append(byRequest[e["request_id"].(string)], e)
			if strings.HasPrefix(e["request_id"].(string), "refused-") {
				t.Errorf("a refused call left an entry: %v", e)
			}
		}
		for _, m := range done {
			es := byRequest[m.requestID]
			if len(es) != 1 {
				t.Errorf("%s %s: %d entries; want 1", m.method, m.p, len(es))
				continue
			}
			e := es[0]
			want := map[string]any{"action": m.action, "object_type": m.objectType, "object_id": m.objectID, "source": "api",
				"actor_type": "user", "actor_id": fmt.Sprint(m.by.ID), "actor_name": m.by.Email}
			for k, v := range want {
				if e[k] != v {
					t.Errorf("%s %s: %s = %v; want %v (entry %v)", m.method, m.p, k, e[k], v, e)
				}
			}
			if s, _ := e["summary"].(string); s == "" {
				t.Errorf("%s: no summary", m.action)
			}
			changes, _ := e["changes"].(map[string]any)
			for _, k := range m.changesKeys {
				if _, ok := changes[k]; !ok {
					t.Errorf("%s: changes %v lack %q", m.action, changes, k)
				}
			}
			if at, _ := time.Parse(time.RFC3339Nano, e["at"].(string)); !at.Equal(s.Clock.Now()) {
				t.Errorf("%s: at %v; want the (fake) time of the call %v", m.action, e["at"], s.Clock.Now())
			}
		}
		// Entries are newest first and hash-chained.
		for i := 1; i < len(all); i++ {
			if all[i-1]["seq"].(float64) != all[i]["seq"].(float64)+1 || all[i-1]["prev_hash"] != all[i]["hash"] {
				t.Fatalf("entries %v and %v are not chained", all[i-1]["seq"], all[i]["seq"])
			}
		}

		t.Run("filters", func(t *testing.T) {
			c := on(t, s)
			list := func(q url.Values) []map[string]any {
				t.Helper()
				q.Set("limit", "1000")
				l, _ := items(c.do("GET", "/api/v1/audit?"+q.Encode(), manager.Token, nil).Want(200))
				return l
			}
			count := func(pred func(e map[string]any) bool) int {
				n := 0
				for _, e := range all {
					if pred(e) {
						n++
					}
				}
				return n
			}
			cases := []struct {
				name string
				q    url.Values
				pred func(e map[string]any) bool
			}{
				{"actor", url.Values{"actor": {fmt.Sprint(manager.ID)}}, func(e map[string]any) bool { return e["actor_id"] == fmt.Sprint(manager.ID) }},
				{"action", url.Values{"action": {"team.create"}}, func(e map[string]any) bool { return e["action"] == "team.create" }},
				{"action prefix", url.Values{"action": {"team."}}, func(e map[string]any) bool { return strings.HasPrefix(e["action"].(string), "team.") }},
				{"object", url.Values{"object_type": {"user"}, "object_id": {fmt.Sprint(userID)}},
					func(e map[string]any) bool { return e["object_type"] == "user" && e["object_id"] == fmt.Sprint(userID) }},
				{"object type", url.Values{"object_type": {"token"}}, func(e map[string]any) bool { return e["object_type"] == "token" }},
				{"actor and action", url.Values{"actor": {fmt.Sprint(s.AdminID)}, "action": {"user."}},
					func(e map[string]any) bool {
						return e["actor_id"] == fmt.Sprint(s.AdminID) && strings.HasPrefix(e["action"].(string), "user.")
					}},
				{"since", url.Values{"since": {start.Add(time.Minute).Format(time.RFC3339)}},
					func(e map[string]any) bool { return strings.HasPrefix(e["request_id"].(string), "audit-test-") }},
				{"until", url.Values{"until": {start.Add(time.Minute).Format(time.RFC3339)}},
					func(e map[string]any) bool { return !strings.HasPrefix(e["request_id"].(string), "audit-test-") }},
				{"nothing", url.Values{"action": {"no.such.action"}}, func(map[string]any) bool { return false }},
			}
			for _, tc := range cases {
				got := list(tc.q)
				if want := count(tc.pred); len(got) != want {
					t.Errorf("%s: %d entries; want %d", tc.name, len(got), want)
				}
				for _, e := range got {
					if !tc.pred(e) {
						t.Errorf("%s: %v does not match", tc.name, e)
					}
				}
			}
			if len(list(url.Values{"action": {"team."}})) < 4 {
				t.Error("too few team entries to tell")
			}
		})

		t.Run("who may read it", func(t *testing.T) {
			c := on(t, s)
			wantProblem(c.do("GET", "/api/v1/audit", viewer.Token, nil), 403)
			responder := c.user(iam.RoleResponder)
			wantProblem(c.do("GET", "/api/v1/audit", responder.Token, nil), 403)
			wantProblem(c.do("GET", "/api/v1/audit/verify", manager.Token, nil), 403)
			v := c.do("GET", "/api/v1/audit/verify", s.AdminToken, nil).Want(200).Map()
			n := c.count("SELECT COUNT(*) FROM audit_log")
			if v["ok"] != true || v["checked"] != float64(n) || v["broken_at"] != float64(0) || v["problem"] != "" {
				t.Fatalf("verify %v; %d entries", v, n)
			}
			if !slices.ContainsFunc(all, func(e map[string]any) bool { return e["source"] == "api" }) {
				t.Fatal("no api entries")
			}
		})

		t.Run("verify reports tampering", func(t *testing.T) {
			c := on(t, s)
			if _, err := s.App.DB.W.Exec("UPDATE audit_log SET summary = 'nothing to see' WHERE seq = 3"); err != nil {
				t.Fatal(err)
			}
			v := c.do("GET", "/api/v1/audit/verify", s.AdminToken, nil).Want(200).Map()
			if v["ok"] != false || v["broken_at"] != float64(3) || v["problem"] == "" {
				t.Fatalf("verify after tampering: %v", v)
			}
		})
	})
}
