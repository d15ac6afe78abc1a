package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/cli"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// run runs the steady command line in-process and returns its exit code and output.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := cli.Run(context.Background(), append([]string{"steady"}, args...), getenv, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestClientCommands(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}

		code, out, errs := run(t, env, "user", "create", "--email", "dev@example.com", "--name", "Dev One", "--role", "responder", "-o", "json")
		if code != 0 {
			t.Fatalf("user create: %d %s", code, errs)
		}
		var u struct {
			ID   int64  `json:"id"`
			Role string `json:"role"`
		}
		if err := json.Unmarshal([]byte(out), &u); err != nil || u.ID == 0 || u.Role != "responder" {
			t.Fatalf("user create output %q: %v", out, err)
		}

		code, out, _ = run(t, env, "user", "list")
		if code != 0 || !strings.Contains(out, "dev@example.com") || !strings.Contains(out, "EMAIL") {
			t.Fatalf("user list table: %d %q", code, out)
		}
		code, out, _ = run(t, env, "user", "list", "-o", "yaml")
		if code != 0 || !strings.Contains(out, "email: dev@example.com") || !strings.Contains(out, "items:") {
			t.Fatalf("user list yaml: %d %q", code, out)
		}

		code, out, errs = run(t, env, "team", "create", "SRE", "--description", "Site reliability", "-o", "json")
		if code != 0 || !strings.Contains(out, `"name": "SRE"`) {
			t.Fatalf("team create: %d %q %q", code, out, errs)
		}
		var team struct{ ID int64 }
		_ = json.Unmarshal([]byte(out), &team)
		tid := itoa(team.ID)
		if code, _, errs = run(t, env, "team", "member", "add", tid, itoa(u.ID), "--lead"); code != 0 {
			t.Fatalf("member add: %s", errs)
		}
		code, out, _ = run(t, env, "team", "member", "list", tid)
		if code != 0 || !strings.Contains(out, "dev@example.com") || !strings.Contains(out, "lead") {
			t.Fatalf("member list: %q", out)
		}

		// A token made through the CLI acts as its user.
		code, out, errs = run(t, env, "token", "create", "--name", "ci", "--user", itoa(u.ID), "-o", "json")
		if code != 0 {
			t.Fatalf("token create: %s", errs)
		}
		var tok struct {
			ID    int64  `json:"id"`
			Token string `json:"token"`
		}
		_ = json.Unmarshal([]byte(out), &tok)
		if !strings.HasPrefix(tok.Token, "stdy_") {
			t.Fatalf("token secret not shown: %q", out)
		}
		devEnv := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": tok.Token}
		code, out, _ = run(t, devEnv, "whoami")
		if code != 0 || !strings.Contains(out, "dev@example.com") {
			t.Fatalf("whoami: %q", out)
		}
		// A responder may not create users: a clear refusal and exit 1.
		code, _, errs = run(t, devEnv, "user", "create", "--email", "x@example.com", "--name", "X")
		if code != 1 || !strings.Contains(errs, "not allowed") {
			t.Fatalf("forbidden create: %d %q", code, errs)
		}
		// Revoked: the server refuses the token.
		if code, _, errs = run(t, env, "token", "revoke", itoa(tok.ID)); code != 0 {
			t.Fatalf("revoke: %s", errs)
		}
		code, _, errs = run(t, devEnv, "whoami")
		if code != 1 || !strings.Contains(errs, "refused the token") {
			t.Fatalf("revoked token: %d %q", code, errs)
		}
		// Validation errors name the field.
		code, _, errs = run(t, env, "user", "create", "--email", "not-an-email", "--name", "X")
		if code != 1 || !strings.Contains(errs, "email:") {
			t.Fatalf("invalid email: %d %q", code, errs)
		}

		code, out, _ = run(t, env, "audit", "list", "--action", "team.member.set")
		if code != 0 || !strings.Contains(out, "team.member.set") || !strings.Contains(out, "api") {
			t.Fatalf("audit list: %q", out)
		}
		code, out, _ = run(t, env, "audit", "verify")
		if code != 0 || !strings.Contains(out, "intact") {
			t.Fatalf("audit verify through the server: %d %q", code, out)
		}
	})
}

func TestClientErrors(t *testing.T) {
	code, _, errs := run(t, map[string]string{"STEADY_SERVER": "http://127.0.0.1:1"}, "user", "list")
	if code != 1 || !strings.Contains(errs, "cannot reach the Steady server") {
		t.Fatalf("unreachable: %d %q", code, errs)
	}
	code, _, errs = run(t, nil, "user", "list", "--server", "nonsense")
	if code != 2 || !strings.Contains(errs, "--server") {
		t.Fatalf("bad server URL: %d %q", code, errs)
	}
	code, _, _ = run(t, nil, "user", "get")
	if code != 2 {
		t.Fatalf("missing argument: exit %d, want 2", code)
	}
	code, _, _ = run(t, nil, "--no-such-flag")
	if code != 2 {
		t.Fatalf("unknown flag: exit %d, want 2", code)
	}
	s := testkit.Start(t, db.SQLite)
	code, _, errs = run(t, map[string]string{"STEADY_SERVER": s.URL}, "user", "list")
	if code != 1 || !strings.Contains(errs, "needs an API token") {
		t.Fatalf("no token: %d %q", code, errs)
	}
	code, out, _ := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "steady ") {
		t.Fatalf("version: %q", out)
	}
	code, out, _ = run(t, nil, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Fatalf("completion: %d", code)
	}
}

// serve starts `steady serve` in-process and returns its base URL and a stop
// function that cancels it as SIGTERM would and returns its exit code.
func serve(t *testing.T, env map[string]string, args ...string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	getenv := func(k string) string { return env[k] }
	go func() {
		code := cli.Run(ctx, append([]string{"steady", "serve", "--listen", "127.0.0.1:0"}, args...), getenv, strings.NewReader(""), io.Discard, pw)
		pw.Close()
		done <- code
	}()
	urlc := make(chan string, 1)
	var lines []string
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
			if i := strings.Index(l, "is serving on "); i >= 0 {
				f := strings.Fields(l[i+len("is serving on "):])
				urlc <- f[0]
			}
		}
	}()
	select {
	case u := <-urlc:
		return u, func() int {
			cancel()
			select {
			case c := <-done:
				return c
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop")
				return -1
			}
		}
	case c := <-done:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("serve exited with %d: %s", c, strings.Join(lines, "\n"))
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	cancel()
	return "", nil
}

func TestServeBackupRestoreVerify(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"STEADY_BOOTSTRAP_TOKEN": "stdy_cli_test_bootstrap_1"}
	base, stop := serve(t, env, "--data", dir, "--demo")
	get := func(path, token string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("/healthz", ""); c != 200 {
		t.Fatalf("healthz: %d", c)
	}
	if c := get("/api/v1/users", ""); c != 401 {
		t.Fatalf("users without a token: %d", c)
	}
	if c := get("/api/v1/users", "stdy_cli_test_bootstrap_1"); c != 200 {
		t.Fatalf("users with the bootstrap token: %d", c)
	}
	client := map[string]string{"STEADY_SERVER": base, "STEADY_TOKEN": "stdy_cli_test_bootstrap_1"}

	// A backup taken while the server runs and writes.
	backup := filepath.Join(t.TempDir(), "backup.db")
	stopWrites := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopWrites:
				return
			default:
			}
			run(t, client, "team", "create", "load-"+itoa(int64(i)))
		}
	}()
	time.Sleep(100 * time.Millisecond) // let some writes happen; not a timing assertion
	code, out, errs := run(t, nil, "backup", "--data", dir, "--out", backup)
	close(stopWrites)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "backup written") {
		t.Fatalf("backup: %d %q %q", code, out, errs)
	}
	if code, _, _ = run(t, nil, "backup", "--data", dir, "--out", backup); code == 0 {
		t.Fatal("backup over an existing file must fail")
	}
	// Restore refuses while the server holds the directory.
	code, _, errs = run(t, nil, "restore", "--data", dir, "--in", backup)
	if code != 1 || !strings.Contains(errs, "in use") {
		t.Fatalf("restore while running: %d %q", code, errs)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exit code %d after a graceful stop", code)
	}

	// Tamper with the audit trail: verify names the row and exits 1.
	if code, out, _ = run(t, nil, "audit", "verify", "--data", dir); code != 0 {
		t.Fatalf("verify intact: %d %q", code, out)
	}
	sdb, err := sql.Open("sqlite", "file:"+filepath.Join(dir, db.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Exec("UPDATE audit_log SET summary = 'nothing happened' WHERE seq = 3"); err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	code, _, errs = run(t, nil, "audit", "verify", "--data", dir)
	if code != 1 || !strings.Contains(errs, "entry 3") {
		t.Fatalf("verify tampered: %d %q", code, errs)
	}

	// Restore the backup: the old database is kept, the chain is intact again,
	// and a server starts on it with the data of the backup.
	code, out, errs = run(t, nil, "restore", "--data", dir, "--in", backup)
	if code != 0 || !strings.Contains(out, "before-restore") {
		t.Fatalf("restore: %d %q %q", code, out, errs)
	}
	if code, out, errs = run(t, nil, "audit", "verify", "--data", dir); code != 0 {
		t.Fatalf("verify restored: %q %q", out, errs)
	}
	base, stop = serve(t, nil, "--data", dir)
	client["STEADY_SERVER"] = base
	code, out, _ = run(t, client, "team", "list", "-o", "json", "--limit", "1000")
	if code != 0 || !strings.Contains(out, "Platform") {
		t.Fatalf("restored server: %d %q", code, out)
	}
	if c := stop(); c != 0 {
		t.Fatalf("exit %d", c)
	}
	if code, _, _ := run(t, nil, "restore", "--data", dir, "--in", filepath.Join(dir, "missing.db")); code != 1 {
		t.Fatal("restore of a missing file must fail")
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("not a database"), 0o600)
	if code, _, _ := run(t, nil, "restore", "--data", dir, "--in", junk); code != 1 {
		t.Fatal("restore of a non-database must fail")
	}
}

func TestDirectCommands(t *testing.T) {
	dir := t.TempDir()
	// With no server, an admin can be created straight in the database, and
	// a token for them; both are audited with source "cli".
	code, out, errs := run(t, map[string]string{"USER": "ops"}, "user", "create", "--data", dir, "--email", "root@example.com",
		"--name", "Root", "--role", "admin", "-o", "json")
	if code != 0 {
		t.Fatalf("direct user create: %q", errs)
	}
	var u struct{ ID int64 }
	_ = json.Unmarshal([]byte(out), &u)
	code, out, errs = run(t, nil, "token", "create", "--data", dir, "--name", "recovery", "--user", itoa(u.ID), "-o", "json")
	if code != 0 || !strings.Contains(out, `"token": "stdy_`) {
		t.Fatalf("direct token create: %q %q", out, errs)
	}
	code, out, errs = run(t, nil, "migrate", "--data", dir)
	if code != 0 || !strings.Contains(out, "schema version") {
		t.Fatalf("migrate: %q %q", out, errs)
	}
	if code, out, _ = run(t, nil, "audit", "verify", "--data", dir); code != 0 || !strings.Contains(out, "2 entries") {
		t.Fatalf("verify: %q", out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAuditVerifyPostgres(t *testing.T) {
	s := testkit.Start(t, db.Postgres)
	env := map[string]string{"STEADY_SERVER": s.URL, "STEADY_TOKEN": s.AdminToken}
	for _, name := range []string{"a", "b", "c"} {
		if code, _, errs := run(t, env, "team", "create", name); code != 0 {
			t.Fatal(errs)
		}
	}
	code, out, errs := run(t, nil, "audit", "verify", "--database", s.DatabaseURL)
	if code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %d %q %q", code, out, errs)
	}
	if _, err := s.App.DB.W.Exec("DELETE FROM audit_log WHERE seq = 2"); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run(t, nil, "audit", "verify", "--database", s.DatabaseURL)
	if code != 1 || !strings.Contains(errs, "entry 2") {
		t.Fatalf("verify after a deleted row: %d %q", code, errs)
	}
}
