package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// CMDB files: steady ci import|export, steady cmdb audit|discover.

// fileClient is a client for whole files: imports and exports take longer
// than the usual calls.
func (e *env) fileClient() *client {
	c := e.client()
	c.http.Timeout = 15 * time.Minute
	return c
}

// raw sends body as it is (with its content type) and returns the answer's
// body, turning an error answer into a message as do does.
func (c *client) raw(ctx context.Context, method, path, contentType string, body io.Reader) ([]byte, error) {
	u, err := url.Parse(c.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--server must be a URL such as http://127.0.0.1:8080, not %q", c.base)}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Steady server at %s (is it running? set --server or STEADY_SERVER): %v", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		var p problem
		_ = json.Unmarshal(data, &p)
		msg := p.Detail
		if msg == "" {
			msg = strings.TrimSpace(string(data))
		}
		for _, f := range p.Errors {
			msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Detail)
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			if c.token == "" {
				return nil, fmt.Errorf("the server needs an API token: set --token or STEADY_TOKEN")
			}
			return nil, fmt.Errorf("the server refused the token: %s", msg)
		case http.StatusForbidden:
			return nil, fmt.Errorf("not allowed: %s", msg)
		}
		return nil, fmt.Errorf("%s (HTTP %d): %s", strings.ToLower(p.Title), resp.StatusCode, msg)
	}
	return data, nil
}

// fileFormat is the format of a file: --format, else its extension.
func fileFormat(flag, file string) (string, error) {
	f := strings.ToLower(strings.TrimSpace(flag))
	if f == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".csv":
			f = "csv"
		case ".json":
			f = "json"
		case ".yaml", ".yml":
			f = "yaml"
		}
	}
	switch f {
	case "", "csv", "json", "yaml":
		return f, nil
	case "yml":
		return "yaml", nil
	}
	return "", usageError{fmt.Errorf("--format must be csv, json or yaml, not %q", flag)}
}

var mediaTypes = map[string]string{"csv": "text/csv", "json": "application/json", "yaml": "application/yaml"}

// openFile opens a file to send, "-" for stdin.
func (e *env) openFile(name string) (io.Reader, func(), error) {
	if name == "-" {
		return e.stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// importResult is the part of an import's answer the CLI shows.
type importResult struct {
	DryRun  bool `json:"dry_run"`
	Applied bool `json:"applied"`
	Rows    []struct {
		Row     int    `json:"row"`
		Action  string `json:"action"`
		Class   string `json:"class"`
		Name    string `json:"name"`
		Changes []struct {
			Field  string `json:"field"`
			Before any    `json:"before"`
			After  any    `json:"after"`
		} `json:"changes"`
	} `json:"rows"`
	Errors []struct {
		Row    int    `json:"row"`
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

func (e *env) ciImportCmd() *cobra.Command {
	var format string
	var dry, validOnly bool
	c := &cobra.Command{
		Use:   "import FILE [--dry-run] [--valid-only] [--format csv|json|yaml]",
		Short: "Import CIs and relationships from a CSV, JSON or YAML file (- for stdin)",
		Long: `Import CIs from a file. Rows with an external id update the CI with that
(source, external id); rows without one the CI of the same class and name;
the others create CIs. Relationship columns (rel.<type>) may name CIs of
later rows.

  --dry-run      show what would change, row by row, and every error; change nothing
  --valid-only   apply the valid rows and report the others (otherwise a file
                 with errors changes nothing)`,
		Args: args(1, "a file"),
		RunE: func(c *cobra.Command, a []string) error {
			f, err := fileFormat(format, a[0])
			if err != nil {
				return err
			}
			body, done, err := e.openFile(a[0])
			if err != nil {
				return err
			}
			defer done()
			q := url.Values{}
			if f != "" {
				q.Set("format", f)
			}
			if dry {
				q.Set("dry_run", "true")
			}
			if validOnly {
				q.Set("valid_only", "true")
			}
			data, err := e.fileClient().raw(c.Context(), "POST", "/api/v1/cis/import?"+q.Encode(), mediaTypes[f], body)
			if err != nil {
				return err
			}
			return e.showImport(data)
		},
	}
	c.Flags().StringVar(&format, "format", "", "csv, json or yaml (default: from the file's extension, else guessed)")
	c.Flags().BoolVar(&dry, "dry-run", false, "show what would change and change nothing")
	c.Flags().BoolVar(&validOnly, "valid-only", false, "apply the valid rows and report the others")
	return c
}

// showImport prints an import's answer: a summary, the rows that change
// something, and every error.
func (e *env) showImport(data []byte) error {
	if e.output == "json" || e.output == "yaml" {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		return e.print(v, nil)
	}
	var res importResult
	var counts struct {
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("the server's answer is not what this client expects (different versions?): %w", err)
	}
	_ = json.Unmarshal(data, &counts)
	n := counts.Counts
	switch {
	case res.DryRun:
		fmt.Fprint(e.stdout, "Dry run, nothing changed: ")
	case res.Applied:
		fmt.Fprint(e.stdout, "Imported: ")
	}
	fmt.Fprintf(e.stdout, "%d rows, %d created, %d updated, %d unchanged, %d with errors; relationships: %d created, %d unchanged, %d with errors\n",
		n["rows"], n["created"], n["updated"], n["unchanged"], n["failed"], n["relations_created"], n["relations_unchanged"], n["relations_failed"])
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	shown := false
	for _, r := range res.Rows {
		if r.Action != "create" && r.Action != "update" {
			continue
		}
		if !shown {
			fmt.Fprintln(tw, "ROW\tACTION\tCLASS\tNAME\tCHANGES")
			shown = true
		}
		var ch []string
		for _, c := range r.Changes {
			ch = append(ch, fmt.Sprintf("%s: %s → %s", c.Field, cell(c.Before), cell(c.After)))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Row, r.Action, r.Class, r.Name, strings.Join(ch, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, er := range res.Errors {
		where := er.Field
		if er.Row > 0 {
			where = "row " + strconv.Itoa(er.Row)
			if er.Field != "" {
				where += ", " + er.Field
			}
		}
		fmt.Fprintf(e.stdout, "error: %s: %s\n", where, er.Detail)
	}
	if len(res.Errors) > 0 && !res.DryRun {
		return errors.New("some rows were not imported")
	}
	return nil
}

func (e *env) ciExportCmd() *cobra.Command {
	var format, class, environment, team, q, ids, out string
	c := &cobra.Command{
		Use:   "export [--format csv|json|yaml] [--class C] [--environment E] [--team T] [--q TEXT] [--ids 1,2] [--file F]",
		Short: "Export CIs with their relationships, in the format the import reads",
		Args:  args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := fileFormat(format, out)
			if err != nil {
				return err
			}
			v := url.Values{}
			if f != "" {
				v.Set("format", f)
			}
			for k, val := range map[string]string{"class": class, "environment": environment, "team": team, "q": q, "ids": ids} {
				if val != "" {
					v.Set(k, val)
				}
			}
			data, err := e.fileClient().raw(c.Context(), "GET", "/api/v1/cis/export?"+v.Encode(), "", nil)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = e.stdout.Write(data)
				return err
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "wrote %s (%d bytes)\n", out, len(data))
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&format, "format", "", "csv, json or yaml (default: from --file's extension, else csv)")
	fl.StringVar(&class, "class", "", "only CIs of this class (its key)")
	fl.StringVar(&environment, "environment", "", "only CIs in this environment")
	fl.StringVar(&team, "team", "", "only CIs of this team (name or id)")
	fl.StringVar(&q, "q", "", "only CIs whose name contains this, or whose external id is this")
	fl.StringVar(&ids, "ids", "", "only these CIs: ids separated by commas")
	fl.StringVar(&out, "file", "", "write to this file instead of standard output")
	return c
}

func (e *env) cmdbCmd() *cobra.Command {
	c := &cobra.Command{Use: "cmdb", Short: "The CMDB as a whole: the configuration audit and discovery feeds"}
	var rule, after string
	var days, limit int
	audit := &cobra.Command{
		Use:   "audit [--rule R] [--not-seen-days N]",
		Short: "Run the configuration audit: data-quality findings per rule",
		Long: `Run the configuration audit. Rules:
  production_without_owner      a production CI without an owner team
  not_seen                      a discovered CI missing from its source, or not seen for N days
  relation_to_retired           a CI in use that relates to a retired or disposed CI
  missing_required_attribute    a CI without a required attribute of its class
  service_without_dependencies  a business service with no outgoing relation`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			v := url.Values{}
			if rule != "" {
				v.Set("rule", rule)
			}
			if days != 0 {
				v.Set("not_seen_days", strconv.Itoa(days))
			}
			if limit != 0 {
				v.Set("limit", strconv.Itoa(limit))
			}
			if after != "" {
				v.Set("after", after)
			}
			var rep map[string]any
			if err := e.client().do(c.Context(), "GET", "/api/v1/cmdb/audit?"+v.Encode(), nil, &rep); err != nil {
				return err
			}
			if e.output == "json" || e.output == "yaml" {
				return e.print(rep, nil)
			}
			counts, _ := rep["counts"].(map[string]any)
			total := 0
			for _, r := range []string{"production_without_owner", "not_seen", "relation_to_retired", "missing_required_attribute", "service_without_dependencies"} {
				if rule != "" && r != rule {
					continue
				}
				n, _ := counts[r].(float64)
				total += int(n)
				fmt.Fprintf(e.stdout, "%-30s %d\n", r, int(n))
			}
			if total == 0 {
				fmt.Fprintln(e.stdout, "No findings.")
				return nil
			}
			fmt.Fprintln(e.stdout)
			return e.print(rep, cols("rule ci_id ci_name class message"))
		},
	}
	audit.Flags().StringVar(&rule, "rule", "", "only this rule's findings")
	audit.Flags().IntVar(&days, "not-seen-days", 0, "the N of not_seen (default 7)")
	audit.Flags().IntVar(&limit, "limit", 0, "findings per page (default 50, at most 1000)")
	audit.Flags().StringVar(&after, "after", "", "the cursor of the next page")
	c.AddCommand(audit)

	var format string
	discover := &cobra.Command{
		Use:   "discover SOURCE FILE [--format json|yaml]",
		Short: "Send a discovery feed: the full set of items SOURCE sees now (JSON or YAML, - for stdin)",
		Long: `Send a discovery feed. Steady creates the new items, updates the changed ones,
notes when each was last seen, and marks the CIs of SOURCE that the feed does
not hold as missing (never deleting them). Every item needs an external_id.`,
		Args: args(2, "a source and a file"),
		RunE: func(c *cobra.Command, a []string) error {
			f, err := fileFormat(format, a[1])
			if err != nil {
				return err
			}
			if f == "csv" {
				return usageError{errors.New("a discovery feed is JSON or YAML")}
			}
			if f == "" {
				f = "json"
			}
			body, done, err := e.openFile(a[1])
			if err != nil {
				return err
			}
			defer done()
			data, err := e.fileClient().raw(c.Context(), "POST", "/api/v1/discovery/"+url.PathEscape(a[0])+"?format="+f, mediaTypes[f], body)
			if err != nil {
				return err
			}
			var v map[string]any
			if err := json.Unmarshal(data, &v); err != nil {
				return err
			}
			return e.print(v, nil)
		},
	}
	discover.Flags().StringVar(&format, "format", "", "json or yaml (default: from the file's extension, else json)")
	c.AddCommand(discover)
	c.AddCommand(e.cmdbMappingCmd(), e.cmdbTopologyCmd(), e.cmdbRootCauseCmd()) // in cmdb_topology.go
	return c
}
