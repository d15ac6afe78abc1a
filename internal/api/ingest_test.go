package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/api"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// --- helpers shared by the event tests ---

type alertDoc struct {
	ID             int64             `json:"id"`
	ServiceID      int64             `json:"service_id"`
	DedupKey       string            `json:"dedup_key"`
	Status         string            `json:"status"`
	Severity       string            `json:"severity"`
	Summary        string            `json:"summary"`
	Host           string            `json:"host"`
	Source         string            `json:"source"`
	Labels         map[string]string `json:"labels"`
	Count          int64             `json:"count"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at"`
	ResolvedAt     *time.Time        `json:"resolved_at"`
	LastEvent      *struct {
		Source    string            `json:"source"`
		Action    string            `json:"action"`
		Summary   string            `json:"summary"`
		Host      string            `json:"host"`
		Component string            `json:"component"`
		Group     string            `json:"group"`
		Class     string            `json:"class"`
		Labels    map[string]string `json:"labels"`
		Details   map[string]any    `json:"details"`
		Links     []map[string]any  `json:"links"`
		Images    []map[string]any  `json:"images"`
		Client    string            `json:"client"`
		ClientURL string            `json:"client_url"`
		Occurred  time.Time         `json:"occurred_at"`
	} `json:"last_event"`
}

// alerts lists the alerts of a query (?service=…&status=…), newest first.
func (c *client) alerts(query string) []alertDoc {
	c.t.Helper()
	var l struct {
		Items []alertDoc `json:"items"`
		Next  string     `json:"next"`
	}
	c.do("GET", "/api/v1/alerts?limit=1000&"+query, c.s.AdminToken, nil).Want(200).JSON(&l)
	if l.Next != "" {
		c.t.Fatalf("more than 1000 alerts for %s", query)
	}
	return l.Items
}

// alert reads one alert with its last event.
func (c *client) alert(id int64) alertDoc {
	c.t.Helper()
	var a alertDoc
	c.do("GET", path("/api/v1/alerts/%d", id), c.s.AdminToken, nil).Want(200).JSON(&a)
	return a
}

// keyAlerts lists the alerts of one dedup key of a service, newest first.
func (c *client) keyAlerts(svc int64, key string) []alertDoc {
	c.t.Helper()
	return c.alerts(fmt.Sprintf("service=%d&dedup_key=%s", svc, key))
}

// ingestSnapshot counts what an event request could have written.
type ingestSnapshot struct{ events, alerts, counts, open, acked, audit int64 }

func (c *client) ingestSnapshot() ingestSnapshot {
	c.t.Helper()
	return ingestSnapshot{
		events: c.count("SELECT COUNT(*) FROM events"),
		alerts: c.count("SELECT COUNT(*) FROM alerts"),
		counts: c.count("SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM alerts"),
		open:   c.count("SELECT COUNT(*) FROM alerts WHERE status <> 'resolved'"),
		acked:  c.count("SELECT COUNT(*) FROM alerts WHERE status = 'acknowledged'"),
		audit:  c.count("SELECT COUNT(*) FROM audit_log"),
	}
}

type pdDoc struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key"`
	Errors   []string `json:"errors"`
}

// pd posts a PagerDuty event.
func (c *client) pd(body any, headers ...string) *testkit.Response {
	c.t.Helper()
	return c.do("POST", "/v2/enqueue", "", body, headers...)
}

func pdTrigger(key, dedup string) map[string]any {
	b := map[string]any{"routing_key": key, "event_action": "trigger",
		"payload": map[string]any{"summary": "CPU high on " + dedup, "source": "web-1", "severity": "error"}}
	if dedup != "" {
		b["dedup_key"] = dedup
	}
	return b
}

func pdAction(key, action, dedup string) map[string]any {
	return map[string]any{"routing_key": key, "event_action": action, "dedup_key": dedup}
}

func pdOf(r *testkit.Response) pdDoc {
	r.T.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		r.T.Fatalf("PagerDuty answer with content type %q: %s", ct, r.Body)
	}
	var a pdDoc
	r.JSON(&a)
	return a
}

// resultAlert reads the alert id of the first result of a generic event answer.
func resultAlert(r *testkit.Response) int64 {
	r.T.Helper()
	var a struct {
		Results []struct {
			AlertID int64 `json:"alert_id"`
		} `json:"results"`
	}
	r.JSON(&a)
	if len(a.Results) == 0 || a.Results[0].AlertID == 0 {
		r.T.Fatalf("no alert in %s", r.Body)
	}
	return a.Results[0].AlertID
}

type eventsDoc struct {
	Status  string `json:"status"`
	Results []struct {
		DedupKey string `json:"dedup_key"`
		AlertID  *int64 `json:"alert_id"`
		Change   string `json:"change"`
	} `json:"results"`
}

// event posts an event body with the integration key in X-Routing-Key.
func (c *client) event(p, key string, body any, headers ...string) *testkit.Response {
	c.t.Helper()
	return c.do("POST", p, "", body, append([]string{"X-Routing-Key", key}, headers...)...)
}

// post sends a body from any goroutine and returns the status (0 when it
// could not be sent).
func post(s *testkit.Server, p, body string, headers ...string) int {
	req, err := http.NewRequest("POST", s.URL+p, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// rawRequest sends a request exactly as given (no Content-Type unless set).
func (c *client) rawRequest(method, p string, body []byte, headers ...string) *testkit.Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.URL+p, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.send(req)
}

// --- PagerDuty Events API v2 ---

// The example event of PagerDuty's Events API v2 documentation, which the
// decoder's tests use too.
var pdDocumented = func() string {
	b, err := os.ReadFile("../event/testdata/pagerduty-documented.json")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestPagerDutyEvents(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Checkout")

		t.Run("trigger with every field, as documented", func(t *testing.T) {
			c := on(t, s)
			before := c.ingestSnapshot()
			r := c.pd(strings.Replace(pdDocumented, "ROUTING_KEY", svc.Key, 1)).Want(202)
			var got map[string]any
			r.JSON(&got)
			if want := map[string]any{"status": "success", "message": "Event processed", "dedup_key": "samplekeyhere"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("answer %s", r.Body)
			}
			as := c.keyAlerts(svc.ID, "samplekeyhere")
			if len(as) != 1 {
				t.Fatalf("alerts %+v", as)
			}
			a := c.alert(as[0].ID)
			if a.Status != "triggered" || a.Count != 1 || a.Severity != "info" || a.Summary != "Example alert on host1.example.com" ||
				a.Host != "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003" || a.Source != "pagerduty" {
				t.Fatalf("alert %+v", a)
			}
			ev := a.LastEvent
			if ev == nil || ev.Component != "postgres" || ev.Group != "prod-datapipe" || ev.Class != "deploy" || ev.Details["load avg"] != 0.75 ||
				len(ev.Links) != 1 || len(ev.Images) != 1 || ev.Client != "Sample Monitoring Service" || ev.ClientURL != "https://monitoring.example.com" ||
				!ev.Occurred.Equal(time.Date(2015, 7, 17, 8, 42, 58, 315e6, time.UTC)) {
				t.Fatalf("last event %+v", ev)
			}
			after := c.ingestSnapshot()
			if after.events != before.events+1 || after.alerts != before.alerts+1 || after.audit != before.audit {
				t.Fatalf("stored %+v → %+v", before, after)
			}
		})

		t.Run("repeat, acknowledge, resolve, trigger again", func(t *testing.T) {
			c := on(t, s)
			if a := pdOf(c.pd(pdTrigger(svc.Key, "disk-full")).Want(202)); a.DedupKey != "disk-full" {
				t.Fatalf("%+v", a)
			}
			c.pd(pdTrigger(svc.Key, "disk-full")).Want(202)
			as := c.keyAlerts(svc.ID, "disk-full")
			if len(as) != 1 || as[0].Count != 2 || as[0].Status != "triggered" {
				t.Fatalf("after a repeat: %+v", as)
			}
			if a := pdOf(c.pd(pdAction(svc.Key, "acknowledge", "disk-full")).Want(202)); a.Status != "success" || a.DedupKey != "disk-full" {
				t.Fatalf("%+v", a)
			}
			as = c.keyAlerts(svc.ID, "disk-full")
			if len(as) != 1 || as[0].Status != "acknowledged" || as[0].AcknowledgedAt == nil {
				t.Fatalf("after acknowledge: %+v", as)
			}
			c.pd(pdAction(svc.Key, "resolve", "disk-full")).Want(202)
			as = c.keyAlerts(svc.ID, "disk-full")
			if len(as) != 1 || as[0].Status != "resolved" || as[0].ResolvedAt == nil || as[0].Count != 2 {
				t.Fatalf("after resolve: %+v", as)
			}
			// A resolved alert stays resolved; the key opens a new one.
			c.pd(pdTrigger(svc.Key, "disk-full")).Want(202)
			as = c.keyAlerts(svc.ID, "disk-full")
			if len(as) != 2 || as[0].Status != "triggered" || as[0].Count != 1 || as[1].Status != "resolved" {
				t.Fatalf("after a new trigger: %+v", as)
			}
		})

		t.Run("a trigger without dedup_key gets a key that resolves it", func(t *testing.T) {
			c := on(t, s)
			a := pdOf(c.pd(pdTrigger(svc.Key, "")).Want(202))
			if len(a.DedupKey) != 32 || a.Status != "success" || a.Message != "Event processed" {
				t.Fatalf("answer %+v", a)
			}
			b := pdOf(c.pd(pdTrigger(svc.Key, "")).Want(202))
			if b.DedupKey == a.DedupKey {
				t.Fatal("two triggers without a key got the same one")
			}
			c.pd(pdAction(svc.Key, "resolve", a.DedupKey)).Want(202)
			if as := c.keyAlerts(svc.ID, a.DedupKey); len(as) != 1 || as[0].Status != "resolved" {
				t.Fatalf("resolved with the generated key: %+v", as)
			}
			if as := c.keyAlerts(svc.ID, b.DedupKey); len(as) != 1 || as[0].Status != "triggered" {
				t.Fatalf("the other alert: %+v", as)
			}
		})

		t.Run("acknowledge or resolve of an unknown key changes nothing", func(t *testing.T) {
			c := on(t, s)
			before := c.ingestSnapshot()
			for _, action := range []string{"acknowledge", "resolve"} {
				if a := pdOf(c.pd(pdAction(svc.Key, action, "never-seen")).Want(202)); a.DedupKey != "never-seen" || a.Status != "success" {
					t.Fatalf("%s: %+v", action, a)
				}
			}
			after := c.ingestSnapshot()
			if after.alerts != before.alerts || after.counts != before.counts || after.open != before.open || after.acked != before.acked {
				t.Fatalf("alerts changed: %+v → %+v", before, after)
			}
			if after.events != before.events+2 {
				t.Fatalf("the events are not kept: %+v → %+v", before, after)
			}
		})

		t.Run("invalid events", func(t *testing.T) {
			k := svc.Key
			cases := []struct {
				name, body string
				headers    []string
				want       string // part of an entry of errors
			}{
				{name: "no routing key", body: `{"event_action":"trigger","payload":{"summary":"s","source":"h","severity":"error"}}`, want: "'routing_key' is missing"},
				{name: "blank routing key", body: `{"routing_key":"  ","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"error"}}`, want: "'routing_key' is missing"},
				{name: "no event action", body: `{"routing_key":"` + k + `","payload":{"summary":"s","source":"h","severity":"error"}}`, want: "'event_action' is missing"},
				{name: "unknown event action", body: `{"routing_key":"` + k + `","event_action":"explode","dedup_key":"x"}`, want: "'event_action' is invalid"},
				{name: "action in capitals", body: `{"routing_key":"` + k + `","event_action":"TRIGGER","payload":{"summary":"s","source":"h","severity":"error"}}`, want: "'event_action' is invalid"},
				{name: "trigger without payload", body: `{"routing_key":"` + k + `","event_action":"trigger"}`, want: "'payload' is missing"},
				{name: "payload without summary", body: `{"routing_key":"` + k + `","event_action":"trigger","payload":{"source":"h","severity":"error"}}`, want: "'payload.summary' is missing"},
				{name: "payload without source", body: `{"routing_key":"` + k + `","event_action":"trigger","payload":{"summary":"s","severity":"error"}}`, want: "'payload.source' is missing"},
				{name: "payload without severity", body: `{"routing_key":"` + k + `","event_action":"trigger","payload":{"summary":"s","source":"h"}}`, want: "'payload.severity' is missing"},
				{name: "unknown severity", body: `{"routing_key":"` + k + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"urgent"}}`, want: "'payload.severity' is invalid"},
				{name: "bad timestamp", body: `{"routing_key":"` + k + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","timestamp":"yesterday"}}`, want: "'payload.timestamp'"},
				{name: "resolve without dedup key", body: `{"routing_key":"` + k + `","event_action":"resolve"}`, want: "'dedup_key' is required to resolve"},
				{name: "acknowledge without dedup key", body: `{"routing_key":"` + k + `","event_action":"acknowledge"}`, want: "'dedup_key' is required to acknowledge"},
				{name: "long dedup key", body: `{"routing_key":"` + k + `","event_action":"resolve","dedup_key":"` + strings.Repeat("d", 256) + `"}`, want: "longer than 255"},
				{name: "NUL in the dedup key", body: `{"routing_key":"` + k + `","event_action":"resolve","dedup_key":"a\u0000b"}`, want: "'dedup_key' must not contain NUL"},
				{name: "link without href", body: `{"routing_key":"` + k + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"},"links":[{"text":"x"}]}`, want: "'links[0].href'"},
				{name: "image without src", body: `{"routing_key":"` + k + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"},"images":[{"alt":"x"}]}`, want: "'images[0].src'"},
				{name: "several problems", body: `{"routing_key":"` + k + `","event_action":"trigger","payload":{"severity":"loud"}}`, want: "'payload.source' is missing"},
				{name: "routing key a number", body: `{"routing_key":5,"event_action":"trigger"}`, want: "'routing_key' must be a string"},
				{name: "payload a string", body: `{"routing_key":"` + k + `","event_action":"trigger","payload":"down"}`, want: "'payload' must be an object"},
				{name: "not JSON", body: `{"routing_key":`, want: "not a valid JSON event object"},
				{name: "syntax error", body: `{routing_key: "x"}`, want: "syntax error"},
				{name: "an array", body: `[{"routing_key":"` + k + `"}]`, want: "must be a JSON object"},
				{name: "a string", body: `"trigger"`, want: "must be a JSON object"},
				{name: "empty body", body: ``, want: "the body is empty"},
				{name: "text/plain", body: `{"routing_key":"` + k + `","event_action":"resolve","dedup_key":"x"}`, headers: []string{"Content-Type", "text/plain"}, want: "'Content-Type' must be application/json"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					c := on(t, s)
					before := c.ingestSnapshot()
					a := pdOf(c.pd([]byte(tc.body), tc.headers...).Want(400))
					if a.Status != "invalid event" || a.Message != "Event object is invalid" || len(a.Errors) == 0 {
						t.Fatalf("answer %+v", a)
					}
					if !strings.Contains(strings.Join(a.Errors, " | "), tc.want) {
						t.Fatalf("errors %q lack %q", a.Errors, tc.want)
					}
					if after := c.ingestSnapshot(); after != before {
						t.Fatalf("an invalid event wrote: %+v → %+v", before, after)
					}
				})
			}
		})

		t.Run("unknown, malformed and revoked routing keys are 404", func(t *testing.T) {
			c := on(t, s)
			before := c.ingestSnapshot()
			for _, key := range []string{"unknownunknownunknownunknown1234", s.AdminToken, "with space", "nul\u0000key", strings.Repeat("k", 200), "ключ"} {
				a := pdOf(c.pd(pdTrigger(key, "x")).Want(404))
				if a.Status != "invalid event" || !strings.Contains(strings.ToLower(a.Message), "routing key not found") || len(a.Errors) == 0 {
					t.Fatalf("%q: %+v", key, a)
				}
			}
			other := s.NewService("Revoked")
			c.pd(pdTrigger(other.Key, "before")).Want(202)
			c.do("DELETE", path("/api/v1/services/%d/integration-keys/%d", other.ID, other.KeyID), s.AdminToken, nil).Want(200)
			// The server that revoked the key forgets it at once.
			pdOf(c.pd(pdTrigger(other.Key, "after")).Want(404))
			if after := c.ingestSnapshot(); after.alerts != before.alerts+1 || after.events != before.events+1 {
				t.Fatalf("stored %+v → %+v", before, after)
			}
			// A new key works; deleting the service stops it too.
			var k struct{ Key string }
			c.do("POST", path("/api/v1/services/%d/integration-keys", other.ID), s.AdminToken, nil).Want(201).JSON(&k)
			c.pd(pdTrigger(k.Key, "after")).Want(202)
			c.do("DELETE", path("/api/v1/services/%d", other.ID), s.AdminToken, nil).Want(204)
			pdOf(c.pd(pdTrigger(k.Key, "after")).Want(404))
		})

		t.Run("oversized bodies are 413", func(t *testing.T) {
			c := on(t, s)
			before := c.ingestSnapshot()
			big := pdTrigger(svc.Key, "big")
			big["payload"].(map[string]any)["custom_details"] = strings.Repeat("x", api.PagerDutyBodyLimit)
			b, _ := json.Marshal(big)
			a := pdOf(c.pd(b).Want(413))
			if a.Status != "invalid event" || len(a.Errors) == 0 {
				t.Fatalf("answer %+v", a)
			}
			// Without a Content-Length the limit holds while reading.
			pdOf(c.stream("POST", "/v2/enqueue", "", bytes.NewReader(b)).Want(413))
			// Just under the limit is fine.
			big["payload"].(map[string]any)["custom_details"] = strings.Repeat("x", api.PagerDutyBodyLimit-1000)
			b, _ = json.Marshal(big)
			c.pd(b).Want(202)
			if after := c.ingestSnapshot(); after.events != before.events+1 {
				t.Fatalf("stored %+v → %+v", before, after)
			}
		})

		t.Run("Content-Type may be missing", func(t *testing.T) {
			c := on(t, s)
			b, _ := json.Marshal(pdTrigger(svc.Key, "no-content-type"))
			c.rawRequest("POST", "/v2/enqueue", b).Want(202)
			c.rawRequest("POST", "/v2/enqueue", b, "Content-Type", "application/json; charset=utf-8").Want(202)
			if as := c.keyAlerts(svc.ID, "no-content-type"); len(as) != 1 || as[0].Count != 2 {
				t.Fatalf("%+v", as)
			}
		})

		t.Run("NUL in text is dropped, not a 500", func(t *testing.T) {
			c := on(t, s)
			c.pd(`{"routing_key":"` + svc.Key + `","event_action":"trigger","dedup_key":"nul","payload":{"summary":"a\u0000b","source":"h\u0000","severity":"info","component":"c\u0000","custom_details":{"k\u0000":"v\u0000"}}}`).Want(202)
			as := c.keyAlerts(svc.ID, "nul")
			if len(as) != 1 || as[0].Summary != "ab" || as[0].Host != "h" {
				t.Fatalf("%+v", as)
			}
			if a := c.alert(as[0].ID); a.LastEvent == nil || a.LastEvent.Component != "c\x00" {
				t.Fatalf("the event as sent is kept: %+v", a.LastEvent)
			}
		})
	})
}

// --- Prometheus Alertmanager and Grafana ---

// amWebhook is a webhook as Alertmanager 0.27 sends it, for two alerts.
func amWebhook(status1, status2 string) string {
	return `{
  "receiver": "steady",
  "status": "` + status1 + `",
  "alerts": [
    {
      "status": "` + status1 + `",
      "labels": {"alertname": "HighLatency", "instance": "api-1:9090", "job": "api", "severity": "critical", "team": "checkout"},
      "annotations": {"summary": "p99 latency above 2s on api-1", "description": "p99 is 2.7s", "runbook_url": "https://runbooks.example.com/latency"},
      "startsAt": "2026-03-01T10:00:00.123Z",
      "endsAt": "` + map[string]string{"firing": "0001-01-01T00:00:00Z", "resolved": "2026-03-01T10:30:00Z"}[status1] + `",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=latency",
      "fingerprint": "a1b2c3d4e5f60718"
    },
    {
      "status": "` + status2 + `",
      "labels": {"alertname": "DiskFilling", "instance": "db-1:9100", "job": "node", "severity": "warning", "mountpoint": "/var"},
      "annotations": {"summary": "/var on db-1 fills in 4h"},
      "startsAt": "2026-03-01T10:05:00Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
      "fingerprint": "0f1e2d3c4b5a6978"
    }
  ],
  "groupLabels": {"team": "checkout"},
  "commonLabels": {"team": "checkout"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "version": "4",
  "groupKey": "{}:{team=\"checkout\"}",
  "truncatedAlerts": 0,
  "notification_reason": "new_alerts",
  "routeLabels": {"team": "checkout"}
}`
}

// grafanaWebhook is the example body of Grafana's webhook contact point.
const grafanaWebhook = `{
  "receiver": "My Super Webhook",
  "status": "firing",
  "orgId": 1,
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
      "annotations": {"description": "The system has high memory usage", "runbook_url": "https://myrunbook.com/runbook/1234", "summary": "This alert was triggered for zone us-1"},
      "startsAt": "2021-10-12T09:51:03.157076+02:00",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
      "fingerprint": "c6eadffa33fcdf37",
      "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
      "dashboardURL": "",
      "panelURL": "",
      "values": {"B": 44.23943737541908, "C": 1}
    },
    {
      "status": "firing",
      "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
      "annotations": {"description": "The system has high CPU usage", "runbook_url": "https://myrunbook.com/runbook/1234", "summary": "This alert was triggered for zone eu-1"},
      "startsAt": "2021-10-12T09:56:03.157076+02:00",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
      "fingerprint": "bc97ff14869b13e3",
      "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1",
      "dashboardURL": "",
      "panelURL": "",
      "imageURL": "https://grafana.example.com/image.png",
      "values": {"B": 44.23943737541908, "C": 1}
    }
  ],
  "groupLabels": {},
  "commonLabels": {"team": "blue"},
  "commonAnnotations": {},
  "externalURL": "https://play.grafana.org/",
  "version": "1",
  "groupKey": "{}:{}",
  "truncatedAlerts": 0,
  "title": "[FIRING:2]  (blue)",
  "state": "alerting",
  "message": "**Firing**\n\nLabels:\n - alertname = T2\n"
}`

const amPath = "/api/v1/integrations/alertmanager"

func TestAlertmanagerWebhook(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Prometheus")
		bearer := func(key string) []string { return []string{"Authorization", "Bearer " + key} }

		t.Run("firing and resolved, deduplicated by fingerprint", func(t *testing.T) {
			c := on(t, s)
			r := c.do("POST", amPath, "", amWebhook("firing", "firing"), bearer(svc.Key)...).Want(200)
			var got map[string]any
			r.JSON(&got)
			if !reflect.DeepEqual(got, map[string]any{"status": "success", "alerts": float64(2)}) {
				t.Fatalf("answer %s", r.Body)
			}
			lat := c.keyAlerts(svc.ID, "a1b2c3d4e5f60718")
			disk := c.keyAlerts(svc.ID, "0f1e2d3c4b5a6978")
			if len(lat) != 1 || len(disk) != 1 {
				t.Fatalf("alerts %+v %+v", lat, disk)
			}
			if a := lat[0]; a.Status != "triggered" || a.Severity != "critical" || a.Summary != "p99 latency above 2s on api-1" ||
				a.Host != "api-1:9090" || a.Source != "alertmanager" || a.Labels["team"] != "checkout" || a.Count != 1 {
				t.Fatalf("latency alert %+v", a)
			}
			if a := c.alert(disk[0].ID); a.Severity != "warning" || a.LastEvent == nil || a.LastEvent.Class != "DiskFilling" ||
				a.LastEvent.Component != "node" || a.LastEvent.Client != "Alertmanager" || len(a.LastEvent.Links) == 0 {
				t.Fatalf("disk alert %+v %+v", a, a.LastEvent)
			}
			// Alertmanager repeats a group: the alerts count up.
			c.do("POST", amPath, "", amWebhook("firing", "firing"), bearer(svc.Key)...).Want(200)
			if lat = c.keyAlerts(svc.ID, "a1b2c3d4e5f60718"); len(lat) != 1 || lat[0].Count != 2 {
				t.Fatalf("after a repeat: %+v", lat)
			}
			// One resolves, one keeps firing.
			c.do("POST", amPath, "", amWebhook("resolved", "firing"), bearer(svc.Key)...).Want(200)
			lat = c.keyAlerts(svc.ID, "a1b2c3d4e5f60718")
			disk = c.keyAlerts(svc.ID, "0f1e2d3c4b5a6978")
			if len(lat) != 1 || lat[0].Status != "resolved" || lat[0].ResolvedAt == nil || len(disk) != 1 || disk[0].Status != "triggered" || disk[0].Count != 3 {
				t.Fatalf("after resolve: %+v %+v", lat, disk)
			}
		})

		t.Run("without fingerprints the labels decide", func(t *testing.T) {
			c := on(t, s)
			body := func(status string, labels string) string {
				return `{"version":"4","status":"` + status + `","alerts":[{"status":"` + status + `","labels":` + labels + `}]}`
			}
			before := c.ingestSnapshot()
			c.event(amPath, svc.Key, body("firing", `{"alertname":"NoPrint","instance":"x"}`)).Want(200)
			c.event(amPath, svc.Key, body("firing", `{"instance":"x","alertname":"NoPrint"}`)).Want(200)
			mid := c.ingestSnapshot()
			if mid.alerts != before.alerts+1 || mid.counts != before.counts+2 {
				t.Fatalf("%+v → %+v", before, mid)
			}
			c.event(amPath, svc.Key, body("resolved", `{"alertname":"NoPrint","instance":"x"}`)).Want(200)
			if after := c.ingestSnapshot(); after.open != mid.open-1 {
				t.Fatalf("not resolved: %+v → %+v", mid, after)
			}
		})

		t.Run("a Grafana webhook works as it is", func(t *testing.T) {
			c := on(t, s)
			r := c.do("POST", amPath, "", grafanaWebhook, bearer(svc.Key)...).Want(200)
			if m := r.Map(); m["alerts"] != float64(2) {
				t.Fatalf("answer %s", r.Body)
			}
			as := c.keyAlerts(svc.ID, "c6eadffa33fcdf37")
			if len(as) != 1 || as[0].Summary != "This alert was triggered for zone us-1" || as[0].Labels["zone"] != "us-1" || as[0].Status != "triggered" {
				t.Fatalf("grafana alert %+v", as)
			}
			resolved := strings.ReplaceAll(grafanaWebhook, `"status": "firing"`, `"status": "resolved"`)
			c.do("POST", amPath, "", resolved, bearer(svc.Key)...).Want(200)
			if as := c.keyAlerts(svc.ID, "bc97ff14869b13e3"); len(as) != 1 || as[0].Status != "resolved" {
				t.Fatalf("grafana resolve %+v", as)
			}
		})

		t.Run("the key may come in the query or X-Routing-Key", func(t *testing.T) {
			c := on(t, s)
			body := `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"Where"}}]}`
			c.do("POST", amPath+"?key="+svc.Key, "", body).Want(200)
			c.do("POST", amPath, "", body, "X-Routing-Key", svc.Key).Want(200)
			if n := c.count("SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM alerts WHERE service_id = $1 AND labels LIKE '%Where%'", svc.ID); n != 2 {
				t.Fatalf("count %d", n)
			}
		})

		t.Run("authentication", func(t *testing.T) {
			c := on(t, s)
			before := c.ingestSnapshot()
			body := amWebhook("firing", "firing")
			for name, h := range map[string][]string{
				"no key":          nil,
				"unknown key":     bearer("unknownunknownunknownunknown1234"),
				"an API token":    bearer(s.AdminToken),
				"basic auth":      {"Authorization", "Basic c3RlYWR5OnN0ZWFkeQ=="},
				"empty query key": nil,
			} {
				p := amPath
				if name == "empty query key" {
					p += "?key="
				}
				r := c.do("POST", p, "", body, h...)
				wantProblem(r, 401)
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: 401 without WWW-Authenticate", name)
				}
			}
			other := s.NewService("Revoked AM")
			c.event(amPath, other.Key, body).Want(200)
			c.do("DELETE", path("/api/v1/services/%d/integration-keys/%d", other.ID, other.KeyID), s.AdminToken, nil).Want(200)
			wantProblem(c.event(amPath, other.Key, body), 401)
			if after := c.ingestSnapshot(); after.events != before.events+2 {
				t.Fatalf("refused requests wrote: %+v → %+v", before, after)
			}
		})

		t.Run("invalid webhooks store nothing", func(t *testing.T) {
			many := make([]string, 1001)
			for i := range many {
				many[i] = `{"status":"firing","labels":{"n":"` + strconv.Itoa(i) + `"}}`
			}
			cases := []struct {
				name, body string
				headers    []string
				fields     []string
			}{
				{name: "version 3", body: `{"version":"3","alerts":[{"status":"firing","labels":{"a":"b"}}]}`, fields: []string{"version"}},
				{name: "no alerts", body: `{"version":"4","alerts":[]}`, fields: []string{"alerts"}},
				{name: "too many alerts", body: `{"version":"4","alerts":[` + strings.Join(many, ",") + `]}`, fields: []string{"alerts"}},
				{name: "pending", body: `{"version":"4","alerts":[{"status":"pending","labels":{"a":"b"}}]}`, fields: []string{"alerts[0].status"}},
				{name: "one bad alert of two", body: `{"version":"4","alerts":[{"status":"firing","labels":{"a":"good"}},{"status":"firing","labels":{}}]}`, fields: []string{"alerts[1].labels"}},
				{name: "NUL in a fingerprint", body: `{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"fingerprint":"x\u0000"}]}`, fields: []string{"alerts[0].fingerprint"}},
				{name: "labels not strings", body: `{"version":"4","alerts":[{"status":"firing","labels":{"a":1}}]}`},
				{name: "startsAt not a time", body: `{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"noon"}]}`, fields: []string{"body"}},
				{name: "not JSON", body: `{"version":`, fields: []string{"body"}},
				{name: "empty", body: ``, fields: []string{"body"}},
				{name: "text/plain", body: amWebhook("firing", "firing"), headers: []string{"Content-Type", "text/plain"}, fields: []string{"Content-Type"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					c := on(t, s)
					before := c.ingestSnapshot()
					wantProblem(c.event(amPath, svc.Key, []byte(tc.body), tc.headers...), 400, tc.fields...)
					if after := c.ingestSnapshot(); after != before {
						t.Fatalf("an invalid webhook wrote: %+v → %+v", before, after)
					}
				})
			}
		})

		t.Run("oversized bodies are 413", func(t *testing.T) {
			c := on(t, s)
			before := c.ingestSnapshot()
			big := `{"version":"4","alerts":[{"status":"firing","labels":{"a":"` + strings.Repeat("x", api.EventsBodyLimit) + `"}}]}`
			wantProblem(c.event(amPath, svc.Key, big), 413)
			wantProblem(c.stream("POST", amPath, svc.Key, strings.NewReader(big)), 413)
			if after := c.ingestSnapshot(); after != before {
				t.Fatalf("an oversized webhook wrote: %+v → %+v", before, after)
			}
		})
	})
}

// --- Steady's generic event ---

func TestGenericEvents(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := s.NewService("Batch jobs")
		send := func(c *client, body any) eventsDoc {
			c.t.Helper()
			var a eventsDoc
			c.do("POST", "/api/v1/events", svc.Key, body).Want(202).JSON(&a)
			if a.Status != "success" {
				c.t.Fatalf("answer %+v", a)
			}
			return a
		}

		t.Run("one event", func(t *testing.T) {
			c := on(t, s)
			a := send(c, map[string]any{"summary": "nightly backup failed", "dedup_key": "backup", "severity": "critical", "host": "db-1",
				"labels": map[string]string{"job": "backup"}, "details": map[string]any{"exit": 2}, "links": []map[string]string{{"href": "https://ci.example.com/1"}},
				"occurred_at": "2026-03-01T02:00:00Z"})
			if len(a.Results) != 1 || a.Results[0].Change != "created" || a.Results[0].DedupKey != "backup" || a.Results[0].AlertID == nil {
				t.Fatalf("%+v", a)
			}
			b := send(c, map[string]any{"summary": "nightly backup failed again", "dedup_key": "backup"})
			if b.Results[0].Change != "updated" || *b.Results[0].AlertID != *a.Results[0].AlertID {
				t.Fatalf("%+v", b)
			}
			al := c.alert(*a.Results[0].AlertID)
			if al.Count != 2 || al.Summary != "nightly backup failed again" || al.Severity != "warning" || al.Source != "generic" {
				t.Fatalf("%+v", al)
			}
			r := send(c, map[string]any{"action": "resolve", "dedup_key": "backup"})
			if r.Results[0].Change != "resolved" {
				t.Fatalf("%+v", r)
			}
			ig := send(c, map[string]any{"action": "acknowledge", "dedup_key": "backup"})
			if ig.Results[0].Change != "ignored" || ig.Results[0].AlertID != nil {
				t.Fatalf("acknowledging a resolved alert: %+v", ig)
			}
		})

		t.Run("keys from labels, or generated", func(t *testing.T) {
			c := on(t, s)
			a := send(c, map[string]any{"summary": "s", "labels": map[string]string{"check": "http", "target": "shop"}})
			b := send(c, map[string]any{"summary": "s", "labels": map[string]string{"target": "shop", "check": "http"}})
			if a.Results[0].DedupKey != b.Results[0].DedupKey || b.Results[0].Change != "updated" {
				t.Fatalf("%+v %+v", a, b)
			}
			g := send(c, map[string]any{"summary": "no key, no labels"})
			if len(g.Results[0].DedupKey) != 32 || g.Results[0].Change != "created" {
				t.Fatalf("%+v", g)
			}
			if r := send(c, map[string]any{"action": "resolve", "dedup_key": g.Results[0].DedupKey}); r.Results[0].Change != "resolved" {
				t.Fatalf("%+v", r)
			}
		})

		t.Run("a batch is answered in order", func(t *testing.T) {
			c := on(t, s)
			a := send(c, []map[string]any{
				{"summary": "a", "dedup_key": "batch-a"},
				{"summary": "b", "dedup_key": "batch-b", "severity": "page"},
				{"action": "resolve", "dedup_key": "batch-a"},
				{"summary": "a again", "dedup_key": "batch-a"},
			})
			var changes []string
			for _, r := range a.Results {
				changes = append(changes, r.Change)
			}
			if strings.Join(changes, ",") != "created,created,resolved,created" || *a.Results[0].AlertID != *a.Results[2].AlertID ||
				*a.Results[3].AlertID == *a.Results[0].AlertID {
				t.Fatalf("%+v", a)
			}
			if as := c.keyAlerts(svc.ID, "batch-b"); len(as) != 1 || as[0].Severity != "critical" {
				t.Fatalf("%+v", as)
			}
			big := make([]map[string]any, 1000)
			for i := range big {
				big[i] = map[string]any{"summary": "bulk", "dedup_key": fmt.Sprintf("bulk-%d", i%100)}
			}
			if r := send(c, big); len(r.Results) != 1000 {
				t.Fatalf("%d results", len(r.Results))
			}
			if n := c.count("SELECT COUNT(*) FROM alerts WHERE service_id = $1 AND dedup_key LIKE 'bulk-%'", svc.ID); n != 100 {
				t.Fatalf("%d bulk alerts", n)
			}
		})

		t.Run("one invalid event refuses the whole batch", func(t *testing.T) {
			many := make([]string, 1001)
			for i := range many {
				many[i] = `{"summary":"s"}`
			}
			cases := []struct {
				name, body string
				fields     []string
			}{
				{name: "third of three has no summary", body: `[{"summary":"a","dedup_key":"ok-1"},{"summary":"b","dedup_key":"ok-2"},{"dedup_key":"bad"}]`, fields: []string{"[2].summary"}},
				{name: "two bad", body: `[{"summary":"a","severity":"loud"},{"action":"resolve"}]`, fields: []string{"[0].severity", "[1].dedup_key"}},
				{name: "unknown field", body: `{"summary":"a","sevrity":"critical"}`, fields: []string{"sevrity"}},
				{name: "unknown action", body: `{"summary":"a","action":"explode"}`, fields: []string{"action"}},
				{name: "bad time", body: `{"summary":"a","occurred_at":"yesterday"}`, fields: []string{"occurred_at"}},
				{name: "NUL in a dedup key", body: `[{"summary":"a","dedup_key":"x\u0000"}]`, fields: []string{"[0].dedup_key"}},
				{name: "empty batch", body: `[]`, fields: []string{"body"}},
				{name: "1001 events", body: `[` + strings.Join(many, ",") + `]`, fields: []string{"body"}},
				{name: "a string", body: `"boom"`, fields: []string{"body"}},
				{name: "not JSON", body: `{"summary":`, fields: []string{"body"}},
				{name: "trailing data", body: `{"summary":"a"} {}`, fields: []string{"body"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					c := on(t, s)
					before := c.ingestSnapshot()
					wantProblem(c.do("POST", "/api/v1/events", svc.Key, []byte(tc.body)), 400, tc.fields...)
					if after := c.ingestSnapshot(); after != before {
						t.Fatalf("an invalid batch wrote: %+v → %+v", before, after)
					}
				})
			}
		})

		t.Run("authentication", func(t *testing.T) {
			c := on(t, s)
			before := c.ingestSnapshot()
			body := map[string]any{"summary": "who?"}
			wantProblem(c.do("POST", "/api/v1/events", "", body), 401)
			wantProblem(c.do("POST", "/api/v1/events", s.AdminToken, body), 401)
			wantProblem(c.do("POST", "/api/v1/events?key=nope", "", body), 401)
			// X-Routing-Key wins over an API token in Authorization, which wins over ?key=.
			c.do("POST", "/api/v1/events", s.AdminToken, body, "X-Routing-Key", svc.Key).Want(202)
			c.do("POST", "/api/v1/events?key=nope", svc.Key, body).Want(202)
			other := s.NewService("Revoked generic")
			c.do("POST", "/api/v1/events?key="+other.Key, "", body).Want(202)
			c.do("DELETE", path("/api/v1/services/%d/integration-keys/%d", other.ID, other.KeyID), s.AdminToken, nil).Want(200)
			wantProblem(c.event("/api/v1/events", other.Key, body), 401)
			if after := c.ingestSnapshot(); after.events != before.events+3 {
				t.Fatalf("%+v → %+v", before, after)
			}
		})
	})
}

// TestIngestThrottle: when too many events wait for their commit, senders
// get 429 with Retry-After at once, and nothing of theirs is stored.
func TestIngestThrottle(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		svc := s.NewService("Busy")
		// The key is looked up (and cached) before the writer is blocked.
		c.pd(pdTrigger(svc.Key, "warm")).Want(202)
		s.App.API.LimitPendingEvents(2)
		defer s.App.API.LimitPendingEvents(0)

		// Block commits: SQLite has one write connection; on PostgreSQL a
		// lock on alerts stops the ingester's first query.
		ctx := context.Background()
		tx, err := s.App.DB.W.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d == db.Postgres {
			if _, err := tx.Exec("LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
		}
		released := false
		release := func() {
			if !released {
				released = true
				_ = tx.Rollback()
			}
		}
		defer release()

		body, _ := json.Marshal(pdTrigger(svc.Key, "waiting"))
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = post(s, "/v2/enqueue", string(body))
			}()
		}
		for deadline := time.Now().Add(20 * time.Second); s.App.API.PendingEvents() < 2; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d events pending", s.App.API.PendingEvents())
			}
		}

		r := c.pd(pdTrigger(svc.Key, "refused")).Want(429)
		if a := pdOf(r); a.Status != "throttle event" || a.Message == "" {
			t.Fatalf("answer %s", r.Body)
		}
		if r.Header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		r = c.event(amPath, svc.Key, `{"version":"4","alerts":[{"status":"firing","labels":{"a":"refused"}}]}`)
		wantProblem(r, 429)
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		wantProblem(c.event("/api/v1/events", svc.Key, map[string]any{"summary": "refused"}), 429)

		release()
		wg.Wait()
		if statuses[0] != 202 || statuses[1] != 202 {
			t.Fatalf("the waiting requests: %v", statuses)
		}
		if as := c.keyAlerts(svc.ID, "waiting"); len(as) != 1 || as[0].Count != 2 {
			t.Fatalf("waiting alert %+v", as)
		}
		if n := c.count("SELECT COUNT(*) FROM events WHERE dedup_key = 'refused'"); n != 0 {
			t.Fatalf("%d refused events stored", n)
		}
		c.pd(pdTrigger(svc.Key, "refused")).Want(202)
		body2 := string(c.do("GET", "/metrics", "", nil).Want(200).Body)
		for _, want := range []string{
			`steady_events_rejected_total{reason="throttled",source="pagerduty"} 1`,
			`steady_events_rejected_total{reason="throttled",source="alertmanager"} 1`,
			`steady_events_rejected_total{reason="throttled",source="generic"} 1`,
		} {
			if !strings.Contains(body2, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// TestIngestConcurrency: many senders at once, through every endpoint;
// every event is counted once.
func TestIngestConcurrency(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		svc := s.NewService("Crowded")
		const (
			pdSenders, pdEach = 16, 30 // single PagerDuty events over 20 keys
			bSenders, bEach   = 8, 6   // generic batches of 10 over 5 keys
			amSenders, amEach = 4, 5   // Alertmanager webhooks of 2 alerts
		)
		var failed atomic.Int64
		var wg sync.WaitGroup
		for g := range pdSenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range pdEach {
					b, _ := json.Marshal(pdTrigger(svc.Key, fmt.Sprintf("pd-%d", (g*pdEach+i)%20)))
					if st := post(s, "/v2/enqueue", string(b)); st != 202 {
						failed.Add(1)
					}
				}
			}()
		}
		for g := range bSenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range bEach {
					batch := make([]map[string]any, 10)
					for j := range batch {
						batch[j] = map[string]any{"summary": "batch", "dedup_key": fmt.Sprintf("batch-%d", (g+j)%5)}
					}
					b, _ := json.Marshal(batch)
					if st := post(s, "/api/v1/events", string(b), "X-Routing-Key", svc.Key); st != 202 {
						failed.Add(1)
					}
				}
			}()
		}
		for range amSenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range amEach {
					if st := post(s, amPath, amWebhook("firing", "firing"), "Authorization", "Bearer "+svc.Key); st != 200 {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if n := failed.Load(); n != 0 {
			t.Fatalf("%d requests failed", n)
		}
		total := int64(pdSenders*pdEach + bSenders*bEach*10 + amSenders*amEach*2)
		if n := c.count("SELECT COUNT(*) FROM events WHERE service_id = $1", svc.ID); n != total {
			t.Fatalf("%d events stored; want %d", n, total)
		}
		if n := c.count("SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM alerts WHERE service_id = $1", svc.ID); n != total {
			t.Fatalf("the alerts count %d events; want %d", n, total)
		}
		if n := c.count("SELECT COUNT(*) FROM alerts WHERE service_id = $1 AND status = 'triggered'", svc.ID); n != 20+5+2 {
			t.Fatalf("%d alerts; want %d", n, 27)
		}
		if n := s.App.API.PendingEvents(); n != 0 {
			t.Fatalf("%d events still pending", n)
		}
		m := string(c.do("GET", "/metrics", "", nil).Want(200).Body)
		for _, want := range []string{
			fmt.Sprintf(`steady_events_accepted_total{source="pagerduty"} %d`, pdSenders*pdEach),
			fmt.Sprintf(`steady_events_accepted_total{source="generic"} %d`, bSenders*bEach*10),
			fmt.Sprintf(`steady_events_accepted_total{source="alertmanager"} %d`, amSenders*amEach*2),
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// TestIngestMetrics: received, accepted and rejected by source and reason,
// and the ingest latency.
func TestIngestMetrics(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := on(t, s)
		svc := s.NewService("Measured")
		for i := range 3 {
			c.pd(pdTrigger(svc.Key, fmt.Sprintf("m-%d", i))).Want(202)
		}
		c.pd(`{"routing_key":"` + svc.Key + `","event_action":"explode"}`).Want(400)
		c.pd(pdTrigger("unknownunknownunknownunknown1234", "x")).Want(404)
		big, _ := json.Marshal(map[string]any{"routing_key": svc.Key, "event_action": "trigger", "payload": strings.Repeat("x", api.PagerDutyBodyLimit)})
		c.pd(big).Want(413)
		c.event(amPath, svc.Key, amWebhook("firing", "firing")).Want(200)
		wantProblem(c.do("POST", amPath, "", amWebhook("firing", "firing")), 401)
		c.event("/api/v1/events", svc.Key, []map[string]any{{"summary": "a"}, {"summary": "b"}, {"summary": "c"}}).Want(202)
		wantProblem(c.event("/api/v1/events", svc.Key, `[{"summary":"a"},{"action":"resolve"}]`), 400)

		m := string(c.do("GET", "/metrics", "", nil).Want(200).Body)
		for _, want := range []string{
			`steady_events_received_total{source="pagerduty"} 6`,
			`steady_events_accepted_total{source="pagerduty"} 3`,
			`steady_events_rejected_total{reason="invalid",source="pagerduty"} 1`,
			`steady_events_rejected_total{reason="unknown_key",source="pagerduty"} 1`,
			`steady_events_rejected_total{reason="too_large",source="pagerduty"} 1`,
			`steady_events_rejected_total{reason="throttled",source="pagerduty"} 0`,
			`steady_events_rejected_total{reason="error",source="pagerduty"} 0`,
			`steady_events_received_total{source="alertmanager"} 3`,
			`steady_events_accepted_total{source="alertmanager"} 2`,
			`steady_events_rejected_total{reason="unknown_key",source="alertmanager"} 1`,
			`steady_events_received_total{source="generic"} 4`,
			`steady_events_accepted_total{source="generic"} 3`,
			`steady_events_rejected_total{reason="invalid",source="generic"} 1`,
			`steady_ingest_duration_seconds_count{source="pagerduty"} 3`,
			`steady_ingest_duration_seconds_count{source="alertmanager"} 1`,
			`steady_ingest_duration_seconds_count{source="generic"} 1`,
			`steady_ingest_duration_seconds_bucket{source="pagerduty",le="+Inf"} 3`,
			// The commit loop: the 8 accepted events, in 1 to 5 transactions
			// (the senders waited for each answer), none failed.
			`steady_ingest_committed_events_total 8`,
			`steady_ingest_transactions_failed_total 0`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if tx := regexp.MustCompile(`(?m)^steady_ingest_transactions_total (\d+)$`).FindStringSubmatch(m); tx == nil {
			t.Error("no transactions metric")
		} else if n, _ := strconv.Atoi(tx[1]); n < 1 || n > 5 {
			t.Errorf("%d transactions", n)
		}
		if !strings.Contains(m, "steady_ingest_deferred_alerts 0") {
			t.Error("metrics lack steady_ingest_deferred_alerts 0")
		}
		if busy := regexp.MustCompile(`(?m)^steady_ingest_busy_seconds_total (\S+)$`).FindStringSubmatch(m); busy == nil || busy[1] == "0" {
			t.Errorf("busy seconds: %v", busy)
		}
		// No audit entry per event: the trail has only the setup.
		if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'event%'"); n != 0 {
			t.Fatalf("%d audit entries for events", n)
		}
	})
}
