package cli

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

const incidentColumns = "number status priority title alert_count service_id assignee_id created_at"

// incidentPath is the API path of an incident given as 42 or INC-42.
func incidentPath(ref string, rest ...string) string {
	return "/api/v1/incidents/" + url.PathEscape(strings.TrimSpace(ref)) + strings.Join(rest, "")
}

func (e *env) incidentCmd() *cobra.Command {
	c := &cobra.Command{Use: "incident", Aliases: []string{"inc"}, Short: "Work incidents: list, show, acknowledge, resolve, note"}
	c.AddCommand(e.listCmd("list", "List incidents, newest first (--status open for the open ones)", "/api/v1/incidents", incidentColumns,
		"status", "priority", "service", "team", "assignee", "tag", "major"))
	c.AddCommand(&cobra.Command{
		Use: "show ID", Short: "Show an incident (42 or INC-42)", Args: args(1, "an incident id or number"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", incidentPath(a[0]), nil, nil)
		},
	})
	for _, t := range []struct{ verb, short string }{
		{"acknowledge", "Acknowledge an incident: you are on it"},
		{"investigate", "Mark an incident as under investigation"},
		{"hold", "Put an incident on hold (pauses the time-to-resolve clock)"},
		{"resolve", "Resolve an incident (--note is the resolution)"},
		{"close", "Close a resolved incident"},
		{"reopen", "Reopen a resolved or closed incident"},
	} {
		var note string
		cmd := &cobra.Command{
			Use: t.verb + " ID [--note TEXT]", Short: t.short, Args: args(1, "an incident id or number"),
			RunE: func(c *cobra.Command, a []string) error {
				var body any
				if note != "" {
					body = map[string]string{"note": note}
				}
				return e.call(c.Context(), "POST", incidentPath(a[0], "/", t.verb), body, nil)
			},
		}
		if t.verb == "acknowledge" {
			cmd.Aliases = []string{"ack"}
		}
		cmd.Flags().StringVar(&note, "note", "", "a note for the timeline (the resolution, when resolving)")
		c.AddCommand(cmd)
	}
	var user, team int64
	assign := &cobra.Command{
		Use: "assign ID [--user ID] [--team ID]", Short: "Assign an incident to a user and/or a team (0 clears)", Args: args(1, "an incident id or number"),
		RunE: func(c *cobra.Command, a []string) error {
			body := map[string]any{}
			if c.Flags().Changed("user") {
				body["assignee_id"] = user
			}
			if c.Flags().Changed("team") {
				body["team_id"] = team
			}
			if len(body) == 0 {
				return usageError{fmt.Errorf("give --user, --team or both")}
			}
			return e.call(c.Context(), "POST", incidentPath(a[0], "/assign"), body, nil)
		},
	}
	assign.Flags().Int64Var(&user, "user", 0, "user id")
	assign.Flags().Int64Var(&team, "team", 0, "team id")
	c.AddCommand(assign)
	c.AddCommand(&cobra.Command{
		Use: "note ID TEXT", Short: "Add a note to an incident's timeline", Args: args(2, "an incident id and the note"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "POST", incidentPath(a[0], "/notes"), map[string]string{"body": a[1]}, nil)
		},
	})
	c.AddCommand(&cobra.Command{
		Use: "timeline ID", Short: "Show an incident's timeline", Args: args(1, "an incident id or number"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", incidentPath(a[0], "/timeline"), nil, cols("at kind actor_name body"))
		},
	})
	var title string
	var impact, urgency int
	var service int64
	create := &cobra.Command{
		Use: "create --title TEXT [--service ID] [--impact 1-3] [--urgency 1-3]", Short: "Open an incident by hand", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			body := map[string]any{"title": title}
			if service != 0 {
				body["service_id"] = service
			}
			if impact != 0 {
				body["impact"] = impact
			}
			if urgency != 0 {
				body["urgency"] = urgency
			}
			return e.call(c.Context(), "POST", "/api/v1/incidents", body, nil)
		},
	}
	create.Flags().StringVar(&title, "title", "", "what is wrong")
	create.Flags().Int64Var(&service, "service", 0, "the affected service's id")
	create.Flags().IntVar(&impact, "impact", 0, "1 (high) to 3 (low); default 2")
	create.Flags().IntVar(&urgency, "urgency", 0, "1 (high) to 3 (low); default 2")
	c.AddCommand(create)
	var limit int
	search := &cobra.Command{
		Use: "search WORDS…", Short: "Full-text search over incidents", Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			q := url.Values{"q": {strings.Join(a, " ")}}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var out struct {
				Items []struct {
					Incident map[string]any `json:"incident"`
				} `json:"items"`
			}
			if err := e.client().do(c.Context(), "GET", "/api/v1/incidents/search?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			list := map[string]any{"items": []any{}, "next": ""}
			for _, h := range out.Items {
				list["items"] = append(list["items"].([]any), h.Incident)
			}
			return e.print(list, cols(incidentColumns))
		},
	}
	search.Flags().IntVar(&limit, "limit", 0, "at most this many (1–100)")
	c.AddCommand(search)
	var html bool
	report := &cobra.Command{
		Use: "report ID [--html]", Short: "Print the post-incident report (Markdown, or HTML)", Args: args(1, "an incident id or number"),
		RunE: func(c *cobra.Command, a []string) error {
			format := "markdown"
			if html {
				format = "html"
			}
			text, err := e.client().text(c.Context(), incidentPath(a[0], "/report?format="+format))
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(e.stdout, text)
			return err
		},
	}
	report.Flags().BoolVar(&html, "html", false, "HTML instead of Markdown")
	c.AddCommand(report)
	return c
}
