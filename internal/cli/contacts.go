package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Contact methods and notification rules: the caller's own by default,
// another user's with --user (admins).

const (
	contactColumns = "id kind label address rate_limit rate_window_seconds"
	ruleColumns    = "id contact_method_id contact_method_kind contact_method_label delay_minutes"
)

// userBase is the API path of a user's collection: /api/v1/users/me/<what>.
func userBase(user, what string) string {
	if user == "" {
		user = "me"
	}
	return "/api/v1/users/" + url.PathEscape(user) + "/" + what
}

// headerFlags parses repeated --header Name=value flags.
func headerFlags(kv []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range kv {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageError{fmt.Errorf("--header %q must be Name=value", s)}
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// wholeUnits turns a duration flag into whole units (seconds, minutes).
func wholeUnits(flag string, d time.Duration, unit time.Duration, name string) (int, error) {
	if d < 0 || d%unit != 0 {
		return 0, usageError{fmt.Errorf("--%s must be a whole number of %s, such as 5m", flag, name)}
	}
	return int(d / unit), nil
}

func (e *env) contactCmd() *cobra.Command {
	var user string
	c := &cobra.Command{Use: "contact", Short: "Contact methods: how Steady reaches a user (email, webhook, Slack, Teams)",
		Long: `Contact methods are the ways Steady reaches a user when they are paged: an email
address, a signed webhook, or a Slack or Microsoft Teams incoming webhook.
Notification rules (steady notification-rule) say which method is used how
long after a page. Commands act on your own methods; admins may name another
user with --user.`}
	c.PersistentFlags().StringVar(&user, "user", "me", "the user whose methods these are: an id, or me")
	methodPath := func(id string) string { return userBase(user, "contact-methods") + "/" + url.PathEscape(id) }

	list := &cobra.Command{
		Use: "list [--user U]", Short: "List contact methods", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.call(c.Context(), "GET", userBase(user, "contact-methods"), nil, cols(contactColumns))
		},
	}
	c.AddCommand(list)
	c.AddCommand(&cobra.Command{
		Use: "get ID", Short: "Show one contact method", Args: args(1, "a contact method id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", methodPath(a[0]), nil, nil)
		},
	})

	var in struct {
		kind, address, label string
		headers              []string
		rateLimit            int
		rateWindow           time.Duration
	}
	add := &cobra.Command{
		Use:   "add --kind email|webhook|slack|teams --address A [--label L] [--header Name=value …] [--rate-limit N --rate-window 10m]",
		Short: "Add a contact method (a webhook's signing secret is shown once)",
		Long: `Add a contact method. Examples:
  steady contact add --kind email --address ada@example.com --label work
  steady contact add --kind webhook --address https://example.com/hook --header "Authorization=Bearer abc"
  steady contact add --kind slack --address https://hooks.slack.com/services/T000/B000/XXXX --rate-limit 5 --rate-window 15m
A webhook gets a signing secret, printed only by this command: keep it to
check the X-Steady-Signature of each request.`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			h, err := headerFlags(in.headers)
			if err != nil {
				return err
			}
			body := map[string]any{"kind": in.kind, "address": in.address}
			if in.label != "" {
				body["label"] = in.label
			}
			if len(h) > 0 {
				body["headers"] = h
			}
			if c.Flags().Changed("rate-limit") {
				body["rate_limit"] = in.rateLimit
			}
			if c.Flags().Changed("rate-window") {
				sec, err := wholeUnits("rate-window", in.rateWindow, time.Second, "seconds")
				if err != nil {
					return err
				}
				body["rate_window_seconds"] = sec
			}
			return e.callSecret(c.Context(), "POST", userBase(user, "contact-methods"), body)
		},
	}
	f := add.Flags()
	f.StringVar(&in.kind, "kind", "", "email, webhook, slack or teams")
	f.StringVar(&in.address, "address", "", "email address, or the URL for webhook, slack and teams")
	f.StringVar(&in.label, "label", "", "a name for the method")
	f.StringArrayVar(&in.headers, "header", nil, "extra HTTP header Name=value (repeatable; not for email)")
	f.IntVar(&in.rateLimit, "rate-limit", 10, "at most this many messages per rate window")
	f.DurationVar(&in.rateWindow, "rate-window", 10*time.Minute, "the rate window")
	c.AddCommand(add)

	var up struct {
		address, label string
		headers        []string
		clearHeaders   bool
		rateLimit      int
		rateWindow     time.Duration
	}
	update := &cobra.Command{
		Use:   "update ID [--label L] [--address A] [--header Name=value … | --clear-headers] [--rate-limit N] [--rate-window D]",
		Short: "Change a contact method (headers given replace all of its headers)", Args: args(1, "a contact method id"),
		RunE: func(c *cobra.Command, a []string) error {
			body := map[string]any{}
			fl := c.Flags()
			if fl.Changed("label") {
				body["label"] = up.label
			}
			if fl.Changed("address") {
				body["address"] = up.address
			}
			if fl.Changed("header") || up.clearHeaders {
				h, err := headerFlags(up.headers)
				if err != nil {
					return err
				}
				body["headers"] = h
			}
			if fl.Changed("rate-limit") {
				body["rate_limit"] = up.rateLimit
			}
			if fl.Changed("rate-window") {
				sec, err := wholeUnits("rate-window", up.rateWindow, time.Second, "seconds")
				if err != nil {
					return err
				}
				body["rate_window_seconds"] = sec
			}
			if len(body) == 0 {
				return usageError{fmt.Errorf("nothing to change: give at least one of --label, --address, --header, --clear-headers, --rate-limit, --rate-window")}
			}
			return e.call(c.Context(), "PATCH", methodPath(a[0]), body, nil)
		},
	}
	uf := update.Flags()
	uf.StringVar(&up.label, "label", "", "a new label")
	uf.StringVar(&up.address, "address", "", "a new address")
	uf.StringArrayVar(&up.headers, "header", nil, "HTTP header Name=value (repeatable; replaces all headers)")
	uf.BoolVar(&up.clearHeaders, "clear-headers", false, "remove every extra header")
	uf.IntVar(&up.rateLimit, "rate-limit", 0, "at most this many messages per rate window")
	uf.DurationVar(&up.rateWindow, "rate-window", 0, "the rate window")
	c.AddCommand(update)

	c.AddCommand(&cobra.Command{
		Use: "delete ID", Short: "Delete a contact method and the notification rules that use it", Args: args(1, "a contact method id"),
		RunE: func(c *cobra.Command, a []string) error {
			if err := e.client().do(c.Context(), "DELETE", methodPath(a[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "deleted contact method", a[0], "and its notification rules")
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use: "test ID", Short: "Send a test message to a contact method (through the outbox)", Args: args(1, "a contact method id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "POST", methodPath(a[0])+"/test", nil, nil)
		},
	})
	c.AddCommand(&cobra.Command{
		Use: "rotate-secret ID", Short: "Give a webhook a new signing secret (shown once; the old one stops working)", Args: args(1, "a contact method id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.callSecret(c.Context(), "POST", methodPath(a[0])+"/rotate-secret", nil)
		},
	})
	return c
}

// callSecret is call for an answer that may hold a signing secret: it says
// on stderr that the secret is shown only this once.
func (e *env) callSecret(ctx context.Context, method, path string, body any) error {
	var out any
	if err := e.client().do(ctx, method, path, body, &out); err != nil {
		return err
	}
	if m, ok := out.(map[string]any); ok {
		if s, _ := m["secret"].(string); s != "" {
			fmt.Fprintln(e.stderr, "The signing secret is shown only now: keep it to check the X-Steady-Signature of each webhook request.")
		}
	}
	return e.print(out, nil)
}

func (e *env) notificationRuleCmd() *cobra.Command {
	var user string
	c := &cobra.Command{Use: "notification-rule", Short: "Notification rules: which contact method, how long after a page",
		Long: `A notification rule sends a page to one of a user's contact methods a number of
minutes after the user is paged, unless the incident is acknowledged or
resolved first. For "email at once, webhook after 5 minutes if
unacknowledged":
  steady notification-rule add --contact 1 --delay 0
  steady notification-rule add --contact 2 --delay 5m
A user without rules is emailed at their account address at once.`}
	c.PersistentFlags().StringVar(&user, "user", "me", "the user whose rules these are: an id, or me")
	c.AddCommand(&cobra.Command{
		Use: "list [--user U]", Short: "List notification rules by delay", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.call(c.Context(), "GET", userBase(user, "notification-rules"), nil, cols(ruleColumns))
		},
	})
	var contact int64
	var delay string
	add := &cobra.Command{
		Use: "add --contact ID [--delay 5m]", Short: "Add a notification rule", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if contact < 1 {
				return usageError{fmt.Errorf("--contact must name one of the user's contact methods (see steady contact list)")}
			}
			minutes, err := delayMinutes(delay)
			if err != nil {
				return err
			}
			return e.call(c.Context(), "POST", userBase(user, "notification-rules"),
				map[string]any{"contact_method_id": contact, "delay_minutes": minutes}, nil)
		},
	}
	add.Flags().Int64Var(&contact, "contact", 0, "the contact method's id")
	add.Flags().StringVar(&delay, "delay", "0", "how long after the page, such as 0, 5m or 1h30m (whole minutes, at most 24h)")
	c.AddCommand(add)
	c.AddCommand(&cobra.Command{
		Use: "delete ID", Short: "Delete a notification rule", Args: args(1, "a notification rule id"),
		RunE: func(c *cobra.Command, a []string) error {
			if err := e.client().do(c.Context(), "DELETE", userBase(user, "notification-rules")+"/"+url.PathEscape(a[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "deleted notification rule", a[0])
			return nil
		},
	})
	return c
}

// delayMinutes reads --delay: a duration in whole minutes, or a bare number
// of minutes.
func delayMinutes(s string) (int, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, usageError{fmt.Errorf("--delay must be a duration such as 0, 5m or 1h30m, not %q", s)}
	}
	return wholeUnits("delay", d, time.Minute, "minutes")
}
