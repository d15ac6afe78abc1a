package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Escalation policies. Everyone signed in may read them; managers create,
// change and delete them. The editor needs no script: adding a level,
// removing one or asking for another target select are submit buttons that
// send the form back, and the server renders it again with the change.

// policyRow is a policy as the list shows it.
type policyRow struct {
	oncall.Policy
	Team  string
	Steps []string // "5m: Alice, Primary"
}

type policiesData struct {
	Rows     []policyRow
	Pager    pager
	Filtered bool
}

// targetWords names a target for people: "Alice (user)".
func targetWords(t oncall.Target) string {
	if t.Name == oncall.DeletedName {
		return fmt.Sprintf("%s %d (deleted)", t.Kind, t.ID)
	}
	return t.Name + " (" + t.Kind + ")"
}

func policySteps(p oncall.Policy) []string {
	out := make([]string, 0, len(p.Levels))
	for _, l := range p.Levels {
		names := make([]string, 0, len(l.Targets))
		for _, t := range l.Targets {
			names = append(names, targetWords(t))
		}
		out = append(out, fmt.Sprintf("%dm: %s", l.DelayMinutes, strings.Join(names, ", ")))
	}
	return out
}

func (s *Server) policiesPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := newForm(r.URL.Query())
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	var d policiesData
	l, err := s.Policies.List(ctx, oncall.PolicyFilter{Query: f.Get("q")}, p)
	if err != nil {
		return err
	}
	var teams []int64
	for _, pl := range l.Items {
		if pl.TeamID != nil {
			teams = append(teams, *pl.TeamID)
		}
	}
	n, err := s.Incidents.Names(ctx, nil, teams, nil)
	if err != nil {
		return err
	}
	for _, pl := range l.Items {
		d.Rows = append(d.Rows, policyRow{Policy: pl, Team: n.Team(pl.TeamID), Steps: policySteps(pl)})
	}
	d.Pager, d.Filtered = pagerOf(r, l.Next), f.Get("q") != ""
	return s.render(w, r, http.StatusOK, s.v.policies, view{Title: "Escalation policies", Nav: "escalation", Form: f, Data: d})
}

// The policy page: its levels as an ordered list, in words.

// policyStep is one level on the policy page.
type policyStep struct {
	N       int
	Targets []oncall.Target
	Delay   int
	Then    string // "Level 2", "Level 1 again", "nobody else is paged"
}

type policyData struct {
	Policy oncall.Policy
	Team   string
	Steps  []policyStep
}

func (s *Server) policyPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.Policies.Get(ctx, id)
	if err != nil {
		return err
	}
	d := policyData{Policy: p}
	n, err := s.Incidents.Names(ctx, nil, []int64{ptrID(p.TeamID)}, nil)
	if err != nil {
		return err
	}
	d.Team = n.Team(p.TeamID)
	for i, l := range p.Levels {
		st := policyStep{N: i + 1, Targets: l.Targets, Delay: l.DelayMinutes}
		switch {
		case i+1 < len(p.Levels):
			st.Then = fmt.Sprintf("Level %d", i+2)
		case p.Repeat > 0:
			st.Then = "Level 1 again"
		default:
			st.Then = "nobody else is paged"
		}
		d.Steps = append(d.Steps, st)
	}
	return s.render(w, r, http.StatusOK, s.v.policy, view{Title: p.Name, Nav: "escalation", Data: d})
}

// The editor.

// maxSlots caps the target selects of a level.
const maxSlots = oncall.MaxTargetsPerLevel

// levelForm is one level of the editor as typed: its delay and the values
// of its target selects ("user:3"; "" for a select left at none).
type levelForm struct {
	Delay   string
	Targets []string
}

// editor is the policy form's levels; the plain fields live in the form.
type editor struct{ Levels []levelForm }

// slotView is one target select of a level.
type slotView struct {
	ID, Name, Value, Error string
	N                      int
}

// levelView is one level of the editor as the template shows it.
type levelView struct {
	I, N                     int
	Delay                    string
	DelayID, DelayError      string
	TargetsID, TargetsError  string
	Slots                    []slotView
	CanRemove, CanAddTargets bool
}

type policyFormData struct {
	Policy           *oncall.Policy // nil for a new one
	Teams            []option
	Users, Schedules []option
	TeamTargets      []option
	Levels           []levelView
	LevelsError      string
	CanAddLevel      bool
	Count            int
}

func targetValue(kind string, id int64) string { return kind + ":" + itoa(id) }

func targetOptions(kind string, cs []oncall.TargetOption) []option {
	out := make([]option, 0, len(cs))
	for _, c := range cs {
		out = append(out, option{targetValue(kind, c.ID), c.Name})
	}
	return out
}

func (s *Server) showPolicyForm(w http.ResponseWriter, r *http.Request, status int, cur *oncall.Policy, f *form, ed editor) error {
	ch, err := s.Policies.TargetChoices(r.Context())
	if err != nil {
		return err
	}
	d := policyFormData{Policy: cur, Users: targetOptions(oncall.TargetUser, ch.Users),
		Schedules: targetOptions(oncall.TargetSchedule, ch.Schedules), TeamTargets: targetOptions(oncall.TargetTeam, ch.Teams),
		CanAddLevel: len(ed.Levels) < oncall.MaxLevels, Count: len(ed.Levels), LevelsError: f.Error("levels")}
	if d.Teams, err = s.teamOptions(r, "No team"); err != nil {
		return err
	}
	for i, l := range ed.Levels {
		lv := levelView{I: i, N: i + 1, Delay: l.Delay, DelayID: fmt.Sprintf("f-delay-%d", i), DelayError: f.Error(fmt.Sprintf("delay-%d", i)),
			TargetsID: fmt.Sprintf("f-targets-%d", i), TargetsError: f.Error(fmt.Sprintf("targets-%d", i)),
			CanRemove: len(ed.Levels) > 1, CanAddTargets: len(l.Targets) < maxSlots}
		for j, v := range l.Targets {
			lv.Slots = append(lv.Slots, slotView{ID: fmt.Sprintf("f-target-%d-%d", i, j), Name: fmt.Sprintf("target-%d", i),
				Value: v, Error: f.Error(fmt.Sprintf("target-%d-%d", i, j)), N: j + 1})
		}
		d.Levels = append(d.Levels, lv)
	}
	title := "New escalation policy"
	if cur != nil {
		title = "Edit " + cur.Name
	}
	return s.render(w, r, status, s.v.policyForm, view{Title: title, Nav: "escalation", Form: f, Data: d})
}

// withSpare gives every level one empty target select to fill in (when it
// has room), after the chosen targets.
func (ed editor) withSpare() editor {
	out := editor{Levels: make([]levelForm, 0, len(ed.Levels))}
	for _, l := range ed.Levels {
		var ts []string
		for _, t := range l.Targets {
			if t != "" {
				ts = append(ts, t)
			}
		}
		if len(ts) < maxSlots {
			ts = append(ts, "")
		}
		out.Levels = append(out.Levels, levelForm{Delay: l.Delay, Targets: ts})
	}
	return out
}

// editorOf puts a policy's values into the form and the editor.
// keepSlots keeps every select where it was, so that errors stay beside
// theirs, and adds an empty one to a level that has none and has room.
func (ed editor) keepSlots() editor {
	out := editor{Levels: make([]levelForm, 0, len(ed.Levels))}
	for _, l := range ed.Levels {
		ts := append([]string(nil), l.Targets...)
		hasEmpty := false
		for _, t := range ts {
			hasEmpty = hasEmpty || t == ""
		}
		if !hasEmpty && len(ts) < maxSlots {
			ts = append(ts, "")
		}
		out.Levels = append(out.Levels, levelForm{Delay: l.Delay, Targets: ts})
	}
	return out
}

func editorOf(f *form, p oncall.Policy) editor {
	f.Set("name", p.Name).Set("description", p.Description).Set("team", idText(p.TeamID)).
		Set("repeat", strconv.Itoa(p.Repeat)).Set("version", itoa(p.Version))
	var ed editor
	for _, l := range p.Levels {
		lf := levelForm{Delay: strconv.Itoa(l.DelayMinutes)}
		for _, t := range l.Targets {
			if t.Name != oncall.DeletedName { // it cannot be saved again; the page shows it is gone
				lf.Targets = append(lf.Targets, targetValue(t.Kind, t.ID))
			}
		}
		ed.Levels = append(ed.Levels, lf)
	}
	return ed.withSpare()
}

func newEditor() editor {
	return editor{Levels: []levelForm{{Delay: "15"}}}.withSpare()
}

// readEditor reads the levels of the posted form.
func readEditor(r *http.Request, f *form) editor {
	n, err := strconv.Atoi(f.Get("levels"))
	if err != nil || n < 0 {
		n = 0
	}
	n = min(n, oncall.MaxLevels+1)
	var ed editor
	for i := range n {
		ed.Levels = append(ed.Levels, levelForm{Delay: f.Get(fmt.Sprintf("delay-%d", i)),
			Targets: append([]string(nil), r.PostForm[fmt.Sprintf("target-%d", i)]...)})
	}
	return ed
}

var opRe = regexp.MustCompile(`^(add-level|remove-level|more-targets)(?:-(\d+))?$`)

// change applies an editor button: add a level, remove one, or give a
// level another target select. It reports false for "save".
func (ed *editor) change(op string) bool {
	m := opRe.FindStringSubmatch(op)
	if m == nil {
		return false
	}
	i, _ := strconv.Atoi(m[2])
	switch m[1] {
	case "add-level":
		if len(ed.Levels) < oncall.MaxLevels {
			delay := "15"
			if n := len(ed.Levels); n > 0 && ed.Levels[n-1].Delay != "" {
				delay = ed.Levels[n-1].Delay
			}
			ed.Levels = append(ed.Levels, levelForm{Delay: delay})
		}
	case "remove-level":
		if i < len(ed.Levels) && len(ed.Levels) > 1 {
			ed.Levels = append(ed.Levels[:i], ed.Levels[i+1:]...)
		}
	case "more-targets":
		// withSpare adds the new select.
	}
	*ed = ed.withSpare()
	return true
}

// policyInput reads the editor into a policy input. What the form itself
// finds wrong is marked on f; slots maps each level's target index to its
// select, so that the store's errors land on the right select.
func policyInput(f *form, ed editor) (oncall.PolicyInput, [][]int) {
	in := oncall.PolicyInput{Name: f.Get("name"), Description: f.Get("description"), Levels: []oncall.LevelInput{}}
	team, ok := optionalID(f.Value("team"))
	if !ok {
		f.Fail("team", "must be one of the listed teams")
	}
	in.TeamID = team
	if v := f.Get("repeat"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.Fail("repeat", "must be a whole number from 0 to 9")
		}
		in.Repeat = n
	}
	slots := make([][]int, len(ed.Levels))
	for i, l := range ed.Levels {
		li := oncall.LevelInput{Targets: []oncall.TargetInput{}}
		if n, err := strconv.Atoi(l.Delay); err == nil {
			li.DelayMinutes = n
		} else {
			failAs(f, fmt.Sprintf("delay-%d", i), fmt.Sprintf("Level %d: the delay", i+1), "must be a whole number of minutes")
		}
		for j, v := range l.Targets {
			if v == "" {
				continue
			}
			kind, id, _ := strings.Cut(v, ":")
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n < 1 {
				failAs(f, fmt.Sprintf("target-%d-%d", i, j), fmt.Sprintf("Level %d, target %d", i+1, j+1), "must be one of the listed choices")
				continue
			}
			li.Targets = append(li.Targets, oncall.TargetInput{Kind: kind, ID: n})
			slots[i] = append(slots[i], j)
		}
		in.Levels = append(in.Levels, li)
	}
	return in, slots
}

// failAs marks a field with a message under a label of its own.
func failAs(f *form, name, label, detail string) {
	if _, ok := f.Errors[name]; !ok {
		f.order = append(f.order, name)
	}
	sep := " "
	if strings.HasPrefix(detail, "at least ") || strings.HasPrefix(detail, "a ") {
		sep = ": "
	}
	f.Errors[name] = label + sep + detail
}

var fieldPathRe = regexp.MustCompile(`^levels\[(\d+)\]\.(delay_minutes|targets)(?:\[(\d+)\]\.\w+)?$`)

// policyErrors shows the store's errors on the editor.
func policyErrors(f *form, err error, slots [][]int) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	for _, fe := range e.Fields {
		m := fieldPathRe.FindStringSubmatch(fe.Field)
		switch {
		case fe.Field == "team_id":
			f.Fail("team", fe.Detail)
		case fe.Field == "levels":
			failAs(f, "levels", "Levels:", fe.Detail)
		case m == nil:
			f.Fail(fe.Field, fe.Detail)
		case m[2] == "delay_minutes":
			i, _ := strconv.Atoi(m[1])
			failAs(f, fmt.Sprintf("delay-%d", i), fmt.Sprintf("Level %d: the delay", i+1), fe.Detail)
		case m[3] == "":
			i, _ := strconv.Atoi(m[1])
			failAs(f, fmt.Sprintf("targets-%d", i), fmt.Sprintf("Level %d", i+1), fe.Detail)
		default:
			i, _ := strconv.Atoi(m[1])
			j, _ := strconv.Atoi(m[3])
			slot := j
			if i < len(slots) && j < len(slots[i]) {
				slot = slots[i][j]
			}
			failAs(f, fmt.Sprintf("target-%d-%d", i, slot), fmt.Sprintf("Level %d, target %d", i+1, slot+1), fe.Detail)
		}
	}
	f.Message = "Please correct what is marked below."
	if e.Kind == errs.KindConflict {
		f.Message = sentence(e.Message)
	}
	return nil
}

func (s *Server) newPolicyPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	return s.showPolicyForm(w, r, http.StatusOK, nil, newForm(nil).Set("repeat", "0"), newEditor())
}

// savePolicy handles both the new-policy and the edit form: an editor
// button renders the form again with its change; "save" writes.
func (s *Server) savePolicy(w http.ResponseWriter, r *http.Request, cur *oncall.Policy) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	ctx := r.Context()
	f := newForm(r.PostForm)
	ed := readEditor(r, f)
	show := func(status int, f *form) error { return s.showPolicyForm(w, r, status, cur, f, ed.keepSlots()) }
	if ed.change(f.Get("op")) {
		return s.showPolicyForm(w, r, http.StatusOK, cur, f, ed)
	}
	var version int64
	if cur != nil {
		v, err := strconv.ParseInt(f.Get("version"), 10, 64)
		if err != nil || v < 1 {
			return errs.Invalid("version", "is missing; reload the edit page")
		}
		version = v
	}
	in, slots := policyInput(f, ed)
	if f.Invalid() {
		return invalid(f, show)
	}
	var p oncall.Policy
	var err error
	if cur == nil {
		p, err = s.Policies.Create(ctx, in)
	} else {
		p, err = s.Policies.Replace(ctx, cur.ID, in, version)
	}
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			if err := policyErrors(f, err, slots); err != nil {
				return err
			}
			status := http.StatusBadRequest
			if e.Kind == errs.KindConflict {
				status = http.StatusConflict
			}
			return show(status, f)
		}
		return s.retry(w, r, err, f, nil, func(status int, f *form) error {
			if errs.Is(err, errs.KindPreconditionFailed) && cur != nil {
				now, gerr := s.Policies.Get(ctx, cur.ID)
				if gerr != nil {
					return gerr
				}
				// Saving again will overwrite the other change, knowingly.
				f.Message = "Someone changed this policy while you were editing it. Check your changes and save again to overwrite theirs."
				f.Set("version", itoa(now.Version))
			}
			return show(status, f)
		})
	}
	if cur == nil {
		return s.done(w, r, "/escalation-policies/"+itoa(p.ID), "Created the escalation policy %s. Attach it to services on their edit pages.", p.Name)
	}
	return s.done(w, r, "/escalation-policies/"+itoa(p.ID), "Saved the escalation policy %s.", p.Name)
}

func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request) error {
	return s.savePolicy(w, r, nil)
}

func (s *Server) editPolicyPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.Policies.Get(r.Context(), id)
	if err != nil {
		return err
	}
	f := newForm(nil)
	ed := editorOf(f, p)
	return s.showPolicyForm(w, r, http.StatusOK, &p, f, ed)
}

func (s *Server) updatePolicy(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.Policies.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return s.savePolicy(w, r, &p)
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.Policies.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.Policies.Delete(r.Context(), id); err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindConflict {
			s.setFlash(w, r, "error", sentence(e.Message))
			return redirect(w, r, "/escalation-policies/"+itoa(id))
		}
		return err
	}
	return s.done(w, r, "/escalation-policies", "Deleted the escalation policy %s.", p.Name)
}

// policyOptions lists the policies for a service's select, first "none".
func (s *Server) policyOptions(r *http.Request) ([]option, error) {
	ps, err := s.Policies.Names(r.Context())
	if err != nil {
		return nil, err
	}
	out := []option{{"", "No escalation policy"}}
	for _, p := range ps {
		out = append(out, option{itoa(p.ID), p.Name})
	}
	return out, nil
}
