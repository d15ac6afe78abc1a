package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steadyhq/steady/internal/heartbeat"
)

const heartbeatColumns = "id service_name name status interval_seconds grace_seconds last_seen_at due_at"

// heartbeatFlags are the writable fields of a heartbeat, as flags.
type heartbeatFlags struct {
	service, name, interval, grace string
}

func (f *heartbeatFlags) bind(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.service, "service", "", "the service a missed beat raises an alert on (id or name)")
	fl.StringVar(&f.name, "name", "", "what beats, e.g. nightly-backup (unique per service)")
	fl.StringVar(&f.interval, "interval", "", "how often the job beats: 30s to 7d, e.g. 5m, 1h, 1d")
	fl.StringVar(&f.grace, "grace", "", "how late a beat may be: 0s to 1d (default 1m)")
}

// body has the fields whose flags were given.
func (f *heartbeatFlags) body(ctx context.Context, e *env, c *cobra.Command) (map[string]any, error) {
	b := map[string]any{}
	set := c.Flags().Changed
	if set("service") {
		id, err := e.serviceID(ctx, f.service)
		if err != nil {
			return nil, err
		}
		b["service_id"] = id
	}
	if set("name") {
		b["name"] = f.name
	}
	for _, d := range []struct{ flag, field, value string }{{"interval", "interval_seconds", f.interval}, {"grace", "grace_seconds", f.grace}} {
		if !set(d.flag) {
			continue
		}
		sec, ok := heartbeat.ParseDuration(d.value)
		if !ok {
			return nil, usageError{fmt.Errorf("--%s must be a duration such as 90s, 5m, 1h or 1d, not %q", d.flag, d.value)}
		}
		b[d.field] = sec
	}
	return b, nil
}

// serviceID finds a service by id or by its exact name.
func (e *env) serviceID(ctx context.Context, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	if s == "" {
		return 0, usageError{fmt.Errorf("--service needs a service id or name")}
	}
	var l struct {
		Items []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := e.client().do(ctx, "GET", "/api/v1/services?limit=1000&q="+url.QueryEscape(s), nil, &l); err != nil {
		return 0, err
	}
	var found []int64
	for _, it := range l.Items {
		if it.Name == s {
			return it.ID, nil
		}
		if strings.EqualFold(it.Name, s) {
			found = append(found, it.ID)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return 0, fmt.Errorf("no service is named %q (see steady service list)", s)
}

// printCreated shows a heartbeat with its key, and how to beat with it.
func (e *env) printCreated(out map[string]any) error {
	if err := e.print(out, nil); err != nil {
		return err
	}
	if e.output == "" || e.output == "table" {
		path, _ := out["beat_path"].(string)
		fmt.Fprintf(e.stdout, "\nThe key is shown only now. Beat from the job with:\n  curl -fsS -X POST %s%s\n",
			strings.TrimRight(e.server, "/"), path)
	}
	return nil
}

func (e *env) heartbeatCmd() *cobra.Command {
	c := &cobra.Command{Use: "heartbeat", Aliases: []string{"heartbeats"},
		Short: "Heartbeats: a job that stops beating raises an alert on its service"}

	var lf struct{ service, status string }
	list := &cobra.Command{
		Use: "list [--service S] [--status new|up|down|paused]", Short: "List heartbeats", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			q := url.Values{}
			if lf.service != "" {
				id, err := e.serviceID(c.Context(), lf.service)
				if err != nil {
					return err
				}
				q.Set("service", strconv.FormatInt(id, 10))
			}
			if lf.status != "" {
				q.Set("status", lf.status)
			}
			q.Set("limit", "1000")
			return e.call(c.Context(), "GET", "/api/v1/heartbeats?"+q.Encode(), nil, cols(heartbeatColumns))
		},
	}
	list.Flags().StringVar(&lf.service, "service", "", "only the heartbeats of this service (id or name)")
	list.Flags().StringVar(&lf.status, "status", "", "only heartbeats with this status")
	c.AddCommand(list)

	c.AddCommand(&cobra.Command{
		Use: "show ID", Short: "Show one heartbeat", Args: args(1, "a heartbeat id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/heartbeats/"+url.PathEscape(a[0]), nil, nil)
		},
	})

	var cf heartbeatFlags
	create := &cobra.Command{
		Use:   "create --service S --name N --interval 5m [--grace 1m]",
		Short: "Create a heartbeat; its secret key is shown once",
		Long: `Create a heartbeat. The answer holds its secret key and the path to beat,
shown only this once. The heartbeat is checked from its first beat on: a beat
that is more than interval + grace late raises a critical alert on the
service, and the next beat resolves it.`,
		Args: args(0, "no arguments (see --help)"),
		RunE: func(c *cobra.Command, _ []string) error {
			for _, f := range []string{"service", "name", "interval"} {
				if !c.Flags().Changed(f) {
					return usageError{fmt.Errorf("--%s is required", f)}
				}
			}
			b, err := cf.body(c.Context(), e, c)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := e.client().do(c.Context(), "POST", "/api/v1/heartbeats", b, &out); err != nil {
				return err
			}
			return e.printCreated(out)
		},
	}
	cf.bind(create)
	c.AddCommand(create)

	var uf heartbeatFlags
	update := &cobra.Command{
		Use:   "update ID [--service S] [--name N] [--interval D] [--grace D]",
		Short: "Change a heartbeat (only the flags given)", Args: args(1, "a heartbeat id"),
		RunE: func(c *cobra.Command, a []string) error {
			b, err := uf.body(c.Context(), e, c)
			if err != nil {
				return err
			}
			if len(b) == 0 {
				return usageError{fmt.Errorf("nothing to change: give at least one flag (see --help)")}
			}
			return e.call(c.Context(), "PATCH", "/api/v1/heartbeats/"+url.PathEscape(a[0]), b, nil)
		},
	}
	uf.bind(update)
	c.AddCommand(update)

	c.AddCommand(e.deleteCmd("delete ID", "Delete a heartbeat (its open alert is resolved)", "/api/v1/heartbeats/", "deleted heartbeat"))
	for _, v := range []struct{ use, short string }{
		{"pause", "Stop checking a heartbeat (its open alert is resolved)"},
		{"resume", "Check a paused heartbeat again"},
	} {
		c.AddCommand(&cobra.Command{
			Use: v.use + " ID", Short: v.short, Args: args(1, "a heartbeat id"),
			RunE: func(c *cobra.Command, a []string) error {
				return e.call(c.Context(), "POST", "/api/v1/heartbeats/"+url.PathEscape(a[0])+"/"+v.use, nil, nil)
			},
		})
	}
	c.AddCommand(&cobra.Command{
		Use: "rotate-key ID", Short: "Give a heartbeat a new key; the old one stops working at once", Args: args(1, "a heartbeat id"),
		RunE: func(c *cobra.Command, a []string) error {
			var out map[string]any
			if err := e.client().do(c.Context(), "POST", "/api/v1/heartbeats/"+url.PathEscape(a[0])+"/rotate-key", nil, &out); err != nil {
				return err
			}
			return e.printCreated(out)
		},
	})
	c.AddCommand(&cobra.Command{
		Use: "beat KEY", Short: "Beat a heartbeat by its key (what a job does with curl -X POST)", Args: args(1, "a heartbeat key"),
		RunE: func(c *cobra.Command, a []string) error {
			if strings.TrimSpace(a[0]) == "" || strings.Contains(a[0], "/") {
				return usageError{fmt.Errorf("beat takes a heartbeat key (hb_…)")}
			}
			cl := e.client()
			cl.token = "" // the key is all a beat needs
			var out any
			if err := cl.do(c.Context(), "POST", heartbeat.BeatPath+url.PathEscape(a[0]), nil, &out); err != nil {
				return err
			}
			return e.print(out, nil)
		},
	})
	return c
}
