package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// AlertmanagerPath is where Debian installs Prometheus Alertmanager.
const AlertmanagerPath = "/usr/bin/prometheus-alertmanager"

// Alertmanager is a real Alertmanager started for a comparison or a test:
// loopback only, clustering off, its own temporary directory.
type Alertmanager struct {
	URL  string
	Addr string
	cmd  *exec.Cmd
	dir  string
	done chan error
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartAlertmanager starts bin with config (YAML) on a random loopback port
// and waits until it is ready.
func StartAlertmanager(ctx context.Context, bin, config string) (*Alertmanager, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	dir, err := os.MkdirTemp("", "steady-alertmanager-")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.Create(filepath.Join(dir, "alertmanager.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start alertmanager: %w", err)
	}
	logf.Close()
	am := &Alertmanager{URL: "http://" + addr, Addr: addr, cmd: cmd, dir: dir, done: make(chan error, 1)}
	go func() { am.done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	c := &http.Client{Timeout: time.Second}
	for {
		resp, err := c.Get(am.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return am, nil
			}
		}
		select {
		case err := <-am.done:
			log, _ := os.ReadFile(filepath.Join(dir, "alertmanager.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("alertmanager exited (%v): %s", err, log)
		case <-ctx.Done():
			am.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			am.Stop()
			return nil, fmt.Errorf("alertmanager was not ready after 20 s")
		}
	}
}

// Log returns what Alertmanager logged so far.
func (am *Alertmanager) Log() string {
	b, _ := os.ReadFile(filepath.Join(am.dir, "alertmanager.log"))
	return string(b)
}

// Stop ends the process and removes its files.
func (am *Alertmanager) Stop() {
	if am.cmd != nil && am.cmd.Process != nil {
		_ = am.cmd.Process.Signal(os.Interrupt)
		select {
		case <-am.done:
		case <-time.After(5 * time.Second):
			_ = am.cmd.Process.Kill()
			<-am.done
		}
		am.cmd = nil
	}
	if am.dir != "" {
		os.RemoveAll(am.dir)
		am.dir = ""
	}
}

// benchAlertmanagerConfig routes every alert into one group of a receiver
// that sends nothing: what is measured is taking alerts in.
const benchAlertmanagerConfig = `route:
  receiver: blackhole
  group_by: ['alertname']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: blackhole
`

// amAlert appends one alert in Alertmanager's API v2 shape.
func amAlert(b []byte, k int, startsAt string) []byte {
	b = append(b, `{"labels":{"alertname":"HighLatency","instance":"web-`...)
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, `:9100","job":"node","severity":"warning"},"annotations":{"summary":"High request latency on web-`...)
	b = strconv.AppendInt(b, int64(k%500), 10)
	b = append(b, `"},"startsAt":"`...)
	b = append(b, startsAt...)
	b = append(b, `"}`...)
	return b
}

// AlertmanagerLoads runs the single-event and batched loads against a real
// Alertmanager (in memory: it keeps alerts in memory and answers at once).
func AlertmanagerLoads(ctx context.Context, bin string, o IngestOptions) ([]Result, error) {
	am, err := StartAlertmanager(ctx, bin, benchAlertmanagerConfig)
	if err != nil {
		return nil, err
	}
	defer am.Stop()
	label := "alertmanager 0.25 (memory)"
	startsAt := time.Now().UTC().Format(time.RFC3339)
	var out []Result
	rngs := make([]*rand.Rand, max(o.Clients, o.BatchClients))
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(uint64(i), 3))
	}
	bodies := make([][]byte, len(rngs))
	elapsed, recs, err := closedLoop(am.Addr, o.Clients, o.Warmup, o.Duration, http.StatusOK, func(w int, buf []byte) ([]byte, int) {
		b := append(bodies[w][:0], '[')
		b = amAlert(b, rngs[w].IntN(o.Keys), startsAt)
		bodies[w] = append(b, ']')
		return request(buf, am.Addr, "/api/v2/alerts", "", bodies[w]), 1
	})
	if err != nil {
		return nil, err
	}
	out = append(out, merged(label, fmt.Sprintf("1 event/request, %d clients", o.Clients), elapsed, recs))
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	elapsed, recs, err = closedLoop(am.Addr, o.BatchClients, o.Warmup, o.Duration, http.StatusOK, func(w int, buf []byte) ([]byte, int) {
		b := append(bodies[w][:0], '[')
		for i := range o.BatchSize {
			if i > 0 {
				b = append(b, ',')
			}
			b = amAlert(b, rngs[w].IntN(o.Keys), startsAt)
		}
		bodies[w] = append(b, ']')
		return request(buf, am.Addr, "/api/v2/alerts", "", bodies[w]), o.BatchSize
	})
	if err != nil {
		return out, err
	}
	out = append(out, merged(label, fmt.Sprintf("%d events/request, %d clients", o.BatchSize, o.BatchClients), elapsed, recs))
	return out, nil
}
