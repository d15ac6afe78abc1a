package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

type incidentDoc struct {
	ID             int64    `json:"id"`
	Number         string   `json:"number"`
	Title          string   `json:"title"`
	Status         string   `json:"status"`
	Priority       string   `json:"priority"`
	AlertCount     int      `json:"alert_count"`
	OpenAlertCount int      `json:"open_alert_count"`
	AssigneeID     *int64   `json:"assignee_id"`
	Resolution     string   `json:"resolution"`
	Tags           []string `json:"tags"`
	Major          bool     `json:"major"`
	Version        int64    `json:"version"`
}

func TestIncidentsAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		responder, viewer := c.user(iam.RoleResponder), c.user(iam.RoleViewer)
		svc := s.NewService("checkout")
		pd := func(action, key, summary string) {
			body := map[string]any{"routing_key": svc.Key, "event_action": action, "dedup_key": key}
			if action == "trigger" {
				body["payload"] = map[string]any{"summary": summary, "source": "web-1", "severity": "error"}
			}
			c.do("POST", "/v2/enqueue", "", body).Want(202)
		}
		pd("trigger", "5xx", "High 5xx rate on checkout")
		pd("trigger", "latency", "p99 latency above 2s on checkout")
		pd("trigger", "5xx", "High 5xx rate on checkout")

		// The acceptance contract: list by service and status, then by id.
		var l struct{ Items []incidentDoc }
		c.do("GET", path("/api/v1/incidents?service=%d&status=triggered", svc.ID), viewer.Token, nil).Want(200).JSON(&l)
		if len(l.Items) != 1 || l.Items[0].AlertCount != 2 || l.Items[0].Status != "triggered" || l.Items[0].Priority != "P2" ||
			l.Items[0].Number != path("INC-%d", l.Items[0].ID) {
			t.Fatalf("list: %+v", l.Items)
		}
		in := l.Items[0]
		var got incidentDoc
		r := c.do("GET", "/api/v1/incidents/"+in.Number, viewer.Token, nil).Want(200).JSON(&got)
		if got.ID != in.ID || r.Header.Get("ETag") != path(`"%d"`, got.Version) {
			t.Fatalf("get by number: %+v %v", got, r.Header)
		}

		// A viewer reads but does not act.
		wantProblem(c.do("POST", path("/api/v1/incidents/%d/acknowledge", in.ID), viewer.Token, nil), 403)
		// Acknowledge with no body; a stale If-Match is refused.
		c.do("POST", path("/api/v1/incidents/%d/acknowledge", in.ID), responder.Token, nil).Want(200).JSON(&got)
		if got.Status != "acknowledged" {
			t.Fatalf("ack: %+v", got)
		}
		wantProblem(c.do("POST", path("/api/v1/incidents/%d/investigate", in.ID), responder.Token, nil, "If-Match", path(`"%d"`, in.Version)), 412)
		wantProblem(c.do("POST", path("/api/v1/incidents/%d/close", in.ID), responder.Token, nil), 409)
		wantProblem(c.do("POST", path("/api/v1/incidents/%d/resolve", in.ID), responder.Token, `{"note": 5}`), 400, "note")

		c.do("POST", path("/api/v1/incidents/%d/assign", in.ID), responder.Token, map[string]any{"assignee_id": responder.ID}).Want(200).JSON(&got)
		if got.AssigneeID == nil || *got.AssigneeID != responder.ID {
			t.Fatalf("assign: %+v", got)
		}
		wantProblem(c.do("POST", path("/api/v1/incidents/%d/assign", in.ID), responder.Token, map[string]any{"assignee_id": 999999}), 400, "assignee_id")
		c.do("POST", path("/api/v1/incidents/%d/notes", in.ID), responder.Token, map[string]any{"body": "rolled back the deploy"}).Want(201)
		c.do("POST", path("/api/v1/incidents/%d/notes", in.ID), responder.Token, map[string]any{"body": "follow-up: add a canary"}).Want(201)
		wantProblem(c.do("POST", path("/api/v1/incidents/%d/notes", in.ID), responder.Token, map[string]any{"body": "  "}), 400, "body")
		c.do("PATCH", path("/api/v1/incidents/%d", in.ID), responder.Token, map[string]any{"impact": 1, "urgency": 1, "major": true, "tags": []string{"deploy"}}).Want(200).JSON(&got)
		if got.Priority != "P1" || !got.Major || len(got.Tags) != 1 {
			t.Fatalf("patch: %+v", got)
		}
		wantProblem(c.do("PATCH", path("/api/v1/incidents/%d", in.ID), responder.Token, map[string]any{"impact": 9}), 400, "impact")

		var alerts struct{ Items []map[string]any }
		c.do("GET", path("/api/v1/incidents/%d/alerts", in.ID), viewer.Token, nil).Want(200).JSON(&alerts)
		if len(alerts.Items) != 2 {
			t.Fatalf("alerts: %+v", alerts)
		}
		var events struct {
			Items []map[string]any
			Next  string
		}
		c.do("GET", path("/api/v1/incidents/%d/events?limit=2", in.ID), viewer.Token, nil).Want(200).JSON(&events)
		if len(events.Items) != 2 || events.Next == "" {
			t.Fatalf("events: %+v", events)
		}
		var slas struct{ Items []map[string]any }
		c.do("GET", path("/api/v1/incidents/%d/slas", in.ID), viewer.Token, nil).Want(200).JSON(&slas)
		if len(slas.Items) != 2 {
			t.Fatalf("slas: %+v", slas)
		}

		s.Clock.Advance(10 * time.Minute)
		c.do("POST", path("/api/v1/incidents/%d/resolve", in.ID), responder.Token, map[string]any{"note": "rolled back"}).Want(200).JSON(&got)
		if got.Status != "resolved" || got.Resolution != "rolled back" || got.OpenAlertCount != 0 {
			t.Fatalf("resolve: %+v", got)
		}
		// Its alerts resolved with it: a new trigger opens a new incident.
		pd("trigger", "5xx", "High 5xx rate on checkout again")
		c.do("GET", path("/api/v1/incidents?service=%d&status=open", svc.ID), viewer.Token, nil).Want(200).JSON(&l)
		if len(l.Items) != 1 || l.Items[0].ID == in.ID {
			t.Fatalf("after resolve: %+v", l.Items)
		}
		next := l.Items[0]

		var tl struct{ Items []map[string]any }
		c.do("GET", path("/api/v1/incidents/%d/timeline", in.ID), viewer.Token, nil).Want(200).JSON(&tl)
		var kinds []string
		for _, e := range tl.Items {
			switch k := e["kind"].(string); k {
			case "escalated", "notified", "notification_failed":
				// The escalation engine's, written by its own loop (tested in oncall).
			default:
				kinds = append(kinds, k)
			}
		}
		if strings.Join(kinds, ",") != "opened,alerts_grouped,acknowledged,assigned,note,note,updated,resolved" {
			t.Fatalf("timeline kinds: %v", kinds)
		}

		rep := c.do("GET", path("/api/v1/incidents/%d/report", in.ID), viewer.Token, nil).Want(200)
		if !strings.HasPrefix(rep.Header.Get("Content-Type"), "text/markdown") || !strings.Contains(string(rep.Body), "- [ ] follow-up: add a canary") {
			t.Fatalf("markdown report: %s", rep.Body)
		}
		rep = c.do("GET", path("/api/v1/incidents/%d/report?format=html", in.ID), viewer.Token, nil).Want(200)
		if !strings.HasPrefix(rep.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(rep.Body), "<h2>Timeline</h2>") {
			t.Fatalf("html report: %s", rep.Body)
		}
		wantProblem(c.do("GET", path("/api/v1/incidents/%d/report?format=pdf", in.ID), viewer.Token, nil), 400, "format")

		var sim struct {
			Items []struct{ Incident incidentDoc }
		}
		c.do("GET", path("/api/v1/incidents/%d/similar", next.ID), viewer.Token, nil).Want(200).JSON(&sim)
		if len(sim.Items) != 1 || sim.Items[0].Incident.ID != in.ID || sim.Items[0].Incident.Resolution != "rolled back" {
			t.Fatalf("similar: %+v", sim)
		}
		var hits struct {
			Items []struct{ Incident incidentDoc }
		}
		c.do("GET", "/api/v1/incidents/search?q=canary", viewer.Token, nil).Want(200).JSON(&hits)
		if len(hits.Items) != 1 || hits.Items[0].Incident.ID != in.ID {
			t.Fatalf("search: %+v", hits)
		}
		wantProblem(c.do("GET", "/api/v1/incidents/search?q=%21", viewer.Token, nil), 400, "q")

		c.do("POST", path("/api/v1/incidents/%d/related", next.ID), responder.Token, map[string]any{"related_id": in.ID}).Want(200)
		var rel struct{ Items []incidentDoc }
		c.do("GET", path("/api/v1/incidents/%d/related", in.ID), viewer.Token, nil).Want(200).JSON(&rel)
		if len(rel.Items) != 1 || rel.Items[0].ID != next.ID {
			t.Fatalf("related: %+v", rel)
		}
		c.do("POST", path("/api/v1/incidents/%d/close", in.ID), responder.Token, nil).Want(200)
		c.do("POST", path("/api/v1/incidents/%d/reopen", in.ID), responder.Token, map[string]any{"note": "it came back"}).Want(200).JSON(&got)
		if got.Status != "triggered" {
			t.Fatalf("reopen: %+v", got)
		}

		// Opened by hand, with filters.
		var made incidentDoc
		c.do("POST", "/api/v1/incidents", responder.Token, map[string]any{"title": "Customers report slow checkout", "impact": 2, "urgency": 1}).Want(201).JSON(&made)
		if made.Priority != "P2" || made.Status != "triggered" {
			t.Fatalf("create: %+v", made)
		}
		wantProblem(c.do("POST", "/api/v1/incidents", responder.Token, map[string]any{"title": ""}), 400, "title")
		wantProblem(c.do("POST", "/api/v1/incidents", responder.Token, map[string]any{"title": "x", "severity": "high"}), 400, "severity")
		wantProblem(c.do("GET", "/api/v1/incidents?status=sleeping", viewer.Token, nil), 400, "status")
		wantProblem(c.do("GET", "/api/v1/incidents?priority=P9", viewer.Token, nil), 400, "priority")
		wantProblem(c.do("GET", "/api/v1/incidents/INC-999999", viewer.Token, nil), 404)
		c.do("GET", "/api/v1/incidents?major=true&priority=p1", viewer.Token, nil).Want(200).JSON(&l)
		if len(l.Items) != 1 || l.Items[0].ID != in.ID {
			t.Fatalf("major P1 filter: %+v", l.Items)
		}

		// SLA policies: everybody reads, admins change.
		var pols struct{ Items []map[string]any }
		c.do("GET", "/api/v1/sla-policies", viewer.Token, nil).Want(200).JSON(&pols)
		if len(pols.Items) != 5 {
			t.Fatalf("policies: %+v", pols)
		}
		body := map[string]any{"ack_seconds": 120, "resolve_seconds": 3600, "calendar": map[string]any{"name": "24x7", "always": true}}
		wantProblem(c.do("PUT", "/api/v1/sla-policies/P1", responder.Token, body), 403)
		c.do("PUT", "/api/v1/sla-policies/p1", s.AdminToken, body).Want(200)
		body["calendar"] = map[string]any{"name": "office", "time_zone": "Nowhere/City", "hours": map[string]any{"mon": []any{map[string]string{"start": "09:00", "end": "17:00"}}}}
		wantProblem(c.do("PUT", "/api/v1/sla-policies/P1", s.AdminToken, body), 400, "calendar.time_zone")
		wantProblem(c.do("PUT", "/api/v1/sla-policies/P7", s.AdminToken, body), 404)
	})
}

func TestSecurityIncidentAlertsAreHidden(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	c := on(t, s)
	outsider := c.user(iam.RoleManager)
	svc := s.NewService("vault")
	r := c.do("POST", "/api/v1/events", "", map[string]any{"summary": "Unusual secret reads"}, "X-Routing-Key", svc.Key).Want(202).Map()
	alert := int64(r["results"].([]any)[0].(map[string]any)["alert_id"].(float64))
	var l struct{ Items []incidentDoc }
	c.do("GET", path("/api/v1/incidents?service=%d", svc.ID), s.AdminToken, nil).Want(200).JSON(&l)
	c.do("PATCH", path("/api/v1/incidents/%d", l.Items[0].ID), s.AdminToken, map[string]any{"security": true}).Want(200)
	wantProblem(c.do("GET", path("/api/v1/alerts/%d", alert), outsider.Token, nil), 404)
	if got, _ := items(c.do("GET", path("/api/v1/alerts?service=%d", svc.ID), outsider.Token, nil).Want(200)); len(got) != 0 {
		t.Fatalf("an outsider lists a security incident's alerts: %v", got)
	}
	c.do("GET", path("/api/v1/alerts/%d", alert), s.AdminToken, nil).Want(200)
}
