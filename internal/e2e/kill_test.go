package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/testkit"
)

// TestKillDuringIngest sends events from several clients, SIGKILLs the
// server while they are in flight, restarts it on the same data and checks
// that every event that was acknowledged (202) is stored, raw event and
// alert, and that grouping made no duplicate incident: the alerts of one
// grouping key are in exactly one open incident.
func TestKillDuringIngest(t *testing.T) {
	bin := steadyBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		killAndCheck(t, bin, t.TempDir(), "")
	})
	t.Run("postgres", func(t *testing.T) {
		killAndCheck(t, bin, "", testkit.NewPostgresURL(t))
	})
}

func killAndCheck(t *testing.T, bin, dataDir, database string) {
	token := "stdy_e2e_admin_" + ids.Random(12)
	s := startServer(t, bin, dataDir, database, token)
	svcID, key := s.newService("checkout", []string{"cluster"})

	// Senders: each event has a dedup key of its own; a third of them repeat
	// an earlier key of the same sender (an update of its alert). The labels
	// of the generic events spread them over five grouping keys; PagerDuty
	// events have no labels and make a sixth.
	const senders = 8
	var acked sync.Map // dedup key → true, once a 202 said it is stored
	var nAcked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	// post sends a body and returns the status; 0 when the server is gone
	// (its events were never acknowledged), after a pause.
	post := func(path string, body []byte) int {
		resp, err := client.Post(s.url+path, "application/json", bytes.NewReader(body))
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := i
				if i%3 == 2 {
					k = i - 1
				}
				dedup := fmt.Sprintf("w%d-e%d", w, k)
				var body []byte
				var path string
				if i%2 == 0 {
					path = "/v2/enqueue"
					body, _ = json.Marshal(map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
						"payload": map[string]any{"summary": "disk full on " + dedup, "source": "host-" + dedup, "severity": "error",
							"custom_details": map[string]any{"cluster": "c" + itoa(k%5)}}})
				} else {
					path = "/api/v1/events?key=" + key
					body, _ = json.Marshal(map[string]any{"dedup_key": dedup, "summary": "disk full on " + dedup,
						"labels": map[string]string{"cluster": "c" + itoa(k%5)}})
				}
				if post(path, body) == http.StatusAccepted {
					acked.Store(dedup, true)
					nAcked.Add(1)
				}
			}
		}()
	}
	// And bursts: 300 repeats of the same alerts per request, so that the
	// server is killed while repeats wait to be written (SQLite).
	wg.Add(1)
	go func() {
		defer wg.Done()
		var b bytes.Buffer
		b.WriteByte('[')
		for i := range 300 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"dedup_key":"burst-%d","summary":"burst","labels":{"cluster":"c0"}}`, i)
		}
		b.WriteByte(']')
		for {
			select {
			case <-stop:
				return
			default:
			}
			post("/api/v1/events?key="+key, b.Bytes())
		}
	}()
	// Kill it mid-stream, once a good number of events went in.
	waitFor(t, 60*time.Second, "events acknowledged before the kill", func() bool { return nAcked.Load() >= 300 })
	s.kill()
	close(stop)
	wg.Wait()
	t.Logf("%d events acknowledged before SIGKILL", nAcked.Load())

	// Restart on the same data: it must come up and take events again.
	s2 := startServer(t, bin, dataDir, database, token)
	var res struct {
		Results []struct {
			AlertID int64 `json:"alert_id"`
		} `json:"results"`
	}
	req, _ := http.NewRequest("POST", s2.url+"/api/v1/events", bytes.NewReader([]byte(`{"dedup_key":"after-restart","summary":"still here","labels":{"cluster":"c0"}}`)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 || json.Unmarshal(b, &res) != nil || len(res.Results) != 1 || res.Results[0].AlertID == 0 {
		t.Fatalf("event after restart: %d %s", resp.StatusCode, b)
	}
	acked.Store("after-restart", true)
	s2.stop()

	// Check the stored data directly.
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{URL: database, DataDir: dataDir, ReadOnly: database == ""})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rawKeys := keySet(t, d.R, "SELECT DISTINCT dedup_key FROM events WHERE service_id = $1", svcID)
	alertKeys := keySet(t, d.R, "SELECT DISTINCT dedup_key FROM alerts WHERE service_id = $1", svcID)
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !rawKeys[k.(string)] || !alertKeys[k.(string)] {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged event %s is lost: raw event stored %v, alert stored %v", k, rawKeys[k.(string)], alertKeys[k.(string)])
			}
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d acknowledged events are lost after SIGKILL", missing)
	}

	// Every alert counts every trigger stored for it: repeats that waited
	// in memory when the server was killed were replayed at its restart.
	var miscounted int
	if err := d.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts a WHERE a.service_id = $1
		AND a.count <> (SELECT COUNT(*) FROM events e WHERE e.alert_id = a.id AND e.action = 'trigger')`, svcID).Scan(&miscounted); err != nil {
		t.Fatal(err)
	}
	if miscounted > 0 {
		t.Errorf("%d alerts count a different number of triggers than are stored for them", miscounted)
	}

	// Every alert is in an incident, and the alerts of one grouping key
	// are in exactly one open incident.
	var orphans int
	if err := d.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM alerts WHERE service_id = $1 AND incident_id IS NULL", svcID).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans > 0 {
		t.Errorf("%d alerts are in no incident", orphans)
	}
	rows, err := d.R.QueryContext(ctx, `SELECT i.group_key, COUNT(DISTINCT i.id) FROM alerts a JOIN incidents i ON i.id = a.incident_id
		WHERE a.service_id = $1 GROUP BY i.group_key`, svcID)
	if err != nil {
		t.Fatal(err)
	}
	groups := 0
	for rows.Next() {
		var g string
		var n int
		if err := rows.Scan(&g, &n); err != nil {
			t.Fatal(err)
		}
		groups++
		if n != 1 {
			t.Errorf("the alerts of group %q are in %d incidents, want exactly one", g, n)
		}
	}
	rows.Close()
	var open int
	if err := d.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE service_id = $1
		AND status IN ('triggered', 'acknowledged', 'investigating', 'on_hold')`, svcID).Scan(&open); err != nil {
		t.Fatal(err)
	}
	// PagerDuty events carry no labels: their group is "cluster=".
	if groups != 6 || open != 6 {
		t.Errorf("%d grouping keys and %d open incidents, want 6 and 6", groups, open)
	}
	// The incidents count what they hold.
	var mismatched int
	if err := d.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents i WHERE i.service_id = $1
		AND i.alert_count <> (SELECT COUNT(*) FROM alerts a WHERE a.incident_id = i.id)`, svcID).Scan(&mismatched); err != nil {
		t.Fatal(err)
	}
	if mismatched > 0 {
		t.Errorf("%d incidents count a different number of alerts than they hold", mismatched)
	}
}

func keySet(t *testing.T, q *sql.DB, query string, args ...any) map[string]bool {
	t.Helper()
	rows, err := q.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out[k] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
