package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"
)

// column is one column of a table: a header and the JSON field it shows.
type column struct {
	header string
	field  string
}

func cols(spec string) []column {
	var out []column
	for _, f := range strings.Fields(spec) {
		out = append(out, column{header: strings.ToUpper(strings.ReplaceAll(f, "_", " ")), field: f})
	}
	return out
}

// print writes v (a decoded JSON value) as a table, JSON or YAML. A table
// shows the items of a list, or the fields of one object.
func (e *env) print(v any, columns []column) error {
	switch e.output {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		enc := yaml.NewEncoder(e.stdout)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	case "table", "":
	default:
		return usageError{fmt.Errorf("--output must be table, json or yaml, not %q", e.output)}
	}
	m, _ := v.(map[string]any)
	items, isList := m["items"].([]any)
	if !isList {
		return printObject(e.stdout, m)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	var hs []string
	for _, c := range columns {
		hs = append(hs, c.header)
	}
	fmt.Fprintln(tw, strings.Join(hs, "\t"))
	for _, it := range items {
		row, _ := it.(map[string]any)
		var cells []string
		for _, c := range columns {
			cells = append(cells, cell(row[c.field]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next, _ := m["next"].(string); next != "" {
		fmt.Fprintf(e.stdout, "(more: --after %s)\n", next)
	}
	return nil
}

func printObject(w io.Writer, m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s:\t%s\n", k, cell(m[k]))
	}
	return tw.Flush()
}

// cell renders one value for a table.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil && strings.Contains(x, "T") {
			return t.UTC().Format("2006-01-02 15:04:05Z")
		}
		if x == "" {
			return "-"
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func jsonRoundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}
