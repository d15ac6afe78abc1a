package cli

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// cmdbMappingCmd, cmdbTopologyCmd and cmdbRootCauseCmd are the topology
// commands under "steady cmdb".
func (e *env) cmdbMappingCmd() *cobra.Command {
	c := &cobra.Command{Use: "mapping", Short: "The rules that name the CI of an event",
		Long: `Mapping rules name the CI of each event: rules are tried in order, and the first
whose label the event has (for host, component, group and class also the
event's field of that name), without its :port when strip_port is set, and
whose value is a CI's name (case-insensitive) or external id, gives the alert's CI.`}
	c.AddCommand(&cobra.Command{
		Use: "list", Short: "List the mapping rules in the order they are tried", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.call(c.Context(), "GET", "/api/v1/cmdb/mapping-rules", nil, cols("position label match strip_port"))
		},
	})
	var file string
	set := &cobra.Command{
		Use:   "set --file FILE",
		Short: "Replace the mapping rules with those of a JSON or YAML file (- for stdin)",
		Long: `Replace the whole ordered list of mapping rules (admins only). The file holds
{"rules": [...]} or just the list, e.g. in YAML:

  - label: ci
    match: name
  - label: instance
    match: name
    strip_port: true
  - label: host
    match: external_id`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("give --file (see --help)")}
			}
			body, err := e.readRules(file)
			if err != nil {
				return err
			}
			return e.call(c.Context(), "PUT", "/api/v1/cmdb/mapping-rules", body, cols("position label match strip_port"))
		},
	}
	set.Flags().StringVarP(&file, "file", "f", "", "the rules as JSON or YAML (- for stdin)")
	c.AddCommand(set)
	return c
}

// readRules reads a rule list: {"rules": [...]} or the bare list.
func (e *env) readRules(file string) (map[string]any, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(e.stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read the rules: %w", err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, usageError{fmt.Errorf("%s is neither JSON nor YAML: %v", file, err)}
	}
	switch r := v.(type) {
	case []any:
		return map[string]any{"rules": r}, nil
	case map[string]any:
		return r, nil
	}
	return nil, usageError{fmt.Errorf(`%s must hold a list of rules, or {"rules": [...]}`, file)}
}

func (e *env) cmdbTopologyCmd() *cobra.Command {
	return &cobra.Command{
		Use: "topology INCIDENT", Short: "Show an incident's affected CIs, impacted services and probable root cause",
		Args: args(1, "an incident number, such as INC-12"),
		RunE: func(c *cobra.Command, a []string) error {
			var out map[string]any
			if err := e.client().do(c.Context(), "GET", "/api/v1/incidents/"+url.PathEscape(a[0])+"/topology", nil, &out); err != nil {
				return err
			}
			return e.printTopology(out)
		},
	}
}

func (e *env) cmdbRootCauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "root-cause INCIDENT CI_ID",
		Short: "Confirm an incident's probable root cause, or correct it with another CI",
		Args:  args(2, "an incident number and a CI id"),
		RunE: func(c *cobra.Command, a []string) error {
			id, err := strconv.ParseInt(strings.TrimSpace(a[1]), 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Errorf("%q is not a CI id", a[1])}
			}
			var out map[string]any
			if err := e.client().do(c.Context(), "POST", "/api/v1/incidents/"+url.PathEscape(a[0])+"/root-cause",
				map[string]any{"ci_id": id}, &out); err != nil {
				return err
			}
			return e.printTopology(out)
		},
	}
}

// printTopology writes an incident's topology as three short lists.
func (e *env) printTopology(m map[string]any) error {
	if e.output != "table" && e.output != "" {
		return e.print(m, nil)
	}
	w := e.stdout
	section := func(title, key string, ranked bool) {
		l, _ := m[key].([]any)
		fmt.Fprintf(w, "%s:\n", title)
		if len(l) == 0 {
			fmt.Fprintln(w, "  none")
			return
		}
		for _, x := range l {
			ci, _ := x.(map[string]any)
			line := fmt.Sprintf("  %s (%s, id %s)", cell(ci["name"]), cell(ci["class"]), cell(ci["ci_id"]))
			if ranked {
				line = fmt.Sprintf("  %s.%s", cell(ci["rank"]), line[1:])
				if ci["confirmed"] == true {
					line += " — confirmed"
				}
			}
			fmt.Fprintln(w, line)
		}
	}
	section("Probable root cause", "root_causes", true)
	section("Affected CIs", "affected", false)
	section("Impacted services", "impacted", false)
	return nil
}
