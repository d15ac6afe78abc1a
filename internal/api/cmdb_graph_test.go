package api_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// newCI creates a CI through the API and returns its id.
func (c *client) newCI(class, name string) int64 {
	c.t.Helper()
	return id(c.do("POST", "/api/v1/cis", c.s.AdminToken, map[string]any{"class": class, "name": name}).Want(201))
}

type impactDoc struct {
	Direction string `json:"direction"`
	Depth     int    `json:"depth"`
	Total     int    `json:"total"`
	Hops      []struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Class string `json:"class"`
		Depth int    `json:"depth"`
		Via   string `json:"via"`
	} `json:"hops"`
	Services []struct {
		Name string `json:"name"`
	} `json:"services"`
	Paths []struct {
		To    int64 `json:"to"`
		Steps []struct {
			Name string `json:"name"`
			Via  string `json:"via"`
		} `json:"steps"`
	} `json:"paths"`
}

func (d impactDoc) names() string {
	var out []string
	for _, h := range d.Hops {
		out = append(out, h.Name)
	}
	return strings.Join(out, ",")
}

func TestRelationsAndImpactAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		admin := s.AdminToken
		viewer := c.user(iam.RoleViewer)
		manager := c.user(iam.RoleManager)

		svc := c.newCI("business_service", "Checkout")
		app := c.newCI("application", "checkout-api")
		pool := c.newCI("load_balancer", "checkout-pool")
		var web [3]int64
		for i, n := range []string{"web-1", "web-2", "web-3"} {
			web[i] = c.newCI("service_instance", n)
		}
		db1 := c.newCI("database", "orders-db")

		// By id, and by reference.
		rel := c.do("POST", "/api/v1/relations", manager.Token, map[string]any{"source_id": svc, "type": "depends_on", "target_id": app}).Want(201)
		if loc := rel.Header.Get("Location"); loc != path("/api/v1/relations/%d", id(rel)) {
			t.Fatalf("Location %q", loc)
		}
		c.do("POST", "/api/v1/relations", manager.Token, map[string]any{"source": "checkout-api", "type": "depends_on", "target": "checkout-pool"}).Want(201)
		c.do("POST", "/api/v1/relations", manager.Token, map[string]any{"source": "checkout-api", "type": "depends_on", "target": strconv.FormatInt(db1, 10)}).Want(201)
		for _, w := range web {
			c.do("POST", "/api/v1/relations", admin, map[string]any{"source_id": w, "type": "member_of", "target_id": pool}).Want(201)
		}
		var got struct {
			SourceName string `json:"source_name"`
			TargetName string `json:"target_name"`
			Type       string `json:"type"`
		}
		c.do("GET", path("/api/v1/relations/%d", id(rel)), viewer.Token, nil).Want(200).JSON(&got)
		if got.SourceName != "Checkout" || got.TargetName != "checkout-api" || got.Type != "depends_on" {
			t.Fatalf("relation %+v", got)
		}

		// Refusals.
		bad := func(token string, body map[string]any, status int, field, text string) {
			t.Helper()
			p := c.do("POST", "/api/v1/relations", token, body).Want(status).Problem()
			if field != "" && !p.HasField(field) {
				t.Fatalf("%v: problem %+v does not name %s", body, p, field)
			}
			if text != "" && !strings.Contains(p.Detail+" "+fieldDetails(p), text) {
				t.Fatalf("%v: problem %+v does not say %q", body, p, text)
			}
		}
		bad(viewer.Token, map[string]any{"source_id": svc, "type": "depends_on", "target_id": db1}, 403, "", "")
		bad(admin, map[string]any{"source_id": svc, "type": "depends_on", "target_id": app}, 409, "", "Checkout already depends_on checkout-api")
		bad(admin, map[string]any{"source_id": db1, "type": "depends_on", "target_id": svc}, 400, "target_id",
			"orders-db ("+strconv.FormatInt(db1, 10)+") depends_on Checkout ("+strconv.FormatInt(svc, 10)+") depends_on checkout-api ("+strconv.FormatInt(app, 10)+") depends_on orders-db")
		bad(admin, map[string]any{"source_id": app, "type": "runs_on", "target_id": app}, 400, "target_id", "itself")
		bad(admin, map[string]any{"source_id": app, "type": "uses", "target_id": db1}, 400, "type", "depends_on")
		bad(admin, map[string]any{"source": "no-such-ci", "type": "uses", "target": "nor-this"}, 400, "source", "not found")
		bad(admin, map[string]any{"source_id": app, "source": "checkout-api", "type": "runs_on", "target_id": db1}, 400, "source", "not both")
		bad(admin, map[string]any{"source_id": app, "type": "runs_on", "target_id": 99999}, 400, "target_id", "no CI")
		bad(admin, map[string]any{"source_id": "1", "type": "runs_on", "target_id": 2}, 400, "source_id", "")
		bad(admin, map[string]any{"source_id": app, "type": "runs_on", "target_id": db1, "weight": 3}, 400, "weight", "")
		if n := c.count("SELECT COUNT(*) FROM ci_relations"); n != 6 {
			t.Fatalf("%d relations after the refusals", n)
		}

		// A CI's relations, both ways.
		l, _ := items(c.do("GET", path("/api/v1/cis/%d/relations", app), viewer.Token, nil).Want(200))
		if len(l) != 3 || l[0]["target_name"] != "checkout-pool" || l[2]["source_name"] != "Checkout" {
			t.Fatalf("relations of the app: %v", l)
		}
		c.do("GET", "/api/v1/cis/99999/relations", viewer.Token, nil).Want(404).Problem()

		// Impact: without a rule one member down takes the pool down.
		var im impactDoc
		c.do("GET", path("/api/v1/cis/%d/impact", web[0]), viewer.Token, nil).Want(200).JSON(&im)
		if im.Direction != "downstream" || im.Depth != 5 || im.names() != "checkout-pool,checkout-api,Checkout" ||
			len(im.Services) != 1 || len(im.Paths) != 1 || len(im.Paths[0].Steps) != 4 || im.Paths[0].Steps[1].Via != "member_of" {
			t.Fatalf("impact of web-1: %+v", im)
		}

		// Redundancy: two of three.
		c.do("PUT", path("/api/v1/cis/%d/redundancy", pool), viewer.Token, map[string]any{"min_up": 2}).Want(403).Problem()
		var red struct {
			MinUp   int `json:"min_up"`
			Members int `json:"members"`
		}
		c.do("PUT", path("/api/v1/cis/%d/redundancy", pool), manager.Token, map[string]any{"min_up": 2}).Want(200).JSON(&red)
		if red.MinUp != 2 || red.Members != 3 {
			t.Fatalf("redundancy %+v", red)
		}
		c.do("GET", path("/api/v1/cis/%d/redundancy", pool), viewer.Token, nil).Want(200)
		if p := c.do("PUT", path("/api/v1/cis/%d/redundancy", pool), admin, map[string]any{"min_up": 0}).Want(400).Problem(); !p.HasField("min_up") {
			t.Fatalf("min_up 0: %+v", p)
		}
		c.do("PUT", "/api/v1/cis/99999/redundancy", admin, map[string]any{"min_up": 2}).Want(404).Problem()
		im = impactDoc{}
		c.do("GET", path("/api/v1/cis/%d/impact?depth=10", web[0]), viewer.Token, nil).Want(200).JSON(&im)
		if im.Total != 0 || len(im.Services) != 0 {
			t.Fatalf("one member of a pool that needs two: %+v", im)
		}
		im = impactDoc{}
		c.do("POST", "/api/v1/impact", viewer.Token, map[string]any{"failed": []int64{web[0]}, "cis": []string{"web-2"}}).Want(200).JSON(&im)
		if im.names() != "checkout-pool,checkout-api,Checkout" || im.Services[0].Name != "Checkout" {
			t.Fatalf("two members down: %+v", im)
		}

		// Upstream, and the depth.
		im = impactDoc{}
		c.do("GET", path("/api/v1/cis/%d/impact?direction=upstream&depth=1", svc), viewer.Token, nil).Want(200).JSON(&im)
		if im.names() != "checkout-api" || im.Direction != "upstream" {
			t.Fatalf("upstream to depth 1: %+v", im)
		}
		im = impactDoc{}
		c.do("GET", path("/api/v1/cis/%d/impact?direction=upstream", svc), viewer.Token, nil).Want(200).JSON(&im)
		if im.names() != "checkout-api,checkout-pool,orders-db,web-1,web-2,web-3" {
			t.Fatalf("upstream: %+v", im)
		}
		for _, q := range []string{"depth=0", "depth=21", "depth=two", "direction=sideways"} {
			p := c.do("GET", path("/api/v1/cis/%d/impact?%s", svc, q), viewer.Token, nil).Want(400).Problem()
			if !p.HasField(strings.Split(q, "=")[0]) {
				t.Fatalf("%s: %+v", q, p)
			}
		}
		c.do("GET", "/api/v1/cis/99999/impact", viewer.Token, nil).Want(404).Problem()
		for body, field := range map[string]string{`{}`: "failed", `{"failed":[99999]}`: "failed[0]", `{"cis":["nope"]}`: "cis[0]",
			`{"failed":[1],"depth":30}`: "depth", `{"failed":"1"}`: "failed"} {
			if p := c.rawRequest("POST", "/api/v1/impact", []byte(body), "Authorization", "Bearer "+admin,
				"Content-Type", "application/json").Want(400).Problem(); !p.HasField(field) {
				t.Fatalf("%s: %+v", body, p)
			}
		}

		// Remove the rule and a relation.
		c.do("DELETE", path("/api/v1/cis/%d/redundancy", pool), manager.Token, nil).Want(204)
		c.do("DELETE", path("/api/v1/cis/%d/redundancy", pool), manager.Token, nil).Want(404).Problem()
		c.do("GET", path("/api/v1/cis/%d/redundancy", pool), viewer.Token, nil).Want(404).Problem()
		c.do("DELETE", path("/api/v1/relations/%d", id(rel)), viewer.Token, nil).Want(403).Problem()
		c.do("DELETE", path("/api/v1/relations/%d", id(rel)), manager.Token, nil).Want(204)
		c.do("DELETE", path("/api/v1/relations/%d", id(rel)), manager.Token, nil).Want(404).Problem()
		im = impactDoc{}
		c.do("GET", path("/api/v1/cis/%d/impact", web[0]), viewer.Token, nil).Want(200).JSON(&im)
		if im.names() != "checkout-pool,checkout-api" || len(im.Services) != 0 {
			t.Fatalf("after removing the service's relation: %+v", im)
		}
		if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'ci_relation.%' OR action LIKE 'ci_redundancy.%'"); n != 9 {
			t.Fatalf("%d audit entries", n)
		}
	})
}

func fieldDetails(p testkit.Problem) string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field+": "+e.Detail)
	}
	return strings.Join(out, "; ")
}
