package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/event"
)

// The load generator's HTTP client reads answers with a length, chunked
// answers and answers that close the connection, and keeps one connection
// for many requests.
func TestClient(t *testing.T) {
	big := strings.Repeat("x", 10_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/chunked":
			w.WriteHeader(http.StatusAccepted)
			for i := 0; i < 3; i++ {
				io.WriteString(w, big)
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprintf(w, "bye %s", body)
		default:
			w.Header().Set("X-Auth", r.Header.Get("Authorization"))
			fmt.Fprintf(w, "got %s", body)
		}
	}))
	defer srv.Close()
	addr, err := loopback(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	var buf []byte
	for i := range 3 {
		buf = request(buf, addr, "/x", "k", []byte(fmt.Sprint(i)))
		status, body, err := c.do(buf)
		if err != nil || status != 200 || string(body) != fmt.Sprint("got ", i) {
			t.Fatalf("request %d: %d %q %v", i, status, body, err)
		}
	}
	buf = request(buf, addr, "/chunked", "", []byte("{}"))
	status, body, err := c.do(buf)
	if err != nil || status != 202 || len(body) != 3*len(big) {
		t.Fatalf("chunked: %d %d %v", status, len(body), err)
	}
	buf = request(buf, addr, "/close", "", []byte("a"))
	if status, body, err := c.do(buf); err != nil || status != 200 || !bytes.Equal(body, []byte("bye a")) {
		t.Fatalf("close: %d %q %v", status, body, err)
	}
	// The next request dials again.
	buf = get(buf, addr, "/x", "")
	if status, _, err := c.do(buf); err != nil || status != 200 {
		t.Fatalf("after close: %d %v", status, err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1:80", "http://example.com", "https://127.0.0.1:1", "ftp://127.0.0.1"} {
		if _, err := loopback(u); err == nil {
			t.Errorf("%s was accepted", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:9"} {
		if _, err := loopback(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestPercentilesAndTable(t *testing.T) {
	r := &recorder{}
	for i := 1; i <= 100; i++ {
		r.ok(time.Duration(i)*time.Millisecond, 2)
	}
	r.fail("boom")
	res := merged("steady", "load", time.Second, []*recorder{r})
	if res.P50 != 50*time.Millisecond || res.P99 != 99*time.Millisecond || res.Max != 100*time.Millisecond ||
		res.Events != 200 || res.Requests != 100 || res.Errors != 1 || res.EventsPerSec() != 200 {
		t.Fatalf("%+v", res)
	}
	var b strings.Builder
	Table(&b, "title", []Result{res})
	if out := b.String(); !strings.Contains(out, "200") || !strings.Contains(out, "50.00 ms") || !strings.Contains(out, "first error: boom") {
		t.Fatalf("table:\n%s", out)
	}
}

// The commit loop's table: the differences over the load, per second of it.
func TestLoopTable(t *testing.T) {
	u := LoopUse{Target: "steady (sqlite)", Load: "single", Wall: 2 * time.Second,
		Before: event.Stats{Transactions: 100, Events: 1000, Busy: time.Second, Failed: 1},
		After:  event.Stats{Transactions: 3100, Events: 25000, Busy: 2500 * time.Millisecond, Failed: 3}}
	var b strings.Builder
	LoopTable(&b, "loop", []LoopUse{u})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[3]), " ") != "steady (sqlite) single 1,500 8.0 75 % 2" {
		t.Fatalf("loop table:\n%s", b.String())
	}
}
