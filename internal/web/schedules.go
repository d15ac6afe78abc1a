package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/platform/page"
)

// On-call schedules. Everyone signed in reads them and who is on call;
// responders add and remove overrides and make calendar feed URLs; managers
// create, change and delete schedules. The schedule store decides who may
// do what; these pages only leave out the forms a role cannot use.
//
// The calendar feeds themselves (/feeds/<key>.ics) are public: calendar apps
// cannot sign in, so the unguessable key in the URL is the credential.

// ---- the list ----

type scheduleRow struct {
	oncall.Schedule
	Now oncall.OnCall
}

type schedulesData struct {
	Rows []scheduleRow
	// MyFeed is the signed-in user's own calendar feed; MyFeedURL is set
	// only on the page that made it.
	MyFeed    oncall.Feed
	MyFeedURL string
}

func (s *Server) schedulesPage(w http.ResponseWriter, r *http.Request) error {
	return s.showSchedules(w, r, "")
}

func (s *Server) showSchedules(w http.ResponseWriter, r *http.Request, feedURL string) error {
	ctx := r.Context()
	l, err := s.Schedules.List(ctx, oncall.Filter{}, page.Request{Limit: page.MaxLimit})
	if err != nil {
		return err
	}
	now, err := s.Schedules.AllNow(ctx, s.Clock.Now())
	if err != nil {
		return err
	}
	byID := map[int64]oncall.OnCall{}
	for _, oc := range now {
		byID[oc.ScheduleID] = oc
	}
	d := schedulesData{MyFeedURL: feedURL}
	for _, sc := range l.Items {
		d.Rows = append(d.Rows, scheduleRow{Schedule: sc, Now: byID[sc.ID]})
	}
	slices.SortFunc(d.Rows, func(a, b scheduleRow) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	if me(r).UserID != 0 {
		if d.MyFeed, err = s.Schedules.FeedInfo(ctx, oncall.FeedUser, me(r).UserID); err != nil {
			return err
		}
	}
	return s.render(w, r, http.StatusOK, s.v.schedules, view{Title: "On-call schedules", Nav: "oncall", Data: d})
}

// rotateMyFeed makes a new calendar feed URL for the signed-in user's shifts.
func (s *Server) rotateMyFeed(w http.ResponseWriter, r *http.Request) error {
	f, err := s.Schedules.RotateFeed(r.Context(), oncall.FeedUser, me(r).UserID)
	if err != nil {
		return err
	}
	return s.showSchedules(w, r, absoluteURL(r, f.Path))
}

// absoluteURL is path on this server as the browser reached it.
func absoluteURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// ---- the feed ----

// calendarFeed answers a calendar app: GET /feeds/<key>.ics.
func (s *Server) calendarFeed(w http.ResponseWriter, r *http.Request) error {
	httpx.SecretPath(w) // the path holds the key
	key, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok {
		return errs.NotFound("there is no calendar feed at %s", r.URL.Path)
	}
	b, err := s.Schedules.FeedCalendar(r.Context(), key)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="oncall.ics"`)
	w.Header().Set("Cache-Control", "private, max-age=300")
	_, err = w.Write(b)
	return err
}

// ---- one schedule ----

// tlBar is one bar of the timeline: where it sits (percent of the width),
// who it is, and its colour class.
type tlBar struct {
	X, W         string
	Label, Title string
	Class        string
}

type tlRow struct {
	Label string
	Final bool
	Bars  []tlBar
}

type tlTick struct {
	X, Label string
}

type shiftRow struct {
	Who, Source string
	Start, End  string // local, in the schedule's zone
	Override    bool
}

type overrideRow struct {
	oncall.Override
	Replaces   string
	Start, End string // local
}

// nowRow is one user on call now, with until when in the schedule's zone.
type nowRow struct {
	Name, Until string
	Override    bool
}

type scheduleData struct {
	Schedule  oncall.Schedule
	Team      string
	Now       []nowRow
	Layers    []layerSummary
	Ticks     []tlTick
	Rows      []tlRow
	Shifts    []shiftRow
	Overrides []overrideRow
	Users     []option
	Feed      oncall.Feed
	FeedURL   string // only right after a new feed URL was made
	Days      int
}

type layerSummary struct {
	Name, Rule, Who, Limits string
}

// timelineDays is how far the schedule page looks ahead.
const timelineDays = 14

func (s *Server) schedulePage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.showSchedule(w, r, id, http.StatusOK, nil, "")
}

// showSchedule renders a schedule's page; f is the override form (nil for a
// fresh one), feedURL a feed URL just made.
func (s *Server) showSchedule(w http.ResponseWriter, r *http.Request, id int64, status int, f *form, feedURL string) error {
	ctx := r.Context()
	sc, err := s.Schedules.Get(ctx, id)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(sc.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	now := s.Clock.Now()
	d := scheduleData{Schedule: sc, FeedURL: feedURL, Days: timelineDays}
	oc, err := s.Schedules.Now(ctx, id, now)
	if err != nil {
		return err
	}
	for _, u := range oc.Users {
		row := nowRow{Name: u.Name, Override: u.OverrideID != nil}
		if u.Until != nil {
			row.Until = localText(*u.Until, loc)
		}
		d.Now = append(d.Now, row)
	}
	users, err := s.IAM.ListUsers(ctx, iam.UserFilter{}, page.Request{Limit: page.MaxLimit})
	if err != nil {
		return err
	}
	names := map[int64]string{}
	d.Users = []option{{"", "— choose —"}}
	for _, u := range users.Items {
		names[u.ID] = u.Name
		d.Users = append(d.Users, option{itoa(u.ID), u.Name + " (" + u.Email + ")"})
	}
	if sc.TeamID != nil {
		if t, err := s.IAM.GetTeam(ctx, *sc.TeamID); err == nil {
			d.Team = t.Name
		}
	}
	for _, l := range sc.Layers {
		d.Layers = append(d.Layers, summarizeLayer(l, names))
	}

	y, m, day := now.In(loc).Date()
	from := time.Date(y, m, day, 0, 0, 0, 0, loc)
	to := time.Date(y, m, day+timelineDays, 0, 0, 0, 0, loc)
	tl, err := s.Schedules.Timeline(ctx, id, from, to)
	if err != nil {
		return err
	}
	d.Ticks, d.Rows = timelineRows(tl, loc, from, to)
	for _, sh := range tl.Final {
		d.Shifts = append(d.Shifts, shiftRow{Who: sh.UserName, Source: sh.Layer, Start: localText(sh.Start, loc), End: localText(sh.End, loc),
			Override: sh.OverrideID != nil})
	}
	ov, err := s.Schedules.Overrides(ctx, id, now, now.AddDate(100, 0, 0))
	if err != nil {
		return err
	}
	for _, o := range ov {
		row := overrideRow{Override: o, Start: localText(o.Start, loc), End: localText(o.End, loc)}
		if o.ReplacesUserID != nil {
			row.Replaces = names[*o.ReplacesUserID]
		}
		d.Overrides = append(d.Overrides, row)
	}
	if d.Feed, err = s.Schedules.FeedInfo(ctx, oncall.FeedSchedule, id); err != nil {
		return err
	}
	if f == nil {
		f = newForm(nil)
		start := now.In(loc).Truncate(time.Hour).Add(time.Hour)
		f.Set("starts_at", start.Format(localLayout)).Set("ends_at", start.Add(8*time.Hour).Format(localLayout))
	}
	return s.render(w, r, status, s.v.schedule, view{Title: sc.Name, Nav: "oncall", Form: f, Data: d})
}

// localText writes a time in a zone for people: "Mon 2 Nov 09:00".
func localText(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 15:04")
}

func summarizeLayer(l oncall.Layer, names map[int64]string) layerSummary {
	unit := l.ShiftUnit
	if l.ShiftLength != 1 {
		unit = strconv.Itoa(l.ShiftLength) + " " + unit + "s"
	}
	ls := layerSummary{Name: l.Name, Rule: "Hands off every " + unit + " from " + strings.Replace(l.Start, "T", " ", 1)}
	if l.End != nil {
		ls.Rule += " until " + strings.Replace(*l.End, "T", " ", 1)
	}
	var who []string
	for _, u := range l.Participants {
		n, ok := names[u]
		if !ok {
			n = "user " + itoa(u)
		}
		who = append(who, n)
	}
	ls.Who = strings.Join(who, " → ")
	var lim []string
	for _, rs := range l.Restrictions {
		days := "every day"
		if len(rs.Days) > 0 {
			days = strings.Join(rs.Days, ", ")
		}
		lim = append(lim, days+" "+rs.Start+"–"+rs.End)
	}
	ls.Limits = strings.Join(lim, "; ")
	return ls
}

// timelineRows lays out the timeline: one row per layer (highest first),
// the overrides, and the final row; bars placed by percent of the range.
func timelineRows(tl oncall.Timeline, loc *time.Location, from, to time.Time) ([]tlTick, []tlRow) {
	total := float64(to.Sub(from))
	pct := func(t time.Time) float64 {
		return max(0, min(100, float64(t.Sub(from))/total*100))
	}
	colour := map[int64]int{}
	class := func(u int64) string {
		c, ok := colour[u]
		if !ok {
			c = len(colour)
			colour[u] = c
		}
		return "tl-c" + strconv.Itoa(c%8)
	}
	bar := func(sh oncall.Shift, cls string) tlBar {
		x, e := pct(sh.Start), pct(sh.End)
		return tlBar{X: fmt.Sprintf("%.3f%%", x), W: fmt.Sprintf("%.3f%%", max(e-x, 0.05)), Label: sh.UserName,
			Title: sh.UserName + ": " + localText(sh.Start, loc) + " – " + localText(sh.End, loc), Class: cls}
	}
	var ticks []tlTick
	for d := from; d.Before(to); {
		ticks = append(ticks, tlTick{X: fmt.Sprintf("%.3f%%", pct(d)), Label: d.Format("Mon 2")})
		y, m, dd := d.Date()
		d = time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
	}
	var rows []tlRow
	for i := len(tl.Layers) - 1; i >= 0; i-- {
		l := tl.Layers[i]
		row := tlRow{Label: l.Name}
		for _, sh := range l.Shifts {
			row.Bars = append(row.Bars, bar(sh, class(sh.UserID)))
		}
		rows = append(rows, row)
	}
	if len(tl.Overrides) > 0 {
		row := tlRow{Label: "Overrides"}
		for _, o := range tl.Overrides {
			row.Bars = append(row.Bars, bar(oncall.Shift{UserID: o.UserID, UserName: o.UserName, Start: later(o.Start, tl.From), End: earlier(o.End, tl.To)},
				class(o.UserID)+" tl-override"))
		}
		rows = append(rows, row)
	}
	final := tlRow{Label: "On call", Final: true}
	for _, sh := range tl.Final {
		cls := class(sh.UserID)
		if sh.OverrideID != nil {
			cls += " tl-override"
		}
		final.Bars = append(final.Bars, bar(sh, cls))
	}
	return ticks, append(rows, final)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ---- overrides ----

func (s *Server) createOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := requireRole(r, iam.RoleResponder); err != nil {
		return err
	}
	f := newForm(r.PostForm)
	sc, err := s.Schedules.Get(r.Context(), id)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(sc.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	in := oncall.OverrideInput{Note: f.Get("override_note")}
	if in.UserID, err = strconv.ParseInt(f.Get("user"), 10, 64); err != nil || in.UserID < 1 {
		f.Fail("user", "is required: who takes over")
	}
	if v := f.Get("replaces"); v != "" {
		rid, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f.Fail("replaces", "must be a listed user")
		}
		in.ReplacesUserID = &rid
	}
	var ok bool
	if in.Start, ok = parseLocal(f.Get("starts_at"), loc); !ok {
		f.Fail("starts_at", "must be a date and time")
	}
	if in.End, ok = parseLocal(f.Get("ends_at"), loc); !ok {
		f.Fail("ends_at", "must be a date and time")
	}
	show := func(status int, f *form) error { return s.showSchedule(w, r, id, status, f, "") }
	if f.Invalid() {
		return invalid(f, show)
	}
	o, err := s.Schedules.CreateOverride(r.Context(), id, in)
	if err != nil {
		return s.retry(w, r, err, f, map[string]string{"user_id": "user", "replaces_user_id": "replaces",
			"start": "starts_at", "end": "ends_at", "note": "override_note"}, show)
	}
	return s.done(w, r, "/schedules/"+itoa(id)+"#overrides", "%s is on call from %s to %s.", o.UserName, localText(o.Start, loc), localText(o.End, loc))
}

func (s *Server) deleteOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	oid, err := pathID(r, "override_id")
	if err != nil {
		return err
	}
	if err := s.Schedules.DeleteOverride(r.Context(), id, oid); err != nil {
		return err
	}
	return s.done(w, r, "/schedules/"+itoa(id)+"#overrides", "The override is removed.")
}

func (s *Server) rotateScheduleFeed(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := s.Schedules.RotateFeed(r.Context(), oncall.FeedSchedule, id)
	if err != nil {
		return err
	}
	return s.showSchedule(w, r, id, http.StatusOK, nil, absoluteURL(r, f.Path))
}

// ---- the schedule form ----

// layerBlock is one layer of the schedule form.
type layerBlock struct {
	I, N                           int // index, and number for people
	Name, Start, End, Unit, Length string
	From, To                       string
	Days                           []choice
	Participants                   []string // one select per entry; "" is an empty select
	Remove                         bool
	Selects                        []participantSelect
	// More holds the layer's restriction windows after the first, which
	// the form does not show, as JSON, so that saving keeps them.
	More                                string
	MoreCount                           int
	ParticipantsError, RestrictionError string
}

type scheduleFormData struct {
	Schedule *oncall.Schedule // nil for a new one
	Zones    []option
	Teams    []option
	Users    []option
	Units    []option
	Layers   []layerBlock
}

func unitOptions() []option {
	return []option{{oncall.UnitHour, "Hours"}, {oncall.UnitDay, "Days"}, {oncall.UnitWeek, "Weeks"}, {oncall.UnitMonth, "Months"}}
}

// participantSelect is one participant's select in the form.
type participantSelect struct {
	ID    string
	N     int
	Value string
}

// maxFormLayers caps the layers a form may have.
const maxFormLayers = 20

func (s *Server) newSchedulePage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(nil)
	setZone(f, "UTC")
	loc := time.UTC
	start := s.Clock.Now().In(loc)
	// The next Monday 09:00: a common hand-off.
	days := (8 - int(start.Weekday())) % 7
	if days == 0 {
		days = 7
	}
	y, m, d := start.Date()
	first := time.Date(y, m, d+days, 9, 0, 0, 0, loc)
	blocks := []layerBlock{{Name: "Layer 1", Start: first.Format(localLayout), Unit: oncall.UnitWeek, Length: "1", Participants: []string{"", ""}}}
	return s.showScheduleForm(w, r, http.StatusOK, nil, f, blocks)
}

func (s *Server) editSchedulePage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	sc, err := s.Schedules.Get(r.Context(), id)
	if err != nil {
		return err
	}
	f := newForm(nil).Set("name", sc.Name).Set("description", sc.Description).Set("version", strconv.FormatInt(sc.Version, 10))
	setZone(f, sc.TimeZone)
	if sc.TeamID != nil {
		f.Set("team", itoa(*sc.TeamID))
	}
	var blocks []layerBlock
	for i, l := range sc.Layers {
		b := layerBlock{I: i, Name: l.Name, Start: l.Start, Unit: l.ShiftUnit, Length: strconv.Itoa(l.ShiftLength)}
		if l.End != nil {
			b.End = *l.End
		}
		for _, u := range l.Participants {
			b.Participants = append(b.Participants, itoa(u))
		}
		if len(l.Restrictions) > 0 {
			rs := l.Restrictions[0]
			b.From, b.To = rs.Start, rs.End
			b.Days = dayChoices(rs.Days)
		}
		if len(l.Restrictions) > 1 {
			more, _ := json.Marshal(l.Restrictions[1:])
			b.More = string(more)
		}
		blocks = append(blocks, b)
	}
	return s.showScheduleForm(w, r, http.StatusOK, &sc, f, blocks)
}

func dayChoices(checked []string) []choice {
	var out []choice
	for _, d := range weekdays {
		out = append(out, choice{Value: d.Value, Label: d.Label, Checked: slices.Contains(checked, d.Value)})
	}
	return out
}

func (s *Server) showScheduleForm(w http.ResponseWriter, r *http.Request, status int, cur *oncall.Schedule, f *form, blocks []layerBlock) error {
	d := scheduleFormData{Schedule: cur, Zones: zoneOptions(), Units: unitOptions(), Layers: blocks}
	var err error
	if d.Teams, err = s.teamOptions(r, "No team"); err != nil {
		return err
	}
	users, err := s.IAM.ListUsers(r.Context(), iam.UserFilter{}, page.Request{Limit: page.MaxLimit})
	if err != nil {
		return err
	}
	d.Users = []option{{"", "— nobody —"}}
	for _, u := range users.Items {
		d.Users = append(d.Users, option{itoa(u.ID), u.Name + " (" + u.Email + ")"})
	}
	for i := range d.Layers {
		b := &d.Layers[i]
		b.I, b.N = i, i+1
		f.Set(layerField(i, "name"), b.Name).Set(layerField(i, "start"), b.Start).Set(layerField(i, "end"), b.End).
			Set(layerField(i, "unit"), b.Unit).Set(layerField(i, "length"), b.Length).Set(layerField(i, "from"), b.From).
			Set(layerField(i, "to"), b.To)
		if b.Days == nil {
			b.Days = dayChoices(nil)
		}
		if len(b.Participants) == 0 {
			b.Participants = []string{""}
		}
		b.Selects = nil
		for j, v := range b.Participants {
			b.Selects = append(b.Selects, participantSelect{ID: fmt.Sprintf("l%d-p-%d", i, j), N: j + 1, Value: v})
		}
		b.ParticipantsError = f.Error(layerField(i, "p"))
		var more []oncall.Restriction
		if json.Unmarshal([]byte(b.More), &more) == nil {
			b.MoreCount = len(more)
		}
		b.RestrictionError = f.Error(layerField(i, "days"))
	}
	title := "New schedule"
	if cur != nil {
		title = "Edit " + cur.Name
	}
	return s.render(w, r, status, s.v.scheduleForm, view{Title: title, Nav: "oncall", Form: f, Data: d})
}

func layerField(i int, name string) string { return "l" + strconv.Itoa(i) + "_" + name }

// readLayers reads the layer blocks of a posted schedule form.
func readLayers(f *form) []layerBlock {
	n, _ := strconv.Atoi(f.Get("layers"))
	n = max(0, min(n, maxFormLayers))
	var out []layerBlock
	for i := range n {
		g := func(name string) string { return f.Get(layerField(i, name)) }
		b := layerBlock{Name: g("name"), Start: g("start"), End: g("end"), Unit: g("unit"), Length: g("length"),
			From: g("from"), To: g("to"), Remove: g("remove") != "", Participants: f.Values[layerField(i, "p")], More: g("more"),
			Days: dayChoices(f.Values[layerField(i, "days")])}
		out = append(out, b)
	}
	return out
}

// scheduleInput turns the form into a schedule input; what the form itself
// finds wrong is marked on f (the store checks the rest).
func scheduleInput(f *form, blocks []layerBlock) oncall.ScheduleInput {
	in := oncall.ScheduleInput{Name: f.Get("name"), Description: strings.TrimSpace(f.Value("description")), TimeZone: f.Get("time_zone"),
		Layers: []oncall.LayerInput{}}
	if in.TimeZone == otherZone {
		in.TimeZone = f.Get("time_zone_other")
	}
	if v := f.Get("team"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f.Fail("team", "must be a listed team")
		}
		in.TeamID = &id
	}
	for _, b := range blocks {
		i := len(in.Layers)
		l := oncall.LayerInput{Name: b.Name, Start: b.Start, ShiftUnit: b.Unit, Participants: []int64{}}
		if b.End != "" {
			e := b.End
			l.End = &e
		}
		if b.Length != "" {
			n, err := strconv.Atoi(b.Length)
			if err != nil {
				failField(f, layerField(i, "length"), "Shift length must be a whole number")
			}
			l.ShiftLength = n
		}
		for _, p := range b.Participants {
			if p == "" {
				continue
			}
			id, err := strconv.ParseInt(p, 10, 64)
			if err != nil {
				failField(f, layerField(i, "p"), "Participants must be listed users")
				continue
			}
			l.Participants = append(l.Participants, id)
		}
		if b.From != "" || b.To != "" {
			rs := oncall.Restriction{Start: trimSeconds(b.From), End: trimSeconds(b.To), Days: []string{}}
			for _, d := range b.Days {
				if d.Checked {
					rs.Days = append(rs.Days, d.Value)
				}
			}
			l.Restrictions = []oncall.Restriction{rs}
		}
		if b.More != "" {
			var more []oncall.Restriction
			if err := json.Unmarshal([]byte(b.More), &more); err != nil {
				failField(f, layerField(i, "days"), "Layer "+strconv.Itoa(i+1)+": the further on-call hours could not be read")
			}
			l.Restrictions = append(l.Restrictions, more...)
		}
		in.Layers = append(in.Layers, l)
	}
	return in
}

func trimSeconds(v string) string {
	if len(v) == len("15:04:05") {
		return v[:5]
	}
	return v
}

// failField marks a form field with a whole message.
func failField(f *form, field, text string) {
	if _, ok := f.Errors[field]; !ok {
		f.order = append(f.order, field)
	}
	f.Errors[field] = text
}

// layerLabels name the parts of a layer in messages.
var layerLabels = map[string]struct{ field, label string }{
	"name": {"name", "name"}, "start": {"start", "start"}, "end": {"end", "end"}, "shift_unit": {"unit", "shift unit"},
	"shift_length": {"length", "shift length"}, "participants": {"p", "participants"},
}

// showScheduleErrors puts the store's field errors on the form's fields:
// layers[1].start → l1_start, "Layer 2: start must be …".
func showScheduleErrors(f *form, err error) bool {
	e, ok := errs.As(err)
	if !ok || (e.Kind != errs.KindInvalid && e.Kind != errs.KindConflict) {
		return false
	}
	for _, fe := range e.Fields {
		switch {
		case strings.HasPrefix(fe.Field, "layers["):
			idx, rest, _ := strings.Cut(strings.TrimPrefix(fe.Field, "layers["), "].")
			i, _ := strconv.Atoi(idx)
			prefix := "Layer " + strconv.Itoa(i+1) + ": "
			part, _, _ := strings.Cut(rest, "[")
			switch {
			case strings.HasPrefix(rest, "restrictions"):
				field := "days"
				if strings.HasSuffix(rest, ".start") {
					field = "from"
				} else if strings.HasSuffix(rest, ".end") {
					field = "to"
				}
				failField(f, layerField(i, field), prefix+"on-call hours "+fe.Detail)
			case layerLabels[part].field != "":
				failField(f, layerField(i, layerLabels[part].field), prefix+layerLabels[part].label+" "+fe.Detail)
			default:
				failField(f, "name", prefix+rest+" "+fe.Detail)
			}
		case fe.Field == "team_id":
			failField(f, "team", "Team "+fe.Detail)
		case fe.Field == "time_zone":
			field := "time_zone"
			if f.Get("time_zone") == otherZone {
				field = "time_zone_other"
			}
			failField(f, field, "Time zone "+fe.Detail)
		default:
			failField(f, fe.Field, labelOf(fe.Field)+" "+fe.Detail)
		}
	}
	f.Message = "Please correct what is marked below."
	if len(e.Fields) == 0 {
		f.Message = sentence(e.Message)
	}
	return true
}

// saveSchedule handles the schedule form: its buttons add a layer or a
// participant (the form comes back with one more), or save.
func (s *Server) saveSchedule(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	var id int64
	var cur *oncall.Schedule
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r, "id"); err != nil {
			return err
		}
		sc, err := s.Schedules.Get(r.Context(), id)
		if err != nil {
			return err
		}
		cur = &sc
	}
	f := newForm(r.PostForm)
	var blocks []layerBlock
	for _, b := range readLayers(f) {
		if !b.Remove {
			blocks = append(blocks, b)
		}
	}
	op := f.Get("op")
	switch {
	case op == "add_layer":
		if len(blocks) < maxFormLayers {
			blocks = append(blocks, layerBlock{Name: "Layer " + strconv.Itoa(len(blocks)+1), Start: s.Clock.Now().UTC().Format("2006-01-02") + "T09:00",
				Unit: oncall.UnitWeek, Length: "1", Participants: []string{""}})
		}
		return s.showScheduleForm(w, r, http.StatusOK, cur, f, blocks)
	case strings.HasPrefix(op, "add_p_"):
		i, err := strconv.Atoi(strings.TrimPrefix(op, "add_p_"))
		if err == nil && i >= 0 && i < len(blocks) && len(blocks[i].Participants) < 100 {
			blocks[i].Participants = append(slices.Clone(blocks[i].Participants), "")
		}
		return s.showScheduleForm(w, r, http.StatusOK, cur, f, blocks)
	}
	in := scheduleInput(f, blocks)
	show := func(status int) error { return s.showScheduleForm(w, r, status, cur, f, blocks) }
	if f.Invalid() {
		f.Message = "Please correct what is marked below."
		return show(http.StatusBadRequest)
	}
	var out oncall.Schedule
	var err error
	if cur == nil {
		out, err = s.Schedules.Create(r.Context(), in)
	} else {
		ver, _ := strconv.ParseInt(f.Get("version"), 10, 64)
		out, err = s.Schedules.Replace(r.Context(), id, in, ver)
	}
	if err != nil {
		if errs.Is(err, errs.KindPreconditionFailed) {
			f.Message = "Someone else changed this schedule while you edited it. Open it again to see their change."
			return show(http.StatusPreconditionFailed)
		}
		if showScheduleErrors(f, err) {
			status := http.StatusBadRequest
			if errs.Is(err, errs.KindConflict) {
				status = http.StatusConflict
			}
			return show(status)
		}
		return err
	}
	verb := "created"
	if cur != nil {
		verb = "saved"
	}
	return s.done(w, r, "/schedules/"+itoa(out.ID), "Schedule %s is %s.", out.Name, verb)
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sc, err := s.Schedules.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.Schedules.Delete(r.Context(), id); err != nil {
		if errs.Is(err, errs.KindConflict) {
			s.setFlash(w, r, "error", sentence(errMessage(err)))
			return redirect(w, r, "/schedules/"+itoa(id))
		}
		return err
	}
	return s.done(w, r, "/schedules", "Schedule %s is deleted.", sc.Name)
}

func errMessage(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Message
	}
	return err.Error()
}
