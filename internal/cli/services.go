package cli

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

const serviceColumns = "id name criticality team_id escalation_policy_id description"

// serviceFlags are the writable fields of a service, as flags.
type serviceFlags struct {
	description, criticality string
	team                     int64
	policy                   string
	labels, groupBy          []string
	groupWindow              time.Duration
	autoResolve              bool
}

func (f *serviceFlags) bind(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.description, "description", "", "what the service does")
	fl.StringVar(&f.criticality, "criticality", "", "critical, high, medium or low")
	fl.Int64Var(&f.team, "team", 0, "id of the owning team (0 for none)")
	fl.StringArrayVar(&f.labels, "label", nil, "a label NAME=VALUE (repeatable; replaces all labels)")
	fl.StringSliceVar(&f.groupBy, "group-by", nil, "alert labels whose equal values make one incident (comma-separated)")
	fl.DurationVar(&f.groupWindow, "group-window", 0, "how long after an incident opens new alerts still join it, e.g. 5m")
	fl.BoolVar(&f.autoResolve, "auto-resolve", true, "resolve an incident when all its alerts have resolved")
	fl.StringVar(&f.policy, "escalation-policy", "", "the escalation policy that pages for it: an id or a name (none to detach)")
}

// body has the fields whose flags were given; an escalation policy given by
// name is looked up on the server.
func (f *serviceFlags) body(e *env, c *cobra.Command) (map[string]any, error) {
	b := map[string]any{}
	set := c.Flags().Changed
	if set("description") {
		b["description"] = f.description
	}
	if set("criticality") {
		b["criticality"] = f.criticality
	}
	if set("team") {
		b["team_id"] = f.team
	}
	if set("label") {
		labels, err := parseLabels(f.labels)
		if err != nil {
			return nil, err
		}
		b["labels"] = labels
	}
	if set("group-by") {
		b["group_by"] = f.groupBy
	}
	if set("group-window") {
		b["group_window_seconds"] = int(f.groupWindow / time.Second)
	}
	if set("auto-resolve") {
		b["auto_resolve"] = f.autoResolve
	}
	if set("escalation-policy") {
		id, err := e.policyID(c.Context(), f.policy)
		if err != nil {
			return nil, err
		}
		b["escalation_policy_id"] = id
	}
	return b, nil
}

func parseLabels(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageError{fmt.Errorf("--label takes NAME=VALUE, not %q", p)}
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

func (e *env) serviceCmd() *cobra.Command {
	c := &cobra.Command{Use: "service", Short: "Manage services and their integration keys"}
	c.AddCommand(e.listCmd("list", "List services", "/api/v1/services", serviceColumns, "team", "q"))
	c.AddCommand(&cobra.Command{
		Use: "get ID", Short: "Show one service", Args: args(1, "a service id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/services/"+url.PathEscape(a[0]), nil, nil)
		},
	})

	var cf serviceFlags
	create := &cobra.Command{
		Use:   "create NAME [--description TEXT] [--team ID] [--criticality C] [--label K=V …] [--escalation-policy P]",
		Short: "Create a service", Args: args(1, "a service name"),
		RunE: func(c *cobra.Command, a []string) error {
			b, err := cf.body(e, c)
			if err != nil {
				return err
			}
			b["name"] = a[0]
			return e.call(c.Context(), "POST", "/api/v1/services", b, nil)
		},
	}
	cf.bind(create)
	c.AddCommand(create)

	var uf serviceFlags
	var name string
	update := &cobra.Command{
		Use:   "update ID [--name N] [--description TEXT] [--team ID] [--criticality C] [--label K=V …] [--escalation-policy P]",
		Short: "Change a service (only the flags given)", Args: args(1, "a service id"),
		RunE: func(c *cobra.Command, a []string) error {
			b, err := uf.body(e, c)
			if err != nil {
				return err
			}
			if c.Flags().Changed("name") {
				b["name"] = name
			}
			if len(b) == 0 {
				return usageError{fmt.Errorf("nothing to change: give at least one flag (see --help)")}
			}
			return e.call(c.Context(), "PATCH", "/api/v1/services/"+url.PathEscape(a[0]), b, nil)
		},
	}
	uf.bind(update)
	update.Flags().StringVar(&name, "name", "", "new name")
	c.AddCommand(update)

	c.AddCommand(&cobra.Command{
		Use: "delete ID", Short: "Delete a service with its integration keys and alerts", Args: args(1, "a service id"),
		RunE: func(c *cobra.Command, a []string) error {
			if err := e.client().do(c.Context(), "DELETE", "/api/v1/services/"+url.PathEscape(a[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "deleted service", a[0])
			return nil
		},
	})
	c.AddCommand(e.serviceKeyCmd())
	return c
}

const keyColumns = "id name key created_by created_at last_used_at revoked_at"

func (e *env) serviceKeyCmd() *cobra.Command {
	c := &cobra.Command{Use: "key", Short: "List, create and revoke the integration keys of a service"}
	c.AddCommand(&cobra.Command{
		Use: "list SERVICE_ID", Short: "List the integration keys of a service", Args: args(1, "a service id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/services/"+url.PathEscape(a[0])+"/integration-keys", nil, cols(keyColumns))
		},
	})
	var name string
	create := &cobra.Command{
		Use: "create SERVICE_ID [--name NAME]", Short: "Create an integration key; senders use it to reach the service",
		Args: args(1, "a service id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "POST", "/api/v1/services/"+url.PathEscape(a[0])+"/integration-keys", map[string]any{"name": name}, nil)
		},
	}
	create.Flags().StringVar(&name, "name", "", "what sends with the key (default \"default\")")
	c.AddCommand(create)
	c.AddCommand(&cobra.Command{
		Use: "revoke SERVICE_ID KEY_ID", Short: "Revoke an integration key", Args: args(2, "a service id and a key id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "DELETE", "/api/v1/services/"+url.PathEscape(a[0])+"/integration-keys/"+url.PathEscape(a[1]), nil, nil)
		},
	})
	return c
}

const alertColumns = "id service_id status severity count dedup_key summary last_seen"

func (e *env) alertCmd() *cobra.Command {
	c := &cobra.Command{Use: "alert", Short: "Read alerts"}
	list := e.listCmd("list", "List alerts, newest first", "/api/v1/alerts", alertColumns, "service", "status")
	list.Flags().Lookup("status").Usage = "triggered, acknowledged, resolved or open"
	list.Flags().Lookup("service").Usage = "only alerts of this service id"
	c.AddCommand(list)
	c.AddCommand(&cobra.Command{
		Use: "get ID", Short: "Show one alert with its last event", Args: args(1, "an alert id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/alerts/"+url.PathEscape(a[0]), nil, nil)
		},
	})
	return c
}

func (e *env) eventCmd() *cobra.Command {
	c := &cobra.Command{Use: "event", Short: "Send events to a service"}
	var key, action, dedup, summary, severity, host string
	var labels []string
	send := &cobra.Command{
		Use:   "send --key KEY --summary TEXT [--action trigger|acknowledge|resolve] [--dedup-key K] [--severity S] [--host H] [--label K=V …]",
		Short: "Send one event with a service's integration key",
		Long: `Send one event to POST /api/v1/events with a service's integration key
(--key or STEADY_INTEGRATION_KEY). A trigger needs --summary; acknowledge and
resolve need --dedup-key. The answer names the alert and what became of it.`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if key == "" {
				key = e.getenv("STEADY_INTEGRATION_KEY")
			}
			if key == "" {
				return usageError{fmt.Errorf("--key (or STEADY_INTEGRATION_KEY) is required: a service's integration key")}
			}
			switch action {
			case "trigger", "acknowledge", "resolve":
			default:
				return usageError{fmt.Errorf("--action must be trigger, acknowledge or resolve, not %q", action)}
			}
			ev := map[string]any{"action": action}
			for k, v := range map[string]string{"dedup_key": dedup, "summary": summary, "severity": severity, "host": host} {
				if v != "" {
					ev[k] = v
				}
			}
			if len(labels) > 0 {
				l, err := parseLabels(labels)
				if err != nil {
					return err
				}
				ev["labels"] = l
			}
			cl := e.client()
			cl.token, cl.key = key, true
			var out struct {
				Results []any `json:"results"`
			}
			if err := cl.do(c.Context(), "POST", "/api/v1/events", ev, &out); err != nil {
				return err
			}
			if out.Results == nil {
				out.Results = []any{}
			}
			return e.print(map[string]any{"items": out.Results, "next": ""}, cols("dedup_key alert_id change"))
		},
	}
	f := send.Flags()
	f.StringVar(&key, "key", "", "the service's integration key (env STEADY_INTEGRATION_KEY)")
	f.StringVar(&action, "action", "trigger", "trigger, acknowledge or resolve")
	f.StringVar(&dedup, "dedup-key", "", "groups repeats into one alert; required to acknowledge or resolve")
	f.StringVar(&summary, "summary", "", "what happened (required for a trigger)")
	f.StringVar(&severity, "severity", "", "critical, error, warning (default) or info")
	f.StringVar(&host, "host", "", "the affected system")
	f.StringArrayVar(&labels, "label", nil, "a label NAME=VALUE (repeatable)")
	c.AddCommand(send)
	return c
}
