package cmdb

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/steadyhq/steady/internal/platform/errs"
)

// Import and export formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
	FormatYAML = "yaml"
)

// Formats lists the import and export formats.
var Formats = []string{FormatCSV, FormatJSON, FormatYAML}

// Limits of one import or discovery feed.
const (
	MaxImportBytes = 50 << 20
	MaxImportRows  = 200_000
)

// Item is one CI as import, export and discovery files hold it. Team is a
// team's name (or id); relations map a relationship type to the CIs this
// one relates to, each named by an external id of the same source or by a
// CI name (an id or "source:external_id" work too).
type Item struct {
	Class       string              `json:"class" yaml:"class"`
	Name        string              `json:"name" yaml:"name"`
	ExternalID  string              `json:"external_id,omitempty" yaml:"external_id,omitempty"`
	Source      string              `json:"source,omitempty" yaml:"source,omitempty"`
	Team        string              `json:"team,omitempty" yaml:"team,omitempty"`
	Environment string              `json:"environment,omitempty" yaml:"environment,omitempty"`
	Location    string              `json:"location,omitempty" yaml:"location,omitempty"`
	Lifecycle   string              `json:"lifecycle,omitempty" yaml:"lifecycle,omitempty"`
	Attributes  map[string]any      `json:"attributes,omitempty" yaml:"attributes,omitempty"`
	Relations   map[string][]string `json:"relations,omitempty" yaml:"relations,omitempty"`
}

// RelationItem is one entry of a file's "relations" list: source <type>
// target, both named as in Item.Relations.
type RelationItem struct {
	Source string `json:"source" yaml:"source"`
	Type   string `json:"type" yaml:"type"`
	Target string `json:"target" yaml:"target"`
}

// Document is a JSON or YAML import file in its object form; an array of
// items is accepted as well.
type Document struct {
	Items     []Item         `json:"items" yaml:"items"`
	Relations []RelationItem `json:"relations,omitempty" yaml:"relations,omitempty"`
}

// ImportError is one problem of an import: the row (a CSV file's line, the
// position of a JSON or YAML item, 0 for the file as a whole or its
// "relations" list) and the field.
type ImportError struct {
	Row    int    `json:"row"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// String reads "row 7, attributes.ip: must be an IP address".
func (e ImportError) String() string {
	var b strings.Builder
	if e.Row > 0 {
		b.WriteString("row " + strconv.Itoa(e.Row))
		if e.Field != "" {
			b.WriteString(", ")
		}
	}
	b.WriteString(e.Field)
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Detail)
	return b.String()
}

// CSV columns that are not attributes or relations.
var csvColumns = []string{"class", "name", "external_id", "source", "team", "environment", "location", "lifecycle"}

// parsedRow is one row or item of a file.
type parsedRow struct {
	row  int
	item Item
	rels []relRef
	errs []ImportError
	// has names the fields other than attributes and relations that the
	// row holds (a CSV file's columns, the keys of a JSON or YAML item):
	// when the row updates a CI, the fields it leaves out keep their values.
	has map[string]bool
	// clear lists the attributes the row holds empty (CSV), which an
	// update removes; a JSON or YAML item says so with null or "".
	clear []string
}

// relRef is one relationship to make: from the CI of a row (or, for the
// file's "relations" list, from the CI that src names) to the CI ref names.
type relRef struct {
	row   int
	field string // where it was written: "relations.runs_on", "relations[2]"
	typ   string
	src   string // "" for the CI of the row
	ref   string
}

// parsedDoc is a whole file.
type parsedDoc struct {
	rows []parsedRow
	rels []relRef // the file's "relations" list
}

// ParseFormat reads a format name: "csv", "json", "yaml" (or "yml"), in
// any case; "" when it names none. Media types are the API's business.
func ParseFormat(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "csv":
		return FormatCSV
	case "json":
		return FormatJSON
	case "yaml", "yml":
		return FormatYAML
	}
	return ""
}

// tooLarge returns the too-large error of a reader that hit its limit (the
// caller's reader says so with an errs.KindTooLarge error), else nil.
func tooLarge(err error) error {
	if e, ok := errs.As(err); ok && e.Kind == errs.KindTooLarge {
		return e
	}
	return nil
}

func rowsTooMany() error {
	return errs.TooLarge("the file has more than %d rows", MaxImportRows)
}

// parseFile reads a file in format. Problems of single rows are kept with
// their rows; a file that cannot be read at all is an error.
func parseFile(r io.Reader, format string, classes map[string]Class) (parsedDoc, error) {
	switch format {
	case FormatCSV:
		return parseCSV(r, classes)
	case FormatJSON:
		dec := json.NewDecoder(r)
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			if e := tooLarge(err); e != nil {
				return parsedDoc{}, e
			}
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return parsedDoc{}, errs.Invalid("body", fmt.Sprintf("is not valid JSON at byte %d: %s", se.Offset, se.Error()))
			}
			if errors.Is(err, io.EOF) {
				return parsedDoc{}, errs.Invalid("body", "is empty")
			}
			return parsedDoc{}, errs.Invalid("body", "is not valid JSON: "+err.Error())
		}
		if _, err := dec.Token(); err != io.EOF {
			if e := tooLarge(err); e != nil {
				return parsedDoc{}, e
			}
			return parsedDoc{}, errs.Invalid("body", "must hold exactly one JSON value")
		}
		return parseTree(v)
	case FormatYAML:
		b, err := io.ReadAll(r)
		if err != nil {
			if e := tooLarge(err); e != nil {
				return parsedDoc{}, e
			}
			return parsedDoc{}, err
		}
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return parsedDoc{}, errs.Invalid("body", "is not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if v == nil {
			return parsedDoc{}, errs.Invalid("body", "is empty")
		}
		return parseTree(v)
	}
	return parsedDoc{}, errs.Invalid("format", "must be one of csv, json, yaml")
}

// parseCSV reads a CSV file: a header row, then one CI per row.
func parseCSV(r io.Reader, classes map[string]Class) (parsedDoc, error) {
	var doc parsedDoc
	cr := csv.NewReader(r)
	cr.Comment = '#' // no class key starts with #: such lines are notes
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if e := tooLarge(err); e != nil {
			return doc, e
		}
		if errors.Is(err, io.EOF) {
			return doc, errs.Invalid("body", "is empty: a CSV file starts with a header row")
		}
		return doc, errs.Invalid("row 1", "is not valid CSV: "+csvDetail(err))
	}
	type column struct {
		kind string // "std", "attr", "rel", "bare"
		key  string
	}
	cols := make([]column, len(header))
	var fe errs.Fields
	seen := map[string]bool{}
	has := map[string]bool{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.ToLower(strings.TrimSpace(h))
		field := "row 1, column " + strconv.Itoa(i+1)
		switch {
		case h == "":
			fe.Add(field, "has no name")
			continue
		case seen[h]:
			fe.Add(field, "repeats the column "+h)
			continue
		}
		seen[h] = true
		switch {
		case slices.Contains(csvColumns, h):
			cols[i] = column{"std", h}
			has[h] = true
		case strings.HasPrefix(h, "attr."):
			k := strings.TrimPrefix(h, "attr.")
			if !attrKeyRe.MatchString(k) {
				fe.Add("row 1, "+h, "is not an attribute key")
			}
			if seen[k] {
				fe.Add("row 1, "+h, "repeats the column "+k)
			}
			seen[k] = true
			cols[i] = column{"attr", k}
		case strings.HasPrefix(h, "rel."):
			t := strings.TrimPrefix(h, "rel.")
			if _, ok := RelationTypes[t]; !ok {
				fe.Add("row 1, "+h, "names no relationship type: use one of "+strings.Join(RelationTypeNames(), ", "))
			}
			cols[i] = column{"rel", t}
		default:
			if !attrKeyRe.MatchString(h) {
				fe.Add("row 1, "+h, "is not a known column, an attribute key, attr.<key> or rel.<type>")
			}
			if seen["attr."+h] {
				fe.Add("row 1, "+h, "repeats the column attr."+h)
			}
			cols[i] = column{"bare", h}
		}
	}
	fe.Check(!seen["class"], "row 1, class", "is required: the header must have a class column")
	fe.Check(!seen["name"], "row 1, name", "is required: the header must have a name column")
	if err := fe.Err(); err != nil {
		return doc, err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if e := tooLarge(err); e != nil {
				return doc, e
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return doc, errs.Invalid("row "+strconv.Itoa(pe.StartLine), "is not valid CSV: "+csvDetail(err))
			}
			return doc, err
		}
		line, _ := cr.FieldPos(0)
		blank := true
		for _, v := range rec {
			if strings.TrimSpace(v) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		if len(doc.rows) >= MaxImportRows {
			return doc, rowsTooMany()
		}
		pr := parsedRow{row: line, has: has}
		if len(rec) != len(header) {
			pr.errs = append(pr.errs, ImportError{Row: line, Detail: fmt.Sprintf("has %d fields; the header has %d", len(rec), len(header))})
		}
		it := &pr.item
		var bare []int
		for i, v := range rec {
			if i >= len(cols) {
				break
			}
			c := cols[i]
			switch c.kind {
			case "std":
				v = strings.TrimSpace(v)
				switch c.key {
				case "class":
					it.Class = v
				case "name":
					it.Name = v
				case "external_id":
					it.ExternalID = v
				case "source":
					it.Source = v
				case "team":
					it.Team = v
				case "environment":
					it.Environment = v
				case "location":
					it.Location = v
				case "lifecycle":
					it.Lifecycle = v
				}
			case "attr":
				if strings.TrimSpace(v) == "" {
					pr.clear = append(pr.clear, c.key)
					continue
				}
				if it.Attributes == nil {
					it.Attributes = map[string]any{}
				}
				it.Attributes[c.key] = v
			case "rel":
				for _, ref := range strings.Split(v, ";") {
					if ref = strings.TrimSpace(ref); ref != "" {
						pr.rels = append(pr.rels, relRef{row: line, field: "relations." + c.key, typ: c.key, ref: ref})
					}
				}
			case "bare":
				bare = append(bare, i)
			}
		}
		// A bare column is an attribute of the classes that have it; other
		// rows must leave it empty.
		for _, i := range bare {
			v := rec[i]
			k := cols[i].key
			if strings.TrimSpace(v) == "" {
				pr.clear = append(pr.clear, k)
				continue
			}
			cls, known := classes[it.Class]
			if _, has := cls.Attr(k); known && !has {
				pr.errs = append(pr.errs, ImportError{Row: line, Field: k, Detail: "is not an attribute of class " + it.Class + " (nor a known column)"})
				continue
			}
			if it.Attributes == nil {
				it.Attributes = map[string]any{}
			}
			it.Attributes[k] = v
		}
		doc.rows = append(doc.rows, pr)
	}
	return doc, nil
}

func csvDetail(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return err.Error()
}

// parseTree reads a decoded JSON or YAML document: an array of items, or
// an object with "items" and "relations".
func parseTree(v any) (parsedDoc, error) {
	var doc parsedDoc
	var items, rels []any
	switch x := v.(type) {
	case []any:
		items = x
	case map[string]any:
		var fe errs.Fields
		for k, val := range x {
			switch k {
			case "items":
				l, ok := val.([]any)
				fe.Check(!ok && val != nil, "items", "must be an array of CIs")
				items = l
			case "relations":
				l, ok := val.([]any)
				fe.Check(!ok && val != nil, "relations", "must be an array of {source, type, target}")
				rels = l
			default:
				fe.Add(k, "is not a known field: a file holds items and relations")
			}
		}
		if err := fe.Err(); err != nil {
			return doc, err
		}
	case map[any]any:
		m := map[string]any{}
		for k, val := range x {
			m[fmt.Sprint(k)] = val
		}
		return parseTree(m)
	default:
		return doc, errs.Invalid("body", "must be an array of CIs or an object with items (and relations)")
	}
	if len(items) > MaxImportRows {
		return doc, rowsTooMany()
	}
	for i, raw := range items {
		doc.rows = append(doc.rows, parseItem(raw, i+1))
	}
	for i, raw := range rels {
		field := fmt.Sprintf("relations[%d]", i)
		m, ok := asMap(raw)
		if !ok {
			return doc, errs.Invalid(field, "must be an object {source, type, target}")
		}
		var ri RelationItem
		var fe errs.Fields
		for k, val := range m {
			s, ok := scalarText(val)
			switch k {
			case "source":
				ri.Source = s
			case "type":
				ri.Type = s
			case "target":
				ri.Target = s
			default:
				fe.Add(field+"."+k, "is not a known field")
				continue
			}
			fe.Check(!ok, field+"."+k, "must be text")
		}
		fe.Check(strings.TrimSpace(ri.Source) == "", field+".source", "is required")
		fe.Check(strings.TrimSpace(ri.Target) == "", field+".target", "is required")
		if _, ok := RelationTypes[ri.Type]; !ok {
			fe.Add(field+".type", "must be one of "+strings.Join(RelationTypeNames(), ", "))
		}
		if err := fe.Err(); err != nil {
			return doc, err
		}
		doc.rels = append(doc.rels, relRef{field: field, typ: ri.Type, src: strings.TrimSpace(ri.Source), ref: strings.TrimSpace(ri.Target)})
	}
	return doc, nil
}

func asMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[fmt.Sprint(k)] = val
		}
		return m, true
	}
	return nil, false
}

// scalarText reads a text field leniently: YAML writes 42 and true without
// quotes. nil is "".
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10), true
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		if x.Equal(x.Truncate(24*time.Hour)) && x.Location() == time.UTC {
			return x.Format(time.DateOnly), true
		}
		return x.Format(time.RFC3339), true
	}
	return "", false
}

// parseItem reads one item of a JSON or YAML file.
func parseItem(raw any, row int) parsedRow {
	pr := parsedRow{row: row, has: map[string]bool{}}
	bad := func(field, detail string) {
		pr.errs = append(pr.errs, ImportError{Row: row, Field: field, Detail: detail})
	}
	m, ok := asMap(raw)
	if !ok {
		bad("", "must be an object: a CI")
		return pr
	}
	it := &pr.item
	for _, k := range sortedKeys(m) {
		val := m[k]
		switch k {
		case "class", "name", "external_id", "source", "team", "environment", "location", "lifecycle":
			pr.has[k] = true
			s, ok := scalarText(val)
			if !ok {
				bad(k, "must be text")
				continue
			}
			s = strings.TrimSpace(s)
			switch k {
			case "class":
				it.Class = s
			case "name":
				it.Name = s
			case "external_id":
				it.ExternalID = s
			case "source":
				it.Source = s
			case "team":
				it.Team = s
			case "environment":
				it.Environment = s
			case "location":
				it.Location = s
			case "lifecycle":
				it.Lifecycle = s
			}
		case "attributes":
			if val == nil {
				continue
			}
			am, ok := asMap(val)
			if !ok {
				bad(k, "must be an object of attribute values")
				continue
			}
			it.Attributes = map[string]any{}
			for ak, av := range am {
				switch x := av.(type) {
				case time.Time:
					av, _ = scalarText(x)
				case int, int64, uint64, float64:
					// YAML numbers: as JSON's, text or a number as the attribute needs.
					s, _ := scalarText(x)
					av = json.Number(s)
				}
				it.Attributes[ak] = av
			}
		case "relations":
			if val == nil {
				continue
			}
			rm, ok := asMap(val)
			if !ok {
				bad(k, "must be an object: relationship type → the CIs it relates to")
				continue
			}
			for _, typ := range sortedKeys(rm) {
				field := "relations." + typ
				if _, ok := RelationTypes[typ]; !ok {
					bad(field, "names no relationship type: use one of "+strings.Join(RelationTypeNames(), ", "))
					continue
				}
				var refs []string
				switch x := rm[typ].(type) {
				case []any:
					for _, e := range x {
						s, ok := scalarText(e)
						if !ok {
							bad(field, "must list CI references as text")
							break
						}
						refs = append(refs, s)
					}
				default:
					s, ok := scalarText(x)
					if !ok {
						bad(field, "must be a CI reference or a list of them")
						continue
					}
					refs = strings.Split(s, ";")
				}
				for _, ref := range refs {
					if ref = strings.TrimSpace(ref); ref != "" {
						pr.rels = append(pr.rels, relRef{row: row, field: field, typ: typ, ref: ref})
						it.Relations = addRel(it.Relations, typ, ref)
					}
				}
			}
		default:
			bad(k, "is not a known field")
		}
	}
	return pr
}

func addRel(m map[string][]string, typ, ref string) map[string][]string {
	if m == nil {
		m = map[string][]string{}
	}
	m[typ] = append(m[typ], ref)
	return m
}

// sniffFormat guesses the format of a file that did not say: JSON starts
// with [ or {, a CSV header (after any # notes) names the class column, the
// rest is YAML.
func sniffFormat(b []byte) string {
	t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\ufeff")), " \t\r\n")
	if len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return FormatJSON
	}
	for len(t) > 0 {
		var line []byte
		line, t, _ = bytes.Cut(t, []byte("\n"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if bytes.Contains(line, []byte(",")) && bytes.Contains(bytes.ToLower(line), []byte("class")) &&
			!bytes.Contains(line, []byte(": ")) && !bytes.HasPrefix(line, []byte("- ")) {
			return FormatCSV
		}
		break
	}
	return FormatYAML
}
