package cmdb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// The configuration audit: rules that flag data-quality problems of the
// CMDB. (The audit trail of who changed what is internal/audit.) Each rule
// finds at most one finding per CI; retired and disposed CIs are left out
// except as the targets of relation_to_retired.

// Configuration audit rules.
const (
	RuleProductionWithoutOwner     = "production_without_owner"
	RuleNotSeen                    = "not_seen"
	RuleRelationToRetired          = "relation_to_retired"
	RuleMissingRequiredAttribute   = "missing_required_attribute"
	RuleServiceWithoutDependencies = "service_without_dependencies"
)

// AuditRules lists the rules in the order reports show them.
var AuditRules = []string{RuleProductionWithoutOwner, RuleNotSeen, RuleRelationToRetired, RuleMissingRequiredAttribute,
	RuleServiceWithoutDependencies}

// AuditRuleText says what each rule flags.
var AuditRuleText = map[string]string{
	RuleProductionWithoutOwner:     "A production CI without an owner team.",
	RuleNotSeen:                    "A discovered CI that its source no longer sees, or has not seen for N days.",
	RuleRelationToRetired:          "A CI in use that relates to a retired or disposed CI.",
	RuleMissingRequiredAttribute:   "A CI without a value for a required attribute of its class (added after it was written).",
	RuleServiceWithoutDependencies: "A business service with no outgoing relation: nothing says what it depends on.",
}

// DefaultNotSeenDays is how long a discovered CI may go unseen before
// not_seen flags it.
const DefaultNotSeenDays = 7

// Finding is one problem the configuration audit found.
type Finding struct {
	Rule    string `json:"rule"`
	CIID    int64  `json:"ci_id"`
	CIName  string `json:"ci_name"`
	Class   string `json:"class"`
	Message string `json:"message"`
}

// AuditOptions select and tune a configuration audit.
type AuditOptions struct {
	Rule        string // one rule; "" for all
	NotSeenDays int    // 0 means DefaultNotSeenDays
}

// AuditReport is one page of findings and the number of findings per rule.
type AuditReport struct {
	Counts      map[string]int `json:"counts"`
	NotSeenDays int            `json:"not_seen_days"`
	Items       []Finding      `json:"items"`
	Next        string         `json:"next"`
}

// inUse leaves out the CIs that are out of service.
const inUse = "c.lifecycle NOT IN ('retired', 'disposed')"

func (o *AuditOptions) check() error {
	var fe errs.Fields
	if o.Rule != "" {
		known := false
		for _, r := range AuditRules {
			known = known || r == o.Rule
		}
		fe.Check(!known, "rule", "must be one of "+strings.Join(AuditRules, ", "))
	}
	if o.NotSeenDays == 0 {
		o.NotSeenDays = DefaultNotSeenDays
	}
	fe.Check(o.NotSeenDays < 1 || o.NotSeenDays > 3650, "not_seen_days", "must be a whole number of days from 1 to 3650")
	return fe.Err()
}

// ConfigurationAudit runs the rules and returns one page of findings,
// ordered by rule and CI, with the counts of every rule.
func (s *Store) ConfigurationAudit(ctx context.Context, o AuditOptions, p page.Request) (AuditReport, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return AuditReport{}, err
	}
	if err := o.check(); err != nil {
		return AuditReport{}, err
	}
	counts, err := s.auditCounts(ctx, o.NotSeenDays)
	if err != nil {
		return AuditReport{}, err
	}
	rep := AuditReport{Counts: counts, NotSeenDays: o.NotSeenDays, Items: []Finding{}}
	if p.Limit < 1 {
		p.Limit = page.DefaultLimit
	}
	// The cursor holds the rule's position and the last CI id.
	startRule, afterCI := int(p.After>>40), p.After&(1<<40-1)
	for i, rule := range AuditRules {
		if i < startRule || (o.Rule != "" && rule != o.Rule) {
			continue
		}
		after := int64(0)
		if i == startRule {
			after = afterCI
		}
		want := p.Limit + 1 - len(rep.Items)
		fs, err := s.findings(ctx, rule, o.NotSeenDays, after, want)
		if err != nil {
			return AuditReport{}, err
		}
		for _, f := range fs {
			if len(rep.Items) == p.Limit {
				last := rep.Items[len(rep.Items)-1]
				rep.Next = page.Encode(int64(ruleIndex(last.Rule))<<40 | last.CIID)
				return rep, nil
			}
			rep.Items = append(rep.Items, f)
		}
	}
	return rep, nil
}

func ruleIndex(rule string) int {
	for i, r := range AuditRules {
		if r == rule {
			return i
		}
	}
	return 0
}

// AuditCounts returns the number of findings of every rule (not_seen with
// DefaultNotSeenDays), for the steady_cmdb_audit_findings metric. It makes
// no access check: the caller is the metrics endpoint.
func (s *Store) AuditCounts(ctx context.Context) (map[string]int, error) {
	return s.auditCounts(ctx, DefaultNotSeenDays)
}

// auditWhere is, per rule, the FROM and WHERE of the CIs it flags (c is the
// CI, k its class); $1 is the not_seen cut-off where used.
func auditWhere(rule string) string {
	switch rule {
	case RuleProductionWithoutOwner:
		return " FROM cis c JOIN ci_classes k ON k.id = c.class_id WHERE c.environment = 'production' AND c.team_id IS NULL AND " + inUse
	case RuleNotSeen:
		return " FROM cis c JOIN ci_classes k ON k.id = c.class_id WHERE c.last_seen_at IS NOT NULL AND " + inUse +
			" AND (c.missing_since IS NOT NULL OR c.last_seen_at < $1)"
	case RuleRelationToRetired:
		return " FROM cis c JOIN ci_classes k ON k.id = c.class_id WHERE c.lifecycle IN ('in_use', 'maintenance') AND EXISTS (SELECT 1 FROM ci_relations r" +
			" JOIN cis t ON t.id = r.target_id WHERE r.source_id = c.id AND t.lifecycle IN ('retired', 'disposed'))"
	case RuleServiceWithoutDependencies:
		return " FROM cis c JOIN ci_classes k ON k.id = c.class_id WHERE k.key = '" + ClassBusinessService + "' AND " + inUse +
			" AND NOT EXISTS (SELECT 1 FROM ci_relations r WHERE r.source_id = c.id)"
	}
	return ""
}

// requiredAttrs lists, per class id, its required attribute keys.
func (s *Store) requiredAttrs(ctx context.Context) (map[int64][]string, error) {
	classes, err := s.classMap(ctx, s.DB.R)
	if err != nil {
		return nil, err
	}
	out := map[int64][]string{}
	for _, c := range classes {
		for _, a := range c.Attributes {
			if a.Required {
				out[c.ID] = append(out[c.ID], a.Key)
			}
		}
	}
	return out, nil
}

// missingWhere is the WHERE of the CIs of a class that lack one of keys.
func missingWhere(classID int64, keys []string) (string, []any) {
	args := []any{classID}
	var ors []string
	for _, k := range keys {
		args = append(args, k)
		ors = append(ors, "NOT EXISTS (SELECT 1 FROM ci_attribute_values v WHERE v.ci_id = c.id AND v.key = $"+strconv.Itoa(len(args))+")")
	}
	return " FROM cis c JOIN ci_classes k ON k.id = c.class_id WHERE c.class_id = $1 AND " + inUse + " AND (" + strings.Join(ors, " OR ") + ")", args
}

func (s *Store) cutoff(days int) int64 {
	return s.Clock.Now().Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
}

func (s *Store) auditCounts(ctx context.Context, days int) (map[string]int, error) {
	out := make(map[string]int, len(AuditRules))
	for _, rule := range AuditRules {
		var n int
		switch rule {
		case RuleMissingRequiredAttribute:
			req, err := s.requiredAttrs(ctx)
			if err != nil {
				return nil, err
			}
			for cid, keys := range req {
				where, args := missingWhere(cid, keys)
				var m int
				if err := s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*)"+where, args...).Scan(&m); err != nil {
					return nil, db.Classify(err)
				}
				n += m
			}
		case RuleNotSeen:
			if err := s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*)"+auditWhere(rule), s.cutoff(days)).Scan(&n); err != nil {
				return nil, db.Classify(err)
			}
		default:
			if err := s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*)"+auditWhere(rule)).Scan(&n); err != nil {
				return nil, db.Classify(err)
			}
		}
		out[rule] = n
	}
	return out, nil
}

// findings returns up to limit findings of rule for CIs after the id after.
func (s *Store) findings(ctx context.Context, rule string, days int, after int64, limit int) ([]Finding, error) {
	const cols = "SELECT c.id, c.name, k.key"
	var out []Finding
	scan := func(q string, args []any, extra func(f *Finding, r *sql.Rows) error) error {
		rows, err := s.DB.R.QueryContext(ctx, q, args...)
		if err != nil {
			return db.Classify(err)
		}
		defer rows.Close()
		for rows.Next() {
			f := Finding{Rule: rule}
			if err := extra(&f, rows); err != nil {
				return err
			}
			out = append(out, f)
		}
		return rows.Err()
	}
	switch rule {
	case RuleProductionWithoutOwner, RuleServiceWithoutDependencies:
		msg := "is in production and has no owner team"
		if rule == RuleServiceWithoutDependencies {
			msg = "is a business service with no outgoing relation: nothing says what it depends on"
		}
		err := scan(cols+auditWhere(rule)+" AND c.id > $1 ORDER BY c.id LIMIT $2", []any{after, limit}, func(f *Finding, r *sql.Rows) error {
			f.Message = msg
			return r.Scan(&f.CIID, &f.CIName, &f.Class)
		})
		return out, err
	case RuleNotSeen:
		err := scan(cols+", c.source, c.last_seen_at, c.missing_since"+auditWhere(rule)+" AND c.id > $2 ORDER BY c.id LIMIT $3",
			[]any{s.cutoff(days), after, limit}, func(f *Finding, r *sql.Rows) error {
				var src string
				var seen int64
				var missing sql.NullInt64
				if err := r.Scan(&f.CIID, &f.CIName, &f.Class, &src, &seen, &missing); err != nil {
					return err
				}
				last := time.UnixMilli(seen).UTC().Format("2006-01-02 15:04 UTC")
				if missing.Valid {
					f.Message = fmt.Sprintf("is missing from %s since %s (last seen %s)", src,
						time.UnixMilli(missing.Int64).UTC().Format("2006-01-02 15:04 UTC"), last)
				} else {
					f.Message = fmt.Sprintf("has not been seen by %s for more than %d days (last seen %s)", src, days, last)
				}
				return nil
			})
		return out, err
	case RuleRelationToRetired:
		err := scan(cols+auditWhere(rule)+" AND c.id > $1 ORDER BY c.id LIMIT $2", []any{after, limit}, func(f *Finding, r *sql.Rows) error {
			return r.Scan(&f.CIID, &f.CIName, &f.Class)
		})
		if err != nil {
			return nil, err
		}
		for i := range out {
			rows, err := s.DB.R.QueryContext(ctx, `SELECT r.type, t.name, t.lifecycle FROM ci_relations r JOIN cis t ON t.id = r.target_id
				WHERE r.source_id = $1 AND t.lifecycle IN ('retired', 'disposed') ORDER BY r.type, t.name_key, t.id`, out[i].CIID)
			if err != nil {
				return nil, db.Classify(err)
			}
			var parts []string
			for rows.Next() {
				var typ, name, lc string
				if err := rows.Scan(&typ, &name, &lc); err != nil {
					rows.Close()
					return nil, err
				}
				parts = append(parts, fmt.Sprintf("%s %s, which is %s", typ, name, lc))
			}
			rows.Close()
			out[i].Message = "is in use and " + strings.Join(parts, "; ")
		}
		return out, nil
	case RuleMissingRequiredAttribute:
		req, err := s.requiredAttrs(ctx)
		if err != nil {
			return nil, err
		}
		var all []Finding
		for cid, keys := range req {
			out = nil
			where, args := missingWhere(cid, keys)
			n := len(args)
			args = append(args, after, limit)
			err := scan(cols+", c.attributes"+where+" AND c.id > $"+strconv.Itoa(n+1)+" ORDER BY c.id LIMIT $"+strconv.Itoa(n+2), args,
				func(f *Finding, r *sql.Rows) error {
					var attrs string
					if err := r.Scan(&f.CIID, &f.CIName, &f.Class, &attrs); err != nil {
						return err
					}
					var have map[string]any
					_ = jsonUnmarshal(attrs, &have)
					var lack []string
					for _, k := range keys {
						if empty(have[k]) {
							lack = append(lack, k)
						}
					}
					if len(lack) == 1 {
						f.Message = "has no value for the required attribute " + lack[0]
					} else {
						f.Message = "has no value for the required attributes " + strings.Join(lack, ", ")
					}
					return nil
				})
			if err != nil {
				return nil, err
			}
			all = append(all, out...)
		}
		sortFindings(all)
		if len(all) > limit {
			all = all[:limit]
		}
		return all, nil
	}
	return nil, nil
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// sortFindings orders findings of one rule by CI.
func sortFindings(l []Finding) {
	slices.SortFunc(l, func(a, b Finding) int { return cmp.Compare(a.CIID, b.CIID) })
}
