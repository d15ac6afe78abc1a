package web

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// The CMDB pages: search and list CIs by class, a CI with its attributes,
// relationships, history and open incidents, the forms to create and edit
// CIs, and the classes. Everyone signed in reads; managers write. The CMDB
// store decides who may do what.

// ciPageSize is how many CIs a list page shows.
const ciPageSize = 50

type classLink struct {
	Key, Name string
	Count     int64
	Current   bool
}

type cmdbData struct {
	Rows                          []ciRow
	Classes                       []classLink
	Total                         int64
	ClassOpts, Envs, Lifes, Teams []option
	Filtered                      bool
	Pager                         pager
}

// ciRow is a CI as a list shows it.
type ciRow struct {
	cmdb.CI
	ClassName, Team string
}

func envOptions(none string) []option {
	out := []option{{"", none}}
	for _, e := range cmdb.Environments {
		out = append(out, option{e, sentenceCase(strings.ReplaceAll(e, "_", " "))})
	}
	return out
}

func lifecycleOptions(none string) []option {
	out := []option{{"", none}}
	for _, l := range []string{cmdb.LifecyclePlanned, cmdb.LifecycleInUse, cmdb.LifecycleMaintenance, cmdb.LifecycleRetired, cmdb.LifecycleDisposed} {
		out = append(out, option{l, lifecycleText(l)})
	}
	return out
}

func lifecycleText(l string) string { return sentenceCase(strings.ReplaceAll(l, "_", " ")) }

// teamNames maps team ids to names, from the options of a team select.
func teamNames(opts []option) map[int64]string {
	out := map[int64]string{}
	for _, o := range opts {
		if id, err := strconv.ParseInt(o.Value, 10, 64); err == nil {
			out[id] = o.Label
		}
	}
	return out
}

func (s *Server) cmdbPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := newForm(q)
	filter := cmdb.Filter{Class: f.Get("class"), Environment: f.Get("environment"), Lifecycle: f.Get("lifecycle"), Q: f.Get("q")}
	if v := f.Get("team"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			f.Fail("team", "must be one of the listed teams")
		}
		filter.TeamID = id
	}
	if v := f.Get("attr"); v != "" {
		m, err := cmdb.ParseAttrMatch(v)
		if err != nil {
			f.Fail("attr", "must be key:value, such as os:debian")
		}
		filter.Attrs = []cmdb.AttrMatch{m}
	}
	p, err := cmdb.ParsePage(strconv.Itoa(ciPageSize), q.Get("after"))
	if err != nil {
		return &errs.Error{Kind: errs.KindInvalid, Message: "this page link is not valid; start from the first page"}
	}
	classes, err := s.CMDB.Classes(r.Context())
	if err != nil {
		return err
	}
	teams, err := s.teamOptions(r, "Any team")
	if err != nil {
		return err
	}
	d := cmdbData{ClassOpts: []option{{"", "Any class"}}, Envs: envOptions("Any environment"), Lifes: lifecycleOptions("Any state"), Teams: teams,
		Filtered: filter.Class != "" || filter.Environment != "" || filter.Lifecycle != "" || filter.Q != "" || filter.TeamID != 0 || len(filter.Attrs) > 0}
	names := map[string]string{}
	for _, c := range classes {
		names[c.Key] = c.Name
		d.ClassOpts = append(d.ClassOpts, option{c.Key, c.Name})
	}
	show := func(status int, f *form) error {
		return s.render(w, r, status, s.v.cmdb, view{Title: "CMDB", Nav: "cmdb", Form: f, Data: d})
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	counts, err := s.CMDB.CountByClass(r.Context(), filter)
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	for _, c := range classes {
		if counts[c.Key] > 0 || c.Key == filter.Class {
			d.Classes = append(d.Classes, classLink{Key: c.Key, Name: c.Name, Count: counts[c.Key], Current: c.Key == filter.Class})
		}
		d.Total += counts[c.Key]
	}
	l, err := s.CMDB.List(r.Context(), filter, p)
	if err != nil {
		return s.retry(w, r, err, f, map[string]string{"attr": "attr"}, show)
	}
	tn := teamNames(teams)
	for _, ci := range l.Items {
		row := ciRow{CI: ci, ClassName: names[ci.Class]}
		if ci.TeamID != nil {
			row.Team = tn[*ci.TeamID]
		}
		d.Rows = append(d.Rows, row)
	}
	d.Pager = pagerOf(r, l.Next)
	return show(http.StatusOK, f)
}

// attrField is one attribute of a class as a form shows it.
type attrField struct {
	Def     cmdb.AttrDef
	Name    string // the form field: attr.<key>
	Type    string // the input type
	Options []option
	Hint    string
}

func attrFields(c cmdb.Class) []attrField {
	out := make([]attrField, 0, len(c.Attributes))
	for _, a := range c.Attributes {
		af := attrField{Def: a, Name: "attr." + a.Key, Type: "text"}
		switch a.Type {
		case cmdb.TypeNumber:
			af.Hint = "A number."
		case cmdb.TypeBoolean:
			af.Options = []option{{"", "Not set"}, {"true", "Yes"}, {"false", "No"}}
		case cmdb.TypeEnum:
			af.Options = []option{{"", "Not set"}}
			for _, e := range a.Enum {
				af.Options = append(af.Options, option{e, e})
			}
		case cmdb.TypeDate:
			af.Type = "date"
		case cmdb.TypeIP:
			af.Hint = "An IPv4 or IPv6 address."
		case cmdb.TypeURL:
			af.Type, af.Hint = "url", "An absolute URL, such as https://wiki.example.com/page."
		case cmdb.TypeRef:
			af.Hint = "The id or exact name of another CI"
			if a.RefClass != "" {
				af.Hint += " of class " + a.RefClass
			}
			af.Hint += "."
		}
		if a.Unique {
			af.Hint = strings.TrimSpace(af.Hint + " Unique within the class.")
		}
		if af.Options != nil {
			af.Type = "select"
		}
		out = append(out, af)
	}
	return out
}

// attrInput is the value of an attribute for its form field.
func attrInput(v any, def cmdb.AttrDef) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

type ciFormData struct {
	CI                *cmdb.CI // nil for a new CI
	Class             *cmdb.Class
	Attrs             []attrField
	ClassOpts         []option
	Teams, Envs, Life []option
}

func (s *Server) showCIForm(w http.ResponseWriter, r *http.Request, status int, cur *cmdb.CI, cls *cmdb.Class, f *form) error {
	d := ciFormData{CI: cur, Class: cls, Envs: envOptions("")[1:], Life: lifecycleOptions("")[1:5]}
	var err error
	if d.Teams, err = s.teamOptions(r, "No team"); err != nil {
		return err
	}
	classes, err := s.CMDB.Classes(r.Context())
	if err != nil {
		return err
	}
	d.ClassOpts = []option{{"", "Choose a class"}}
	for _, c := range classes {
		d.ClassOpts = append(d.ClassOpts, option{c.Key, c.Name})
	}
	if cls != nil {
		d.Attrs = attrFields(*cls)
	}
	title := "New CI"
	if cur != nil {
		title = "Edit " + cur.Name
	}
	return s.render(w, r, status, s.v.cmdbCIForm, view{Title: title, Nav: "cmdb", Form: f, Data: d})
}

// setCIError shows a CMDB error on a CI form, attributes under their own
// fields with their labels.
func setCIError(f *form, err error, cls *cmdb.Class) bool {
	e, ok := errs.As(err)
	if !ok || (e.Kind != errs.KindInvalid && e.Kind != errs.KindConflict && e.Kind != errs.KindPreconditionFailed) {
		return false
	}
	for _, fe := range e.Fields {
		name, label := fe.Field, ""
		if key, ok := strings.CutPrefix(fe.Field, "attributes."); ok {
			name, label = "attr."+key, key
			if cls != nil {
				if def, ok := cls.Attr(key); ok {
					label = def.Name
				}
			}
		}
		if name == "team_id" {
			name = "team"
		}
		if label == "" {
			f.Fail(name, fe.Detail)
			continue
		}
		if _, seen := f.Errors[name]; !seen {
			f.order = append(f.order, name)
		}
		f.Errors[name] = label + " " + fe.Detail
	}
	if len(e.Fields) > 0 {
		f.Message = "Please correct what is marked below."
	} else {
		f.Message = sentence(e.Message)
	}
	return true
}

func (s *Server) newCIPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(nil).Set("environment", cmdb.Environments[0]).Set("lifecycle", cmdb.LifecycleInUse)
	var cls *cmdb.Class
	if key := r.URL.Query().Get("class"); key != "" {
		c, err := s.CMDB.GetClass(r.Context(), key)
		if errs.Is(err, errs.KindNotFound) {
			f.Fail("class", "must be one of the listed classes")
			return s.showCIForm(w, r, http.StatusBadRequest, nil, nil, f)
		} else if err != nil {
			return err
		}
		cls = &c.Class
		f.Set("class", key)
	}
	return s.showCIForm(w, r, http.StatusOK, nil, cls, f)
}

// ciFormInput reads the fields every CI form has, and the attributes of cls.
func ciFormInput(f *form, cls *cmdb.Class) (cmdb.CIInput, map[string]any) {
	in := cmdb.CIInput{Name: f.Get("name"), Environment: f.Get("environment"), Location: f.Get("location"), Lifecycle: f.Get("lifecycle")}
	if v := f.Get("team"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			f.Fail("team", "must be one of the listed teams")
		}
		in.TeamID = &id
	}
	attrs := map[string]any{}
	if cls != nil {
		for _, a := range cls.Attributes {
			attrs[a.Key] = f.Get("attr." + a.Key)
		}
	}
	return in, attrs
}

func (s *Server) createCI(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(r.PostForm)
	var cls *cmdb.Class
	if c, err := s.CMDB.GetClass(r.Context(), f.Get("class")); err == nil {
		cls = &c.Class
	} else if !errs.Is(err, errs.KindNotFound) {
		return err
	}
	show := func(status int, f *form) error { return s.showCIForm(w, r, status, nil, cls, f) }
	if cls == nil {
		f.Fail("class", "must be one of the listed classes")
		return invalid(f, show)
	}
	in, attrs := ciFormInput(f, cls)
	in.Class, in.Attributes = cls.Key, attrs
	if f.Invalid() {
		return invalid(f, show)
	}
	out, err := s.CMDB.CreateCI(r.Context(), in)
	if err != nil {
		if setCIError(f, err, cls) {
			return show(httpStatus(err), f)
		}
		return err
	}
	return s.done(w, r, "/cmdb/cis/"+itoa(out.ID), "Created %s %s.", cls.Name, out.Name)
}

// httpStatus is the status a form answers with for a CMDB error.
func httpStatus(err error) int {
	switch errs.KindOf(err) {
	case errs.KindConflict:
		return http.StatusConflict
	case errs.KindPreconditionFailed:
		return http.StatusPreconditionFailed
	}
	return http.StatusBadRequest
}

type ciHistoryRow struct {
	cmdb.HistoryEntry
	BeforeText, AfterText string
}

type ciPageData struct {
	CI          cmdb.CI
	Class       cmdb.Class
	Team        string
	Attrs       []ciAttrRow
	Next        []option // lifecycle states it may go to
	History     []ciHistoryRow
	HistoryMore string
	Incidents   []incident.CIIncident
	Relations   []ciRelationRow
}

type ciAttrRow struct {
	Name, Value string
	RefID       int64
	RefName     string
}

type ciRelationRow struct {
	Type, Direction string
	OtherID         int64
	OtherName       string
}

// historyText shows a value of the history: "—" for none.
func historyText(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	}
	return prettyJSON(v)
}

func (s *Server) ciPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ci, err := s.CMDB.GetCI(r.Context(), id)
	if err != nil {
		return err
	}
	return s.showCI(w, r, http.StatusOK, ci, nil)
}

func (s *Server) showCI(w http.ResponseWriter, r *http.Request, status int, ci cmdb.CI, f *form) error {
	ctx := r.Context()
	cls, err := s.CMDB.GetClass(ctx, ci.Class)
	if err != nil {
		return err
	}
	d := ciPageData{CI: ci, Class: cls.Class}
	if ci.TeamID != nil {
		if t, err := s.IAM.GetTeam(ctx, *ci.TeamID); err == nil {
			d.Team = t.Name
		}
	}
	for _, a := range cls.Attributes {
		v, ok := ci.Attributes[a.Key]
		if !ok {
			continue
		}
		row := ciAttrRow{Name: a.Name, Value: attrInput(v, a)}
		if a.Type == cmdb.TypeBoolean {
			row.Value = map[bool]string{true: "Yes", false: "No"}[v == true]
		}
		if a.Type == cmdb.TypeRef {
			if f, ok := v.(float64); ok {
				row.RefID = int64(f)
				if other, err := s.CMDB.GetCI(ctx, row.RefID); err == nil {
					row.RefName = other.Name
				}
			}
		}
		d.Attrs = append(d.Attrs, row)
	}
	for _, l := range cmdb.Lifecycles[ci.Lifecycle] {
		d.Next = append(d.Next, option{l, lifecycleText(l)})
	}
	hp, err := cursorOf(r, "history", 20)
	if err != nil {
		return err
	}
	h, err := s.CMDB.History(ctx, ci.ID, hp)
	if err != nil {
		return err
	}
	for _, e := range h.Items {
		d.History = append(d.History, ciHistoryRow{HistoryEntry: e, BeforeText: historyText(e.Before), AfterText: historyText(e.After)})
	}
	d.HistoryMore = pagerAt(r, "history", h.Next, "#history").Next
	if d.Incidents, err = s.Incidents.OpenIncidentsOfCI(ctx, ci.ID); err != nil {
		return err
	}
	rels, err := s.CMDB.Relations(ctx, ci.ID)
	if err != nil {
		return err
	}
	for _, rel := range rels {
		row := ciRelationRow{Type: strings.ReplaceAll(rel.Type, "_", " ")}
		if rel.SourceID == ci.ID {
			row.Direction, row.OtherID, row.OtherName = "outgoing", rel.TargetID, rel.TargetName
		} else {
			row.Direction, row.OtherID, row.OtherName = "incoming", rel.SourceID, rel.SourceName
		}
		d.Relations = append(d.Relations, row)
	}
	return s.render(w, r, status, s.v.cmdbCI, view{Title: ci.Name, Nav: "cmdb", Form: f, Data: d})
}

// ciForm fills the edit form with a CI's values.
func ciForm(ci cmdb.CI, cls cmdb.Class) *form {
	f := newForm(nil).Set("name", ci.Name).Set("environment", ci.Environment).Set("location", ci.Location).
		Set("version", itoa(ci.Version))
	if ci.TeamID != nil {
		f.Set("team", itoa(*ci.TeamID))
	}
	for _, a := range cls.Attributes {
		if v, ok := ci.Attributes[a.Key]; ok {
			f.Set("attr."+a.Key, attrInput(v, a))
		}
	}
	return f
}

// editedCI is the CI that the edit form changes, with its class: for
// managers only.
func (s *Server) editedCI(r *http.Request) (cmdb.CI, cmdb.ClassCount, error) {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return cmdb.CI{}, cmdb.ClassCount{}, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return cmdb.CI{}, cmdb.ClassCount{}, err
	}
	ci, err := s.CMDB.GetCI(r.Context(), id)
	if err != nil {
		return cmdb.CI{}, cmdb.ClassCount{}, err
	}
	cls, err := s.CMDB.GetClass(r.Context(), ci.Class)
	return ci, cls, err
}

func (s *Server) editCIPage(w http.ResponseWriter, r *http.Request) error {
	ci, cls, err := s.editedCI(r)
	if err != nil {
		return err
	}
	return s.showCIForm(w, r, http.StatusOK, &ci, &cls.Class, ciForm(ci, cls.Class))
}

func (s *Server) updateCI(w http.ResponseWriter, r *http.Request) error {
	ci, cls, err := s.editedCI(r)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showCIForm(w, r, status, &ci, &cls.Class, f) }
	in, attrs := ciFormInput(f, &cls.Class)
	version, _ := strconv.ParseInt(f.Get("version"), 10, 64)
	if f.Invalid() {
		return invalid(f, show)
	}
	team := int64(0)
	if in.TeamID != nil {
		team = *in.TeamID
	}
	out, err := s.CMDB.UpdateCI(r.Context(), ci.ID, cmdb.CIPatch{Name: &in.Name, TeamID: &team, Environment: &in.Environment,
		Location: &in.Location, Attributes: attrs, ReplaceAttributes: true}, version)
	if err != nil {
		if errs.Is(err, errs.KindPreconditionFailed) {
			f.Message = "Someone changed this CI while you were editing it. Check its current values below and save again."
			cur, gerr := s.CMDB.GetCI(r.Context(), ci.ID)
			if gerr != nil {
				return gerr
			}
			f.Set("version", itoa(cur.Version))
			return show(http.StatusPreconditionFailed, f)
		}
		if setCIError(f, err, &cls.Class) {
			return show(httpStatus(err), f)
		}
		return err
	}
	return s.done(w, r, "/cmdb/cis/"+itoa(out.ID), "Saved %s.", out.Name)
}

func (s *Server) setCILifecycle(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	state := strings.TrimSpace(r.PostForm.Get("lifecycle"))
	version, _ := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	out, err := s.CMDB.SetLifecycle(r.Context(), id, state, version)
	if err != nil {
		ci, gerr := s.CMDB.GetCI(r.Context(), id)
		if gerr != nil {
			return gerr
		}
		f := newForm(nil)
		if setCIError(f, err, nil) {
			if errs.Is(err, errs.KindPreconditionFailed) {
				f.Message = "Someone changed this CI meanwhile; here it is as it is now."
			}
			return s.showCI(w, r, httpStatus(err), ci, f)
		}
		return err
	}
	return s.done(w, r, "/cmdb/cis/"+itoa(out.ID), "%s is now %s.", out.Name, strings.ToLower(lifecycleText(out.Lifecycle)))
}

func (s *Server) deleteCI(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ci, err := s.CMDB.GetCI(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.CMDB.DeleteCI(r.Context(), id); err != nil {
		if errs.Is(err, errs.KindConflict) {
			f := newForm(nil)
			f.Message = sentence(err.Error())
			return s.showCI(w, r, http.StatusConflict, ci, f)
		}
		return err
	}
	return s.done(w, r, "/cmdb?class="+ci.Class, "Deleted %s.", ci.Name)
}

// Classes.

type classesData struct{ Classes []cmdb.ClassCount }

func (s *Server) ciClassesPage(w http.ResponseWriter, r *http.Request) error {
	l, err := s.CMDB.Classes(r.Context())
	if err != nil {
		return err
	}
	slices.SortStableFunc(l, func(a, b cmdb.ClassCount) int {
		if a.Builtin != b.Builtin {
			if a.Builtin {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return s.render(w, r, http.StatusOK, s.v.cmdbClasses, view{Title: "CI classes", Nav: "cmdb", Data: classesData{Classes: l}})
}

type classData struct {
	Class cmdb.ClassCount
}

func (s *Server) ciClassPage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.CMDB.GetClass(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, s.v.cmdbClass, view{Title: c.Name, Nav: "cmdb", Data: classData{Class: c}})
}

// The class editor. Admins create, change and delete their own classes; the
// built-in ones are read-only. Like the escalation policy editor it needs no
// script: "Add attribute" is a submit button that sends the form back, and
// the server renders it again with one more empty row. A row whose key is
// left empty is not part of the class, so clearing a key removes its row.

// maxAttrRows caps the attribute rows of the editor, as the store caps the
// attributes of a class.
const maxAttrRows = 100

// attrRow is one attribute row of the class editor as typed.
type attrRow struct {
	Key, Name, Type, Enum, RefClass string
	Required, Unique                bool
}

// rowField names the form field of one column of an attribute row.
func rowField(col string, i int) string { return fmt.Sprintf("attr-%s-%d", col, i) }

// readAttrRows reads the attribute rows of the posted form.
func readAttrRows(f *form) []attrRow {
	n, err := strconv.Atoi(f.Get("attrs"))
	if err != nil || n < 0 {
		n = 0
	}
	n = min(n, maxAttrRows+1)
	rows := make([]attrRow, 0, n)
	for i := range n {
		rows = append(rows, attrRow{Key: f.Get(rowField("key", i)), Name: f.Get(rowField("name", i)), Type: f.Get(rowField("type", i)),
			Enum: f.Get(rowField("enum", i)), RefClass: f.Get(rowField("ref", i)),
			Required: f.Get(rowField("required", i)) != "", Unique: f.Get(rowField("unique", i)) != ""})
	}
	return rows
}

// writeAttrRows puts rows into the form, replacing the rows it had.
func writeAttrRows(f *form, rows []attrRow) {
	for name := range f.Values {
		if strings.HasPrefix(name, "attr-") {
			f.Values.Del(name)
		}
	}
	f.Set("attrs", strconv.Itoa(len(rows)))
	for i, a := range rows {
		f.Set(rowField("key", i), a.Key).Set(rowField("name", i), a.Name).Set(rowField("type", i), a.Type).
			Set(rowField("enum", i), a.Enum).Set(rowField("ref", i), a.RefClass)
		if a.Required {
			f.Set(rowField("required", i), "1")
		}
		if a.Unique {
			f.Set(rowField("unique", i), "1")
		}
	}
}

func emptyAttrRow() attrRow { return attrRow{Type: cmdb.TypeString} }

// classForm fills the editor with a class's values.
func classForm(c cmdb.Class) *form {
	f := newForm(nil).Set("name", c.Name).Set("description", c.Description).Set("version", itoa(c.Version))
	rows := make([]attrRow, 0, len(c.Attributes)+1)
	for _, a := range c.Attributes {
		rows = append(rows, attrRow{Key: a.Key, Name: a.Name, Type: a.Type, Enum: strings.Join(a.Enum, ", "),
			RefClass: a.RefClass, Required: a.Required, Unique: a.Unique})
	}
	if len(rows) == 0 {
		rows = append(rows, emptyAttrRow())
	}
	writeAttrRows(f, rows)
	return f
}

// classInput reads the editor into a class. slots maps the index of each
// attribute of the class to its row, so that the store's errors land on the
// right row.
func classInput(f *form, rows []attrRow) (cmdb.Class, []int) {
	c := cmdb.Class{Key: f.Get("key"), Name: f.Get("name"), Description: f.Get("description"), Attributes: []cmdb.AttrDef{}}
	var slots []int
	for i, row := range rows {
		if row.Key == "" {
			continue
		}
		a := cmdb.AttrDef{Key: row.Key, Name: row.Name, Type: row.Type, Required: row.Required, Unique: row.Unique, RefClass: row.RefClass}
		for _, v := range strings.Split(row.Enum, ",") {
			if v = strings.TrimSpace(v); v != "" {
				a.Enum = append(a.Enum, v)
			}
		}
		c.Attributes = append(c.Attributes, a)
		slots = append(slots, i)
	}
	return c, slots
}

var attrPathRe = regexp.MustCompile(`^attributes\[(\d+)\]\.(key|name|type|enum|ref_class|unique)$`)

// classErrors shows the store's field errors on the editor, each attribute's
// under its own row.
func classErrors(f *form, e *errs.Error, slots []int) {
	for _, fe := range e.Fields {
		m := attrPathRe.FindStringSubmatch(fe.Field)
		if m == nil {
			if fe.Field == "attributes" {
				failAs(f, "attrs", "Attributes", fe.Detail)
			} else {
				f.Fail(fe.Field, fe.Detail)
			}
			continue
		}
		i, _ := strconv.Atoi(m[1])
		row := i
		if i < len(slots) {
			row = slots[i]
		}
		n := row + 1
		detail := fe.Detail
		switch m[2] {
		case "key":
			failAs(f, rowField("key", row), fmt.Sprintf("Attribute %d: the key", n), detail)
		case "name":
			failAs(f, rowField("name", row), fmt.Sprintf("Attribute %d: the name", n), detail)
		case "type":
			failAs(f, rowField("type", row), fmt.Sprintf("Attribute %d: the type", n), detail)
		case "enum":
			failAs(f, rowField("enum", row), fmt.Sprintf("Attribute %d: the enum values", n), strings.TrimPrefix(detail, "values "))
		case "ref_class":
			failAs(f, rowField("ref", row), fmt.Sprintf("Attribute %d: the referred class", n), detail)
		case "unique":
			failAs(f, rowField("unique", row), fmt.Sprintf("Attribute %d cannot be unique:", n), detail)
		}
	}
	f.Message = "Please correct what is marked below."
	if e.Kind == errs.KindConflict {
		f.Message = sentence(e.Message)
	}
}

// attrTypeOptions are the choices of an attribute's type.
func attrTypeOptions() []option {
	labels := map[string]string{
		cmdb.TypeString: "Text (string)", cmdb.TypeNumber: "Number", cmdb.TypeBoolean: "Yes or no (boolean)",
		cmdb.TypeEnum: "One of a list (enum)", cmdb.TypeDate: "Date", cmdb.TypeIP: "IP address",
		cmdb.TypeURL: "URL", cmdb.TypeRef: "Another CI (ref)",
	}
	out := make([]option, 0, len(cmdb.AttrTypes))
	for _, t := range cmdb.AttrTypes {
		l := labels[t]
		if l == "" {
			l = t
		}
		out = append(out, option{t, l})
	}
	return out
}

// classRowView is one attribute row as the template shows it.
type classRowView struct{ I, N int }

type classFormData struct {
	Class      *cmdb.Class // nil for a new class
	Rows       []classRowView
	Types      []option
	RefClasses []option
	AttrsError string
	CanAdd     bool
	Count      int
}

func (s *Server) showClassForm(w http.ResponseWriter, r *http.Request, status int, cur *cmdb.Class, f *form) error {
	classes, err := s.CMDB.Classes(r.Context())
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(f.Get("attrs"))
	n = max(min(n, maxAttrRows+1), 0)
	d := classFormData{Class: cur, Types: attrTypeOptions(), RefClasses: []option{{"", "Any class"}},
		AttrsError: f.Error("attrs"), CanAdd: n < maxAttrRows, Count: n}
	for _, c := range classes {
		d.RefClasses = append(d.RefClasses, option{c.Key, c.Name})
	}
	for i := range n {
		d.Rows = append(d.Rows, classRowView{I: i, N: i + 1})
	}
	title := "New CI class"
	if cur != nil {
		title = "Edit " + cur.Name
	}
	return s.render(w, r, status, s.v.cmdbClassForm, view{Title: title, Nav: "cmdb", Form: f, Data: d})
}

func (s *Server) newClassPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	f := newForm(nil)
	writeAttrRows(f, []attrRow{emptyAttrRow()})
	return s.showClassForm(w, r, http.StatusOK, nil, f)
}

// editableClass returns the class of the path, refusing a built-in one.
func (s *Server) editableClass(r *http.Request) (cmdb.Class, error) {
	c, err := s.CMDB.GetClass(r.Context(), r.PathValue("key"))
	if err != nil {
		return cmdb.Class{}, err
	}
	if c.Builtin {
		return cmdb.Class{}, errs.Conflict("CI class %s is built in and cannot be changed", c.Key)
	}
	return c.Class, nil
}

func (s *Server) editClassPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	c, err := s.editableClass(r)
	if err != nil {
		return err
	}
	return s.showClassForm(w, r, http.StatusOK, &c, classForm(c))
}

// saveClass handles both the new-class and the edit form: "Add attribute"
// renders the form again with one more row; "save" writes.
func (s *Server) saveClass(w http.ResponseWriter, r *http.Request, cur *cmdb.Class) error {
	ctx := r.Context()
	f := newForm(r.PostForm)
	rows := readAttrRows(f)
	show := func(status int, f *form) error { return s.showClassForm(w, r, status, cur, f) }
	if f.Get("op") == "add-attr" {
		// Rows whose key was cleared go; the new row comes last.
		kept := make([]attrRow, 0, len(rows)+1)
		for _, row := range rows {
			if row.Key != "" {
				kept = append(kept, row)
			}
		}
		if len(kept) < maxAttrRows {
			kept = append(kept, emptyAttrRow())
		}
		writeAttrRows(f, kept)
		return show(http.StatusOK, f)
	}
	var version int64
	if cur != nil {
		v, err := strconv.ParseInt(f.Get("version"), 10, 64)
		if err != nil || v < 1 {
			return errs.Invalid("version", "is missing; reload the edit page")
		}
		version = v
	}
	in, slots := classInput(f, rows)
	var out cmdb.Class
	var err error
	if cur == nil {
		out, err = s.CMDB.CreateClass(ctx, in)
	} else {
		out, err = s.CMDB.UpdateClass(ctx, cur.Key, in, version)
	}
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 && (e.Kind == errs.KindInvalid || e.Kind == errs.KindConflict) {
			classErrors(f, e, slots)
			return show(httpStatus(err), f)
		}
		return s.retry(w, r, err, f, nil, func(status int, f *form) error {
			if errs.Is(err, errs.KindPreconditionFailed) && cur != nil {
				now, gerr := s.CMDB.GetClass(ctx, cur.Key)
				if gerr != nil {
					return gerr
				}
				// Saving again will overwrite the other change, knowingly.
				f.Message = "Someone changed this class while you were editing it. Check your changes and save again to overwrite theirs."
				f.Set("version", itoa(now.Version))
			}
			return show(status, f)
		})
	}
	if cur == nil {
		return s.done(w, r, "/cmdb/classes/"+out.Key, "Created the CI class %s.", out.Name)
	}
	return s.done(w, r, "/cmdb/classes/"+out.Key, "Saved the CI class %s.", out.Name)
}

func (s *Server) createClass(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	return s.saveClass(w, r, nil)
}

func (s *Server) updateClass(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	c, err := s.editableClass(r)
	if err != nil {
		return err
	}
	return s.saveClass(w, r, &c)
}

func (s *Server) deleteClass(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	c, err := s.CMDB.GetClass(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	if err := s.CMDB.DeleteClass(r.Context(), c.Key); err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindConflict {
			s.setFlash(w, r, "error", sentence(e.Message))
			return redirect(w, r, "/cmdb/classes/"+c.Key)
		}
		return err
	}
	return s.done(w, r, "/cmdb/classes", "Deleted the CI class %s.", c.Name)
}
