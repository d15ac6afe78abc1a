package cmdb

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// ExportFilter selects the CIs to export; the zero filter selects all.
type ExportFilter struct {
	Class       string
	Environment string
	Team        string // a team's name or id
	Q           string // part of the name, or the exact external id
	IDs         []int64
}

// MaxExportIDs bounds ExportFilter.IDs.
const MaxExportIDs = 1000

// Export returns the selected CIs as import items, in id order, each with
// its outgoing relationships: importing the result again changes nothing.
// A relationship names its target by external id when it has the same
// source, by "source:external_id" for another source, else by name (by id
// when the name is not unique).
func (s *Store) Export(ctx context.Context, f ExportFilter) ([]Item, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	if len(f.IDs) > MaxExportIDs {
		return nil, errs.Invalid("ids", fmt.Sprintf("must list at most %d ids", MaxExportIDs))
	}
	teams, err := teamMap(ctx, s.DB.R)
	if err != nil {
		return nil, err
	}
	q := `SELECT c.id, k.key, c.name, c.team_id, c.environment, c.location, c.lifecycle, c.source, c.external_id, c.attributes
		FROM cis c JOIN ci_classes k ON k.id = c.class_id WHERE 1 = 1`
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Class != "" {
		q += " AND k.key = " + arg(f.Class)
	}
	if f.Environment != "" {
		q += " AND c.environment = " + arg(f.Environment)
	}
	if f.Team != "" {
		id, ok := teams.find(f.Team)
		if !ok {
			return nil, errs.Invalid("team", "names no team")
		}
		q += " AND c.team_id = " + arg(id)
	}
	if qs := strings.TrimSpace(f.Q); qs != "" {
		q += " AND (c.name_key LIKE " + arg("%"+db.LikeEscape(strings.ToLower(qs))+"%") + ` ESCAPE '\' OR c.external_id = ` + arg(qs) + ")"
	}
	if len(f.IDs) > 0 {
		var ph []string
		for _, id := range f.IDs {
			ph = append(ph, arg(id))
		}
		q += " AND c.id IN (" + strings.Join(ph, ",") + ")"
	}
	q += " ORDER BY c.id"
	rows, err := s.DB.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, db.Classify(err)
	}
	var items []Item
	index := map[int64]int{}
	for rows.Next() {
		var it Item
		var id int64
		var team *int64
		var ext *string
		var attrs string
		if err := rows.Scan(&id, &it.Class, &it.Name, &team, &it.Environment, &it.Location, &it.Lifecycle, &it.Source, &ext, &attrs); err != nil {
			rows.Close()
			return nil, err
		}
		if team != nil {
			it.Team = teams.names[*team]
		}
		if ext != nil {
			it.ExternalID = *ext
		}
		if err := json.Unmarshal([]byte(attrs), &it.Attributes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("CI %d: attributes: %w", id, err)
		}
		if len(it.Attributes) == 0 {
			it.Attributes = nil
		}
		index[id] = len(items)
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return []Item{}, nil
	}

	// Relationships from the selected CIs.
	type edge struct {
		from   int64
		typ    string
		target int64
	}
	var edges []edge
	need := map[int64]bool{}
	rrows, err := s.DB.R.QueryContext(ctx, "SELECT source_id, type, target_id FROM ci_relations ORDER BY source_id, type, target_id")
	if err != nil {
		return nil, db.Classify(err)
	}
	for rrows.Next() {
		var e edge
		if err := rrows.Scan(&e.from, &e.typ, &e.target); err != nil {
			rrows.Close()
			return nil, err
		}
		if _, ok := index[e.from]; ok {
			edges = append(edges, e)
			need[e.target] = true
		}
	}
	rrows.Close()
	if err := rrows.Err(); err != nil {
		return nil, err
	}
	if len(edges) == 0 {
		return items, nil
	}
	type target struct {
		name, nameKey, source string
		ext                   *string
	}
	targets := map[int64]target{}
	var ids []int64
	for id := range need {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for start := 0; start < len(ids); start += idChunk {
		chunk := ids[start:min(start+idChunk, len(ids))]
		a := make([]any, len(chunk))
		for i, id := range chunk {
			a[i] = id
		}
		tr, err := s.DB.R.QueryContext(ctx, "SELECT id, name, name_key, source, external_id FROM cis WHERE id IN ("+s.DB.Dialect.Params(1, len(chunk))+")", a...)
		if err != nil {
			return nil, db.Classify(err)
		}
		for tr.Next() {
			var id int64
			var t target
			if err := tr.Scan(&id, &t.name, &t.nameKey, &t.source, &t.ext); err != nil {
				tr.Close()
				return nil, err
			}
			targets[id] = t
		}
		tr.Close()
		if err := tr.Err(); err != nil {
			return nil, err
		}
	}
	shared := map[string]bool{}
	sr, err := s.DB.R.QueryContext(ctx, "SELECT name_key FROM cis GROUP BY name_key HAVING COUNT(*) > 1")
	if err != nil {
		return nil, db.Classify(err)
	}
	for sr.Next() {
		var k string
		if err := sr.Scan(&k); err != nil {
			sr.Close()
			return nil, err
		}
		shared[k] = true
	}
	sr.Close()
	if err := sr.Err(); err != nil {
		return nil, err
	}
	for _, e := range edges {
		it := &items[index[e.from]]
		t := targets[e.target]
		var ref string
		switch {
		case t.ext != nil && t.source == it.Source:
			ref = *t.ext
		case t.ext != nil && t.source != "":
			ref = t.source + ":" + *t.ext
		case !shared[t.nameKey] && !numeric(t.name) && !strings.Contains(t.name, ";") && !strings.Contains(t.name, ":"):
			ref = t.name
		default:
			ref = strconv.FormatInt(e.target, 10)
		}
		it.Relations = addRel(it.Relations, e.typ, ref)
	}
	return items, nil
}

func numeric(s string) bool {
	_, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return err == nil
}

// WriteItems writes items in format: the shape Import reads.
func WriteItems(w io.Writer, format string, items []Item) error {
	if items == nil {
		items = []Item{}
	}
	switch ParseFormat(format) {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(Document{Items: items})
	case FormatYAML:
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(Document{Items: items}); err != nil {
			return err
		}
		return enc.Close()
	case FormatCSV:
		return writeCSV(w, items)
	}
	return errs.Invalid("format", "must be one of csv, json, yaml")
}

// writeCSV writes one row per CI: the plain columns, one attr.<key> column
// per attribute any CI has, and one rel.<type> column per relationship type.
func writeCSV(w io.Writer, items []Item) error {
	attrSet, relSet := map[string]bool{}, map[string]bool{}
	for _, it := range items {
		for k := range it.Attributes {
			attrSet[k] = true
		}
		for t := range it.Relations {
			relSet[t] = true
		}
	}
	attrs := sortedKeys(attrSet)
	var rels []string
	for _, t := range RelationTypeNames() {
		if relSet[t] {
			rels = append(rels, t)
		}
	}
	header := slices.Clone(csvColumns)
	for _, k := range attrs {
		header = append(header, "attr."+k)
	}
	for _, t := range rels {
		header = append(header, "rel."+t)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	for _, it := range items {
		rec = rec[:0]
		rec = append(rec, it.Class, it.Name, it.ExternalID, it.Source, it.Team, it.Environment, it.Location, it.Lifecycle)
		for _, k := range attrs {
			rec = append(rec, attrCell(it.Attributes[k]))
		}
		for _, t := range rels {
			rec = append(rec, strings.Join(it.Relations[t], ";"))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// attrCell writes an attribute value as CSV text.
func attrCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}
