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

const ciColumns = "id class name environment lifecycle team_id external_id"

// attrFlags parses repeated key=value attribute flags. Values are sent as
// text; the server converts them to the attribute's type.
func attrFlags(kv []string) (map[string]any, error) {
	out := map[string]any{}
	for _, s := range kv {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageError{fmt.Errorf("%q must be key=value", s)}
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// readObject reads one JSON or YAML object from a file (- for stdin).
func (e *env) readObject(file, what string) (map[string]any, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(e.stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read the %s: %w", what, err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, usageError{fmt.Errorf("%s is neither JSON nor YAML: %v", file, err)}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, usageError{fmt.Errorf("%s must hold one %s: an object", file, what)}
	}
	return m, nil
}

func (e *env) ciCmd() *cobra.Command {
	c := &cobra.Command{Use: "ci", Short: "Configuration items (CIs) of the CMDB",
		Long: `Configuration items: servers, applications, databases, business services …
Each CI has a class (see "steady ci-class list") whose typed attributes it may set.`}

	var lf struct {
		class, team, env, lifecycle, q, prefix, after string
		attrs                                         []string
		missing                                       bool
		limit                                         int
	}
	list := &cobra.Command{
		Use:   "list [--class C] [--q TEXT] [--prefix TEXT] [--attr key=value …] [--team ID] [--env E] [--lifecycle L] [--missing]",
		Short: "List and search CIs by name", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			q := url.Values{}
			set := func(k, v string) {
				if v != "" {
					q.Set(k, v)
				}
			}
			set("class", lf.class)
			set("team", lf.team)
			set("environment", lf.env)
			set("lifecycle", lf.lifecycle)
			set("q", lf.q)
			set("prefix", lf.prefix)
			set("after", lf.after)
			if lf.limit > 0 {
				q.Set("limit", strconv.Itoa(lf.limit))
			}
			if lf.missing {
				q.Set("missing", "true")
			}
			for _, a := range lf.attrs {
				k, v, ok := strings.Cut(a, "=")
				if !ok {
					return usageError{fmt.Errorf("--attr %q must be key=value", a)}
				}
				q.Add("attr", k+":"+v)
			}
			p := "/api/v1/cis"
			if len(q) > 0 {
				p += "?" + q.Encode()
			}
			return e.call(c.Context(), "GET", p, nil, cols(ciColumns))
		},
	}
	f := list.Flags()
	f.StringVar(&lf.class, "class", "", "only CIs of this class (its key)")
	f.StringVar(&lf.team, "team", "", "only CIs of this team (its id)")
	f.StringVar(&lf.env, "env", "", "only CIs in this environment")
	f.StringVar(&lf.lifecycle, "lifecycle", "", "only CIs in this lifecycle state")
	f.StringVar(&lf.q, "q", "", "names that contain this text")
	f.StringVar(&lf.prefix, "prefix", "", "names that start with this text")
	f.StringArrayVar(&lf.attrs, "attr", nil, "key=value an attribute must have; a value ending in * matches by prefix (repeatable)")
	f.BoolVar(&lf.missing, "missing", false, "only CIs their discovery source no longer sees")
	f.IntVar(&lf.limit, "limit", 0, "at most this many CIs (1 to 1000)")
	f.StringVar(&lf.after, "after", "", "cursor of the next page, as printed by the previous one")
	c.AddCommand(list)

	c.AddCommand(&cobra.Command{
		Use: "show ID", Short: "Show one CI with its attributes", Args: args(1, "a CI id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/cis/"+url.PathEscape(a[0]), nil, nil)
		},
	})

	var in struct {
		class, name, env, lifecycle, location, source, external string
		team                                                    int64
		attrs, unset                                            []string
	}
	bind := func(cmd *cobra.Command, create bool) {
		f := cmd.Flags()
		f.StringVar(&in.class, "class", "", "the class (its key)")
		f.StringVar(&in.name, "name", "", "the CI's name")
		f.StringVar(&in.env, "env", "", "production, staging, test, development or disaster_recovery")
		f.StringVar(&in.lifecycle, "lifecycle", "", "planned, in_use, maintenance, retired or disposed")
		f.StringVar(&in.location, "location", "", "where it is")
		f.StringVar(&in.source, "source", "", "where it came from, for reconciliation")
		f.StringVar(&in.external, "external-id", "", "its id in its source")
		f.Int64Var(&in.team, "team", 0, "the owning team's id"+map[bool]string{true: "", false: " (0 for none)"}[create])
		f.StringArrayVar(&in.attrs, "attr", nil, "key=value of an attribute (repeatable)")
		if !create {
			f.StringArrayVar(&in.unset, "unset", nil, "an attribute to remove (repeatable)")
		}
	}
	body := func(cmd *cobra.Command) (map[string]any, error) {
		b := map[string]any{}
		set := cmd.Flags().Changed
		for flag, field := range map[string]string{"class": "class", "name": "name", "env": "environment", "lifecycle": "lifecycle",
			"location": "location", "source": "source", "external-id": "external_id"} {
			if set(flag) {
				v, _ := cmd.Flags().GetString(flag)
				b[field] = v
			}
		}
		if set("team") {
			b["team_id"] = in.team
		}
		attrs, err := attrFlags(in.attrs)
		if err != nil {
			return nil, err
		}
		for _, k := range in.unset {
			attrs[k] = nil
		}
		if len(attrs) > 0 {
			b["attributes"] = attrs
		}
		return b, nil
	}
	create := &cobra.Command{
		Use:   "create --class C --name N [--attr key=value …] [--team ID] [--env E] [--lifecycle L]",
		Short: "Create a CI", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			b, err := body(c)
			if err != nil {
				return err
			}
			return e.call(c.Context(), "POST", "/api/v1/cis", b, nil)
		},
	}
	bind(create, true)
	c.AddCommand(create)
	update := &cobra.Command{
		Use:   "update ID [--name N] [--attr key=value …] [--unset key …] [--lifecycle L] …",
		Short: "Change a CI: only the flags given", Args: args(1, "a CI id"),
		RunE: func(c *cobra.Command, a []string) error {
			b, err := body(c)
			if err != nil {
				return err
			}
			if len(b) == 0 {
				return usageError{fmt.Errorf("nothing to change (see --help)")}
			}
			return e.call(c.Context(), "PATCH", "/api/v1/cis/"+url.PathEscape(a[0]), b, nil)
		},
	}
	bind(update, false)
	c.AddCommand(update)
	c.AddCommand(e.deleteCmd("delete ID", "Delete a CI and its relationships (its history stays)", "/api/v1/cis/", "deleted CI"))
	var hl struct {
		limit int
		after string
	}
	history := &cobra.Command{
		Use: "history ID", Short: "Show what changed on a CI, who changed it and when (newest first)", Args: args(1, "a CI id"),
		RunE: func(c *cobra.Command, a []string) error {
			q := url.Values{}
			if hl.limit > 0 {
				q.Set("limit", strconv.Itoa(hl.limit))
			}
			if hl.after != "" {
				q.Set("after", hl.after)
			}
			p := "/api/v1/cis/" + url.PathEscape(a[0]) + "/history"
			if len(q) > 0 {
				p += "?" + q.Encode()
			}
			return e.call(c.Context(), "GET", p, nil, cols("at actor_name field before after"))
		},
	}
	history.Flags().IntVar(&hl.limit, "limit", 0, "at most this many entries (1 to 1000)")
	history.Flags().StringVar(&hl.after, "after", "", "cursor of the next page")
	c.AddCommand(history)
	c.AddCommand(e.ciImportCmd(), e.ciExportCmd()) // in cmdb_io.go
	return c
}

func (e *env) ciClassCmd() *cobra.Command {
	c := &cobra.Command{Use: "ci-class", Short: "Classes of configuration items and their typed attributes",
		Long: `Classes of CIs. Built-in classes are read-only; admins define their own from a
JSON or YAML file such as:
  key: rack
  name: Rack
  attributes:
    - {key: room, type: string, required: true}
    - {key: units, type: number}
    - {key: kind, type: enum, enum: [open, closed]}
    - {key: pdu, type: ref, ref_class: network_device}
Types: string, number, boolean, enum, date, ip, url, ref.`}
	c.AddCommand(e.listCmd("list", "List CI classes with their number of CIs", "/api/v1/ci-classes", "key name builtin ci_count"))
	c.AddCommand(&cobra.Command{
		Use: "show KEY", Short: "Show a class and its attributes", Args: args(1, "a class key"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/ci-classes/"+url.PathEscape(a[0]), nil, nil)
		},
	})
	var file string
	create := &cobra.Command{
		Use: "create --file FILE", Short: "Create a class from a JSON or YAML file (- for stdin)", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("give --file (see --help)")}
			}
			b, err := e.readObject(file, "class")
			if err != nil {
				return err
			}
			return e.call(c.Context(), "POST", "/api/v1/ci-classes", b, nil)
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "the class as JSON or YAML (- for stdin)")
	c.AddCommand(create)
	update := &cobra.Command{
		Use: "update KEY --file FILE", Short: "Replace a class's name, description and attributes from a file", Args: args(1, "a class key"),
		RunE: func(c *cobra.Command, a []string) error {
			if file == "" {
				return usageError{fmt.Errorf("give --file (see --help)")}
			}
			b, err := e.readObject(file, "class")
			if err != nil {
				return err
			}
			delete(b, "key")
			return e.call(c.Context(), "PUT", "/api/v1/ci-classes/"+url.PathEscape(a[0]), b, nil)
		},
	}
	update.Flags().StringVarP(&file, "file", "f", "", "the class as JSON or YAML (- for stdin)")
	c.AddCommand(update)
	c.AddCommand(e.deleteCmd("delete KEY", "Delete a class that has no CIs", "/api/v1/ci-classes/", "deleted class"))
	return c
}
