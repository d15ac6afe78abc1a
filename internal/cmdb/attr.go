package cmdb

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// MaxAttrText is the longest text value of an attribute, in characters.
const MaxAttrText = 500

// normalizeAttr checks one value against its definition and returns it in
// its stored form: a string, a float64, a bool, or (for references) the
// int64 id of the CI. Text is accepted for every type, so that forms and
// CSV files can say "12" or "true". q resolves references.
func (s *Store) normalizeAttr(ctx context.Context, q db.Querier, def AttrDef, v any) (any, string, error) {
	if n, ok := v.(json.Number); ok {
		v = string(n)
		if def.Type == TypeNumber || def.Type == TypeRef {
			f, err := n.Float64()
			if err == nil {
				v = f
			}
		}
	}
	switch def.Type {
	case TypeString:
		str, ok := v.(string)
		if !ok {
			return nil, "must be text", nil
		}
		if utf8.RuneCountInString(str) > MaxAttrText {
			return nil, fmt.Sprintf("must be at most %d characters", MaxAttrText), nil
		}
		if !utf8.ValidString(str) || strings.ContainsRune(str, 0) {
			return nil, "must be valid text", nil
		}
		return str, "", nil
	case TypeNumber:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		case string:
			var err error
			f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, "must be a number", nil
			}
		default:
			return nil, "must be a number", nil
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, "must be a finite number", nil
		}
		return f, "", nil
	case TypeBoolean:
		switch x := v.(type) {
		case bool:
			return x, "", nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "1", "on":
				return true, "", nil
			case "false", "no", "0", "off":
				return false, "", nil
			}
		}
		return nil, "must be true or false", nil
	case TypeEnum:
		str, ok := v.(string)
		if !ok {
			return nil, "must be one of " + strings.Join(def.Enum, ", "), nil
		}
		str = strings.TrimSpace(str)
		for _, e := range def.Enum {
			if strings.EqualFold(e, str) {
				return e, "", nil
			}
		}
		return nil, "must be one of " + strings.Join(def.Enum, ", "), nil
	case TypeDate:
		str, ok := v.(string)
		if !ok {
			return nil, "must be a date (YYYY-MM-DD)", nil
		}
		str = strings.TrimSpace(str)
		if _, err := time.Parse(time.DateOnly, str); err != nil || len(str) != 10 {
			return nil, "must be a date (YYYY-MM-DD)", nil
		}
		return str, "", nil
	case TypeIP:
		str, ok := v.(string)
		if !ok {
			return nil, "must be an IP address", nil
		}
		a, err := netip.ParseAddr(strings.TrimSpace(str))
		if err != nil {
			return nil, "must be an IP address", nil
		}
		return a.String(), "", nil
	case TypeURL:
		str, ok := v.(string)
		if !ok {
			return nil, "must be a URL", nil
		}
		str = strings.TrimSpace(str)
		u, err := url.Parse(str)
		if err != nil || u.Scheme == "" || u.Host == "" || len(str) > 2000 || strings.ContainsFunc(str, func(r rune) bool { return r < ' ' }) {
			return nil, "must be an absolute URL with a scheme and a host", nil
		}
		if utf8.RuneCountInString(str) > MaxAttrText {
			return nil, fmt.Sprintf("must be at most %d characters", MaxAttrText), nil
		}
		return str, "", nil
	case TypeRef:
		var ref string
		switch x := v.(type) {
		case float64:
			if x != math.Trunc(x) || x < 1 {
				return nil, "must name a CI by id or name", nil
			}
			ref = strconv.FormatInt(int64(x), 10)
		case int64:
			ref = strconv.FormatInt(x, 10)
		case int:
			ref = strconv.Itoa(x)
		case string:
			ref = strings.TrimSpace(x)
		default:
			return nil, "must name a CI by id or name", nil
		}
		ci, err := s.findCI(ctx, q, ref)
		if errs.Is(err, errs.KindNotFound) {
			return nil, "names no CI: " + ref, nil
		}
		if errs.Is(err, errs.KindConflict) {
			return nil, "names several CIs; use the id", nil
		}
		if err != nil {
			return nil, "", err
		}
		if def.RefClass != "" && ci.Class != def.RefClass {
			return nil, fmt.Sprintf("must name a CI of class %s, not %s", def.RefClass, ci.Class), nil
		}
		return ci.ID, "", nil
	}
	return nil, "has an unknown type " + def.Type, nil
}

// empty reports whether an attribute value means "no value".
func empty(v any) bool {
	if v == nil {
		return true
	}
	if str, ok := v.(string); ok && strings.TrimSpace(str) == "" {
		return true
	}
	return false
}

// attrText is the indexed text of a stored value: lower-cased, numbers
// without exponent, references as the id.
func attrText(v any) string {
	switch x := v.(type) {
	case string:
		return strings.ToLower(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	}
	return strings.ToLower(fmt.Sprint(v))
}

// attrsEqual compares two stored values, numbers by value whatever their
// Go type.
func attrsEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return attrText(a) == attrText(b) && sameKind(a, b)
}

func sameKind(a, b any) bool {
	num := func(v any) bool {
		switch v.(type) {
		case float64, int64, int, json.Number:
			return true
		}
		return false
	}
	if num(a) || num(b) {
		return num(a) && num(b)
	}
	switch a.(type) {
	case string:
		_, ok := b.(string)
		return ok && a.(string) == b.(string)
	case bool:
		_, ok := b.(bool)
		return ok
	}
	return true
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
