// Package e2e holds process-level tests: they build the steady binary, run
// it as a server of its own and do to it what the world does (kill it,
// restart it, send it a real Alertmanager's webhooks).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// steadyBinary builds the steady binary once per test run; the test skips,
// saying why, when it cannot be built.
func steadyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "steady-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "steady")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			goBin = "go"
		}
		cmd := exec.Command(goBin, "build", "-o", binPath, "./cmd/steady")
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Skipf("the steady binary cannot be built here, so the process tests cannot run: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// server is one `steady serve` process.
type server struct {
	t     *testing.T
	cmd   *exec.Cmd
	url   string
	addr  string
	token string
	log   *bytes.Buffer
	done  chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer is a log buffer that the process and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serverOptions are optional settings of startServer.
type serverOptions struct {
	// addr is the address to listen on (a free loopback port when empty),
	// so that a restart can keep the URL the server was configured with.
	addr string
	// env are extra environment variables (KEY=value) for the process.
	env []string
}

// startServer runs `steady serve` on a data directory (or a PostgreSQL
// database) and waits until it is ready. The first start creates the admin
// with token.
func startServer(t *testing.T, bin, dataDir, database, token string, opts ...serverOptions) *server {
	t.Helper()
	var o serverOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	addr := o.addr
	if addr == "" {
		addr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	}
	args := []string{"serve", "--listen", addr, "--log-level", "warn"}
	if database != "" {
		args = append(args, "--database", database)
	} else {
		args = append(args, "--data", dataDir)
	}
	cmd := exec.Command(bin, args...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "STEADY_CONFIG=", "STEADY_BOOTSTRAP_TOKEN="+token,
		"STEADY_BOOTSTRAP_PASSWORD=e2e-password-1", "STEADY_BOOTSTRAP_EMAIL=admin@example.com")
	cmd.Env = append(cmd.Env, o.env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start steady: %v", err)
	}
	s := &server{t: t, cmd: cmd, url: "http://" + addr, addr: addr, token: token, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.kill() })
	deadline := time.Now().Add(60 * time.Second)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("steady exited before it was ready:\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("steady was not ready after 60 s:\n%s", logs.String())
		}
	}
}

// kill sends SIGKILL and waits for the process to end.
func (s *server) kill() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// stop sends SIGTERM and waits for a graceful stop.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.t.Errorf("steady did not stop within 60 s of SIGINT")
		s.kill()
	}
}

var apiClient = &http.Client{Timeout: 30 * time.Second}

// call makes an API call with the admin token and decodes the answer.
func (s *server) call(method, path string, in, out any, want int) {
	s.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, body)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := apiClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// newService creates a service grouping by groupBy and returns its id and an
// integration key.
func (s *server) newService(name string, groupBy []string) (int64, string) {
	s.t.Helper()
	var svc struct {
		ID int64 `json:"id"`
	}
	s.call("POST", "/api/v1/services", map[string]any{"name": name, "group_by": groupBy}, &svc, 201)
	var key struct {
		Key string `json:"key"`
	}
	s.call("POST", "/api/v1/services/"+strconv.FormatInt(svc.ID, 10)+"/integration-keys", map[string]any{"name": "e2e"}, &key, 201)
	return svc.ID, key.Key
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not the case after %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

var _ = fmt.Sprint
var _ = context.Background
var _ = strings.TrimSpace
