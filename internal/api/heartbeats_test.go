package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/testkit"
)

// manualChecks stops the server's own heartbeat checks, so that the test alone
// decides when Check runs.
var manualChecks = testkit.Options{Modify: func(o *app.Options) { o.ManualOnCall = true }}

// heartbeatAlerts lists the alerts of a heartbeat's dedup key.
func heartbeatAlerts(c *client, token string, hb int64) []map[string]any {
	c.t.Helper()
	l, _ := items(c.do("GET", path("/api/v1/alerts?dedup_key=heartbeat-%d", hb), token, nil).Want(200))
	return l
}

func TestHeartbeatsAPI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d, manualChecks)
		c := on(t, s)
		ctx := context.Background()
		manager, responder, viewer := c.user(iam.RoleManager), c.user(iam.RoleResponder), c.user(iam.RoleViewer)
		svc := s.NewService("backups")
		check := func(want int) {
			t.Helper()
			n, err := s.App.Heartbeats.Check(ctx)
			if err != nil || n != want {
				t.Fatalf("Check: %d, %v; want %d", n, err, want)
			}
		}

		// Create: the key is in this answer only, and stored hashed.
		r := c.do("POST", "/api/v1/heartbeats", manager.Token, map[string]any{"service_id": svc.ID, "name": "nightly-backup",
			"interval_seconds": 3600, "grace_seconds": 300}).Want(201)
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("ETag") == "" {
			t.Fatalf("create headers: %v", r.Header)
		}
		var created struct {
			ID       int64  `json:"id"`
			Key      string `json:"key"`
			BeatPath string `json:"beat_path"`
			Status   string `json:"status"`
			Prefix   string `json:"key_prefix"`
			Service  string `json:"service_name"`
		}
		r.JSON(&created)
		if !strings.HasPrefix(created.Key, "hb_") || len(created.Key) < 30 || created.BeatPath != "/api/v1/heartbeats/"+created.Key ||
			created.Status != "new" || !strings.HasPrefix(created.Key, strings.TrimSuffix(created.Prefix, "…")) || created.Service != "backups" {
			t.Fatalf("created: %s", r.Body)
		}
		hb := created.ID
		if n := c.count("SELECT COUNT(*) FROM heartbeats WHERE id = $1 AND key_hash = $2", hb, ids.Hash(created.Key)); n != 1 {
			t.Fatalf("the key is not stored as its hash")
		}
		if n := c.count("SELECT COUNT(*) FROM heartbeats WHERE key_hash = $1 OR key_prefix = $1", created.Key); n != 0 {
			t.Fatalf("the key is stored in clear")
		}
		if n := c.count("SELECT COUNT(*) FROM audit_log WHERE changes LIKE $1", "%"+created.Key+"%"); n != 0 {
			t.Fatalf("the key is in the audit trail")
		}
		got := c.do("GET", path("/api/v1/heartbeats/%d", hb), viewer.Token, nil).Want(200).Map()
		if _, ok := got["key"]; ok || got["status"] != "new" || got["due_at"] != nil || got["grace_seconds"] != float64(300) {
			t.Fatalf("read back: %v", got)
		}

		// Validation and access.
		base := func(k string, v any) map[string]any {
			m := map[string]any{"service_id": svc.ID, "name": "x", "interval_seconds": 60}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("interval_seconds", 29)), 400, "interval_seconds")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("interval_seconds", 7*86400+1)), 400, "interval_seconds")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("interval_seconds", nil)), 400, "interval_seconds")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("grace_seconds", -1)), 400, "grace_seconds")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("grace_seconds", 86401)), 400, "grace_seconds")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("name", " ")), 400, "name")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("name", strings.Repeat("n", 101))), 400, "name")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("name", "two\nlines")), 400, "name")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("service_id", 424242)), 400, "service_id")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("service_id", nil)), 400, "service_id")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, base("name", "nightly-backup")), 409, "name")
		wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, map[string]any{"service_id": svc.ID, "name": "x",
			"interval_seconds": 60, "every": 5}), 400, "every")
		p := wantProblem(c.do("POST", "/api/v1/heartbeats", manager.Token, map[string]any{"name": "", "interval_seconds": 1, "grace_seconds": -5}), 400)
		for _, f := range []string{"service_id", "name", "interval_seconds", "grace_seconds"} {
			if !p.HasField(f) {
				t.Errorf("one bad create names only some fields: %+v", p)
			}
		}
		wantProblem(c.do("POST", "/api/v1/heartbeats", responder.Token, base("name", "y")), 403)
		wantProblem(c.do("POST", path("/api/v1/heartbeats/%d/pause", hb), viewer.Token, nil), 403)
		if n := c.count("SELECT COUNT(*) FROM heartbeats"); n != 1 {
			t.Fatalf("%d heartbeats after refused creates", n)
		}

		// A new heartbeat is not checked before its first beat.
		s.Clock.Advance(5 * time.Hour)
		check(0)

		// Beats: no token, the key is the secret.
		wantProblem(c.do("POST", "/api/v1/heartbeats/hb_"+strings.Repeat("a", 39), "", nil), 404)
		wantProblem(c.do("POST", "/api/v1/heartbeats/nonsense", "", nil), 404)
		wantProblem(c.do("POST", path("/api/v1/heartbeats/%d", hb), "", nil), 404)
		wantProblem(c.do("POST", created.BeatPath, "", strings.Repeat("x", 5000)), 413)
		beat := c.do("POST", created.BeatPath, "", "backup done: 42 GB").Want(202).Map()
		due := s.Clock.Now().Add(3900 * time.Second).UTC().Format(time.RFC3339Nano)
		if beat["status"] != "up" || beat["due_at"] != due {
			t.Fatalf("beat: %v; want up, due %s", beat, due)
		}
		got = c.do("GET", path("/api/v1/heartbeats/%d", hb), viewer.Token, nil).Want(200).Map()
		if got["status"] != "up" || got["last_seen_at"] == nil || got["due_at"] != beat["due_at"] {
			t.Fatalf("after a beat: %v", got)
		}

		// Before the deadline nothing happens; after it, one alert and one incident.
		s.Clock.Advance(3899 * time.Second)
		check(0)
		s.Clock.Advance(2 * time.Second)
		check(1)
		alerts := heartbeatAlerts(c, viewer.Token, hb)
		if len(alerts) != 1 {
			t.Fatalf("alerts: %v", alerts)
		}
		a := alerts[0]
		labels, _ := a["labels"].(map[string]any)
		if a["status"] != "triggered" || a["severity"] != "critical" || a["service_id"] != float64(svc.ID) || labels["heartbeat"] != "nightly-backup" ||
			a["host"] != "steady-heartbeat" || !strings.HasPrefix(a["summary"].(string), "Heartbeat nightly-backup missed: no beat since ") ||
			!strings.HasSuffix(a["summary"].(string), "(expected every 1h)") || a["incident_id"] == nil {
			t.Fatalf("heartbeat alert: %v", a)
		}
		inc := int64(a["incident_id"].(float64))
		if st := c.do("GET", path("/api/v1/incidents/%d", inc), viewer.Token, nil).Want(200).Map()["status"]; st != "triggered" {
			t.Fatalf("incident status %v", st)
		}
		if got := c.do("GET", path("/api/v1/heartbeats?status=down&service=%d", svc.ID), viewer.Token, nil).Want(200); !strings.Contains(string(got.Body), `"nightly-backup"`) {
			t.Fatalf("down list: %s", got.Body)
		}

		// Later checks raise nothing more.
		check(0)
		s.Clock.Advance(2 * time.Hour)
		check(0)
		if alerts := heartbeatAlerts(c, viewer.Token, hb); len(alerts) != 1 || alerts[0]["count"] != float64(1) {
			t.Fatalf("alerts after more checks: %v", alerts)
		}

		// The next beat resolves the alert, and the incident with it.
		if b := c.do("POST", created.BeatPath, "", nil).Want(202).Map(); b["status"] != "up" {
			t.Fatalf("beat after down: %v", b)
		}
		if alerts := heartbeatAlerts(c, viewer.Token, hb); len(alerts) != 1 || alerts[0]["status"] != "resolved" {
			t.Fatalf("alerts after the beat: %v", alerts)
		}
		if st := c.do("GET", path("/api/v1/incidents/%d", inc), viewer.Token, nil).Want(200).Map()["status"]; st != "resolved" {
			t.Fatalf("incident status after the beat: %v", st)
		}

		// Changing the interval moves the deadline, counted from the last beat.
		lastSeen := s.Clock.Now()
		s.Clock.Advance(10 * time.Minute)
		etag := c.do("GET", path("/api/v1/heartbeats/%d", hb), viewer.Token, nil).Want(200).Header.Get("ETag")
		wantProblem(c.do("PATCH", path("/api/v1/heartbeats/%d", hb), manager.Token, map[string]any{"interval_seconds": 600}, "If-Match", `"999"`), 412)
		wantProblem(c.do("PATCH", path("/api/v1/heartbeats/%d", hb), manager.Token, map[string]any{"interval_seconds": 5}, "If-Match", etag), 400, "interval_seconds")
		up := c.do("PATCH", path("/api/v1/heartbeats/%d", hb), manager.Token, map[string]any{"interval_seconds": 600, "grace_seconds": 0}, "If-Match", etag).Want(200).Map()
		if up["interval_seconds"] != float64(600) || up["due_at"] != lastSeen.Add(10*time.Minute).UTC().Format(time.RFC3339Nano) {
			t.Fatalf("patched: %v (last beat %s)", up, lastSeen)
		}
		s.Clock.Advance(time.Second)
		check(1) // 600 s after the last beat with no grace

		// Pause: the open alert resolves, checks skip it, beats only note the time.
		paused := c.do("POST", path("/api/v1/heartbeats/%d/pause", hb), manager.Token, nil).Want(200).Map()
		if paused["status"] != "paused" || paused["due_at"] != nil {
			t.Fatalf("paused: %v", paused)
		}
		if alerts := heartbeatAlerts(c, viewer.Token, hb); len(alerts) != 2 || alerts[0]["status"] != "resolved" || alerts[1]["status"] != "resolved" {
			t.Fatalf("alerts after pause: %v", alerts)
		}
		s.Clock.Advance(24 * time.Hour)
		check(0)
		b := c.do("POST", created.BeatPath, "", nil).Want(202).Map()
		if b["status"] != "paused" || b["due_at"] != nil {
			t.Fatalf("beat while paused: %v", b)
		}
		got = c.do("GET", path("/api/v1/heartbeats/%d", hb), viewer.Token, nil).Want(200).Map()
		if got["status"] != "paused" || got["last_seen_at"] != s.Clock.Now().UTC().Format(time.RFC3339Nano) {
			t.Fatalf("after a beat while paused: %v", got)
		}
		s.Clock.Advance(24 * time.Hour)
		check(0)
		resumed := c.do("POST", path("/api/v1/heartbeats/%d/resume", hb), manager.Token, nil).Want(200).Map()
		if resumed["status"] != "up" || resumed["due_at"] != s.Clock.Now().Add(600*time.Second).UTC().Format(time.RFC3339Nano) {
			t.Fatalf("resumed: %v", resumed)
		}
		check(0)

		// Rotating the key retires the old one at once.
		rot := c.do("POST", path("/api/v1/heartbeats/%d/rotate-key", hb), manager.Token, nil).Want(200)
		var rotated struct {
			Key      string `json:"key"`
			BeatPath string `json:"beat_path"`
		}
		rot.JSON(&rotated)
		if rotated.Key == created.Key || rot.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("rotated: %s", rot.Body)
		}
		wantProblem(c.do("POST", created.BeatPath, "", nil), 404)
		c.do("POST", rotated.BeatPath, "", nil).Want(202)

		// The list, with the service's name, for viewers.
		l, next := items(c.do("GET", "/api/v1/heartbeats?limit=1", viewer.Token, nil).Want(200))
		if len(l) != 1 || next != "" || l[0]["service_name"] != "backups" || l[0]["last_seen_at"] == nil {
			t.Fatalf("list: %v %q", l, next)
		}
		wantProblem(c.do("GET", "/api/v1/heartbeats?status=sleeping", viewer.Token, nil), 400, "status")

		// Delete: the key stops working.
		wantProblem(c.do("DELETE", path("/api/v1/heartbeats/%d", hb), responder.Token, nil), 403)
		c.do("DELETE", path("/api/v1/heartbeats/%d", hb), manager.Token, nil).Want(204)
		wantProblem(c.do("DELETE", path("/api/v1/heartbeats/%d", hb), manager.Token, nil), 404)
		wantProblem(c.do("POST", rotated.BeatPath, "", nil), 404)

		for _, action := range []string{"heartbeat.create", "heartbeat.update", "heartbeat.pause", "heartbeat.resume",
			"heartbeat.key.rotate", "heartbeat.delete"} {
			if n := c.count("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND object_id = $2", action, strconv.FormatInt(hb, 10)); n != 1 {
				t.Errorf("%d audit entries %s", n, action)
			}
		}
	})
}

// TestHeartbeatDownThenDeletedOrMoved: removing or moving a heartbeat that is
// down leaves no alert open behind it.
func TestHeartbeatDownThenDeletedOrMoved(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d, manualChecks)
		c := on(t, s)
		ctx := context.Background()
		a, b := s.NewService("a"), s.NewService("b")
		mk := func(name string) (int64, string) {
			var out struct {
				ID       int64  `json:"id"`
				BeatPath string `json:"beat_path"`
			}
			c.do("POST", "/api/v1/heartbeats", s.AdminToken, map[string]any{"service_id": a.ID, "name": name, "interval_seconds": 60,
				"grace_seconds": 0}).Want(201).JSON(&out)
			c.do("POST", out.BeatPath, "", nil).Want(202)
			return out.ID, out.BeatPath
		}
		gone, _ := mk("gone")
		moved, beatMoved := mk("moved")
		s.Clock.Advance(61 * time.Second)
		if n, err := s.App.Heartbeats.Check(ctx); n != 2 || err != nil {
			t.Fatalf("Check: %d %v", n, err)
		}
		c.do("DELETE", path("/api/v1/heartbeats/%d", gone), s.AdminToken, nil).Want(204)
		if l := heartbeatAlerts(c, s.AdminToken, gone); len(l) != 1 || l[0]["status"] != "resolved" {
			t.Fatalf("alert of a deleted heartbeat: %v", l)
		}
		h := c.do("PATCH", path("/api/v1/heartbeats/%d", moved), s.AdminToken, map[string]any{"service_id": b.ID}).Want(200).Map()
		if h["status"] != "up" || h["service_name"] != "b" {
			t.Fatalf("moved: %v", h)
		}
		if n, err := s.App.Heartbeats.Check(ctx); n != 1 || err != nil {
			t.Fatalf("Check after the move: %d %v", n, err)
		}
		l := heartbeatAlerts(c, s.AdminToken, moved)
		open := map[float64]string{}
		for _, al := range l {
			open[al["service_id"].(float64)] = al["status"].(string)
		}
		if len(l) != 2 || open[float64(a.ID)] != "resolved" || open[float64(b.ID)] != "triggered" {
			t.Fatalf("alerts of the moved heartbeat: %v", l)
		}
		c.do("POST", beatMoved, "", nil).Want(202)
		if l := heartbeatAlerts(c, s.AdminToken, moved); l[0]["status"] != "resolved" || l[1]["status"] != "resolved" {
			t.Fatalf("alerts after the beat: %v", l)
		}
	})
}
