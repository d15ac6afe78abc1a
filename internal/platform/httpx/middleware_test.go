package httpx_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/platform/obs"
)

// Quiet requests (event ingest) are logged only when they fail; every
// request gets a request id and is counted.
func TestObserveQuiet(t *testing.T) {
	var logs bytes.Buffer
	m := obs.NewMetrics("test")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /quiet", func(w http.ResponseWriter, r *http.Request) {
		httpx.Quiet(w)
		if r.URL.Query().Get("fail") != "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /loud", func(w http.ResponseWriter, r *http.Request) {})
	h := httpx.Observe(mux, obs.NewLogger(&logs, "info"), m, &obs.Tracing{})
	do := func(method, target string, hdr ...string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, target, nil)
		if len(hdr) == 2 {
			req.Header.Set(hdr[0], hdr[1])
		}
		h.ServeHTTP(rec, req)
		return rec
	}
	for range 3 {
		if rec := do("POST", "/quiet"); rec.Code != 202 || rec.Header().Get(httpx.RequestIDHeader) == "" {
			t.Fatalf("quiet: %d %v", rec.Code, rec.Header())
		}
	}
	if logs.Len() != 0 {
		t.Fatalf("successful quiet requests were logged: %s", logs.String())
	}
	do("POST", "/quiet?fail=1")
	if !strings.Contains(logs.String(), `"status":400`) {
		t.Fatalf("a failed quiet request was not logged: %s", logs.String())
	}
	logs.Reset()
	if rec := do("GET", "/loud", httpx.RequestIDHeader, "abc-123"); rec.Header().Get(httpx.RequestIDHeader) != "abc-123" {
		t.Fatalf("request id not kept: %v", rec.Header())
	}
	if rec := do("GET", "/loud", httpx.RequestIDHeader, "bad id!"); rec.Header().Get(httpx.RequestIDHeader) == "bad id!" {
		t.Fatal("a bad request id was kept")
	}
	if !strings.Contains(logs.String(), `"route":"GET /loud"`) {
		t.Fatalf("an ordinary request was not logged: %s", logs.String())
	}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := 0.0
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if mt.GetCounter() != nil && labels["route"] == "POST /quiet" && labels["code"] == "202" {
				counted += mt.GetCounter().GetValue()
			}
		}
	}
	if counted != 3 {
		t.Fatalf("counted %v quiet requests, want 3", counted)
	}
}
