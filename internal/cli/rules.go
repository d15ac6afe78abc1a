package cli

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// deleteCmd is a client command that deletes one object by id.
func (e *env) deleteCmd(use, short, base, done string) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: args(1, "an id"),
		RunE: func(c *cobra.Command, a []string) error {
			if err := e.client().do(c.Context(), "DELETE", base+url.PathEscape(a[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, done, a[0])
			return nil
		},
	}
}

// labels parses repeated k=v flags.
func labels(kv []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range kv {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("%q must be name=value", s)}
		}
		out[k] = v
	}
	return out, nil
}

func (e *env) ruleCmd() *cobra.Command {
	c := &cobra.Command{Use: "rule", Short: "Event rules: drop, suppress, re-route, set severity or priority, add labels"}
	c.AddCommand(e.listCmd("list", "List event rules (global first, then per service)", "/api/v1/rules",
		"id name service_id position enabled condition"))
	var in struct {
		name, cond, severity, priority string
		service, route                 int64
		position                       int
		drop, suppress, stop, disabled bool
		add                            []string
	}
	create := &cobra.Command{
		Use:   "create --name N --condition EXPR [actions…]",
		Short: "Create an event rule",
		Long: `Create an event rule. The condition is an expr expression over the event, e.g.
  labels.env == "prod" && severity in ["critical", "error"]
  summary contains "disk" && host startsWith "db-"`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			add, err := labels(in.add)
			if err != nil {
				return err
			}
			body := map[string]any{"name": in.name, "condition": in.cond, "service_id": in.service, "position": in.position, "stop": in.stop,
				"enabled": !in.disabled, "actions": map[string]any{"drop": in.drop, "suppress": in.suppress, "route_to_service_id": in.route,
					"set_severity": in.severity, "set_priority": in.priority, "add_labels": add}}
			return e.call(c.Context(), "POST", "/api/v1/rules", body, nil)
		},
	}
	f := create.Flags()
	f.StringVar(&in.name, "name", "", "what the rule is for")
	f.StringVar(&in.cond, "condition", "", "expr condition over the event")
	f.Int64Var(&in.service, "service", 0, "a service's id (default: a global rule)")
	f.IntVar(&in.position, "position", 0, "order within its list")
	f.BoolVar(&in.drop, "drop", false, "discard matching events")
	f.BoolVar(&in.suppress, "suppress", false, "store matching events but page nobody")
	f.Int64Var(&in.route, "route-to", 0, "move matching events to this service")
	f.StringVar(&in.severity, "set-severity", "", "critical, error, warning or info")
	f.StringVar(&in.priority, "set-priority", "", "P1 … P5")
	f.StringSliceVar(&in.add, "add-label", nil, "name=value to add (repeatable)")
	f.BoolVar(&in.stop, "stop", false, "skip the later rules of the same list when this one matches")
	f.BoolVar(&in.disabled, "disabled", false, "create it switched off")
	c.AddCommand(create)
	c.AddCommand(e.deleteCmd("delete ID", "Delete an event rule", "/api/v1/rules/", "deleted rule"))
	var sample struct{ summary, severity string }
	var sampleLabels []string
	test := &cobra.Command{
		Use: "test CONDITION [--summary S] [--severity S] [--label k=v …]", Short: "Try a condition on a sample event", Args: args(1, "a condition"),
		RunE: func(c *cobra.Command, a []string) error {
			l, err := labels(sampleLabels)
			if err != nil {
				return err
			}
			var out struct {
				Matched bool `json:"matched"`
			}
			if err := e.client().do(c.Context(), "POST", "/api/v1/rules/test", map[string]any{"condition": a[0],
				"event": map[string]any{"summary": sample.summary, "severity": sample.severity, "labels": l}}, &out); err != nil {
				return err
			}
			if out.Matched {
				fmt.Fprintln(e.stdout, "matches")
			} else {
				fmt.Fprintln(e.stdout, "does not match")
			}
			return nil
		},
	}
	test.Flags().StringVar(&sample.summary, "summary", "", "the sample event's summary")
	test.Flags().StringVar(&sample.severity, "severity", "", "the sample event's severity")
	test.Flags().StringSliceVar(&sampleLabels, "label", nil, "name=value (repeatable)")
	c.AddCommand(test)
	return c
}

func (e *env) silenceCmd() *cobra.Command {
	c := &cobra.Command{Use: "silence", Short: "Silences: mute alerts by label matchers until they expire"}
	var expired bool
	list := &cobra.Command{
		Use: "list [--expired]", Short: "List active (and with --expired, ended) silences", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			p := "/api/v1/silences"
			if expired {
				p += "?expired=true"
			}
			return e.call(c.Context(), "GET", p, nil, cols("id matchers starts_at ends_at created_by comment"))
		},
	}
	list.Flags().BoolVar(&expired, "expired", false, "include ended silences")
	c.AddCommand(list)
	var dur time.Duration
	var comment string
	add := &cobra.Command{
		Use: `create MATCHERS --for 2h --comment TEXT`, Short: `Silence alerts matching e.g. '{alertname="DiskFull", host=~"db-.*"}'`,
		Args: args(1, "the matchers"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "POST", "/api/v1/silences", map[string]any{"matchers": a[0],
				"ends_at": time.Now().Add(dur).UTC().Format(time.RFC3339), "comment": comment}, nil)
		},
	}
	add.Flags().DurationVar(&dur, "for", time.Hour, "how long")
	add.Flags().StringVar(&comment, "comment", "", "why (required)")
	c.AddCommand(add)
	c.AddCommand(e.deleteCmd("expire ID", "End a silence now", "/api/v1/silences/", "ended silence"))
	return c
}

func (e *env) maintenanceCmd() *cobra.Command {
	c := &cobra.Command{Use: "maintenance", Short: "Maintenance windows: events are recorded but page nobody"}
	c.AddCommand(e.listCmd("list", "List maintenance windows", "/api/v1/maintenance-windows", "id name time_zone starts_at ends_at service_ids"))
	var in struct {
		name, tz, start, matchers string
		days                      []string
		services                  []int64
		from                      string
		dur                       time.Duration
		minutes                   int
	}
	add := &cobra.Command{
		Use:   "create --name N (--from TIME --for DURATION | --days sun --at 02:00 --minutes 120 --tz Europe/Berlin) [--service ID …] [--matchers M]",
		Short: "Create a one-off or weekly maintenance window", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			body := map[string]any{"name": in.name, "time_zone": in.tz, "service_ids": in.services}
			if in.matchers != "" {
				body["matchers"] = in.matchers
			}
			if len(in.days) > 0 {
				body["recurrence"] = map[string]any{"days": in.days, "start_time": in.start, "duration_minutes": in.minutes}
			} else {
				start := time.Now().UTC()
				if in.from != "" {
					t, err := time.Parse(time.RFC3339, in.from)
					if err != nil {
						return usageError{fmt.Errorf("--from must be an RFC 3339 time such as 2026-12-01T22:00:00Z")}
					}
					start = t
				}
				body["starts_at"], body["ends_at"] = start.Format(time.RFC3339), start.Add(in.dur).Format(time.RFC3339)
			}
			return e.call(c.Context(), "POST", "/api/v1/maintenance-windows", body, nil)
		},
	}
	f := add.Flags()
	f.StringVar(&in.name, "name", "", "what the window is for")
	f.StringVar(&in.tz, "tz", "", "IANA time zone (required for weekly windows)")
	f.StringVar(&in.from, "from", "", "one-off: start (RFC 3339; default now)")
	f.DurationVar(&in.dur, "for", time.Hour, "one-off: length")
	f.StringSliceVar(&in.days, "days", nil, "weekly: days (mon … sun)")
	f.StringVar(&in.start, "at", "", "weekly: local start time HH:MM")
	f.IntVar(&in.minutes, "minutes", 60, "weekly: length in minutes")
	f.Int64SliceVar(&in.services, "service", nil, "a service's id (repeatable)")
	f.StringVar(&in.matchers, "matchers", "", `label matchers, e.g. '{env="staging"}'`)
	c.AddCommand(add)
	c.AddCommand(e.deleteCmd("delete ID", "Delete a maintenance window", "/api/v1/maintenance-windows/", "deleted maintenance window"))
	return c
}

func (e *env) inhibitCmd() *cobra.Command {
	c := &cobra.Command{Use: "inhibit", Short: "Inhibit rules: an open source alert mutes matching targets"}
	c.AddCommand(e.listCmd("list", "List inhibit rules", "/api/v1/inhibit-rules", "id name source_matchers target_matchers equal"))
	var name, src, dst string
	var equal []string
	add := &cobra.Command{
		Use: "create --name N --source M --target M [--equal label …]", Short: "Create an inhibit rule", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.call(c.Context(), "POST", "/api/v1/inhibit-rules", map[string]any{"name": name, "source_matchers": src,
				"target_matchers": dst, "equal": equal}, nil)
		},
	}
	add.Flags().StringVar(&name, "name", "", "what the rule is for")
	add.Flags().StringVar(&src, "source", "", `matchers of the inhibiting alert, e.g. '{alertname="NodeDown"}'`)
	add.Flags().StringVar(&dst, "target", "", "matchers of the inhibited alerts")
	add.Flags().StringSliceVar(&equal, "equal", nil, "labels that must be equal on both (repeatable)")
	c.AddCommand(add)
	c.AddCommand(e.deleteCmd("delete ID", "Delete an inhibit rule", "/api/v1/inhibit-rules/", "deleted inhibit rule"))
	return c
}
