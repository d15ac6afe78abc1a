package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

const policyPath = "/api/v1/escalation-policies"

// policyFlags build an escalation policy body from flags, or from a file
// that the flags given then override.
type policyFlags struct {
	file, name, description string
	team                    int64
	repeat                  int
	levels                  []string
}

func (f *policyFlags) bind(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "read the policy from a JSON or YAML file (- for stdin); flags given override it")
	fl.StringVar(&f.name, "name", "", "the policy's name (unique)")
	fl.StringVar(&f.description, "description", "", "what the policy is for")
	fl.Int64Var(&f.team, "team", 0, "id of the owning team (0 for none)")
	fl.IntVar(&f.repeat, "repeat", 0, "how many extra times the whole policy runs after the first pass (0 to 9)")
	fl.StringArrayVar(&f.levels, "level", nil, `a level, in order (repeatable): DELAY:KIND=REF,…, e.g. "5m:user=alice@example.com,schedule=Primary";
KIND is user, schedule or team; REF an id or a name (a user's email); DELAY is how long
before the next level (5m, 1h or plain minutes)`)
}

// body reads the file (if any) and lays the flags given over it.
func (f *policyFlags) body(c *cobra.Command, stdin io.Reader) (map[string]any, error) {
	b := map[string]any{}
	if f.file != "" {
		var data []byte
		var err error
		if f.file == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(f.file)
		}
		if err != nil {
			return nil, fmt.Errorf("read the policy: %w", err)
		}
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, usageError{fmt.Errorf("%s is neither JSON nor YAML: %v", f.file, err)}
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, usageError{fmt.Errorf("%s must hold one policy: an object with name and levels", f.file)}
		}
		b = m
	}
	set := c.Flags().Changed
	if set("name") {
		b["name"] = f.name
	}
	if set("description") {
		b["description"] = f.description
	}
	if set("team") {
		b["team_id"] = f.team
	}
	if set("repeat") {
		b["repeat"] = f.repeat
	}
	if set("level") {
		var levels []any
		for _, l := range f.levels {
			lv, err := parseLevel(l)
			if err != nil {
				return nil, err
			}
			levels = append(levels, lv)
		}
		b["levels"] = levels
	}
	if len(b) == 0 {
		return nil, usageError{fmt.Errorf("give --file or --name and at least one --level (see --help)")}
	}
	return b, nil
}

// parseLevel reads "5m:user=alice@example.com,schedule=Primary".
func parseLevel(s string) (map[string]any, error) {
	delay, rest, ok := strings.Cut(s, ":")
	if !ok {
		return nil, usageError{fmt.Errorf("--level %q must read DELAY:KIND=REF,…, e.g. 5m:user=alice@example.com", s)}
	}
	minutes, err := parseMinutes(strings.TrimSpace(delay))
	if err != nil {
		return nil, usageError{fmt.Errorf("--level %q: %v", s, err)}
	}
	targets := []any{}
	for _, t := range strings.Split(rest, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		kind, ref, ok := strings.Cut(t, "=")
		kind, ref = strings.TrimSpace(kind), strings.TrimSpace(ref)
		if !ok || ref == "" {
			return nil, usageError{fmt.Errorf("--level %q: a target must read KIND=REF, such as user=alice@example.com, not %q", s, t)}
		}
		switch kind {
		case "user", "schedule", "team":
		default:
			return nil, usageError{fmt.Errorf("--level %q: a target's kind is user, schedule or team, not %q", s, kind)}
		}
		if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
			targets = append(targets, map[string]any{"kind": kind, "id": id})
		} else {
			targets = append(targets, map[string]any{"kind": kind, "name": ref})
		}
	}
	return map[string]any{"delay_minutes": minutes, "targets": targets}, nil
}

// parseMinutes reads a delay: plain minutes ("5") or a duration in whole minutes ("5m", "1h30m").
func parseMinutes(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d%time.Minute != 0 {
		return 0, fmt.Errorf("the delay must be whole minutes, such as 5m, 1h or 30, not %q", s)
	}
	return int(d / time.Minute), nil
}

// levelsLine writes a policy's levels on one line: "5m: Alice, Primary → 10m: Ops".
func levelsLine(v any) string {
	var parts []string
	for _, l := range asSlice(v) {
		lm, _ := l.(map[string]any)
		var names []string
		for _, t := range asSlice(lm["targets"]) {
			names = append(names, targetWords(t))
		}
		parts = append(parts, fmt.Sprintf("%sm: %s", cell(lm["delay_minutes"]), strings.Join(names, ", ")))
	}
	return strings.Join(parts, " → ")
}

func targetWords(t any) string {
	tm, _ := t.(map[string]any)
	name, _ := tm["name"].(string)
	if name == "" {
		name = cell(tm["id"])
	}
	return fmt.Sprint(tm["kind"], " ", name)
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func serviceNames(v any) string {
	var names []string
	for _, s := range asSlice(v) {
		sm, _ := s.(map[string]any)
		names = append(names, fmt.Sprint(sm["name"]))
	}
	return strings.Join(names, ", ")
}

// printPolicy writes one policy: in words for a table, else as it came.
func (e *env) printPolicy(v any) error {
	m, _ := v.(map[string]any)
	if e.output != "table" && e.output != "" || m == nil {
		return e.print(v, nil)
	}
	w := e.stdout
	fmt.Fprintf(w, "%s (id %s, version %s)\n", cell(m["name"]), cell(m["id"]), cell(m["version"]))
	if d, _ := m["description"].(string); d != "" {
		fmt.Fprintln(w, d)
	}
	levels := asSlice(m["levels"])
	for i, l := range levels {
		lm, _ := l.(map[string]any)
		var names []string
		for _, t := range asSlice(lm["targets"]) {
			names = append(names, targetWords(t))
		}
		next := "the end of the pass"
		if i+1 < len(levels) {
			next = fmt.Sprintf("level %d", i+2)
		}
		fmt.Fprintf(w, "Level %d: page %s; after %s min → %s\n", i+1, strings.Join(names, ", "), cell(lm["delay_minutes"]), next)
	}
	if r, _ := m["repeat"].(float64); r > 0 {
		fmt.Fprintf(w, "Repeat %d more time(s) from level 1\n", int(r))
	}
	if s := serviceNames(m["services"]); s != "" {
		fmt.Fprintln(w, "Services:", s)
	}
	return nil
}

func (e *env) policyCmd() *cobra.Command {
	c := &cobra.Command{Use: "escalation-policy", Aliases: []string{"policy"},
		Short: "Escalation policies: who is paged for a service's incidents, in which order"}

	var limit int
	var after, team, q string
	list := &cobra.Command{
		Use: "list [--q TEXT] [--team ID]", Short: "List escalation policies", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			v := url.Values{}
			if limit > 0 {
				v.Set("limit", strconv.Itoa(limit))
			}
			for k, s := range map[string]string{"after": after, "team": team, "q": q} {
				if s != "" {
					v.Set(k, s)
				}
			}
			p := policyPath
			if len(v) > 0 {
				p += "?" + v.Encode()
			}
			var out any
			if err := e.client().do(c.Context(), "GET", p, nil, &out); err != nil {
				return err
			}
			if m, ok := out.(map[string]any); ok && (e.output == "table" || e.output == "") {
				for _, it := range asSlice(m["items"]) {
					im, _ := it.(map[string]any)
					im["levels"], im["services"] = levelsLine(im["levels"]), serviceNames(im["services"])
				}
			}
			return e.print(out, cols("id name repeat levels services"))
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "at most this many items (1 to 1000)")
	list.Flags().StringVar(&after, "after", "", "cursor of the next page, as printed by the previous one")
	list.Flags().StringVar(&team, "team", "", "only policies of this team id")
	list.Flags().StringVar(&q, "q", "", "only policies whose name contains this text")
	c.AddCommand(list)

	c.AddCommand(&cobra.Command{
		Use: "show ID", Aliases: []string{"get"}, Short: "Show one escalation policy, level by level", Args: args(1, "a policy id"),
		RunE: func(c *cobra.Command, a []string) error {
			var out any
			if err := e.client().do(c.Context(), "GET", policyPath+"/"+url.PathEscape(a[0]), nil, &out); err != nil {
				return err
			}
			return e.printPolicy(out)
		},
	})

	var cf policyFlags
	create := &cobra.Command{
		Use:   `create --name N [--repeat 1] --level "5m:user=alice@example.com,schedule=Primary" [--level "10m:team=Ops" …] | --file policy.yaml`,
		Short: "Create an escalation policy",
		Long: `Create an escalation policy from flags or from a JSON or YAML file, e.g.

  steady escalation-policy create --name Checkout --repeat 1 \
    --level "5m:user=alice@example.com,schedule=Primary" --level "10m:team=Ops"

Each --level is paged in order; the next level follows DELAY later unless
the incident is acknowledged. Targets are named by id or by name (a user by
email). A file holds the API's body: name, description, team_id, repeat and
levels: [{delay_minutes, targets: [{kind, id | name}]}].`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			b, err := cf.body(c, e.stdin)
			if err != nil {
				return err
			}
			var out any
			if err := e.client().do(c.Context(), "POST", policyPath, b, &out); err != nil {
				return err
			}
			return e.printPolicy(out)
		},
	}
	cf.bind(create)
	c.AddCommand(create)

	var rf policyFlags
	replace := &cobra.Command{
		Use:   "replace ID (--file policy.yaml | --name N --level … )",
		Short: "Replace an escalation policy whole: give every field, as for create",
		Args:  args(1, "a policy id"),
		RunE: func(c *cobra.Command, a []string) error {
			b, err := rf.body(c, e.stdin)
			if err != nil {
				return err
			}
			var out any
			if err := e.client().do(c.Context(), "PUT", policyPath+"/"+url.PathEscape(a[0]), b, &out); err != nil {
				return err
			}
			return e.printPolicy(out)
		},
	}
	rf.bind(replace)
	c.AddCommand(replace)

	c.AddCommand(e.deleteCmd("delete ID", "Delete an escalation policy (refused while services use it)", policyPath+"/", "deleted escalation policy"))
	return c
}

// policyID turns an --escalation-policy value into an id: a number as it
// is, "none" as 0 (no policy), anything else a policy's name.
func (e *env) policyID(ctx context.Context, ref string) (int64, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.EqualFold(ref, "none") {
		return 0, nil
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id >= 0 {
		return id, nil
	}
	var out struct {
		Items []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := e.client().do(ctx, "GET", policyPath+"?limit=1000&q="+url.QueryEscape(ref), nil, &out); err != nil {
		return 0, err
	}
	for _, p := range out.Items {
		if strings.EqualFold(p.Name, ref) {
			return p.ID, nil
		}
	}
	return 0, fmt.Errorf("no escalation policy is named %q (see steady escalation-policy list)", ref)
}
