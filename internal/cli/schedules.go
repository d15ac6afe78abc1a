package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// On-call schedules: who is on call, schedules, overrides. Schedules and
// users may be named by id or by name (a user also by email).

// scheduleRef is what the commands need of a schedule.
type scheduleRef struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
}

// resolveSchedule finds a schedule by id or by name (exact, then any case).
func (e *env) resolveSchedule(ctx context.Context, ref string) (scheduleRef, error) {
	ref = strings.TrimSpace(ref)
	var sc scheduleRef
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		err := e.client().do(ctx, "GET", "/api/v1/schedules/"+strconv.FormatInt(id, 10), nil, &sc)
		return sc, err
	}
	var l struct {
		Items []scheduleRef `json:"items"`
	}
	if err := e.client().do(ctx, "GET", "/api/v1/schedules?limit=1000&q="+url.QueryEscape(ref), nil, &l); err != nil {
		return sc, err
	}
	var folded []scheduleRef
	for _, s := range l.Items {
		if s.Name == ref {
			return s, nil
		}
		if strings.EqualFold(s.Name, ref) {
			folded = append(folded, s)
		}
	}
	if len(folded) == 1 {
		return folded[0], nil
	}
	return sc, fmt.Errorf("no schedule is called %q (see steady schedule list)", ref)
}

// resolveUser finds a user by id, "me", email or name.
func (e *env) resolveUser(ctx context.Context, ref string) (int64, error) {
	ref = strings.TrimSpace(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	type user struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if ref == "me" {
		var u user
		err := e.client().do(ctx, "GET", "/api/v1/users/me", nil, &u)
		return u.ID, err
	}
	var l struct {
		Items []user `json:"items"`
	}
	if err := e.client().do(ctx, "GET", "/api/v1/users?limit=1000&q="+url.QueryEscape(ref), nil, &l); err != nil {
		return 0, err
	}
	var byName []user
	for _, u := range l.Items {
		if strings.EqualFold(u.Email, ref) {
			return u.ID, nil
		}
		if strings.EqualFold(u.Name, ref) {
			byName = append(byName, u)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0].ID, nil
	case 0:
		return 0, fmt.Errorf("no user has the email or name %q", ref)
	}
	return 0, fmt.Errorf("%d users are called %q: give an email or an id", len(byName), ref)
}

// parseWhen reads a time: RFC 3339, or a local date-time ("2026-11-02T09:00"
// or "2026-11-02 09:00") in loc.
func parseWhen(flag, v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("--%s must be a time such as 2026-11-02T09:00 (in the schedule's zone) or 2026-11-02T08:00:00Z, not %q", flag, v)}
}

func (e *env) onCallCmd() *cobra.Command {
	c := &cobra.Command{Use: "oncall", Short: "Who is on call"}
	var at string
	now := &cobra.Command{
		Use: "now [--at TIME]", Short: "Who is on call in every schedule (now, or at --at)", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			p := "/api/v1/oncall"
			if at != "" {
				t, err := parseWhen("at", at, time.UTC)
				if err != nil {
					return err
				}
				p += "?at=" + url.QueryEscape(t.UTC().Format(time.RFC3339))
			}
			var out struct {
				Items []struct {
					ScheduleID   int64  `json:"schedule_id"`
					ScheduleName string `json:"schedule_name"`
					Users        []struct {
						Name       string     `json:"name"`
						Email      string     `json:"email"`
						Until      *time.Time `json:"until"`
						OverrideID *int64     `json:"override_id"`
					} `json:"users"`
				} `json:"items"`
			}
			var raw any
			if err := e.client().do(c.Context(), "GET", p, nil, &raw); err != nil {
				return err
			}
			if e.output != "table" && e.output != "" {
				return e.print(raw, nil)
			}
			b, _ := json.Marshal(raw)
			_ = json.Unmarshal(b, &out)
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SCHEDULE\tON CALL\tUNTIL")
			for _, it := range out.Items {
				if len(it.Users) == 0 {
					fmt.Fprintf(tw, "%s\t-\t-\n", it.ScheduleName)
				}
				for _, u := range it.Users {
					until := "-"
					if u.Until != nil {
						until = u.Until.UTC().Format("2006-01-02 15:04Z")
					}
					who := u.Name + " <" + u.Email + ">"
					if u.OverrideID != nil {
						who += " (override)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", it.ScheduleName, who, until)
				}
			}
			return tw.Flush()
		},
	}
	now.Flags().StringVar(&at, "at", "", "a moment other than now (RFC 3339, e.g. 2026-11-02T08:00:00Z)")
	c.AddCommand(now)
	return c
}

const scheduleColumns = "id name time_zone team_id description"

func (e *env) scheduleCmd() *cobra.Command {
	c := &cobra.Command{Use: "schedule", Short: "On-call schedules: list, show (with the coming shifts), create from a file, delete"}
	c.AddCommand(e.listCmd("list", "List schedules", "/api/v1/schedules", scheduleColumns, "q", "team"))

	var days int
	show := &cobra.Command{
		Use: "show ID|NAME [--days 14]", Short: "Show a schedule and who is on call in the coming days", Args: args(1, "a schedule id or name"),
		RunE: func(c *cobra.Command, a []string) error {
			if days < 1 || days > 90 {
				return usageError{fmt.Errorf("--days must be from 1 to 90")}
			}
			ref, err := e.resolveSchedule(c.Context(), a[0])
			if err != nil {
				return err
			}
			var sc map[string]any
			if err := e.client().do(c.Context(), "GET", "/api/v1/schedules/"+strconv.FormatInt(ref.ID, 10), nil, &sc); err != nil {
				return err
			}
			now := time.Now().UTC().Truncate(time.Minute)
			q := url.Values{"from": {now.Format(time.RFC3339)}, "to": {now.AddDate(0, 0, days).Format(time.RFC3339)}}
			var tl map[string]any
			if err := e.client().do(c.Context(), "GET", "/api/v1/schedules/"+strconv.FormatInt(ref.ID, 10)+"/shifts?"+q.Encode(), nil, &tl); err != nil {
				return err
			}
			if e.output != "table" && e.output != "" {
				return e.print(map[string]any{"schedule": sc, "timeline": tl}, nil)
			}
			return e.printSchedule(sc, tl)
		},
	}
	show.Flags().IntVar(&days, "days", 14, "how many days of shifts to show (1 to 90)")
	c.AddCommand(show)

	var file string
	create := &cobra.Command{
		Use:   "create --file FILE",
		Short: "Create a schedule from a JSON or YAML file (- for standard input)",
		Long: `Create a schedule from a JSON or YAML file with the body of POST /api/v1/schedules:

  name: Payments primary
  time_zone: Europe/Berlin
  layers:
    - name: Weekly
      start: "2026-11-02T09:00"      # local time in time_zone; also the hand-off time
      shift_unit: week               # hour, day, week or month
      shift_length: 1
      participants: [3, 7, 9]        # user ids, in turn order
    - name: Office hours
      start: "2026-11-02T09:00"
      shift_unit: day
      participants: [12]
      restrictions:
        - {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("--file is required (- for standard input)")}
			}
			body, err := e.readBody(file)
			if err != nil {
				return err
			}
			return e.call(c.Context(), "POST", "/api/v1/schedules", body, nil)
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "the schedule as JSON or YAML")
	c.AddCommand(create)

	c.AddCommand(&cobra.Command{
		Use: "delete ID|NAME", Short: "Delete a schedule (refused while an escalation policy pages it)", Args: args(1, "a schedule id or name"),
		RunE: func(c *cobra.Command, a []string) error {
			ref, err := e.resolveSchedule(c.Context(), a[0])
			if err != nil {
				return err
			}
			if err := e.client().do(c.Context(), "DELETE", "/api/v1/schedules/"+strconv.FormatInt(ref.ID, 10), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "deleted schedule", ref.Name)
			return nil
		},
	})
	return c
}

// readBody reads a JSON or YAML file (or standard input) into a JSON value.
func (e *env) readBody(file string) (any, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	var v any
	if json.Valid(b) {
		err = json.Unmarshal(b, &v)
	} else {
		err = yaml.Unmarshal(b, &v)
	}
	if err != nil {
		return nil, fmt.Errorf("%s is neither JSON nor YAML: %v", file, err)
	}
	return v, nil
}

// printSchedule writes a schedule and its final shifts in its own zone.
func (e *env) printSchedule(sc, tl map[string]any) error {
	tz, _ := sc["time_zone"].(string)
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	fmt.Fprintf(e.stdout, "%v  %s  (%s)\n", sc["id"], sc["name"], tz)
	if d, _ := sc["description"].(string); d != "" {
		fmt.Fprintln(e.stdout, d)
	}
	layers, _ := sc["layers"].([]any)
	for i, l := range layers {
		m, _ := l.(map[string]any)
		fmt.Fprintf(e.stdout, "layer %d: %s, every %v %s from %s, participants %s\n", i+1, m["name"], m["shift_length"], m["shift_unit"],
			m["start"], cell(m["participants"]))
	}
	fmt.Fprintln(e.stdout)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "FROM (%s)\tUNTIL\tON CALL\tLAYER\n", tz)
	final, _ := tl["final"].([]any)
	local := func(v any) string {
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return s
		}
		return t.In(loc).Format("Mon 2006-01-02 15:04")
	}
	for _, f := range final {
		m, _ := f.(map[string]any)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", local(m["start"]), local(m["end"]), m["user_name"], m["layer"])
	}
	if len(final) == 0 {
		fmt.Fprintln(tw, "-\t-\tnobody\t-")
	}
	return tw.Flush()
}

func (e *env) overrideCmd() *cobra.Command {
	c := &cobra.Command{Use: "override", Short: "Overrides: put someone on call in a schedule for a while, over every layer"}
	var sched, user, start, end, replaces, note string
	add := &cobra.Command{
		Use:   "add --schedule S --user U --start T --end T [--replaces U] [--note TEXT]",
		Short: "Add an override (times in the schedule's zone, or RFC 3339)",
		Args:  args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if sched == "" || user == "" || start == "" || end == "" {
				return usageError{fmt.Errorf("--schedule, --user, --start and --end are required")}
			}
			ctx := c.Context()
			ref, err := e.resolveSchedule(ctx, sched)
			if err != nil {
				return err
			}
			loc, err := time.LoadLocation(ref.TimeZone)
			if err != nil {
				loc = time.UTC
			}
			st, err := parseWhen("start", start, loc)
			if err != nil {
				return err
			}
			en, err := parseWhen("end", end, loc)
			if err != nil {
				return err
			}
			uid, err := e.resolveUser(ctx, user)
			if err != nil {
				return err
			}
			body := map[string]any{"user_id": uid, "start": st.UTC().Format(time.RFC3339), "end": en.UTC().Format(time.RFC3339)}
			if note != "" {
				body["note"] = note
			}
			if replaces != "" {
				rid, err := e.resolveUser(ctx, replaces)
				if err != nil {
					return err
				}
				body["replaces_user_id"] = rid
			}
			return e.call(ctx, "POST", "/api/v1/schedules/"+strconv.FormatInt(ref.ID, 10)+"/overrides", body, nil)
		},
	}
	f := add.Flags()
	f.StringVar(&sched, "schedule", "", "the schedule's id or name")
	f.StringVar(&user, "user", "", "who is on call: id, email, name or me")
	f.StringVar(&start, "start", "", "when it begins, e.g. 2026-11-02T09:00 (schedule's zone) or 2026-11-02T08:00:00Z")
	f.StringVar(&end, "end", "", "when it ends")
	f.StringVar(&replaces, "replaces", "", "whose turn it covers (for the record)")
	f.StringVar(&note, "note", "", "why")
	c.AddCommand(add)

	var listSched string
	list := &cobra.Command{
		Use: "list --schedule S", Short: "List a schedule's current and coming overrides", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if listSched == "" {
				return usageError{fmt.Errorf("--schedule is required")}
			}
			ref, err := e.resolveSchedule(c.Context(), listSched)
			if err != nil {
				return err
			}
			return e.call(c.Context(), "GET", "/api/v1/schedules/"+strconv.FormatInt(ref.ID, 10)+"/overrides", nil,
				cols("id user_name start end replaces_user_id note created_by"))
		},
	}
	list.Flags().StringVar(&listSched, "schedule", "", "the schedule's id or name")
	c.AddCommand(list)

	var delSched string
	del := &cobra.Command{
		Use: "delete --schedule S OVERRIDE_ID", Short: "Remove an override", Args: args(1, "an override id"),
		RunE: func(c *cobra.Command, a []string) error {
			if delSched == "" {
				return usageError{fmt.Errorf("--schedule is required")}
			}
			ref, err := e.resolveSchedule(c.Context(), delSched)
			if err != nil {
				return err
			}
			if err := e.client().do(c.Context(), "DELETE", "/api/v1/schedules/"+strconv.FormatInt(ref.ID, 10)+"/overrides/"+url.PathEscape(a[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "removed override", a[0])
			return nil
		},
	}
	del.Flags().StringVar(&delSched, "schedule", "", "the schedule's id or name")
	c.AddCommand(del)
	return c
}
