package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// manualHeartbeats stops the server's own heartbeat checks, so that the test alone
// decides when Check runs.
var manualHeartbeats = testkit.Options{Modify: func(o *app.Options) { o.ManualOnCall = true }}

var beatURLRe = regexp.MustCompile(`value="(http://[^"]+/api/v1/heartbeats/(hb_[a-z2-7]+))"`)

func TestHeartbeatPages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d, manualHeartbeats)
		svc := s.NewService("Backups")
		mu, vu := s.NewUser(iam.RoleManager), s.NewUser(iam.RoleViewer)
		m, v := signIn(t, s, mu), signIn(t, s, vu)
		ctx := context.Background()

		m.get("/heartbeats").want(200).has("<h1>Heartbeats</h1>", `href="/heartbeats" aria-current="page">Heartbeats</a>`,
			"There are no heartbeats yet", `href="/heartbeats/new"`)
		v.get("/heartbeats").want(200).lacks(`href="/heartbeats/new"`)
		v.get("/heartbeats/new").want(http.StatusForbidden)

		// Mistakes are shown next to their fields, with what was typed.
		form := m.get("/heartbeats/new").want(200).has("New heartbeat", `<option value="`+fmt.Sprint(svc.ID)+`">Backups</option>`,
			`name="interval" type="text" value="5m"`, `name="grace" type="text" value="1m"`)
		form.submit("/heartbeats", "service", fmt.Sprint(svc.ID), "name", "nightly", "interval", "10s").want(http.StatusBadRequest).
			has("Please correct what is marked below.", "must be from 30 (30 seconds) to 604800 (7 days)", `value="nightly"`)
		form.submit("/heartbeats", "service", fmt.Sprint(svc.ID), "name", "nightly", "interval", "often").want(http.StatusBadRequest).
			has("must be a duration such as 90s, 5m, 1h or 1d")
		form.submit("/heartbeats", "service", "", "name", "", "interval", "5m").want(http.StatusBadRequest).
			has("must be one of the listed services", "is required")
		if n := heartbeatRows(t, s, "SELECT COUNT(*) FROM heartbeats"); n != 0 {
			t.Fatalf("%d heartbeats after refused forms", n)
		}

		// Created: the beat URL with its key, once, with a curl example.
		p := form.submit("/heartbeats", "service", fmt.Sprint(svc.ID), "name", "nightly", "interval", "1h", "grace", "5m").want(http.StatusCreated)
		p.has("Heartbeat nightly created", "Copy this URL now", "curl -fsS -m 10 --retry 3 -X POST "+s.URL+"/api/v1/heartbeats/hb_",
			"1h, up to 5m late", "checked from its first beat on")
		if p.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("the key page may be cached: %v", p.Header)
		}
		mt := beatURLRe.FindStringSubmatch(p.Body)
		if mt == nil {
			t.Fatalf("no beat URL on the page:\n%s", p.Body)
		}
		url, key := mt[1], mt[2]
		wantAudit(t, s, "heartbeat.create")
		form.submit("/heartbeats", "service", fmt.Sprint(svc.ID), "name", "nightly", "interval", "1h").want(http.StatusConflict).
			has("already taken on this service")

		// The key is not shown again; the list shows the new heartbeat.
		list := v.get("/heartbeats").want(200).has("nightly", "Backups", "New", "never")
		list.lacks(key, "/pause")
		id := regexp.MustCompile(`href="/heartbeats/(\d+)"`).FindStringSubmatch(list.Body)[1]
		v.get("/heartbeats/"+id).want(200).has("nightly", "not checked until its first beat", key[:9], "It has never missed a beat").
			lacks(key, "Save", "/rotate-key")

		// A beat (as a job does it, with curl) makes it up with a deadline.
		resp, err := http.Post(url, "", nil)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("beat: %v %v", resp, err)
		}
		resp.Body.Close()
		m.get("/heartbeats").want(200).has(`<span class="badge badge-good">Up</span>`, "just now", "in 1h 5m", "1h", "+ 5m grace")

		// Missed: down, with the alert linked.
		s.Clock.Advance(2 * time.Hour)
		if n, err := s.App.Heartbeats.Check(ctx); n != 1 || err != nil {
			t.Fatalf("Check: %d %v", n, err)
		}
		m, v = signIn(t, s, mu), signIn(t, s, vu) // the sessions timed out meanwhile
		m.get("/heartbeats?status=down").want(200).has(`<span class="badge badge-bad">Down</span>`, "missed <time datetime=")
		m.get("/heartbeats?status=up").want(200).has("No heartbeat matches this filter")
		m.get("/heartbeats/"+id).want(200).has("the next beat resolves its alert", "Heartbeat nightly missed: no beat since", `href="/alerts/`, `href="/incidents/`)

		// Pause and resume from the list.
		page := m.get("/heartbeats").want(200)
		page.submit("/heartbeats/"+id+"/pause").redirects("/heartbeats").want(200).
			has("Paused the heartbeat nightly", `<span class="badge badge-paused">Paused</span>`, "Resume")
		wantAudit(t, s, "heartbeat.pause")
		v.get("/heartbeats").want(200).submit("/heartbeats/" + id + "/resume").want(http.StatusForbidden)
		page.submit("/heartbeats/"+id+"/resume", "back", "page").redirects("/heartbeats/" + id).want(200).has("Resumed the heartbeat nightly")

		// Edit: a stale form is caught; a good one saves.
		edit := m.get("/heartbeats/"+id).want(200).has(`name="interval" type="text" value="1h"`, `name="grace" type="text" value="5m"`)
		edit.submit("/heartbeats/"+id+"/edit", "version", "1", "service", fmt.Sprint(svc.ID), "name", "nightly", "interval", "2h").
			want(http.StatusPreconditionFailed).has("Someone changed this heartbeat")
		version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(edit.Body)[1]
		edit.submit("/heartbeats/"+id+"/edit", "version", version, "service", fmt.Sprint(svc.ID), "name", "nightly-db", "interval", "2h", "grace", "").
			redirects("/heartbeats/"+id).want(200).has("Saved the heartbeat nightly-db", "Beats every", "2h")
		wantAudit(t, s, "heartbeat.update")

		// New key: shown once; the old one stops working.
		p = m.get("/heartbeats/"+id).want(200).submit("/heartbeats/"+id+"/rotate-key").want(200).has("New key for nightly-db", "The old key no longer works")
		mt2 := beatURLRe.FindStringSubmatch(p.Body)
		if mt2 == nil || mt2[2] == key {
			t.Fatalf("rotated key page:\n%s", p.Body)
		}
		if r, _ := http.Post(url, "", nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("the old key beats: %d", r.StatusCode)
		}
		wantAudit(t, s, "heartbeat.key.rotate")

		// Delete.
		m.get("/heartbeats").want(200).submit("/heartbeats/"+id+"/delete").redirects("/heartbeats").want(200).
			has("Deleted the heartbeat nightly-db", "There are no heartbeats yet")
		wantAudit(t, s, "heartbeat.delete")
		m.get("/heartbeats/" + id).want(http.StatusNotFound)
	})
}

func heartbeatRows(t *testing.T, s *testkit.Server, q string) int {
	t.Helper()
	var n int
	if err := s.App.DB.R.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
