package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/api"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// TestAuthorization walks every registered route with no token, broken
// tokens and a token of every role. Route.Role says what must happen: a
// missing or unusable token on a non-public route is a 401, a role below the
// route's is a 403, a role at or above it is neither, and nothing is a 500.
func TestAuthorization(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := s.AdminToken

		users := map[iam.Role]testkit.User{}
		for _, r := range iam.Roles {
			users[r] = c.user(r)
		}
		team := id(c.do("POST", "/api/v1/teams", admin, map[string]any{"name": "Authz"}).Want(201))
		c.do("POST", path("/api/v1/teams/%d/members", team), admin, map[string]any{"user_id": users[iam.RoleViewer].ID}).Want(201)
		svc := s.NewService("Authz")
		alert := resultAlert(c.do("POST", "/api/v1/events", "", map[string]any{"summary": "authz"}, "X-Routing-Key", svc.Key).Want(202))
		var inc int64
		if err := s.App.DB.R.QueryRow("SELECT incident_id FROM alerts WHERE id = $1", alert).Scan(&inc); err != nil || inc == 0 {
			t.Fatalf("the alert made no incident: %v", err)
		}

		// Tokens that must not work.
		victim := c.user(iam.RoleAdmin)
		newToken := func(body map[string]any) (int64, string) {
			var tok struct {
				ID    int64  `json:"id"`
				Token string `json:"token"`
			}
			c.do("POST", "/api/v1/tokens", admin, body).Want(201).JSON(&tok)
			return tok.ID, tok.Token
		}
		revokedID, revoked := newToken(map[string]any{"name": "revoked", "user_id": victim.ID})
		c.do("DELETE", path("/api/v1/tokens/%d", revokedID), admin, nil).Want(200)
		_, expired := newToken(map[string]any{"name": "expiring", "user_id": victim.ID,
			"expires_at": s.Clock.Now().Add(time.Hour).Format(time.RFC3339)})
		c.do("GET", "/api/v1/users/me", expired, nil).Want(200)
		s.Clock.Advance(2 * time.Hour)
		disabledUser := c.user(iam.RoleAdmin)
		c.do("PATCH", path("/api/v1/users/%d", disabledUser.ID), admin, map[string]any{"disabled": true}).Want(200)

		type caller struct {
			name    string
			token   string
			headers []string
		}
		unusable := []caller{
			{name: "no token"},
			{name: "garbage token", token: "stdy_" + strings.Repeat("x", 39)},
			{name: "revoked token", token: revoked},
			{name: "expired token", token: expired},
			{name: "disabled user's token", token: disabledUser.Token},
			{name: "not a bearer header", headers: []string{"Authorization", "Basic YWRtaW46YWRtaW4="}},
			{name: "empty bearer", headers: []string{"Authorization", "Bearer "}},
		}

		// ownToken is the id of the token a test user calls with.
		ownToken := map[iam.Role]int64{}
		for r, u := range users {
			l, _ := items(c.do("GET", path("/api/v1/tokens?user=%d", u.ID), u.Token, nil).Want(200))
			if len(l) != 1 {
				t.Fatalf("%s sees %d tokens; want only their own", r, len(l))
			}
			ownToken[r] = int64(l[0]["id"].(float64))
		}

		// A heartbeat, whose key a beat (a public route) takes in place of an id.
		var heartbeat struct {
			BeatPath string `json:"beat_path"`
		}
		c.do("POST", "/api/v1/heartbeats", admin, map[string]any{"service_id": svc.ID, "name": "Authz", "interval_seconds": 60}).Want(201).JSON(&heartbeat)

		// fill puts ids into a route's path. For a caller that may use the
		// route, ids name objects it may act on (fresh ones for deletes);
		// for others, any existing object.
		fill := func(rt api.Route, role iam.Role, allowed bool) string {
			p := rt.Path()
			if rt.Pattern == "POST /api/v1/heartbeats/{id}" {
				return heartbeat.BeatPath
			}
			existing := strings.NewReplacer("/services/{id}", path("/services/%d", svc.ID), "{key_id}", path("%d", svc.KeyID),
				"/alerts/{id}", path("/alerts/%d", alert), "/incidents/{id}", path("/incidents/%d", inc), "{priority}", "P5")
			if !allowed {
				r := strings.NewReplacer("/users/{id}", path("/users/%d", s.AdminID), "/teams/{id}", path("/teams/%d", team),
					"{user_id}", path("%d", users[iam.RoleViewer].ID), "/tokens/{id}", path("/tokens/%d", ownToken[iam.RoleViewer]))
				return existing.Replace(r.Replace(p))
			}
			switch rt.Pattern {
			case "DELETE /api/v1/services/{id}":
				return path("/api/v1/services/%d", s.NewService("Gone "+string(role)).ID)
			case "DELETE /api/v1/services/{id}/integration-keys/{key_id}":
				k := id(c.do("POST", path("/api/v1/services/%d/integration-keys", svc.ID), admin, map[string]any{"name": "to revoke"}).Want(201))
				return path("/api/v1/services/%d/integration-keys/%d", svc.ID, k)
			case "DELETE /api/v1/users/{id}":
				u := id(c.do("POST", "/api/v1/users", admin, map[string]any{"email": "gone-" + strings.ReplaceAll(t.Name(), "/", "-") +
					string(role) + "@example.com", "name": "Gone"}).Want(201))
				return path("/api/v1/users/%d", u)
			case "DELETE /api/v1/teams/{id}":
				return path("/api/v1/teams/%d", id(c.do("POST", "/api/v1/teams", admin, map[string]any{"name": "Gone " + string(role)}).Want(201)))
			case "DELETE /api/v1/teams/{id}/members/{user_id}":
				tm := id(c.do("POST", "/api/v1/teams", admin, map[string]any{"name": "Members " + string(role)}).Want(201))
				c.do("POST", path("/api/v1/teams/%d/members", tm), admin, map[string]any{"user_id": users[role].ID}).Want(201)
				return path("/api/v1/teams/%d/members/%d", tm, users[role].ID)
			case "DELETE /api/v1/tokens/{id}":
				tid, _ := newToken(map[string]any{"name": "to revoke", "user_id": users[role].ID})
				return path("/api/v1/tokens/%d", tid)
			case "GET /api/v1/tokens/{id}":
				return path("/api/v1/tokens/%d", ownToken[role])
			}
			return existing.Replace(strings.NewReplacer("/users/{id}", "/users/me", "/teams/{id}", path("/teams/%d", team)).Replace(p))
		}
		bodyFor := func(rt api.Route) any {
			if m := rt.Method(); m == http.MethodPost || m == http.MethodPatch {
				return map[string]any{}
			}
			return nil
		}

		routes := (&api.Server{}).Routes()
		if len(routes) < 20 {
			t.Fatalf("only %d routes", len(routes))
		}
		for _, rt := range routes {
			t.Run(strings.ReplaceAll(rt.Pattern, "/", "_"), func(t *testing.T) {
				c := on(t, s)
				if rt.Auth == api.AuthIntegrationKey {
					// An API token is no integration key, whatever its role:
					// each caller is refused (a 401; 400 or 404 where the key
					// goes in the body), none gets a 500, a good key works.
					callers := unusable
					for _, role := range iam.Roles {
						callers = append(callers, caller{name: string(role) + "'s API token", token: users[role].Token})
					}
					for _, who := range callers {
						r := c.do(rt.Method(), rt.Path(), who.token, eventBody(rt, who.token), who.headers...)
						if r.Status < 400 || r.Status >= 500 {
							t.Errorf("%s: %d; want a refusal; body: %s", who.name, r.Status, r.Body)
						}
					}
					r := c.do(rt.Method(), rt.Path(), svc.Key, eventBody(rt, svc.Key))
					if r.Status < 200 || r.Status > 299 {
						t.Errorf("the service's integration key: %d; body: %s", r.Status, r.Body)
					}
					return
				}
				for _, who := range unusable {
					r := c.do(rt.Method(), fill(rt, "", false), who.token, bodyFor(rt), who.headers...)
					if rt.Role == api.Public {
						if r.Status >= 400 {
							t.Errorf("%s, public route: %d; body: %s", who.name, r.Status, r.Body)
						}
						continue
					}
					if r.Status != 401 {
						t.Errorf("%s: %d; want 401; body: %s", who.name, r.Status, r.Body)
						continue
					}
					r.Problem()
					if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("%s: 401 without WWW-Authenticate: Bearer", who.name)
					}
				}
				for _, role := range iam.Roles {
					allowed := role.AtLeast(rt.Role) || rt.Role == api.Public
					p := fill(rt, role, allowed)
					r := c.do(rt.Method(), p, users[role].Token, bodyFor(rt))
					switch {
					case !allowed:
						if r.Status != 403 {
							t.Errorf("%s on %s: %d; want 403; body: %s", role, p, r.Status, r.Body)
							continue
						}
						r.Problem()
					case r.Status == 401 || r.Status == 403:
						t.Errorf("%s on %s: %d; the route allows %s; body: %s", role, p, r.Status, rt.Role, r.Body)
					case r.Status >= 500:
						t.Errorf("%s on %s: %d; body: %s", role, p, r.Status, r.Body)
					default:
						t.Logf("%s %s as %s: %d", rt.Method(), p, role, r.Status)
					}
				}
			})
		}

		// Everything above left a sound audit trail.
		v := on(t, s).do("GET", "/api/v1/audit/verify", admin, nil).Want(200).Map()
		if v["ok"] != true {
			t.Fatalf("audit chain after the walk: %v", v)
		}
	})
}

// eventBody is a valid body for an event endpoint; key is the routing key
// where the format carries it in the body.
func eventBody(rt api.Route, key string) any {
	switch rt.Path() {
	case "/v2/enqueue":
		body := map[string]any{"event_action": "trigger", "payload": map[string]any{"summary": "authz", "source": "test", "severity": "info"}}
		if key != "" {
			body["routing_key"] = key
		}
		return body
	case "/api/v1/integrations/alertmanager":
		return map[string]any{"version": "4", "status": "firing", "alerts": []any{
			map[string]any{"status": "firing", "labels": map[string]string{"alertname": "Authz"}}}}
	}
	return map[string]any{"summary": "authz"}
}
