package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/rules"
)

// Maintenance windows: one-off or weekly periods in which the events of some
// services, or with some labels, are recorded but page nobody. Everyone
// signed in sees them; managers change them (the rules store decides).

// windowRow is a window as the list shows it.
type windowRow struct {
	rules.MaintenanceWindow
	Schedule string   // when, in words
	Services []option // its services, id and name
	Active   bool
	Ends     time.Time  // the end of the current period, when active
	Next     *time.Time // the next start, if any
}

type maintenanceData struct{ Rows []windowRow }

// weekdayNames are the window days as the store writes them, Monday first.
var weekdayNames = map[string]string{"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun",
	"monday": "Mon", "tuesday": "Tue", "wednesday": "Wed", "thursday": "Thu", "friday": "Fri", "saturday": "Sat", "sunday": "Sun"}

// daysText writes days of the week in order, with runs of three or more as
// ranges: "Mon–Fri", "Sat, Sun", "every day".
func daysText(days []string) string {
	on := make([]bool, len(weekdays))
	for _, d := range days {
		short := weekdayNames[strings.ToLower(strings.TrimSpace(d))]
		for i, w := range weekdays {
			if w.Label == short {
				on[i] = true
			}
		}
	}
	var parts []string
	for i := 0; i < len(weekdays); {
		if !on[i] {
			i++
			continue
		}
		j := i
		for j+1 < len(weekdays) && on[j+1] {
			j++
		}
		switch {
		case i == 0 && j == len(weekdays)-1:
			return "every day"
		case j-i >= 2:
			parts = append(parts, weekdays[i].Label+"–"+weekdays[j].Label)
		default:
			for k := i; k <= j; k++ {
				parts = append(parts, weekdays[k].Label)
			}
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// zoneName is a window's time zone for people: UTC when it has none.
func zoneName(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

// scheduleText says when a window applies, in its own time zone.
func scheduleText(w rules.MaintenanceWindow) string {
	tz := zoneName(w.TimeZone)
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	if rc := w.Recurrence; rc != nil {
		out := fmt.Sprintf("Weekly, %s at %s for %s (%s)", daysText(rc.Days), rc.StartTime, shortDuration(int64(rc.DurationMinutes)*60), tz)
		if rc.From != "" {
			out += ", from " + rc.From
		}
		if rc.Until != "" {
			out += ", until " + rc.Until
		}
		return out
	}
	const day = "2 Jan 2006"
	start, end := w.StartsAt.In(loc), w.EndsAt.In(loc)
	if start.Format(day) == end.Format(day) {
		return fmt.Sprintf("Once, %s %s–%s (%s)", start.Format(day), start.Format("15:04"), end.Format("15:04"), tz)
	}
	return fmt.Sprintf("Once, %s – %s (%s)", start.Format(day+" 15:04"), end.Format(day+" 15:04"), tz)
}

func (s *Server) maintenancePage(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Rules.Windows(r.Context())
	if err != nil {
		return err
	}
	names, _, err := s.serviceChoices(r, "")
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	var d maintenanceData
	for _, win := range list {
		row := windowRow{MaintenanceWindow: win, Schedule: scheduleText(win), Active: win.ActiveAt(now)}
		for _, id := range win.ServiceIDs {
			row.Services = append(row.Services, option{itoa(id), serviceName(names, id)})
		}
		if row.Active {
			row.Ends, _ = win.NextEnd(now)
		}
		if next, ok := win.NextStart(now); ok {
			row.Next = &next
		}
		d.Rows = append(d.Rows, row)
	}
	// Active windows first, then by their next start; those that are over last.
	slices.SortStableFunc(d.Rows, func(a, b windowRow) int {
		switch {
		case a.Active != b.Active:
			return boolOrder(a.Active)
		case (a.Next == nil) != (b.Next == nil):
			return boolOrder(a.Next != nil)
		case a.Next != nil:
			return a.Next.Compare(*b.Next)
		}
		return 0
	})
	return s.render(w, r, http.StatusOK, s.v.maintenance, view{Title: "Maintenance windows", Nav: "rules", Data: d})
}

// boolOrder sorts true before false.
func boolOrder(first bool) int {
	if first {
		return -1
	}
	return 1
}

// The new-window and edit-window pages.

// commonZones are the time zones the form offers; others can be typed in.
var commonZones = []string{"UTC",
	"Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Amsterdam", "Europe/Brussels",
	"Europe/Madrid", "Europe/Rome", "Europe/Zurich", "Europe/Vienna", "Europe/Stockholm", "Europe/Oslo", "Europe/Copenhagen",
	"Europe/Warsaw", "Europe/Prague", "Europe/Helsinki", "Europe/Athens", "Europe/Istanbul", "Europe/Kyiv", "Europe/Moscow",
	"Africa/Lagos", "Africa/Cairo", "Africa/Johannesburg", "Africa/Nairobi",
	"Asia/Dubai", "Asia/Kolkata", "Asia/Bangkok", "Asia/Singapore", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Tokyo", "Asia/Seoul",
	"Australia/Perth", "Australia/Sydney", "Pacific/Auckland",
	"America/Sao_Paulo", "America/Buenos_Aires", "America/Mexico_City", "America/Bogota", "America/Toronto", "America/New_York",
	"America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Vancouver", "America/Anchorage",
	"Pacific/Honolulu"}

// otherZone is the choice of the zone select that uses the typed zone.
const otherZone = "other"

func zoneOptions() []option {
	out := make([]option, 0, len(commonZones)+1)
	for _, z := range commonZones {
		out = append(out, option{z, strings.ReplaceAll(z, "_", " ")})
	}
	return append(out, option{otherZone, "Other (type it below)"})
}

// choice is one checkbox or multi-select option.
type choice struct {
	Value, Label string
	Checked      bool
}

type maintenanceFormData struct {
	Window   *rules.MaintenanceWindow // nil for a new window
	Zones    []option
	Days     []choice
	Services []choice
}

func (s *Server) showMaintenanceForm(w http.ResponseWriter, r *http.Request, status int, cur *rules.MaintenanceWindow, f *form) error {
	d := maintenanceFormData{Window: cur, Zones: zoneOptions()}
	for _, day := range weekdays {
		d.Days = append(d.Days, choice{Value: day.Value, Label: day.Label, Checked: slices.Contains(f.Values["weekdays"], day.Value)})
	}
	_, opts, err := s.serviceChoices(r, "")
	if err != nil {
		return err
	}
	for _, o := range opts {
		d.Services = append(d.Services, choice{Value: o.Value, Label: o.Label, Checked: slices.Contains(f.Values["services"], o.Value)})
	}
	title := "New maintenance window"
	if cur != nil {
		title = cur.Name
	}
	return s.render(w, r, status, s.v.maintenanceForm, view{Title: title, Nav: "rules", Form: f, Data: d})
}

// setZone fills in the time zone select, or "other" and the typed zone.
func setZone(f *form, tz string) {
	tz = zoneName(tz)
	if slices.Contains(commonZones, tz) {
		f.Set("time_zone", tz)
		return
	}
	f.Set("time_zone", otherZone).Set("time_zone_other", tz)
}

// fillWindowForm puts a window's values into its form.
func fillWindowForm(f *form, win rules.MaintenanceWindow) *form {
	f.Set("name", win.Name).Set("description", win.Description).Set("matchers", "")
	setZone(f, win.TimeZone)
	if len(win.Matchers) > 0 {
		f.Set("matchers", win.Matchers.String())
	}
	for _, id := range win.ServiceIDs {
		f.Values.Add("services", itoa(id))
	}
	if rc := win.Recurrence; rc != nil {
		f.Set("kind", "weekly").Set("start_time", rc.StartTime).Set("duration", shortDuration(int64(rc.DurationMinutes)*60)).
			Set("from_date", rc.From).Set("until_date", rc.Until)
		for _, d := range rc.Days {
			if short, ok := weekdayNames[strings.ToLower(d)]; ok {
				f.Values.Add("weekdays", strings.ToLower(short))
			}
		}
		return f
	}
	loc, err := time.LoadLocation(zoneName(win.TimeZone))
	if err != nil {
		loc = time.UTC
	}
	return f.Set("kind", "once").Set("starts_at", win.StartsAt.In(loc).Format(localLayout)).
		Set("ends_at", win.EndsAt.In(loc).Format(localLayout))
}

// windowFields reads the window form; what is wrong is marked on f.
func windowFields(f *form) rules.MaintenanceWindow {
	win := rules.MaintenanceWindow{Name: f.Get("name"), Description: strings.TrimSpace(f.Value("description"))}
	win.TimeZone = f.Get("time_zone")
	if win.TimeZone == otherZone {
		win.TimeZone = f.Get("time_zone_other")
	}
	switch f.Get("kind") {
	case "once":
		// The times are read in the window's zone, so the zone must be known
		// first; the store checks it again.
		loc, err := time.LoadLocation(zoneName(win.TimeZone))
		if err != nil || win.TimeZone == "Local" {
			f.Fail(zoneField(f), "is not a known time zone: "+win.TimeZone)
			break
		}
		var ok bool
		if win.StartsAt, ok = parseLocal(f.Get("starts_at"), loc); !ok {
			f.Fail("starts_at", "must be a date and time")
		}
		if win.EndsAt, ok = parseLocal(f.Get("ends_at"), loc); !ok {
			f.Fail("ends_at", "must be a date and time")
		} else if !win.StartsAt.IsZero() && !win.EndsAt.After(win.StartsAt) {
			f.Fail("ends_at", "must be after the start")
		}
	case "weekly":
		rc := &rules.Recurrence{Days: f.Values["weekdays"], StartTime: f.Get("start_time"), From: f.Get("from_date"), Until: f.Get("until_date")}
		if len(rc.StartTime) == len("15:04:05") {
			rc.StartTime = rc.StartTime[:5] // some browsers send seconds
		}
		sec, ok := parseDuration(f.Get("duration"))
		if !ok || sec < 60 || sec%60 != 0 || sec > int64(rules.MaxWindowDuration/time.Second) {
			f.Fail("duration", "must be whole minutes from 1m to 7d, such as 90m, 2h or 1d 12h")
		}
		rc.DurationMinutes = int(sec / 60)
		if rc.From != "" && rc.Until != "" && rc.Until < rc.From {
			f.Fail("until_date", "must not be before the first day")
		}
		win.Recurrence = rc
	default:
		f.Fail("kind", "must be one-off or weekly")
	}
	for _, v := range f.Values["services"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			f.Fail("services", "must be listed services")
			break
		}
		win.ServiceIDs = append(win.ServiceIDs, id)
	}
	win.Matchers = matcherField(f, "matchers")
	return win
}

// windowRename maps the store's field names to the form's.
var windowRename = map[string]string{"recurrence.days": "weekdays", "recurrence.start_time": "start_time",
	"recurrence.duration_minutes": "duration", "recurrence.from": "from_date", "recurrence.until": "until_date",
	"service_ids": "services"}

func windowError(err error) error { return collapseFields(err, "matchers", "service_ids") }

// zoneField is the control that holds the window's time zone: the select,
// or the typed zone when the select says "other".
func zoneField(f *form) string {
	if f.Get("time_zone") == otherZone {
		return "time_zone_other"
	}
	return "time_zone"
}

// windowRenameFor is windowRename with the time zone on its control.
func windowRenameFor(f *form) map[string]string {
	m := map[string]string{"time_zone": zoneField(f)}
	for k, v := range windowRename {
		m[k] = v
	}
	return m
}

func (s *Server) newMaintenancePage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(nil).Set("kind", "once").Set("time_zone", "UTC").Set("start_time", "02:00").Set("duration", "2h")
	return s.showMaintenanceForm(w, r, http.StatusOK, nil, f)
}

func (s *Server) createMaintenance(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showMaintenanceForm(w, r, status, nil, f) }
	win := windowFields(f)
	if f.Invalid() {
		return invalid(f, show)
	}
	out, err := s.Rules.SaveWindow(r.Context(), 0, win)
	if err != nil {
		return s.retry(w, r, windowError(err), f, windowRenameFor(f), show)
	}
	return s.done(w, r, "/maintenance#window-"+itoa(out.ID), "Created the maintenance window %s.", out.Name)
}

func (s *Server) editMaintenancePage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	win, err := s.Rules.GetWindow(r.Context(), id)
	if err != nil {
		return err
	}
	// Both kinds start filled in, so that switching keeps sensible values.
	f := newForm(nil).Set("start_time", "02:00").Set("duration", "2h")
	return s.showMaintenanceForm(w, r, http.StatusOK, &win, fillWindowForm(f, win))
}

func (s *Server) updateMaintenance(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cur, err := s.Rules.GetWindow(r.Context(), id)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showMaintenanceForm(w, r, status, &cur, f) }
	win := windowFields(f)
	if f.Invalid() {
		return invalid(f, show)
	}
	out, err := s.Rules.SaveWindow(r.Context(), id, win)
	if err != nil {
		return s.retry(w, r, windowError(err), f, windowRenameFor(f), show)
	}
	return s.done(w, r, "/maintenance#window-"+itoa(id), "Saved the maintenance window %s.", out.Name)
}

func (s *Server) deleteMaintenance(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	win, err := s.Rules.GetWindow(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.Rules.DeleteWindow(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, "/maintenance", "Deleted the maintenance window %s.", win.Name)
}
