package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/bench"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// TestRealAlertmanager runs Debian's Prometheus Alertmanager with a webhook
// receiver pointed at Steady (authorized by an integration key), posts
// firing alerts to Alertmanager, waits until Steady has opened the incident,
// then posts the same alerts as ended and waits until Steady resolves it.
// It runs with STEADY_E2E=1 (as CI does), and then fails if Alertmanager is
// not installed.
func TestRealAlertmanager(t *testing.T) {
	if os.Getenv("STEADY_E2E") == "" {
		t.Skip("STEADY_E2E is not set: skipping the test with a real Alertmanager (CI sets it)")
	}
	if _, err := os.Stat(bench.AlertmanagerPath); err != nil {
		t.Fatalf("STEADY_E2E is set but Alertmanager is not installed at %s (apt-get install prometheus-alertmanager): %v",
			bench.AlertmanagerPath, err)
	}
	s := testkit.Start(t, db.SQLite)
	svc := s.NewService("payments")
	// The incident must not outlast its alerts: resolve it when they resolve.
	s.Do("PATCH", "/api/v1/services/"+strconv.FormatInt(svc.ID, 10), s.AdminToken,
		map[string]any{"auto_resolve": true, "group_by": []string{"alertname"}}).Want(200)

	config := fmt.Sprintf(`route:
  receiver: steady
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: steady
    webhook_configs:
      - url: %s/api/v1/integrations/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: %s
`, s.URL, svc.Key)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	am, err := bench.StartAlertmanager(ctx, bench.AlertmanagerPath, config)
	if err != nil {
		t.Fatal(err)
	}
	defer am.Stop()

	post := func(endsAt time.Time) {
		t.Helper()
		var alerts []map[string]any
		for _, inst := range []string{"pay-1:9100", "pay-2:9100"} {
			a := map[string]any{
				"labels":      map[string]string{"alertname": "PaymentsDown", "instance": inst, "severity": "critical"},
				"annotations": map[string]string{"summary": "Payments API is down on " + inst},
				"startsAt":    time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
			}
			if !endsAt.IsZero() {
				a["endsAt"] = endsAt.UTC().Format(time.RFC3339)
			}
			alerts = append(alerts, a)
		}
		b, _ := json.Marshal(alerts)
		resp, err := http.Post(am.URL+"/api/v2/alerts", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("post alerts to Alertmanager: %d %s", resp.StatusCode, body)
		}
	}
	type incident struct {
		ID             int64  `json:"id"`
		Status         string `json:"status"`
		AlertCount     int    `json:"alert_count"`
		OpenAlertCount int    `json:"open_alert_count"`
		Title          string `json:"title"`
	}
	incidents := func() []incident {
		var l struct {
			Items []incident `json:"items"`
		}
		s.Do("GET", "/api/v1/incidents?service="+strconv.FormatInt(svc.ID, 10), s.AdminToken, nil).Want(200).JSON(&l)
		return l.Items
	}

	post(time.Time{})
	var got []incident
	waitFor(t, 60*time.Second, "Steady opens an incident for the firing alerts\n"+am.Log(), func() bool {
		got = incidents()
		return len(got) == 1 && got[0].AlertCount == 2
	})
	if got[0].Status != "triggered" || got[0].OpenAlertCount != 2 {
		t.Fatalf("incident from Alertmanager: %+v", got[0])
	}

	post(time.Now().Add(-10 * time.Second))
	waitFor(t, 60*time.Second, "Steady resolves the incident when Alertmanager resolves its alerts\n"+am.Log(), func() bool {
		got = incidents()
		return len(got) == 1 && got[0].Status == "resolved"
	})
	if got[0].OpenAlertCount != 0 {
		t.Fatalf("resolved incident: %+v", got[0])
	}
}
