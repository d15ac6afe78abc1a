package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Chat messages: a Slack-compatible incoming webhook (Slack, Mattermost,
// Rocket.Chat) gets Block Kit; a Microsoft Teams Workflows webhook gets an
// Adaptive Card. Both carry the one-click links as URL buttons.

// maxHeldShown is how many held pages a chat summary lists by name.
const maxHeldShown = 20

// chatButton is a button that opens a URL.
type chatButton struct {
	Label, URL, Style string
}

// chatView is what both chat formats show.
type chatView struct {
	Title    string       // one line, bold
	TitleURL string       // where the title links
	Facts    [][2]string  // label, value
	Lines    []string     // body lines (held pages of a summary, a test's text)
	Note     string       // small print: who is paged and why
	Buttons  []chatButton // one-click actions
	Fallback string       // plain text for notifications
}

func newChatView(d Delivery) chatView {
	md := d.Data
	v := chatView{Fallback: oneLine(d.Message.Subject, 300)}
	if v.Fallback == "" {
		v.Fallback = oneLine(d.Message.Text, 300)
	}
	switch md.Kind {
	case MessageSummary:
		n := len(md.Held)
		v.Title = fmt.Sprintf("%d %s held back by your rate limit", n, plural(n, "page", "pages"))
		v.TitleURL = md.BaseURL
		for i, h := range md.Held {
			if i == maxHeldShown {
				v.Lines = append(v.Lines, fmt.Sprintf("… and %d more", n-maxHeldShown))
				break
			}
			v.Lines = append(v.Lines, heldLine(h))
		}
		v.Note = "Sent to " + md.Recipient
		if md.BaseURL != "" {
			v.Buttons = append(v.Buttons, chatButton{Label: "Open Steady", URL: md.BaseURL})
		}
	case MessageTest:
		v.Title = oneLine(d.Message.Subject, 150)
		if v.Title == "" {
			v.Title = "Test message from Steady"
		}
		v.TitleURL = md.BaseURL
		if t := strings.TrimSpace(d.Message.Text); t != "" {
			v.Lines = strings.Split(truncate(t, 2000), "\n")
		}
		v.Note = "Sent to " + md.Recipient
	default:
		inc := md.Incident
		v.Title = oneLine(incidentName(inc), 150)
		v.TitleURL = inc.URL
		for _, f := range [][2]string{{"Priority", inc.Priority}, {"Severity", inc.Severity}, {"Service", inc.Service}, {"Status", inc.Status}} {
			if f[1] != "" {
				v.Facts = append(v.Facts, f)
			}
		}
		if md.Level > 0 {
			v.Facts = append(v.Facts, [2]string{"Escalation level", fmt.Sprint(md.Level)})
		}
		v.Note = "Paging " + md.Recipient
		if md.Reason != "" {
			v.Note += ": " + md.Reason
		}
		if md.AcknowledgeURL != "" {
			v.Buttons = append(v.Buttons, chatButton{Label: "Acknowledge", URL: md.AcknowledgeURL, Style: "primary"})
		}
		if md.ResolveURL != "" {
			v.Buttons = append(v.Buttons, chatButton{Label: "Resolve", URL: md.ResolveURL, Style: "danger"})
		}
		if inc.URL != "" {
			v.Buttons = append(v.Buttons, chatButton{Label: "Open", URL: inc.URL})
		}
	}
	return v
}

func incidentName(inc IncidentInfo) string {
	if inc.Number != "" {
		return inc.Number + ": " + inc.Title
	}
	return inc.Title
}

func heldLine(h IncidentInfo) string {
	s := incidentName(h)
	if h.Priority != "" {
		s += " (" + h.Priority + ")"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// slackEscape escapes text for Slack's mrkdwn.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func slackLink(url, text string) string {
	if url == "" {
		return slackEscape(text)
	}
	return "<" + slackEscape(url) + "|" + strings.ReplaceAll(slackEscape(text), "|", "¦") + ">"
}

// SlackBody is the body of a Slack-compatible incoming webhook for d.
func SlackBody(d Delivery) map[string]any {
	v := newChatView(d)
	head := "*" + slackLink(v.TitleURL, v.Title) + "*"
	var facts []string
	for _, f := range v.Facts {
		facts = append(facts, "*"+f[0]+":* "+slackEscape(f[1]))
	}
	if len(facts) > 0 {
		head += "\n" + strings.Join(facts, "   ")
	}
	blocks := []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(head, 3000)}}}
	if len(v.Lines) > 0 {
		var b strings.Builder
		for _, l := range v.Lines {
			if d.Data.Kind == MessageSummary && !strings.HasPrefix(l, "…") {
				b.WriteString("• ")
			}
			b.WriteString(slackEscape(l))
			b.WriteString("\n")
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(strings.TrimSpace(b.String()), 3000)}})
	}
	if v.Note != "" {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{
			map[string]any{"type": "mrkdwn", "text": truncate(slackEscape(v.Note), 3000)}}})
	}
	if len(v.Buttons) > 0 {
		var els []any
		for i, b := range v.Buttons {
			el := map[string]any{"type": "button", "action_id": fmt.Sprintf("steady-%d-%s", i, strings.ToLower(b.Label)),
				"text": map[string]any{"type": "plain_text", "text": b.Label}, "url": b.URL}
			if b.Style != "" {
				el["style"] = b.Style
			}
			els = append(els, el)
		}
		blocks = append(blocks, map[string]any{"type": "actions", "elements": els})
	}
	return map[string]any{"text": v.Fallback, "blocks": blocks}
}

// TeamsBody is the body of a Microsoft Teams Workflows webhook for d: a
// message with one Adaptive Card 1.4.
func TeamsBody(d Delivery) map[string]any {
	v := newChatView(d)
	body := []any{map[string]any{"type": "TextBlock", "text": v.Title, "size": "Large", "weight": "Bolder", "wrap": true}}
	if v.Note != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": v.Note, "isSubtle": true, "wrap": true, "spacing": "None"})
	}
	if len(v.Facts) > 0 {
		var facts []any
		for _, f := range v.Facts {
			facts = append(facts, map[string]any{"title": f[0], "value": f[1]})
		}
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	if len(v.Lines) > 0 {
		prefix := ""
		if d.Data.Kind == MessageSummary {
			prefix = "- "
		}
		var b strings.Builder
		for _, l := range v.Lines {
			if strings.HasPrefix(l, "…") {
				b.WriteString(l + "\n")
				continue
			}
			b.WriteString(prefix + l + "\n")
		}
		body = append(body, map[string]any{"type": "TextBlock", "text": strings.TrimSpace(b.String()), "wrap": true})
	}
	var actions []any
	for _, b := range v.Buttons {
		a := map[string]any{"type": "Action.OpenUrl", "title": b.Label, "url": b.URL}
		switch b.Style {
		case "primary":
			a["style"] = "positive"
		case "danger":
			a["style"] = "destructive"
		}
		actions = append(actions, a)
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
		"msteams": map[string]any{"width": "Full"},
	}
	if len(actions) > 0 {
		card["actions"] = actions
	}
	if v.TitleURL != "" {
		card["selectAction"] = map[string]any{"type": "Action.OpenUrl", "url": v.TitleURL}
	}
	return map[string]any{"type": "message", "attachments": []any{map[string]any{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}}
}

func (c *Channels) sendChat(ctx context.Context, what string, d Delivery, payload map[string]any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return Permanent(err)
	}
	return c.post(ctx, what, d, body, customHeaders(d))
}

func (c *Channels) sendSlack(ctx context.Context, d Delivery) error {
	return c.sendChat(ctx, "slack webhook", d, SlackBody(d))
}

func (c *Channels) sendTeams(ctx context.Context, d Delivery) error {
	return c.sendChat(ctx, "teams webhook", d, TeamsBody(d))
}
