package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/obs"
)

// Steady is the server under test: one started here, in process, on a
// temporary data directory (or a given PostgreSQL database), or one that
// already runs.
type Steady struct {
	URL   string
	Addr  string // host:port
	Token string // admin API token ("" against a running server: only its key is known)
	Label string // "steady (sqlite)"
	App   *app.App
	dir   string
	http  *http.Client
}

// StartSteady starts a server in process. database is empty for SQLite in a
// new temporary directory, or a postgres:// URL. logLevel is the server's
// (info, as `steady serve` runs by default); its log goes to a file in the
// temporary directory, as a real server's goes to its journal.
func StartSteady(ctx context.Context, database, logLevel string) (*Steady, error) {
	dir, err := os.MkdirTemp("", "steady-bench-")
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "steady.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	o := app.Defaults()
	o.Listen = "127.0.0.1:0"
	o.DataDir = filepath.Join(dir, "data")
	o.DatabaseURL = database
	if logLevel != "" {
		o.LogLevel = logLevel
	}
	token := "stdy_bench_" + ids.Random(24)
	o.BootstrapEmail, o.BootstrapToken, o.BootstrapPassword = "bench@example.com", token, "bench-"+ids.Random(16)
	a, err := app.New(ctx, o, app.Env{Log: obs.NewLogger(logFile, o.LogLevel)})
	if err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop(context.Background())
		logFile.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	if a.Bootstrap == nil {
		// An existing PostgreSQL database keeps its admin; the token above
		// was not created.
		_ = a.Stop(context.Background())
		logFile.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("the database already has users: give the benchmark an empty PostgreSQL database")
	}
	label := "steady (sqlite)"
	if database != "" {
		label = "steady (postgres)"
	}
	s := &Steady{URL: "http://" + a.Addr(), Addr: a.Addr(), Token: token, Label: label, App: a, dir: dir,
		http: &http.Client{Timeout: 30 * time.Second}}
	return s, nil
}

// ExternalSteady is a server that already runs at url, reached with an admin token.
func ExternalSteady(url, token string) (*Steady, error) {
	addr, err := loopback(url)
	if err != nil {
		return nil, err
	}
	return &Steady{URL: url, Addr: addr, Token: token, Label: "steady (" + url + ")",
		http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// LoopStats reads the counters of the ingest commit loop of a server
// started here (false for a running server).
func (s *Steady) LoopStats() (event.Stats, bool) {
	if s.App == nil {
		return event.Stats{}, false
	}
	return s.App.Ingester.Stats(), true
}

// Stop stops an in-process server and removes its files.
func (s *Steady) Stop() {
	if s.App != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = s.App.Stop(ctx)
		cancel()
		s.App = nil
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
}

// call makes one API call with the admin token and decodes the answer into out.
func (s *Steady) call(method, path string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// NewService creates a service (grouping alerts by groupBy labels) and an
// integration key for it, and returns the service id and the key.
func (s *Steady) NewService(name string, groupBy []string) (int64, string, error) {
	var svc struct {
		ID int64 `json:"id"`
	}
	in := map[string]any{"name": name, "criticality": "high"}
	if groupBy != nil {
		in["group_by"] = groupBy
	}
	if err := s.call("POST", "/api/v1/services", in, &svc, http.StatusCreated); err != nil {
		return 0, "", fmt.Errorf("create service: %w", err)
	}
	var key struct {
		Key string `json:"key"`
	}
	if err := s.call("POST", "/api/v1/services/"+strconv.FormatInt(svc.ID, 10)+"/integration-keys",
		map[string]any{"name": "bench"}, &key, http.StatusCreated); err != nil {
		return 0, "", fmt.Errorf("create integration key: %w", err)
	}
	return svc.ID, key.Key, nil
}
