package incident

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Report is a post-incident review drafted from the record: what happened,
// to what, for how long, and what is left to do.
type Report struct {
	Incident    Incident
	ServiceName string
	TeamName    string
	Assignee    string
	Duration    time.Duration // open → resolved (or now, while open)
	TimeToAck   time.Duration // 0 when never acknowledged
	Timeline    []Entry
	Actions     []Entry // notes: what people did
	FollowUps   []Entry // notes that start with "follow-up:" or "todo:"
	Related     []Incident
	GeneratedAt time.Time
}

// IsFollowUp reports whether a note asks for work after the incident.
func IsFollowUp(note string) bool {
	l := strings.ToLower(strings.TrimSpace(note))
	return strings.HasPrefix(l, "follow-up:") || strings.HasPrefix(l, "followup:") || strings.HasPrefix(l, "todo:")
}

// Report drafts the review of an incident.
func (m *Manager) Report(ctx context.Context, id int64) (Report, error) {
	in, err := m.Get(ctx, id)
	if err != nil {
		return Report{}, err
	}
	r := Report{Incident: in, GeneratedAt: m.Clock.Now().UTC()}
	name := func(q string, id *int64) string {
		if id == nil {
			return ""
		}
		var s string
		_ = m.DB.R.QueryRowContext(ctx, q, *id).Scan(&s)
		return s
	}
	r.ServiceName = name("SELECT name FROM services WHERE id = $1", in.ServiceID)
	r.TeamName = name("SELECT name FROM teams WHERE id = $1", in.TeamID)
	r.Assignee = name("SELECT name FROM users WHERE id = $1", in.AssigneeID)
	end := r.GeneratedAt
	if in.ResolvedAt != nil {
		end = *in.ResolvedAt
	}
	r.Duration = end.Sub(in.CreatedAt)
	if in.AcknowledgedAt != nil {
		r.TimeToAck = in.AcknowledgedAt.Sub(in.CreatedAt)
	}
	if r.Timeline, err = m.Timeline(ctx, id); err != nil {
		return Report{}, err
	}
	for _, e := range r.Timeline {
		if e.Kind != "note" {
			continue
		}
		if IsFollowUp(e.Body) {
			r.FollowUps = append(r.FollowUps, e)
		} else {
			r.Actions = append(r.Actions, e)
		}
	}
	if r.Related, err = m.Related(ctx, id); err != nil {
		return Report{}, err
	}
	return r, nil
}

// Human renders a duration for people: "2h 5m", "45s".
func Human(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	h, mnt := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h >= 24:
		return fmt.Sprintf("%dd %dh %dm", h/24, h%24, mnt)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, mnt)
	}
	return fmt.Sprintf("%dm %ds", mnt, int(d.Seconds())%60)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// mdEscape keeps user text from turning into Markdown structure.
var mdEscape = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "#", `\#`, "|", `\|`, "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`)

func md(s string) string { return mdEscape.Replace(strings.ReplaceAll(s, "\n", " ")) }

// Markdown renders the report as Markdown.
func (r Report) Markdown() string {
	in := r.Incident
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("# %s: %s\n\n", in.Number, md(in.Title))
	w("## Summary\n\n")
	w("| | |\n|---|---|\n")
	w("| Status | %s |\n| Priority | %s (impact %d, urgency %d) |\n| Severity | %s |\n", in.Status, in.Priority, in.Impact, in.Urgency, in.Severity)
	if r.ServiceName != "" {
		w("| Service | %s |\n", md(r.ServiceName))
	}
	if r.TeamName != "" {
		w("| Team | %s |\n", md(r.TeamName))
	}
	if r.Assignee != "" {
		w("| Assignee | %s |\n", md(r.Assignee))
	}
	w("| Opened | %s |\n", stamp(in.CreatedAt))
	if in.AcknowledgedAt != nil {
		w("| Acknowledged | %s (after %s) |\n", stamp(*in.AcknowledgedAt), Human(r.TimeToAck))
	}
	if in.ResolvedAt != nil {
		w("| Resolved | %s |\n", stamp(*in.ResolvedAt))
	}
	dur := Human(r.Duration)
	if in.ResolvedAt == nil {
		dur += " so far (still open)"
	}
	w("| Duration | %s |\n", dur)
	if in.Major {
		w("| Major incident | yes |\n")
	}
	if len(in.Tags) > 0 {
		w("| Tags | %s |\n", md(strings.Join(in.Tags, ", ")))
	}
	w("\n## Impact\n\n")
	switch {
	case r.ServiceName != "" && in.AlertCount > 0:
		w("%d alert(s) on service %s; %d still open.\n", in.AlertCount, md(r.ServiceName), in.OpenAlertCount)
	case r.ServiceName != "":
		w("Service %s.\n", md(r.ServiceName))
	default:
		w("No service recorded.\n")
	}
	if in.Resolution != "" {
		w("\n## Resolution\n\n%s\n", md(in.Resolution))
	}
	w("\n## Timeline\n\n")
	for _, e := range r.Timeline {
		w("- %s — %s (%s)\n", stamp(e.At), md(e.Body), md(e.ActorName))
	}
	w("\n## Actions taken\n\n")
	if len(r.Actions) == 0 {
		w("No notes were recorded.\n")
	}
	for _, e := range r.Actions {
		w("- %s, %s: %s\n", stamp(e.At), md(e.ActorName), md(e.Body))
	}
	w("\n## Open follow-ups\n\n")
	if len(r.FollowUps) == 0 {
		w("None recorded (notes that start with \"follow-up:\" or \"todo:\" are listed here).\n")
	}
	for _, e := range r.FollowUps {
		w("- [ ] %s (%s)\n", md(e.Body), md(e.ActorName))
	}
	if len(r.Related) > 0 {
		w("\n## Related incidents\n\n")
		for _, rel := range r.Related {
			w("- %s: %s (%s)\n", rel.Number, md(rel.Title), rel.Status)
		}
	}
	w("\n_Drafted by Steady at %s from the incident record._\n", stamp(r.GeneratedAt))
	return b.String()
}

var reportHTML = template.Must(template.New("report").Funcs(template.FuncMap{
	"stamp": stamp, "human": Human,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Incident.Number}}: {{.Incident.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
table{border-collapse:collapse}th,td{text-align:left;padding:.25rem .75rem .25rem 0;vertical-align:top}
th{font-weight:600;color:#44505c}h2{margin-top:2rem;border-bottom:1px solid #d8dee4}li{margin:.25rem 0}</style></head>
<body><main>
<h1>{{.Incident.Number}}: {{.Incident.Title}}</h1>
<h2>Summary</h2>
<table>
<tr><th scope="row">Status</th><td>{{.Incident.Status}}</td></tr>
<tr><th scope="row">Priority</th><td>{{.Incident.Priority}} (impact {{.Incident.Impact}}, urgency {{.Incident.Urgency}})</td></tr>
<tr><th scope="row">Severity</th><td>{{.Incident.Severity}}</td></tr>
{{with .ServiceName}}<tr><th scope="row">Service</th><td>{{.}}</td></tr>{{end}}
{{with .TeamName}}<tr><th scope="row">Team</th><td>{{.}}</td></tr>{{end}}
{{with .Assignee}}<tr><th scope="row">Assignee</th><td>{{.}}</td></tr>{{end}}
<tr><th scope="row">Opened</th><td>{{stamp .Incident.CreatedAt}}</td></tr>
{{with .Incident.AcknowledgedAt}}<tr><th scope="row">Acknowledged</th><td>{{stamp .}} (after {{human $.TimeToAck}})</td></tr>{{end}}
{{with .Incident.ResolvedAt}}<tr><th scope="row">Resolved</th><td>{{stamp .}}</td></tr>{{end}}
<tr><th scope="row">Duration</th><td>{{human .Duration}}{{if not .Incident.ResolvedAt}} so far (still open){{end}}</td></tr>
{{if .Incident.Major}}<tr><th scope="row">Major incident</th><td>yes</td></tr>{{end}}
</table>
<h2>Impact</h2>
<p>{{if .ServiceName}}{{.Incident.AlertCount}} alert(s) on service {{.ServiceName}}; {{.Incident.OpenAlertCount}} still open.{{else}}No service recorded.{{end}}</p>
{{with .Incident.Resolution}}<h2>Resolution</h2><p>{{.}}</p>{{end}}
<h2>Timeline</h2>
<ol>{{range .Timeline}}<li><time datetime="{{.At.Format "2006-01-02T15:04:05Z07:00"}}">{{stamp .At}}</time> — {{.Body}} <small>({{.ActorName}})</small></li>{{end}}</ol>
<h2>Actions taken</h2>
{{if .Actions}}<ul>{{range .Actions}}<li>{{stamp .At}}, {{.ActorName}}: {{.Body}}</li>{{end}}</ul>{{else}}<p>No notes were recorded.</p>{{end}}
<h2>Open follow-ups</h2>
{{if .FollowUps}}<ul>{{range .FollowUps}}<li>{{.Body}} ({{.ActorName}})</li>{{end}}</ul>{{else}}<p>None recorded (notes that start with "follow-up:" or "todo:" are listed here).</p>{{end}}
{{if .Related}}<h2>Related incidents</h2><ul>{{range .Related}}<li>{{.Number}}: {{.Title}} ({{.Status}})</li>{{end}}</ul>{{end}}
<p><small>Drafted by Steady at {{stamp .GeneratedAt}} from the incident record.</small></p>
</main></body></html>
`))

// HTML renders the report as a standalone HTML page.
func (r Report) HTML() (string, error) {
	var b bytes.Buffer
	if err := reportHTML.Execute(&b, r); err != nil {
		return "", err
	}
	return b.String(), nil
}
