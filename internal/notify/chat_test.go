package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/notify"
)

func chatDelivery(t *testing.T, kind, channel, url string) notify.Delivery {
	t.Helper()
	data := notify.SampleData(kind)
	if kind == notify.MessagePage {
		data.Incident.Title = "Checkout <down> & out"
	}
	m, err := notify.RenderBuiltin(data)
	if err != nil {
		t.Fatal(err)
	}
	return notify.Delivery{Kind: channel, Address: url, IdempotencyKey: "k-" + kind, Message: m, Data: data}
}

// jsonPath walks a decoded JSON value: keys for objects, indexes for arrays.
func jsonPath(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no element %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

func TestSlackBody(t *testing.T) {
	rc := newReceiver(t, 200)
	rc.body = "ok"
	d := chatDelivery(t, notify.MessagePage, notify.KindSlack, rc.srv.URL)
	d.Headers = map[string]string{"X-Gateway-Key": "g1", "Content-Type": "text/plain"}
	if err := (&notify.Channels{}).Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	r := rc.requests()[0]
	if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Idempotency-Key") != "k-page" || r.Header.Get("X-Gateway-Key") != "g1" {
		t.Fatalf("headers %v", r.Header)
	}
	var body any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if jsonPath(t, body, "text") != d.Message.Subject {
		t.Fatalf("fallback text %v", jsonPath(t, body, "text"))
	}
	section := jsonPath(t, body, "blocks", 0)
	if jsonPath(t, section, "type") != "section" || jsonPath(t, section, "text", "type") != "mrkdwn" {
		t.Fatalf("first block %v", section)
	}
	head := jsonPath(t, section, "text", "text").(string)
	if !strings.Contains(head, "<"+d.Data.Incident.URL+"|INC-42: Checkout &lt;down&gt; &amp; out>") ||
		!strings.Contains(head, "*Priority:* P1") || !strings.Contains(head, "*Service:* checkout-api") {
		t.Fatalf("section text %q", head)
	}
	ctx := jsonPath(t, body, "blocks", 1)
	if jsonPath(t, ctx, "type") != "context" || !strings.Contains(jsonPath(t, ctx, "elements", 0, "text").(string), "level 1: on call in Primary") {
		t.Fatalf("context block %v", ctx)
	}
	actions := jsonPath(t, body, "blocks", 2)
	if jsonPath(t, actions, "type") != "actions" {
		t.Fatalf("actions block %v", actions)
	}
	want := [][2]string{{"Acknowledge", d.Data.AcknowledgeURL}, {"Resolve", d.Data.ResolveURL}, {"Open", d.Data.Incident.URL}}
	for i, w := range want {
		b := jsonPath(t, actions, "elements", i)
		if jsonPath(t, b, "type") != "button" || jsonPath(t, b, "text", "text") != w[0] || jsonPath(t, b, "url") != w[1] || jsonPath(t, b, "action_id") == "" {
			t.Fatalf("button %d: %v", i, b)
		}
	}

	// A summary lists the held pages.
	d = chatDelivery(t, notify.MessageSummary, notify.KindSlack, rc.srv.URL)
	sb, _ := json.Marshal(notify.SlackBody(d))
	if !strings.Contains(string(sb), "3 pages held back") || !strings.Contains(string(sb), "• INC-43: Disk almost full on db-1 (P3)") {
		t.Fatalf("summary %s", sb)
	}
}

func TestTeamsBody(t *testing.T) {
	rc := newReceiver(t, 202) // Workflows answer 202 Accepted
	d := chatDelivery(t, notify.MessagePage, notify.KindTeams, rc.srv.URL)
	if err := (&notify.Channels{}).Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	var body any
	if err := json.Unmarshal(rc.requests()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if jsonPath(t, body, "type") != "message" {
		t.Fatalf("type %v", jsonPath(t, body, "type"))
	}
	att := jsonPath(t, body, "attachments", 0)
	if jsonPath(t, att, "contentType") != "application/vnd.microsoft.card.adaptive" {
		t.Fatalf("attachment %v", att)
	}
	card := jsonPath(t, att, "content")
	if jsonPath(t, card, "type") != "AdaptiveCard" || jsonPath(t, card, "version") != "1.4" {
		t.Fatalf("card %v", card)
	}
	title := jsonPath(t, card, "body", 0)
	if jsonPath(t, title, "type") != "TextBlock" || jsonPath(t, title, "text") != "INC-42: Checkout <down> & out" {
		t.Fatalf("title %v", title)
	}
	var facts []any
	for _, b := range jsonPath(t, card, "body").([]any) {
		if jsonPath(t, b, "type") == "FactSet" {
			facts = jsonPath(t, b, "facts").([]any)
		}
	}
	if len(facts) < 4 || jsonPath(t, facts[0], "title") != "Priority" || jsonPath(t, facts[0], "value") != "P1" {
		t.Fatalf("facts %v", facts)
	}
	want := [][2]string{{"Acknowledge", d.Data.AcknowledgeURL}, {"Resolve", d.Data.ResolveURL}, {"Open", d.Data.Incident.URL}}
	for i, w := range want {
		a := jsonPath(t, card, "actions", i)
		if jsonPath(t, a, "type") != "Action.OpenUrl" || jsonPath(t, a, "title") != w[0] || jsonPath(t, a, "url") != w[1] {
			t.Fatalf("action %d: %v", i, a)
		}
	}

	// A refusal is classified like a webhook's.
	bad := newReceiver(t, 400)
	if err := (&notify.Channels{}).Send(context.Background(), chatDelivery(t, notify.MessageTest, notify.KindTeams, bad.srv.URL)); !notify.IsPermanent(err) {
		t.Fatalf("400: %v", err)
	}
	busy := newReceiver(t, 429, "Retry-After", "7")
	err := (&notify.Channels{}).Send(context.Background(), chatDelivery(t, notify.MessageTest, notify.KindSlack, busy.srv.URL))
	if after, ok := notify.RetryAfter(err); err == nil || notify.IsPermanent(err) || !ok || after.Seconds() != 7 {
		t.Fatalf("429: %v", err)
	}
}
