package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/platform/clock"
)

// received is one request a test receiver got.
type received struct {
	Method string
	Header http.Header
	Body   []byte
}

// receiver answers with status (and headers) and records what it got.
type receiver struct {
	mu   sync.Mutex
	got  []received
	srv  *httptest.Server
	code int
	hdr  map[string]string
	body string
}

func newReceiver(t *testing.T, code int, hdr ...string) *receiver {
	r := &receiver{code: code, hdr: map[string]string{}}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.hdr[hdr[i]] = hdr[i+1]
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{Method: req.Method, Header: req.Header.Clone(), Body: b})
		r.mu.Unlock()
		for k, v := range r.hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(r.code)
		io.WriteString(w, r.body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func webhookDelivery(t *testing.T, url string) notify.Delivery {
	t.Helper()
	data := notify.SampleData(notify.MessagePage)
	m, err := notify.RenderBuiltin(data)
	if err != nil {
		t.Fatal(err)
	}
	return notify.Delivery{Kind: notify.KindWebhook, Address: url, Secret: "whsec_test", IdempotencyKey: "page-42-7-1",
		Headers: map[string]string{"Authorization": "Bearer abc", "X-Team": "payments",
			"Content-Type": "text/plain", "X-Steady-Signature": "v1=forged", "Idempotency-Key": "other"},
		Message: m, Data: data}
}

func TestWebhookBodyAndSignature(t *testing.T) {
	rc := newReceiver(t, 204)
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	ch := &notify.Channels{Version: "1.4.0", Clock: clock.NewFake(now)}
	d := webhookDelivery(t, rc.srv.URL+"/hooks/steady")
	if err := ch.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" {
		t.Fatalf("requests: %v", reqs)
	}
	r := reqs[0]
	h := r.Header
	if h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != "Steady/1.4.0" ||
		h.Get("Idempotency-Key") != "page-42-7-1" || h.Get("X-Steady-Timestamp") != strconv.FormatInt(now.Unix(), 10) {
		t.Fatalf("headers: %v", h)
	}
	// The method's own headers arrive; the reserved ones it named do not replace Steady's.
	if h.Get("Authorization") != "Bearer abc" || h.Get("X-Team") != "payments" {
		t.Fatalf("custom headers: %v", h)
	}
	// The signature, checked as a receiver would.
	mac := hmac.New(sha256.New, []byte("whsec_test"))
	mac.Write([]byte(h.Get("X-Steady-Timestamp") + "." + string(r.Body)))
	if want := "v1=" + hex.EncodeToString(mac.Sum(nil)); h.Get("X-Steady-Signature") != want {
		t.Fatalf("signature %q, want %q", h.Get("X-Steady-Signature"), want)
	}
	if err := notify.VerifyWebhook("whsec_test", h.Get("X-Steady-Timestamp"), h.Get("X-Steady-Signature"), r.Body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		secret string
		body   []byte
		at     time.Time
	}{{"other", r.Body, now}, {"whsec_test", append([]byte(" "), r.Body...), now}, {"whsec_test", r.Body, now.Add(time.Hour)}} {
		if notify.VerifyWebhook(bad.secret, h.Get("X-Steady-Timestamp"), h.Get("X-Steady-Signature"), bad.body, bad.at, 5*time.Minute) == nil {
			t.Errorf("a bad delivery verifies: %+v", bad)
		}
	}

	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	keys := []string{"event", "idempotency_key", "sent_at", "recipient", "incident", "level", "reason", "links", "message", "held"}
	if len(body) != len(keys) {
		t.Fatalf("body fields: %v", body)
	}
	for _, k := range keys {
		if _, ok := body[k]; !ok {
			t.Fatalf("no %q in %s", k, r.Body)
		}
	}
	inc := body["incident"].(map[string]any)
	links := body["links"].(map[string]any)
	msg := body["message"].(map[string]any)
	if body["event"] != "incident.page" || body["idempotency_key"] != "page-42-7-1" || body["sent_at"] != "2026-11-21T10:00:00Z" ||
		body["recipient"] != "Ada Lovelace" || body["level"] != float64(1) || body["reason"] != d.Data.Reason ||
		inc["id"] != float64(42) || inc["number"] != "INC-42" || inc["priority"] != "P1" || inc["service"] != "checkout-api" ||
		links["acknowledge"] != d.Data.AcknowledgeURL || links["resolve"] != d.Data.ResolveURL || links["incident"] != d.Data.Incident.URL ||
		msg["subject"] != d.Message.Subject || msg["text"] != d.Message.Text || len(body["held"].([]any)) != 0 {
		t.Fatalf("body: %s", r.Body)
	}

	// Without a secret there is no signature; a test names its event.
	d.Secret, d.Data = "", notify.SampleData(notify.MessageTest)
	if err := ch.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	r = rc.requests()[1]
	if r.Header.Get("X-Steady-Signature") != "" {
		t.Fatalf("signed without a secret: %v", r.Header)
	}
	var tb notify.WebhookBody
	if err := json.Unmarshal(r.Body, &tb); err != nil || tb.Event != "notification.test" || tb.Incident != nil || tb.Held == nil {
		t.Fatalf("test body %s: %v", r.Body, err)
	}

	// A summary lists the held pages.
	d.Data = notify.SampleData(notify.MessageSummary)
	if err := ch.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rc.requests()[2].Body, &tb); err != nil || tb.Event != "notification.summary" || len(tb.Held) != 3 || tb.Held[1].Number != "INC-43" {
		t.Fatalf("summary body: %+v %v", tb, err)
	}
}

func TestWebhookAnswers(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		code      int
		hdr       []string
		permanent bool
		retry     time.Duration // 0: no Retry-After
	}{
		{200, nil, false, 0},
		{202, nil, false, 0},
		{400, nil, true, 0},
		{401, nil, true, 0},
		{404, nil, true, 0},
		{410, nil, true, 0},
		{408, nil, false, 0},
		{425, nil, false, 0},
		{429, []string{"Retry-After", "120"}, false, 2 * time.Minute},
		{429, []string{"Retry-After", now.Add(90 * time.Second).Format(http.TimeFormat)}, false, 90 * time.Second},
		{429, []string{"Retry-After", "soon"}, false, 0},
		{500, nil, false, 0},
		{502, nil, false, 0},
		{503, []string{"Retry-After", "30"}, false, 30 * time.Second},
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.code), func(t *testing.T) {
			rc := newReceiver(t, c.code, c.hdr...)
			rc.body = "receiver says " + strconv.Itoa(c.code) + strings.Repeat(" and more", 500)
			ch := &notify.Channels{Clock: clock.NewFake(now)}
			err := ch.Send(context.Background(), webhookDelivery(t, rc.srv.URL))
			if c.code < 300 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || notify.IsPermanent(err) != c.permanent {
				t.Fatalf("error %v; permanent %v, want %v", err, notify.IsPermanent(err), c.permanent)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(c.code)) || !strings.Contains(err.Error(), "receiver says") || len(err.Error()) > 400 {
				t.Fatalf("error text %q", err)
			}
			after, ok := notify.RetryAfter(err)
			if ok != (c.retry != 0) || after != c.retry {
				t.Fatalf("RetryAfter %v %v, want %v", after, ok, c.retry)
			}
		})
	}
}

func TestWebhookTransportErrors(t *testing.T) {
	ctx := context.Background()
	// Connection refused: temporary.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	ch := &notify.Channels{}
	if err := ch.Send(ctx, webhookDelivery(t, "http://"+addr+"/")); err == nil || notify.IsPermanent(err) {
		t.Fatalf("refused: %v", err)
	}
	// A receiver slower than the client's timeout: temporary.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(500 * time.Millisecond) }))
	defer slow.Close()
	ch = &notify.Channels{HTTP: &http.Client{Timeout: 100 * time.Millisecond}}
	if err := ch.Send(ctx, webhookDelivery(t, slow.URL)); err == nil || notify.IsPermanent(err) {
		t.Fatalf("timeout: %v", err)
	}
	// Not a URL, or not http(s): permanent.
	for _, u := range []string{"", "ftp://example.com/x", "not a url", "http:///nohost"} {
		if err := ch.Send(ctx, webhookDelivery(t, u)); !notify.IsPermanent(err) {
			t.Fatalf("%q: %v", u, err)
		}
	}
	// An unknown channel: permanent.
	if err := ch.Send(ctx, notify.Delivery{Kind: "pigeon"}); !notify.IsPermanent(err) {
		t.Fatalf("unknown kind: %v", err)
	}
}

func TestWebhookRedirects(t *testing.T) {
	ctx := context.Background()
	final := newReceiver(t, 200)
	// The same host: 307 is followed with the body; 302 (which would turn
	// the POST into a GET) is not.
	same := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/307":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/302":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/away":
			http.Redirect(w, r, final.srv.URL+"/stolen", http.StatusTemporaryRedirect)
		case "/final":
			b, _ := io.ReadAll(r.Body)
			if r.Method != "POST" || len(b) == 0 {
				w.WriteHeader(400)
				return
			}
			w.WriteHeader(200)
		}
	}))
	defer same.Close()
	ch := &notify.Channels{}
	if err := ch.Send(ctx, webhookDelivery(t, same.URL+"/307")); err != nil {
		t.Fatalf("307 on the same host: %v", err)
	}
	if err := ch.Send(ctx, webhookDelivery(t, same.URL+"/302")); err == nil || !notify.IsPermanent(err) {
		t.Fatalf("302: %v", err)
	}
	// Another host (another port of 127.0.0.1 is another host): not followed.
	if err := ch.Send(ctx, webhookDelivery(t, same.URL+"/away")); err == nil || !notify.IsPermanent(err) {
		t.Fatalf("redirect away: %v", err)
	}
	if len(final.requests()) != 0 {
		t.Fatal("the redirect to another host was followed")
	}
}

func TestCheckHeader(t *testing.T) {
	for _, ok := range [][2]string{{"Authorization", "Bearer x"}, {"X-Api-Key", "k"}, {"User-Agent", "mine"}} {
		if err := notify.CheckHeader(ok[0], ok[1]); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	for _, bad := range [][2]string{{"", "x"}, {"Bad Name", "x"}, {"X-A", "two\r\nlines"}, {"content-type", "x"},
		{"X-Steady-Signature", "x"}, {"idempotency-key", "x"}, {"X-Steady-Timestamp", "1"}, {"x-steady-anything", "1"}, {"Host", "evil"}, {"Transfer-Encoding", "chunked"}} {
		if err := notify.CheckHeader(bad[0], bad[1]); err == nil {
			t.Errorf("%q: %q accepted", bad[0], bad[1])
		}
	}
}
