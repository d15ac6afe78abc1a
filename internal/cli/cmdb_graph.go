package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// CI references on the command line are an id, "source:external_id" or an
// exact name; the server resolves them.

// ciID resolves a CI reference to its id through the server.
func (e *env) ciID(ctx context.Context, ref string) (string, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil && n > 0 {
		return ref, nil
	}
	var out struct {
		Start []struct {
			ID int64 `json:"id"`
		} `json:"start"`
	}
	if err := e.client().do(ctx, "POST", "/api/v1/impact", map[string]any{"cis": []string{ref}, "depth": 1}, &out); err != nil {
		return "", err
	}
	if len(out.Start) != 1 {
		return "", fmt.Errorf("no CI %q", ref)
	}
	return strconv.FormatInt(out.Start[0].ID, 10), nil
}

func (e *env) relationCmd() *cobra.Command {
	c := &cobra.Command{Use: "relation", Short: "CI relationships: SOURCE depends_on|runs_on|hosted_on|member_of|connects_to|backed_up_by TARGET",
		Long: `Relationships are typed and directed, read "source <type> target": the app
runs_on the VM. The target's failure affects the source for depends_on,
runs_on and hosted_on; a member's failure affects its group for member_of
(see "steady relation redundancy"); connects_to and backed_up_by do not
propagate. CIs are named by id, "source:external_id" or exact name.`}
	c.AddCommand(&cobra.Command{
		Use: "add SOURCE TYPE TARGET", Short: "Relate two CIs, e.g. relation add web-1 runs_on vm-7", Args: args(3, "a source CI, a type and a target CI"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "POST", "/api/v1/relations", map[string]any{"source": a[0], "type": a[1], "target": a[2]}, nil)
		},
	})
	c.AddCommand(&cobra.Command{
		Use: "list CI", Short: "List a CI's relations, both directions", Args: args(1, "a CI"),
		RunE: func(c *cobra.Command, a []string) error {
			id, err := e.ciID(c.Context(), a[0])
			if err != nil {
				return err
			}
			return e.call(c.Context(), "GET", "/api/v1/cis/"+url.PathEscape(id)+"/relations", nil,
				cols("id source_id source_name type target_id target_name"))
		},
	})
	c.AddCommand(e.deleteCmd("delete ID", "Remove a relation by its id", "/api/v1/relations/", "removed relation"))
	red := &cobra.Command{
		Use:   "redundancy GROUP [MIN_UP | --clear]",
		Short: "Show or set how many members a group needs up (the group is the target of member_of)",
		Args: func(cmd *cobra.Command, a []string) error {
			if len(a) < 1 || len(a) > 2 {
				return usageError{fmt.Errorf("%s takes a group CI and optionally MIN_UP (see --help)", cmd.CommandPath())}
			}
			return nil
		},
	}
	var clearRule bool
	red.Flags().BoolVar(&clearRule, "clear", false, "remove the rule: any member down takes the group down")
	red.RunE = func(c *cobra.Command, a []string) error {
		id, err := e.ciID(c.Context(), a[0])
		if err != nil {
			return err
		}
		p := "/api/v1/cis/" + url.PathEscape(id) + "/redundancy"
		switch {
		case clearRule && len(a) == 2:
			return usageError{fmt.Errorf("give MIN_UP or --clear, not both")}
		case clearRule:
			if err := e.client().do(c.Context(), "DELETE", p, nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "removed the redundancy rule of", a[0])
			return nil
		case len(a) == 2:
			n, err := strconv.Atoi(a[1])
			if err != nil {
				return usageError{fmt.Errorf("MIN_UP must be a whole number, not %q", a[1])}
			}
			return e.call(c.Context(), "PUT", p, map[string]any{"min_up": n}, nil)
		}
		return e.call(c.Context(), "GET", p, nil, nil)
	}
	c.AddCommand(red)
	return c
}

// impactAnswer is the part of an impact analysis the table shows.
type impactAnswer struct {
	Direction string `json:"direction"`
	Depth     int    `json:"depth"`
	Total     int    `json:"total"`
	Truncated bool   `json:"truncated"`
	Start     []struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Class string `json:"class"`
	} `json:"start"`
	Hops []struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Class string `json:"class"`
		Depth int    `json:"depth"`
		Via   string `json:"via"`
		From  int64  `json:"from"`
	} `json:"hops"`
	Services []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"services"`
}

func (e *env) impactCmd() *cobra.Command {
	var upstream bool
	var depth int
	c := &cobra.Command{
		Use:   "impact CI [CI …] [--upstream] [--depth N]",
		Short: "What a CI's failure affects (and which business services), or with --upstream what it depends on",
		Long: `Impact analysis over the CMDB's relationships, honouring redundancy rules.
Several CIs are analysed as failing together. CIs are named by id,
"source:external_id" or exact name. Depth is 1 to 20 relations (default 5).`,
		RunE: func(c *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usageError{fmt.Errorf("%s takes at least one CI (see --help)", c.CommandPath())}
			}
			body := map[string]any{"cis": a}
			if upstream {
				body["direction"] = "upstream"
			}
			if c.Flags().Changed("depth") {
				body["depth"] = depth
			}
			if e.output != "table" && e.output != "" {
				return e.call(c.Context(), "POST", "/api/v1/impact", body, nil)
			}
			var out impactAnswer
			if err := e.client().do(c.Context(), "POST", "/api/v1/impact", body, &out); err != nil {
				return err
			}
			return e.printImpact(out)
		},
	}
	c.Flags().BoolVar(&upstream, "upstream", false, "what the CI depends on, instead of what its failure affects")
	c.Flags().IntVar(&depth, "depth", 5, "how many relations to follow: 1 to 20")
	return c
}

func (e *env) printImpact(im impactAnswer) error {
	var start []string
	names := map[int64]string{}
	for _, s := range im.Start {
		start = append(start, fmt.Sprintf("%s (%s)", s.Name, s.Class))
		names[s.ID] = s.Name
	}
	for _, h := range im.Hops {
		names[h.ID] = h.Name
	}
	what := "affected if it fails"
	if len(im.Start) > 1 {
		what = "affected if they fail"
	}
	if im.Direction == "upstream" {
		what = "depended on"
	}
	cis := "CIs"
	if im.Total == 1 {
		cis = "CI"
	}
	fmt.Fprintf(e.stdout, "%s: %d %s %s (depth %d)\n", strings.Join(start, ", "), im.Total, cis, what, im.Depth)
	if len(im.Hops) > 0 {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DEPTH\tID\tCI\tCLASS\tVIA\tFROM")
		for _, h := range im.Hops {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", h.Depth, h.ID, h.Name, h.Class, h.Via, names[h.From])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if im.Truncated {
		fmt.Fprintf(e.stdout, "(only the first %d of %d are listed; -o json has the paths)\n", len(im.Hops), im.Total)
	}
	if im.Direction != "upstream" {
		if len(im.Services) == 0 {
			fmt.Fprintln(e.stdout, "Impacted business services: none")
		} else {
			var sv []string
			for _, s := range im.Services {
				sv = append(sv, s.Name)
			}
			fmt.Fprintln(e.stdout, "Impacted business services: "+strings.Join(sv, ", "))
		}
	}
	return nil
}
