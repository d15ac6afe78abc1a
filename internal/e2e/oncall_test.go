package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/testkit"
	"github.com/steadyhq/steady/internal/testkit/smtpd"
)

// TestOnCallAcceptance pages people the way an operations team sets Steady
// up, against the real binary, a real SMTP server (STARTTLS and AUTH) and a
// webhook receiver on loopback:
//
//   - two teams; a weekly rotation of two people with an override that puts
//     a third person on call now; a two-level policy (the schedule, then the
//     team lead a minute later) on a service that groups by component; the
//     on-call person has no notification rules (so is emailed at their
//     account address), the lead has a webhook;
//   - an alert storm of 50 PagerDuty events over 10 components opens 10
//     incidents, and the on-call person gets one email for each, with
//     one-click links;
//   - one incident is acknowledged from its email's link: opening the link
//     (GET) changes nothing, the button (POST) acknowledges without signing in;
//   - the server is SIGKILLed after the level-1 emails went out and before
//     level 2 is due, and started again on the same data;
//   - level 2 pages the lead's webhook for every incident still
//     unacknowledged and never for the acknowledged one; each level-1 email
//     went out exactly once despite the kill; each webhook delivery carries a
//     valid signature and an Idempotency-Key seen exactly once.
//
// The binary runs on the real clock and the shortest escalation delay is a
// minute, so each dialect takes a little over a minute; they run in parallel.
func TestOnCallAcceptance(t *testing.T) {
	bin := steadyBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		onCallAcceptance(t, bin, t.TempDir(), "")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		onCallAcceptance(t, bin, "", testkit.NewPostgresURL(t))
	})
}

func onCallAcceptance(t *testing.T, bin, dataDir, database string) {
	const (
		components      = 10
		eventsPerComp   = 5
		smtpUser        = "steady-mailer"
		smtpPass        = "mailer-secret-1"
		carolEmail      = "carol@example.com"
		aliceEmail      = "alice@example.com"
		levelDelay      = time.Minute
		levelTwoTimeout = 150 * time.Second
	)
	incNumber := regexp.MustCompile(`\bINC-\d+\b`)
	started := time.Now()
	mail := smtpd.Start(t, smtpd.Options{TLS: "starttls", Username: smtpUser, Password: smtpPass})
	hook := newWebhookReceiver(t)

	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	publicURL := "http://" + addr
	opts := serverOptions{addr: addr, env: []string{
		"STEADY_PUBLIC_URL=" + publicURL,
		"STEADY_SMTP_HOST=" + mail.Host,
		"STEADY_SMTP_PORT=" + strconv.Itoa(mail.Port),
		"STEADY_SMTP_USERNAME=" + smtpUser,
		"STEADY_SMTP_PASSWORD=" + smtpPass,
		"STEADY_SMTP_FROM=Steady <steady@example.com>",
		"STEADY_SMTP_TLS=starttls",
		"STEADY_SMTP_INSECURE_SKIP_VERIFY=true",
	}}
	token := "stdy_e2e_admin_" + ids.Random(12)
	s := startServer(t, bin, dataDir, database, token, opts)
	cli := func(args ...string) string { t.Helper(); return runCLI(t, bin, s, args...) }

	// People and teams.
	alice := s.newUser("Alice Archer", aliceEmail, "responder")
	bob := s.newUser("Bob Baker", "bob@example.com", "responder")
	carol := s.newUser("Carol Cover", carolEmail, "responder")
	dave := s.newUser("Dave Lead", "dave@example.com", "responder")
	erin := s.newUser("Erin Edge", "erin@example.com", "responder")
	frank := s.newUser("Frank Field", "frank@example.com", "responder")
	var payments, platform struct {
		ID int64 `json:"id"`
	}
	mustJSON(t, cli("team", "create", "Payments", "--description", "Card payments", "-o", "json"), &payments)
	mustJSON(t, cli("team", "create", "Platform", "--description", "Shared infrastructure", "-o", "json"), &platform)
	for _, u := range []int64{alice, bob, carol} {
		cli("team", "member", "add", i64(payments.ID), i64(u))
	}
	cli("team", "member", "add", i64(payments.ID), i64(dave), "--lead")
	cli("team", "member", "add", i64(platform.ID), i64(erin), "--lead")
	cli("team", "member", "add", i64(platform.ID), i64(frank))
	var members struct {
		Items []teamMember `json:"items"`
	}
	s.call("GET", "/api/v1/teams/"+i64(payments.ID)+"/members", nil, &members, 200)
	if len(members.Items) != 4 || !slices.Contains(members.Items, teamMember{UserID: dave, TeamRole: "lead"}) {
		t.Fatalf("members of Payments: %+v", members.Items)
	}

	// Who is on call: a weekly rotation of Alice and Bob, and Carol over it now.
	dir := t.TempDir()
	schedFile := filepath.Join(dir, "primary.yaml")
	writeFile(t, schedFile, fmt.Sprintf(`name: Payments primary
time_zone: Europe/Berlin
team_id: %d
layers:
  - {name: Weekly, start: "2026-11-02T09:00", shift_unit: week, participants: [%d, %d]}
`, payments.ID, alice, bob))
	cli("schedule", "create", "--file", schedFile)
	now := time.Now().UTC()
	cli("override", "add", "--schedule", "Payments primary", "--user", carolEmail, "--replaces", aliceEmail,
		"--start", now.Add(-5*time.Minute).Format(time.RFC3339), "--end", now.Add(3*time.Hour).Format(time.RFC3339),
		"--note", "covering the storm")
	var onCall struct {
		Items []struct {
			ScheduleName string `json:"schedule_name"`
			Users        []struct {
				UserID     int64  `json:"user_id"`
				OverrideID *int64 `json:"override_id"`
			} `json:"users"`
		} `json:"items"`
	}
	carolOnCall := func(args ...string) (string, bool) {
		out := cli(append([]string{"oncall", "now", "-o", "json"}, args...)...)
		mustJSON(t, out, &onCall)
		oc := onCall.Items
		return out, len(oc) == 1 && oc[0].ScheduleName == "Payments primary" && len(oc[0].Users) == 1 &&
			oc[0].Users[0].UserID == carol && oc[0].Users[0].OverrideID != nil
	}
	if out, ok := carolOnCall(); !ok {
		t.Errorf("`steady oncall now` should show Carol (user %d) on call by her override:\n%s\nschedule:\n%s", carol, out,
			cli("schedule", "show", "Payments primary", "--days", "2"))
	}
	if out, ok := carolOnCall("--at", time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)); !ok {
		t.Fatalf("`steady oncall now --at` a whole second should show Carol (user %d) on call by her override:\n%s", carol, out)
	}

	// How it escalates: the schedule, then the team lead a minute later.
	cli("escalation-policy", "create", "--name", "Payments", "--description", "Card payments, around the clock",
		"--level", "1m:schedule=Payments primary", "--level", "1m:user=dave@example.com")
	var svc struct {
		ID int64 `json:"id"`
	}
	s.call("POST", "/api/v1/services", map[string]any{"name": "payments-api", "team_id": payments.ID,
		"criticality": "critical", "group_by": []string{"component"}}, &svc, 201)
	cli("service", "update", i64(svc.ID), "--escalation-policy", "Payments")
	var key struct {
		Key string `json:"key"`
	}
	s.call("POST", "/api/v1/services/"+i64(svc.ID)+"/integration-keys", map[string]any{"name": "pagerduty"}, &key, 201)
	var gotSvc struct {
		EscalationPolicyID *int64   `json:"escalation_policy_id"`
		GroupBy            []string `json:"group_by"`
	}
	s.call("GET", "/api/v1/services/"+i64(svc.ID), nil, &gotSvc, 200)
	if gotSvc.EscalationPolicyID == nil || !slices.Equal(gotSvc.GroupBy, []string{"component"}) {
		t.Fatalf("service after update: %+v", gotSvc)
	}

	// How each person is reached. Carol has no rules: her account address.
	// Dave: a signed webhook at once. Alice, not on call, has an email rule
	// and must get nothing.
	var created struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	mustJSON(t, cli("contact", "add", "--user", i64(dave), "--kind", "webhook", "--address", hook.srv.URL+"/steady",
		"--label", "pager", "--header", "Authorization=Bearer receiver-token", "-o", "json"), &created)
	if created.Secret == "" {
		t.Fatalf("creating a webhook method did not show its signing secret")
	}
	hook.setSecret(created.Secret)
	cli("notification-rule", "add", "--user", i64(dave), "--contact", i64(created.ID), "--delay", "0")
	var aliceMail struct {
		ID int64 `json:"id"`
	}
	mustJSON(t, cli("contact", "add", "--user", i64(alice), "--kind", "email", "--address", aliceEmail, "-o", "json"), &aliceMail)
	cli("notification-rule", "add", "--user", i64(alice), "--contact", i64(aliceMail.ID))
	var carolRules struct {
		Items []json.RawMessage `json:"items"`
	}
	s.call("GET", "/api/v1/users/"+i64(carol)+"/notification-rules", nil, &carolRules, 200)
	if len(carolRules.Items) != 0 {
		t.Fatalf("Carol should have no notification rules: %d", len(carolRules.Items))
	}
	t.Logf("set up in %s", time.Since(started).Round(time.Millisecond))

	// The storm: 50 PagerDuty events over 10 components, from 10 senders.
	stormAt := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, components*eventsPerComp)
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < components*eventsPerComp; i += 10 {
				comp := fmt.Sprintf("comp-%02d", i%components)
				body, _ := json.Marshal(map[string]any{"routing_key": key.Key, "event_action": "trigger",
					"dedup_key": fmt.Sprintf("%s-check-%d", comp, i/components),
					"payload": map[string]any{"summary": "Payments API errors on " + comp, "source": "host-" + strconv.Itoa(i),
						"severity": "critical", "component": comp}})
				resp, err := apiClient.Post(s.url+"/v2/enqueue", "application/json", bytes.NewReader(body))
				if err != nil {
					errc <- err
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					errc <- fmt.Errorf("event %d: %d %s", i, resp.StatusCode, b)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("PagerDuty event: %v", err)
	}

	// Ten incidents, one per component.
	var incs []incidentView
	waitFor(t, 30*time.Second, "ten incidents with all 50 alerts", func() bool {
		incs = s.incidents(svc.ID)
		n := 0
		for _, in := range incs {
			n += in.AlertCount
		}
		return len(incs) >= components && n == components*eventsPerComp
	})
	byNumber := map[string]incidentView{}
	groups := map[string]bool{}
	for _, in := range incs {
		byNumber["INC-"+i64(in.ID)] = in
		groups[in.GroupKey] = true
		if in.AlertCount != eventsPerComp || in.Status != "triggered" {
			t.Errorf("incident %d (%s): %d alerts, %s; want %d, triggered", in.ID, in.GroupKey, in.AlertCount, in.Status, eventsPerComp)
		}
	}
	if len(incs) != components || len(groups) != components {
		t.Fatalf("%d incidents in %d groups, want %d and %d: %+v", len(incs), len(groups), components, components, incs)
	}
	firstOpened := incs[0].CreatedAt
	for _, in := range incs {
		if in.CreatedAt.Before(firstOpened) {
			firstOpened = in.CreatedAt
		}
	}

	// Level 1: Carol gets one email per incident at her account address,
	// through STARTTLS and AUTH, each with one-click links.
	msgs := mail.WaitFor(components, 60*time.Second)
	if len(msgs) < components {
		t.Fatalf("%d emails after 60 s, want %d (one per incident):%s\n%s", len(msgs), components, describeMail(msgs), serverLog(s))
	}
	t.Logf("%d level-1 emails %s after the storm began", len(msgs), time.Since(stormAt).Round(time.Millisecond))
	var ackLink, ackNumber string
	mailErrors := 0
	mailErrorf := func(format string, args ...any) { t.Helper(); mailErrors++; t.Errorf(format, args...) }
	for _, m := range msgs {
		if m.ParseError != nil {
			mailErrorf("email %q does not parse: %v", m.Subject, m.ParseError)
		}
		if !slices.Equal(m.To, []string{carolEmail}) || !m.TLS || m.AuthUser != smtpUser {
			mailErrorf("email %q: to %v, TLS %v, AUTH %q; want Carol, over TLS, authenticated", m.Subject, m.To, m.TLS, m.AuthUser)
		}
		num := incNumber.FindString(m.Subject)
		if _, ok := byNumber[num]; !ok {
			mailErrorf("email %q names no incident of the storm", m.Subject)
			continue
		}
		ack, res := linksIn(m.Text, publicURL)
		if ack == "" || res == "" || ack == res {
			mailErrorf("email for %s lacks its acknowledge and resolve links in the text:\n%s", num, m.Text)
			continue
		}
		if !strings.Contains(m.HTML, html.EscapeString(ack)) || !strings.Contains(m.HTML, html.EscapeString(res)) {
			mailErrorf("email for %s: the HTML part lacks the one-click links", num)
		}
		if !strings.Contains(m.Text, publicURL+"/incidents/"+strings.TrimPrefix(num, "INC-")) {
			mailErrorf("email for %s lacks the incident's link", num)
		}
		if m.Header.Get("X-Steady-Idempotency-Key") == "" {
			mailErrorf("email for %s has no idempotency key", num)
		}
		if ackLink == "" {
			ackLink, ackNumber = ack, num
		}
	}
	if mailErrors > 0 {
		t.FailNow()
	}
	acked := byNumber[ackNumber]

	// Opening the link (a mail scanner, a preview) changes nothing.
	anonymous := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	before := s.incident(acked.ID)
	resp, err := anonymous.Get(ackLink)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Acknowledge "+ackNumber) {
		t.Fatalf("GET the acknowledge link: %d\n%s", resp.StatusCode, page)
	}
	if after := s.incident(acked.ID); after.Status != "triggered" || after.Version != before.Version {
		t.Fatalf("GET on the acknowledge link changed %s: %s v%d → %s v%d", ackNumber, before.Status, before.Version, after.Status, after.Version)
	}
	// The page's one button does it, without signing in and with no cookie.
	form := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindSubmatch(page)
	if form == nil {
		t.Fatalf("the link page has no form to acknowledge with:\n%s", page)
	}
	action := html.UnescapeString(string(form[1]))
	if !strings.HasPrefix(action, "http") {
		action = publicURL + action
	}
	if action != ackLink {
		t.Errorf("the form posts to %s, not to the link %s", action, ackLink)
	}
	resp, err = anonymous.Post(action, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	done, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST the acknowledge link: %d\n%s", resp.StatusCode, done)
	}
	if len(resp.Cookies()) > 0 {
		t.Errorf("using a one-click link set cookies: %v", resp.Cookies())
	}
	if got := s.incident(acked.ID); got.Status != "acknowledged" {
		t.Fatalf("%s is %s after its acknowledge link was used, want acknowledged", ackNumber, got.Status)
	}
	var linkEntry bool
	for _, e := range s.timeline(acked.ID) {
		if e.Kind == "acknowledged" && e.ActorName == carolEmail+" (one-click link)" {
			linkEntry = true
		}
	}
	if !linkEntry {
		t.Errorf("the timeline of %s does not say Carol acknowledged it by a one-click link: %+v", ackNumber, s.timeline(acked.ID))
	}

	// The level-1 emails are recorded as sent before the kill (a message
	// still being sent may go out again: the outbox is at least once).
	waitFor(t, 30*time.Second, "the level-1 emails recorded as delivered", func() bool {
		return s.outboxCount("delivered") == components && s.outboxCount("sending")+s.outboxCount("pending") == 0
	})

	// SIGKILL before level 2 is due, and start again on the same data.
	killedAfter := time.Since(firstOpened)
	s.kill()
	if killedAfter >= levelDelay {
		t.Logf("note: the machine is slow — the kill came %s after the first incident opened, when level 2 was already due", killedAfter.Round(time.Millisecond))
	} else {
		t.Logf("killed %s after the first incident opened (level 2 is due after %s)", killedAfter.Round(time.Millisecond), levelDelay)
	}
	restart := time.Now()
	s = startServer(t, bin, dataDir, database, token, opts)
	t.Logf("restarted in %s", time.Since(restart).Round(time.Millisecond))

	// Level 2: Dave's webhook receives one page for each incident still
	// unacknowledged, and none for the acknowledged one.
	var unacked []string
	for num, in := range byNumber {
		if in.ID != acked.ID {
			unacked = append(unacked, num)
		}
	}
	sort.Strings(unacked)
	deadline := time.Now().Add(levelTwoTimeout)
	for {
		got := hook.levelTwoNumbers()
		if len(got) >= len(unacked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("level 2 paged the lead for %v after %s, want %v\n%s", got, levelTwoTimeout, unacked, serverLog(s))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("level 2 reached the webhook %s after the first incident opened", time.Since(firstOpened).Round(time.Millisecond))
	// Let anything that would be sent twice arrive before counting.
	time.Sleep(5 * time.Second)

	// Exactly once, despite the kill.
	deliveries := hook.all()
	seen := map[string]int{}
	levelTwo := map[string]int{}
	for _, d := range deliveries {
		seen[d.key]++
		if d.err != "" {
			t.Errorf("webhook delivery %s: %s", d.key, d.err)
			continue
		}
		b := d.body
		if b.Event != "incident.page" || b.Incident == nil || b.Level != 2 || b.Recipient != "Dave Lead" {
			t.Errorf("webhook delivery %s: event %s, level %d, recipient %q, incident %v; want a level-2 page of Dave",
				d.key, b.Event, b.Level, b.Recipient, b.Incident)
			continue
		}
		if b.IdempotencyKey != d.key {
			t.Errorf("webhook delivery: Idempotency-Key %q but idempotency_key %q in the body", d.key, b.IdempotencyKey)
		}
		if d.auth != "Bearer receiver-token" {
			t.Errorf("webhook delivery %s: the method's Authorization header is %q", d.key, d.auth)
		}
		if !strings.HasPrefix(b.Links.Acknowledge, publicURL+"/l/") || !strings.HasPrefix(b.Links.Resolve, publicURL+"/l/") {
			t.Errorf("webhook delivery %s: links %+v are not made from %s", d.key, b.Links, publicURL)
		}
		levelTwo[b.Incident.Number]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("webhook Idempotency-Key %s arrived %d times, want exactly once", k, n)
		}
	}
	if levelTwo[ackNumber] > 0 {
		t.Errorf("the acknowledged incident %s reached level 2 (%d webhook pages)", ackNumber, levelTwo[ackNumber])
	}
	for _, num := range unacked {
		if levelTwo[num] != 1 {
			t.Errorf("%s: %d level-2 pages to the lead, want exactly 1", num, levelTwo[num])
		}
	}
	if len(deliveries) != len(unacked) {
		t.Errorf("%d webhook deliveries, want %d (one level-2 page per unacknowledged incident)", len(deliveries), len(unacked))
	}
	// The acknowledged incident's escalation stopped at level 1.
	for _, e := range s.timeline(acked.ID) {
		if e.Kind == "escalated" && strings.Contains(e.Body, "level 2") {
			t.Errorf("the timeline of the acknowledged %s escalated to level 2: %s", ackNumber, e.Body)
		}
	}

	// Every incident's level-1 email went out exactly once; nobody else was emailed.
	msgs = mail.Messages()
	perIncident := map[string]int{}
	for _, m := range msgs {
		if !slices.Equal(m.To, []string{carolEmail}) {
			t.Errorf("an email went to %v (%q): only Carol, on call by her override, should be emailed", m.To, m.Subject)
			continue
		}
		perIncident[incNumber.FindString(m.Subject)]++
	}
	for num := range byNumber {
		if perIncident[num] != 1 {
			t.Errorf("%s: %d level-1 emails to Carol, want exactly 1", num, perIncident[num])
		}
	}
	if len(msgs) != components {
		t.Errorf("%d emails in all, want %d:%s", len(msgs), components, describeMail(msgs))
	}
	if n := s.outboxCount("failed"); n != 0 {
		t.Errorf("%d messages are dead letters", n)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", serverLog(s))
	}
	t.Logf("%s done in %s", dialectName(database), time.Since(started).Round(time.Second))
}

func dialectName(database string) string {
	if database == "" {
		return "sqlite"
	}
	return "postgres"
}

// runCLI runs the steady binary as a client of s and returns its standard
// output; a non-zero exit fails the test.
func runCLI(t *testing.T, bin string, s *server, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "STEADY_CONFIG=", "STEADY_SERVER="+s.url, "STEADY_TOKEN="+s.token)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("steady %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func mustJSON(t *testing.T, s string, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), out); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func serverLog(s *server) string {
	if l, ok := s.cmd.Stdout.(*lockedBuffer); ok {
		return l.String()
	}
	return ""
}

func describeMail(msgs []smtpd.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "\n  to %v: %s", m.To, m.Subject)
	}
	return b.String()
}

// linksIn finds the acknowledge and resolve links in an email's text.
func linksIn(text, base string) (ack, res string) {
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		if !ok || !strings.HasPrefix(v, base+"/l/") {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Acknowledge":
			ack = v
		case "Resolve":
			res = v
		}
	}
	return ack, res
}

func (s *server) newUser(name, email, role string) int64 {
	s.t.Helper()
	var u struct {
		ID int64 `json:"id"`
	}
	s.call("POST", "/api/v1/users", map[string]any{"email": email, "name": name, "role": role}, &u, 201)
	return u.ID
}

type teamMember struct {
	UserID   int64  `json:"user_id"`
	TeamRole string `json:"team_role"`
}

type incidentView struct {
	ID         int64     `json:"id"`
	Status     string    `json:"status"`
	GroupKey   string    `json:"group_key"`
	AlertCount int       `json:"alert_count"`
	Version    int64     `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
}

func (s *server) incidents(service int64) []incidentView {
	s.t.Helper()
	var l struct {
		Items []incidentView `json:"items"`
	}
	s.call("GET", "/api/v1/incidents?limit=1000&service="+i64(service), nil, &l, 200)
	return l.Items
}

func (s *server) incident(id int64) incidentView {
	s.t.Helper()
	var in incidentView
	s.call("GET", "/api/v1/incidents/"+i64(id), nil, &in, 200)
	return in
}

type timelineEntry struct {
	Kind      string `json:"kind"`
	ActorName string `json:"actor_name"`
	Body      string `json:"body"`
}

func (s *server) timeline(id int64) []timelineEntry {
	s.t.Helper()
	var l struct {
		Items []timelineEntry `json:"items"`
	}
	s.call("GET", "/api/v1/incidents/"+i64(id)+"/timeline", nil, &l, 200)
	return l.Items
}

func (s *server) outboxCount(status string) int {
	s.t.Helper()
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	s.call("GET", "/api/v1/outbox?limit=1000&status="+status, nil, &l, 200)
	return len(l.Items)
}

// webhookReceiver is a receiver as its documentation tells one to be
// written: it checks the timestamp and the signature of every request and
// records its Idempotency-Key and body.
type webhookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []delivery
}

type delivery struct {
	key  string
	auth string
	body hookBody
	err  string // why the request was refused
}

type hookBody struct {
	Event          string `json:"event"`
	IdempotencyKey string `json:"idempotency_key"`
	Recipient      string `json:"recipient"`
	Level          int    `json:"level"`
	Incident       *struct {
		ID     int64  `json:"id"`
		Number string `json:"number"`
	} `json:"incident"`
	Links struct {
		Acknowledge string `json:"acknowledge"`
		Resolve     string `json:"resolve"`
	} `json:"links"`
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	h := &webhookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		d := delivery{key: r.Header.Get("Idempotency-Key"), auth: r.Header.Get("Authorization")}
		h.mu.Lock()
		secret := h.secret
		h.mu.Unlock()
		ts := r.Header.Get("X-Steady-Timestamp")
		sec, perr := strconv.ParseInt(ts, 10, 64)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		want := "v1=" + hex.EncodeToString(mac.Sum(nil))
		switch {
		case r.Method != http.MethodPost:
			d.err = "method " + r.Method
		case d.key == "":
			d.err = "no Idempotency-Key"
		case perr != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute:
			d.err = "stale or missing X-Steady-Timestamp " + strconv.Quote(ts)
		case secret == "" || !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Steady-Signature"))):
			d.err = "the X-Steady-Signature does not verify"
		default:
			if err := json.Unmarshal(body, &d.body); err != nil {
				d.err = "body: " + err.Error()
			}
		}
		h.mu.Lock()
		h.got = append(h.got, d)
		h.mu.Unlock()
		if d.err != "" {
			http.Error(w, d.err, http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *webhookReceiver) setSecret(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret = s
}

func (h *webhookReceiver) all() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// levelTwoNumbers lists the incidents of the accepted level-2 pages.
func (h *webhookReceiver) levelTwoNumbers() []string {
	var out []string
	for _, d := range h.all() {
		if d.err == "" && d.body.Level == 2 && d.body.Incident != nil && !slices.Contains(out, d.body.Incident.Number) {
			out = append(out, d.body.Incident.Number)
		}
	}
	sort.Strings(out)
	return out
}
