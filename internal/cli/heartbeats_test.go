package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// manualHeartbeats stops the server's own heartbeat checks, so that the test alone
// decides when Check runs.
var manualHeartbeats = testkit.Options{Modify: func(o *app.Options) { o.ManualOnCall = true }}

func TestHeartbeatCommands(t *testing.T) {
	s := testkit.Start(t, db.SQLite, manualHeartbeats)
	s.NewService("backups")
	env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		return out
	}

	// Create by service name: the key and a curl line are shown once.
	out := ok("heartbeat", "create", "--service", "backups", "--name", "nightly", "--interval", "1h", "--grace", "5m")
	key := regexp.MustCompile(`hb_[a-z2-7]+`).FindString(out)
	if key == "" || !strings.Contains(out, "curl -fsS -X POST "+s.URL+"/api/v1/heartbeats/"+key) {
		t.Fatalf("create: %q", out)
	}
	var hb struct {
		ID       int64  `json:"id"`
		Interval int    `json:"interval_seconds"`
		Grace    int    `json:"grace_seconds"`
		Status   string `json:"status"`
	}
	if err := json.Unmarshal([]byte(ok("heartbeat", "show", "1", "-o", "json")), &hb); err != nil || hb.Interval != 3600 || hb.Grace != 300 || hb.Status != "new" {
		t.Fatalf("show: %+v %v", hb, err)
	}

	// Mistakes are named.
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"heartbeat", "create", "--service", "backups", "--name", "x", "--interval", "10s"}, 1, "interval_seconds"},
		{[]string{"heartbeat", "create", "--service", "backups", "--name", "x", "--interval", "often"}, 2, "--interval"},
		{[]string{"heartbeat", "create", "--service", "backups", "--name", "x"}, 2, "--interval is required"},
		{[]string{"heartbeat", "create", "--service", "nowhere", "--name", "x", "--interval", "5m"}, 1, `no service is named "nowhere"`},
		{[]string{"heartbeat", "create", "--service", "backups", "--name", "nightly", "--interval", "5m"}, 1, "already taken"},
		{[]string{"heartbeat", "update", "1"}, 2, "nothing to change"},
		{[]string{"heartbeat", "beat", "hb_nosuchkey"}, 1, "no heartbeat has this key"},
	} {
		code, _, errs := run(t, env, c.args...)
		if code != c.code || !strings.Contains(errs, c.says) {
			t.Errorf("%v: %d %q; want %d and %q", c.args, code, errs, c.code, c.says)
		}
	}

	// Beat without a token: only the key.
	noToken := map[string]string{"STEADY_SERVER": s.URL}
	if code, out, errs := run(t, noToken, "heartbeat", "beat", key); code != 0 || !strings.Contains(out, "up") {
		t.Fatalf("beat: %d %q %q", code, out, errs)
	}
	if out := ok("heartbeat", "list", "--service", "backups", "--status", "up"); !strings.Contains(out, "nightly") || !strings.Contains(out, "backups") {
		t.Fatalf("list: %q", out)
	}
	ok("heartbeat", "update", "1", "--interval", "2h", "--grace", "0")
	if out := ok("heartbeat", "show", "1"); !strings.Contains(out, "7200") {
		t.Fatalf("after update: %q", out)
	}
	if out := ok("heartbeat", "pause", "1"); !strings.Contains(out, "paused") {
		t.Fatalf("pause: %q", out)
	}
	s.Clock.Advance(5 * time.Hour)
	if n, err := s.App.Heartbeats.Check(t.Context()); n != 0 || err != nil {
		t.Fatalf("check while paused: %d %v", n, err)
	}
	if out := ok("heartbeat", "resume", "1"); !strings.Contains(out, "up") {
		t.Fatalf("resume: %q", out)
	}
	out = ok("heartbeat", "rotate-key", "1")
	newKey := regexp.MustCompile(`hb_[a-z2-7]+`).FindString(out)
	if newKey == "" || newKey == key {
		t.Fatalf("rotate-key: %q", out)
	}
	if code, _, _ := run(t, noToken, "heartbeat", "beat", key); code != 1 {
		t.Fatalf("the old key still beats")
	}
	ok("heartbeat", "beat", newKey)
	ok("heartbeat", "delete", "1")
	if out := ok("heartbeat", "list"); strings.Contains(out, "nightly") {
		t.Fatalf("list after delete: %q", out)
	}
}
