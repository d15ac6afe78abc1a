package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/platform/page"
)

//go:embed templates static
var files embed.FS

// views holds one parsed template set per page. Handlers name a page by a
// field, not by a string, so a page that does not exist cannot compile, and a
// page whose file is missing or broken stops New.
type views struct {
	login, mfa, errorPage, home                  *template.Template
	users, userNew, user                         *template.Template
	teams, teamForm, team                        *template.Template
	tokens, tokenNew, tokenCreated               *template.Template
	audit, account, accountPassword, accountTOTP *template.Template
	contacts                                     *template.Template
	incidents, incident, incidentNew             *template.Template
	alerts, alert                                *template.Template
	services, serviceForm, service               *template.Template
	sla, slaForm                                 *template.Template
	rules, ruleForm, silences, silenceNew        *template.Template
	maintenance, maintenanceForm, inhibitRules   *template.Template
	outbox, outboxItem, link                     *template.Template
	schedules, schedule, scheduleForm            *template.Template
	policies, policy, policyForm                 *template.Template
	heartbeats, heartbeatForm, heartbeatCreated  *template.Template
	messageTemplates, messageTemplateForm        *template.Template
	cmdb, cmdbCI, cmdbCIForm, cmdbClasses        *template.Template
	cmdbClass, cmdbClassForm                     *template.Template
	cmdbImport, cmdbAudit                        *template.Template
	cmdbImpact, cmdbMap                          *template.Template
}

const layoutFile = "layout.html"

// parseViews parses every page together with the layout. html/template
// escapes a template on its first execution, and only then finds a call of a
// template that does not exist; a dry run here moves that error to the start.
func parseViews(fsys fs.FS, funcs template.FuncMap) (views, error) {
	var v views
	pages := []struct {
		file string
		dst  **template.Template
	}{
		{"login.html", &v.login}, {"mfa.html", &v.mfa}, {"error.html", &v.errorPage}, {"home.html", &v.home},
		{"users.html", &v.users}, {"user_new.html", &v.userNew}, {"user.html", &v.user},
		{"teams.html", &v.teams}, {"team_form.html", &v.teamForm}, {"team.html", &v.team},
		{"tokens.html", &v.tokens}, {"token_new.html", &v.tokenNew}, {"token_created.html", &v.tokenCreated},
		{"audit.html", &v.audit}, {"account.html", &v.account}, {"account_password.html", &v.accountPassword},
		{"account_totp.html", &v.accountTOTP}, {"contacts.html", &v.contacts},
		{"incidents.html", &v.incidents}, {"incident.html", &v.incident}, {"incident_new.html", &v.incidentNew},
		{"alerts.html", &v.alerts}, {"alert.html", &v.alert},
		{"services.html", &v.services}, {"service_form.html", &v.serviceForm}, {"service.html", &v.service},
		{"sla.html", &v.sla}, {"sla_form.html", &v.slaForm},
		{"rules.html", &v.rules}, {"rule_form.html", &v.ruleForm}, {"silences.html", &v.silences}, {"silence_new.html", &v.silenceNew},
		{"maintenance.html", &v.maintenance}, {"maintenance_form.html", &v.maintenanceForm}, {"inhibit_rules.html", &v.inhibitRules},
		{"outbox.html", &v.outbox}, {"outbox_item.html", &v.outboxItem}, {"link.html", &v.link},
		{"schedules.html", &v.schedules}, {"schedule.html", &v.schedule}, {"schedule_form.html", &v.scheduleForm},
		{"policies.html", &v.policies}, {"policy.html", &v.policy}, {"policy_form.html", &v.policyForm},
		{"heartbeats.html", &v.heartbeats}, {"heartbeat_form.html", &v.heartbeatForm}, {"heartbeat_created.html", &v.heartbeatCreated},
		{"notification_templates.html", &v.messageTemplates}, {"notification_template.html", &v.messageTemplateForm},
		{"cmdb_cis.html", &v.cmdb}, {"cmdb_ci.html", &v.cmdbCI}, {"cmdb_ci_form.html", &v.cmdbCIForm}, {"cmdb_classes.html", &v.cmdbClasses}, {"cmdb_class.html", &v.cmdbClass},
		{"cmdb_class_form.html", &v.cmdbClassForm},
		{"cmdb_import.html", &v.cmdbImport}, {"cmdb_audit.html", &v.cmdbAudit},
		{"cmdb_impact.html", &v.cmdbImpact}, {"cmdb_map.html", &v.cmdbMap},
	}
	used := map[string]bool{layoutFile: true}
	for _, p := range pages {
		t, err := template.New(p.file).Funcs(funcs).ParseFS(fsys, "templates/"+layoutFile, "templates/"+p.file)
		if err != nil {
			return v, fmt.Errorf("template %s: %w", p.file, err)
		}
		if t.Lookup("layout") == nil || t.Lookup("content") == nil {
			return v, fmt.Errorf("template %s: it must define \"content\" for the layout", p.file)
		}
		var te *template.Error
		if err := t.ExecuteTemplate(io.Discard, "layout", nil); errors.As(err, &te) {
			return v, fmt.Errorf("template %s: %w", p.file, err)
		}
		*p.dst = t
		used[p.file] = true
	}
	entries, err := fs.ReadDir(fsys, "templates")
	if err != nil {
		return v, err
	}
	for _, e := range entries {
		if !used[e.Name()] {
			return v, fmt.Errorf("template %s belongs to no page", e.Name())
		}
	}
	return v, nil
}

// hashAssets maps each static file to a URL carrying a hash of its content,
// so that browsers may cache assets for long and still see every change.
func hashAssets(fsys fs.FS) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		out[name] = "/static/" + name + "?v=" + hex.EncodeToString(sum[:6])
		return nil
	})
	return out, err
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) (string, error) {
			u, ok := s.assets[name]
			if !ok {
				return "", fmt.Errorf("no static file %q", name)
			}
			return u, nil
		},
		"utc": func(t any) string { return formatTime(asTime(t)) },
		"iso": func(t any) string {
			if t := asTime(t); !t.IsZero() {
				return t.UTC().Format(time.RFC3339)
			}
			return ""
		},
		"ago":     func(t any) string { return s.ago(asTime(t)) },
		"until":   func(t any) string { return s.until(asTime(t)) },
		"field":   newField,
		"json":    changesText,
		"pretty":  prettyJSON,
		"human":   humanSeconds,
		"status":  statusText,
		"level":   levelText,
		"kind":    kindText,
		"checked": func(f *form, name string) bool { return f.Value(name) != "" },
	}
}

// asTime accepts a time or a pointer to one (nil is the zero time), so that
// templates can format optional times.
func asTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case *time.Time:
		if t != nil {
			return *t
		}
	}
	return time.Time{}
}

// until says how far ahead t is: "in 12m", or "12m ago" when it has passed.
func (s *Server) until(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(s.Clock.Now())
	if d < 0 {
		return s.ago(t)
	}
	return "in " + approx(d)
}

// humanSeconds writes a duration given in seconds: "45s", "4m", "1h 30m", "2d 3h".
func humanSeconds(sec int64) string {
	if sec < 60 {
		return strconv.FormatInt(max(sec, 0), 10) + "s"
	}
	return approx(time.Duration(sec) * time.Second)
}

// approx writes a duration to the minute, in at most two units: "4m", "1h 30m", "2d 3h".
func approx(d time.Duration) string {
	m := int64(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 1:
		return "less than a minute"
	case m < 60:
		return strconv.FormatInt(m, 10) + "m"
	case m < 24*60:
		return strings.TrimSuffix(fmt.Sprintf("%dh %dm", m/60, m%60), " 0m")
	}
	return strings.TrimSuffix(fmt.Sprintf("%dd %dh", m/1440, m%1440/60), " 0h")
}

// ago says how long ago t was, roughly: "just now", "12m ago", "3h ago", "4d ago".
func (s *Server) ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := s.Clock.Now().Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d ago"
}

// formatTime is how every time appears: in UTC, to the minute.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// view is what every page template gets. Data holds the page's own values.
type view struct {
	Title   string
	Nav     string // the active navigation item
	Me      *iam.Principal
	CSRF    string
	Flash   *flash
	Notice  string // a note on pages seen before signing in
	Form    *form
	Version string
	Data    any
}

// IsManager and IsAdmin decide which links and buttons a page offers. They
// only shape the page: the services decide what is allowed.
func (v view) IsManager() bool { return v.Me != nil && v.Me.Role.AtLeast(iam.RoleManager) }
func (v view) IsAdmin() bool   { return v.Me != nil && v.Me.Role.AtLeast(iam.RoleAdmin) }
func (v view) IsResponder() bool {
	return v.Me != nil && v.Me.Role.AtLeast(iam.RoleResponder)
}

// render writes a page. It renders into a buffer first, so that a failing
// template becomes a clean error page instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, v view) error {
	if sess, ok := sessionFrom(r.Context()); ok {
		v.Me = &sess.Principal
		v.CSRF = sess.CSRF
		v.Flash = s.takeFlash(w, r, sess.CSRF)
	}
	if v.Form == nil {
		v.Form = newForm(nil)
	}
	v.Version = s.Version
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", t.Name(), err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

type errorData struct {
	Status    int
	Detail    string
	RequestID string
}

// fail answers with the error page of err; httpx.ProblemFor is the single
// error → status mapping, shared with the API.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := httpx.ProblemFor(r.Context(), err, r.URL.Path)
	if k := errs.KindOf(err); k == errs.KindInternal || k == errs.KindUnavailable {
		s.Log.ErrorContext(r.Context(), "web request failed", "request_id", p.RequestID, "path", r.URL.Path, "error", err.Error())
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	v := view{Title: p.Title, Data: errorData{Status: p.Status, Detail: sentence(p.Detail), RequestID: p.RequestID}}
	if rerr := s.render(w, r, p.Status, s.v.errorPage, v); rerr != nil {
		s.Log.ErrorContext(r.Context(), "render error page", "error", rerr.Error())
		http.Error(w, p.Title, p.Status)
	}
}

// notFound is the page of every path no route knows.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	return errs.NotFound("there is no page at %s", r.URL.Path)
}

// static serves the embedded assets. A request that names the content hash
// may be cached for good; the hash changes with the file.
func (s *Server) static(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if _, ok := s.assets[path.Clean(name)]; !ok || strings.HasSuffix(name, "/") {
		return errs.NotFound("there is no file %s", r.URL.Path)
	}
	if r.URL.Query().Get("v") != "" {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeFileFS(w, r, files, "static/"+path.Clean(name))
	return nil
}

func sentenceCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// sentence makes a service message ("a team with this name exists") read as
// a sentence on a page.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = sentenceCase(s)
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// form is what a user typed into a form, and what was wrong with it, so that
// a page can show both again.
type form struct {
	Values  url.Values
	Errors  map[string]string
	Message string // about the form as a whole
	order   []string
}

func newForm(v url.Values) *form {
	if v == nil {
		v = url.Values{}
	}
	return &form{Values: v, Errors: map[string]string{}}
}

func (f *form) Get(name string) string   { return strings.TrimSpace(f.Values.Get(name)) }
func (f *form) Value(name string) string { return f.Values.Get(name) }
func (f *form) Error(name string) string { return f.Errors[name] }

// Set gives a field its value, for forms that start filled in.
func (f *form) Set(name, value string) *form { f.Values.Set(name, value); return f }

// Fail records what is wrong with one field. A detail that is a sentence of
// its own ("at least one matcher is required") follows the label after a colon.
func (f *form) Fail(field, detail string) {
	if _, ok := f.Errors[field]; !ok {
		f.order = append(f.order, field)
	}
	sep := " "
	if strings.HasPrefix(detail, "at least ") || strings.HasPrefix(detail, "a ") {
		sep = ": "
	}
	f.Errors[field] = labelOf(field) + sep + detail
}

// Invalid reports whether any field is wrong.
func (f *form) Invalid() bool { return len(f.Errors) > 0 }

// Summary lists the field errors in the order they were found, for the box
// at the top of the form that links to each field.
func (f *form) Summary() []fieldError {
	out := make([]fieldError, 0, len(f.order))
	for _, name := range f.order {
		out = append(out, fieldError{ID: "f-" + name, Text: f.Errors[name]})
	}
	return out
}

type fieldError struct{ ID, Text string }

// setError shows a service error on the form. rename maps the service's field
// names to the form's where they differ (user_id → email).
func (f *form) setError(e *errs.Error, rename map[string]string) {
	for _, fe := range e.Fields {
		name := fe.Field
		if n, ok := rename[name]; ok {
			name = n
		}
		f.Fail(name, fe.Detail)
	}
	switch {
	case len(e.Fields) > 0:
		f.Message = "Please correct what is marked below."
	default:
		f.Message = sentence(e.Message)
	}
}

// retry shows a service error next to the form that caused it, when the
// user can fix it there (wrong input, a conflict, a stale edit, too many
// attempts); other errors get the error page. show renders the form's page
// with a status and the form.
func (s *Server) retry(w http.ResponseWriter, r *http.Request, err error, f *form, rename map[string]string,
	show func(status int, f *form) error) error {
	e, ok := errs.As(err)
	if !ok {
		return err
	}
	switch e.Kind {
	case errs.KindInvalid, errs.KindConflict, errs.KindPreconditionFailed, errs.KindRateLimited:
	default:
		return err
	}
	p := httpx.ProblemFor(r.Context(), err, r.URL.Path)
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	f.setError(e, rename)
	return show(p.Status, f)
}

// invalid re-renders a form the handler itself found wrong, with 400.
func invalid(f *form, show func(status int, f *form) error) error {
	f.Message = "Please correct what is marked below."
	return show(http.StatusBadRequest, f)
}

// labelOf names a form field for messages ("Email is required").
func labelOf(field string) string {
	switch field {
	case "email", "owner_email":
		return "Email"
	case "name":
		return "Name"
	case "role":
		return "Role"
	case "team_role":
		return "Team role"
	case "password":
		return "Password"
	case "current_password":
		return "Current password"
	case "password_confirm":
		return "Repeated password"
	case "code":
		return "Code"
	case "description":
		return "Description"
	case "expires":
		return "Expiry"
	case "owner":
		return "Owner"
	case "actor":
		return "Actor"
	case "action":
		return "Action"
	case "object_type":
		return "Object type"
	case "object_id":
		return "Object ID"
	case "since":
		return "From"
	case "until":
		return "Until"
	case "q":
		return "Search"
	case "body", "hold_note":
		return "Note"
	case "resolution":
		return "Resolution note"
	case "reopen_note":
		return "Reason"
	case "related":
		return "Related incident"
	case "assignee":
		return "Assignee"
	case "group_window":
		return "Group window"
	case "ack":
		return "Time to acknowledge"
	case "resolve":
		return "Time to resolve"
	case "days":
		return "Working days"
	case "start":
		return "Start of the working day"
	case "end":
		return "End of the working day"
	case "key_name":
		return "Key name"
	case "html":
		return "HTML"
	case "set_severity":
		return "New severity"
	case "set_priority":
		return "Incident priority"
	case "scope":
		return "Applies to"
	case "position":
		return "Order"
	case "add_labels":
		return "Labels to add"
	case "sample_summary":
		return "Sample summary"
	case "sample_host":
		return "Sample host"
	case "sample_labels":
		return "Sample labels"
	case "starts_at":
		return "Start"
	case "ends_at":
		return "End"
	case "weekdays":
		return "Days"
	case "from_date":
		return "First day"
	case "until_date":
		return "Last day"
	case "equal":
		return "Equal labels"
	case "time_zone_other":
		return "Time zone"
	}
	return sentenceCase(strings.ReplaceAll(field, "_", " "))
}

// option is one choice of a select field.
type option struct{ Value, Label string }

// field is one labelled form control, built in a template with
// (field .Form "email" "Email" "type=email" "required" "autocomplete=username").
type field struct {
	ID, Name, Label, Type, Value, Error, Hint string
	Autocomplete, Inputmode, Pattern, List    string
	MaxLength                                 int
	Required, Autofocus                       bool
	Filter                                    bool // a search filter: optional by nature, so not marked
	Unmarked                                  bool // needed only in cases that the form explains, so not marked
	Options                                   []option
}

// DescribedBy links the control to its hint and error for screen readers.
func (f field) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

func newField(f *form, name, label string, opts ...any) (field, error) {
	fl := field{ID: "f-" + name, Name: name, Label: label, Type: "text"}
	if f != nil {
		fl.Value, fl.Error = f.Value(name), f.Error(name)
	}
	for _, o := range opts {
		switch o := o.(type) {
		case []option:
			fl.Type, fl.Options = "select", o
		case string:
			k, v, _ := strings.Cut(o, "=")
			switch k {
			case "type":
				fl.Type = v
			case "hint":
				fl.Hint = v
			case "autocomplete":
				fl.Autocomplete = v
			case "inputmode":
				fl.Inputmode = v
			case "pattern":
				fl.Pattern = v
			case "list":
				fl.List = v
			case "maxlength":
				n, err := strconv.Atoi(v)
				if err != nil {
					return fl, fmt.Errorf("field %s: maxlength %q", name, v)
				}
				fl.MaxLength = n
			case "required":
				fl.Required = true
			case "autofocus":
				fl.Autofocus = true
			case "filter":
				fl.Filter = true
			case "unmarked":
				fl.Unmarked = true
			default:
				return fl, fmt.Errorf("field %s: unknown option %q", name, o)
			}
		default:
			return fl, fmt.Errorf("field %s: option of type %T", name, o)
		}
	}
	if fl.Type == "password" {
		fl.Value = "" // a password is never sent back to the browser
	}
	return fl, nil
}

// changesText shows an audit entry's changes as indented JSON.
func changesText(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Sprint(m)
	}
	return string(b)
}

// done ends a successful form post: a message for the next page, and a
// redirect to it (Post/Redirect/Get), so a reload does not post again.
func (s *Server) done(w http.ResponseWriter, r *http.Request, to, format string, a ...any) error {
	s.setFlash(w, r, "ok", fmt.Sprintf(format, a...))
	return redirect(w, r, to)
}

// pathID reads a numeric id from the path; anything else names no page.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.NotFound("there is no page at %s", r.URL.Path)
	}
	return id, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// pageOf reads the cursor of a list page; the page size is fixed.
func pageOf(r *http.Request) (page.Request, error) {
	p, err := page.Parse("", r.URL.Query().Get("after"))
	if err != nil {
		return p, &errs.Error{Kind: errs.KindInvalid, Message: "this page link is not valid; start from the first page"}
	}
	return p, nil
}

// pager links a list to its next page and back to its first, keeping the
// filters of the current URL.
type pager struct{ Next, First string }

func pagerOf(r *http.Request, next string) pager { return pagerAt(r, "after", next, "") }

// pagerAt pages by the cursor parameter param, for a page with more than one
// paged list; anchor ("#alerts") brings the reader back to the list.
func pagerAt(r *http.Request, param, next, anchor string) pager {
	var p pager
	link := func(q url.Values) string {
		q.Del("fragment")
		if len(q) == 0 {
			return r.URL.Path + anchor
		}
		return r.URL.Path + "?" + q.Encode() + anchor
	}
	if next != "" {
		q := r.URL.Query()
		q.Set(param, next)
		p.Next = link(q)
	}
	if r.URL.Query().Get(param) != "" {
		q := r.URL.Query()
		q.Del(param)
		p.First = link(q)
	}
	return p
}

// cursorOf reads the cursor parameter param of a list; the page size is fixed.
func cursorOf(r *http.Request, param string, limit int) (page.Request, error) {
	p, err := page.Parse("", r.URL.Query().Get(param))
	if err != nil {
		return p, &errs.Error{Kind: errs.KindInvalid, Message: "this page link is not valid; start from the first page"}
	}
	p.Limit = limit
	return p, nil
}

// roleOptions lists the roles up to max, for a select.
func roleOptions(max iam.Role) []option {
	var out []option
	for _, r := range iam.Roles {
		if max.AtLeast(r) {
			out = append(out, option{Value: string(r), Label: sentenceCase(string(r))})
		}
	}
	return out
}

// requireRole refuses a page that only offers what the role cannot do (a
// form whose submission the service would refuse anyway).
func requireRole(r *http.Request, min iam.Role) error {
	if !me(r).Role.AtLeast(min) {
		return errs.Forbidden("this page needs the %s role; you have %s", min, me(r).Role)
	}
	return nil
}

// renderPart writes one named template of a page on its own, without the
// layout: the fragment a script swaps into a page that is already shown.
func (s *Server) renderPart(w http.ResponseWriter, r *http.Request, status int, t *template.Template, name string, v view) error {
	if sess, ok := sessionFrom(r.Context()); ok {
		v.Me = &sess.Principal
		v.CSRF = sess.CSRF
	}
	if v.Form == nil {
		v.Form = newForm(nil)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Errorf("render %s of %s: %w", name, t.Name(), err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// prettyJSON shows a value as indented JSON ("" for an empty one).
func prettyJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case map[string]any:
		if len(x) == 0 {
			return ""
		}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// statusText names an incident or alert status for people.
func statusText(st any) string {
	v := fmt.Sprint(st)
	if v == string(incident.OnHold) {
		return "On hold"
	}
	return sentenceCase(v)
}

// levelText names an impact or urgency level.
func levelText(n int) string {
	switch n {
	case incident.High:
		return "High"
	case incident.Medium:
		return "Medium"
	case incident.Low:
		return "Low"
	}
	return strconv.Itoa(n)
}

// kindText names a kind of timeline entry.
func kindText(k string) string {
	switch k {
	case "alerts_grouped":
		return "Alerts"
	case "alerts_resolved":
		return "Alerts resolved"
	case "sla_breached":
		return "SLA breached"
	case "on_hold":
		return "On hold"
	case "investigating":
		return "Investigating"
	}
	return sentenceCase(strings.ReplaceAll(k, "_", " "))
}

// levelOptions are the choices of impact and urgency.
func levelOptions() []option {
	return []option{{"1", "High"}, {"2", "Medium"}, {"3", "Low"}}
}

// foldFields renames the fields of a service error before a form shows it:
// a field equal to a key of to, or starting with the key and "." or "[",
// becomes the key's value, its detail prefixed with what followed the key
// (labels.tier → labels, "tier is not a valid label name").
func foldFields(err error, to map[string]string) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]errs.FieldError, 0, len(e.Fields))
	for _, fe := range e.Fields {
		for from, name := range to {
			if fe.Field == from {
				fe.Field = name
				break
			}
			if rest, ok := strings.CutPrefix(fe.Field, from); ok && (rest[0] == '.' || rest[0] == '[') {
				fe.Field, fe.Detail = name, strings.TrimPrefix(rest, ".")+" "+fe.Detail
				break
			}
		}
		out.Fields = append(out.Fields, fe)
	}
	return &out
}
