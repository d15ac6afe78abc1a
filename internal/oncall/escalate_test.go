package oncall_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// receiver is a webhook endpoint on loopback that records what it accepts.
type receiver struct {
	*httptest.Server
	down     atomic.Bool
	mu       sync.Mutex
	accepted []delivered
	refused  int
}

type delivered struct {
	Key  string
	Body map[string]any
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down.Load() {
			r.refused++
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("webhook body is not JSON: %v", err)
		}
		r.accepted = append(r.accepted, delivered{Key: req.Header.Get("Idempotency-Key"), Body: body})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.accepted...)
}

// recipients lists who each accepted page went to, in order.
func (r *receiver) recipients() []string {
	var out []string
	for _, d := range r.got() {
		out = append(out, fmt.Sprint(d.Body["recipient"]))
	}
	return out
}

// waitFor waits until the receiver has accepted n deliveries.
func (r *receiver) waitFor(t *testing.T, n int) []delivered {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.got()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d deliveries, want %d: %v", len(got), n, r.recipients())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startManual starts a server whose escalation and delivery loops do not
// run: the tests drive them with pump, on the fake clock, so that what
// happens when is theirs to say (the loops themselves are exercised by the
// process-level acceptance test).
func startManual(t *testing.T, d db.Dialect) *testkit.Server {
	return testkit.Start(t, d, testkit.Options{Modify: func(o *app.Options) { o.ManualOnCall = true }})
}

// pump runs the due escalation steps and sends the due messages, as the
// server's own loops do every second.
func pump(t *testing.T, s *testkit.Server) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.App.Escalation.Tick(ctx); err != nil {
		t.Fatalf("tick: %v", err)
	}
	if _, err := s.App.Outbox.Deliver(ctx); err != nil {
		t.Fatalf("deliver: %v", err)
	}
}

type person struct {
	testkit.User
	Name string
}

// responder creates a responder whose only contact method is a webhook to r.
func responder(t *testing.T, s *testkit.Server, r *receiver, name string) person {
	t.Helper()
	u := s.NewUser(iam.RoleResponder)
	s.Do("PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), s.AdminToken, map[string]any{"name": name}).Want(200)
	var m struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", fmt.Sprintf("/api/v1/users/%d/contact-methods", u.ID), s.AdminToken,
		map[string]any{"kind": "webhook", "address": r.URL + "/" + name, "rate_limit": 1000}).Want(201).JSON(&m)
	s.Do("POST", fmt.Sprintf("/api/v1/users/%d/notification-rules", u.ID), s.AdminToken,
		map[string]any{"contact_method_id": m.ID, "delay_minutes": 0}).Want(201)
	return person{User: u, Name: name}
}

type level struct {
	delay   int
	targets []map[string]any
}

func user(p person) map[string]any { return map[string]any{"kind": "user", "id": p.ID} }

// policyFor creates an escalation policy and attaches it to a new service,
// which groups alerts by their component (each dedup key of trigger opens its
// own incident).
func policyFor(t *testing.T, s *testkit.Server, repeat int, levels ...level) testkit.Service {
	t.Helper()
	var ls []map[string]any
	for _, l := range levels {
		ls = append(ls, map[string]any{"delay_minutes": l.delay, "targets": l.targets})
	}
	var p struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", "/api/v1/escalation-policies", s.AdminToken, map[string]any{"name": "Policy " + t.Name(), "repeat": repeat,
		"levels": ls}).Want(201).JSON(&p)
	svc := s.NewService("Checkout " + fmt.Sprint(p.ID))
	s.Do("PATCH", fmt.Sprintf("/api/v1/services/%d", svc.ID), s.AdminToken, map[string]any{"escalation_policy_id": p.ID,
		"group_by": []string{"component"}}).Want(200)
	return svc
}

// trigger sends a PagerDuty event and returns the incident it opened.
func trigger(t *testing.T, s *testkit.Server, svc testkit.Service, dedup string) int64 {
	t.Helper()
	s.Do("POST", "/v2/enqueue", "", map[string]any{"routing_key": svc.Key, "event_action": "trigger", "dedup_key": dedup,
		"payload": map[string]any{"summary": "checkout is failing: " + dedup, "source": "web-1", "severity": "critical",
			"component": dedup}}).Want(202)
	var l struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	s.Do("GET", fmt.Sprintf("/api/v1/alerts?dedup_key=%s", dedup), s.AdminToken, nil).Want(200).JSON(&l)
	if len(l.Items) != 1 {
		t.Fatalf("alerts of %s: %+v", dedup, l.Items)
	}
	var a struct {
		IncidentID int64 `json:"incident_id"`
	}
	s.Do("GET", fmt.Sprintf("/api/v1/alerts/%d", l.Items[0].ID), s.AdminToken, nil).Want(200).JSON(&a)
	if a.IncidentID == 0 {
		t.Fatalf("alert %s opened no incident", dedup)
	}
	return a.IncidentID
}

func timeline(t *testing.T, s *testkit.Server, id int64) string {
	t.Helper()
	var es struct {
		Items []struct {
			Kind string `json:"kind"`
			Body string `json:"body"`
		} `json:"items"`
	}
	s.Do("GET", fmt.Sprintf("/api/v1/incidents/%d/timeline", id), s.AdminToken, nil).Want(200).JSON(&es)
	var b strings.Builder
	for _, e := range es.Items {
		fmt.Fprintf(&b, "%s: %s\n", e.Kind, e.Body)
	}
	return b.String()
}

// TestEscalationThreeLevelsAndRepeat: a full escalation through three
// levels (a user, a team, a user) and a repeat, stopped by an acknowledge.
func TestEscalationThreeLevelsAndRepeat(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := startManual(t, d)
		r := newReceiver(t)
		ann, bob, cat := responder(t, s, r, "ann"), responder(t, s, r, "bob"), responder(t, s, r, "cat")
		var team struct {
			ID int64 `json:"id"`
		}
		s.Do("POST", "/api/v1/teams", s.AdminToken, map[string]any{"name": "Payments"}).Want(201).JSON(&team)
		s.Do("POST", fmt.Sprintf("/api/v1/teams/%d/members", team.ID), s.AdminToken, map[string]any{"user_id": bob.ID}).Want(201)
		svc := policyFor(t, s, 1,
			level{5, []map[string]any{user(ann)}},
			level{10, []map[string]any{{"kind": "team", "id": team.ID}}},
			level{5, []map[string]any{user(cat)}})
		id := trigger(t, s, svc, "checkout-5xx")

		pump(t, s)
		r.waitFor(t, 1)
		steps := []struct {
			advance time.Duration
			want    []string
		}{
			{4 * time.Minute, []string{"ann"}}, // level 1 waits 5 minutes
			{time.Minute, []string{"ann", "bob"}},
			{9 * time.Minute, []string{"ann", "bob"}},
			{time.Minute, []string{"ann", "bob", "cat"}},
			{5 * time.Minute, []string{"ann", "bob", "cat", "ann"}}, // the repeat starts over
		}
		for i, st := range steps {
			s.Clock.Advance(st.advance)
			pump(t, s)
			r.waitFor(t, len(st.want))
			if got := r.recipients(); strings.Join(got, ",") != strings.Join(st.want, ",") {
				t.Fatalf("step %d: paged %v, want %v", i, got, st.want)
			}
		}
		// Bob acknowledges: nobody else is paged, ever.
		s.Do("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", id), bob.Token, nil).Want(200)
		for range 6 {
			s.Clock.Advance(10 * time.Minute)
			pump(t, s)
		}
		time.Sleep(100 * time.Millisecond)
		if got := r.recipients(); len(got) != 4 {
			t.Fatalf("paged after the acknowledge: %v", got)
		}
		keys := map[string]bool{}
		for _, d := range r.got() {
			if d.Key == "" || keys[d.Key] {
				t.Fatalf("idempotency key %q missing or repeated", d.Key)
			}
			keys[d.Key] = true
			if d.Body["incident"].(map[string]any)["id"] != float64(id) {
				t.Fatalf("a page about another incident: %v", d.Body)
			}
		}
		tl := timeline(t, s, id)
		for _, want := range []string{"Escalated to level 1", "Escalated to level 2", "Escalated to level 3", "(repeat 1)",
			"Notified ann by webhook", "acknowledged"} {
			if !strings.Contains(tl, want) {
				t.Errorf("the timeline lacks %q:\n%s", want, tl)
			}
		}
	})
}

// TestEscalationAcrossRestart: the server stops in the middle of an
// escalation; the next level is paged on time after the restart, and no
// level is paged twice.
func TestEscalationAcrossRestart(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := startManual(t, d)
		r := newReceiver(t)
		ann, bob := responder(t, s, r, "ann"), responder(t, s, r, "bob")
		svc := policyFor(t, s, 0, level{5, []map[string]any{user(ann)}}, level{5, []map[string]any{user(bob)}})
		id := trigger(t, s, svc, "disk-full")
		pump(t, s)
		r.waitFor(t, 1)

		s = s.Restart()
		s.Clock.Advance(3 * time.Minute) // down while level 1 waits
		pump(t, s)
		s = s.Restart()
		s.Clock.Advance(3 * time.Minute)
		pump(t, s)
		r.waitFor(t, 2)
		for range 3 {
			s.Clock.Advance(10 * time.Minute)
			pump(t, s)
		}
		time.Sleep(100 * time.Millisecond)
		if got := strings.Join(r.recipients(), ","); got != "ann,bob" {
			t.Fatalf("paged %s, want ann,bob once each", got)
		}
		if tl := timeline(t, s, id); !strings.Contains(tl, "exhausted") {
			t.Errorf("the timeline does not say the policy ran out:\n%s", tl)
		}
	})
}

// TestWebhookReceiverDown: the receiver refuses everything for ten
// simulated minutes; afterwards every page arrives, once per idempotency key.
func TestWebhookReceiverDown(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := startManual(t, d)
		r := newReceiver(t)
		ann := responder(t, s, r, "ann")
		svc := policyFor(t, s, 0, level{30, []map[string]any{user(ann)}})
		r.down.Store(true)
		const n = 12
		for i := range n {
			trigger(t, s, svc, fmt.Sprintf("storm-%d", i))
		}
		start := s.Clock.Now()
		for s.Clock.Now().Sub(start) < 10*time.Minute {
			pump(t, s)
			s.Clock.Advance(20 * time.Second)
		}
		if len(r.got()) != 0 {
			t.Fatal("the receiver was down and accepted something")
		}
		r.mu.Lock()
		refused := r.refused
		r.mu.Unlock()
		if refused < n {
			t.Fatalf("the receiver refused %d attempts, want at least one per page (%d)", refused, n)
		}
		r.down.Store(false)
		for s.Clock.Now().Sub(start) < 40*time.Minute && len(r.got()) < n {
			pump(t, s)
			s.Clock.Advance(30 * time.Second)
		}
		got := r.waitFor(t, n)
		time.Sleep(200 * time.Millisecond)
		got = r.got()
		seen := map[string]int{}
		for _, d := range got {
			seen[d.Key]++
		}
		if len(seen) != n || len(got) != n {
			t.Fatalf("got %d deliveries with %d keys, want %d once each: %v", len(got), len(seen), n, seen)
		}
		var l struct {
			Items []struct {
				Status   string `json:"status"`
				Attempts int    `json:"attempts"`
			} `json:"items"`
		}
		s.Do("GET", "/api/v1/outbox?limit=100", s.AdminToken, nil).Want(200).JSON(&l)
		for _, it := range l.Items {
			if it.Status != "delivered" || it.Attempts < 2 {
				t.Fatalf("outbox item %+v: want delivered after retries", it)
			}
		}
	})
}
