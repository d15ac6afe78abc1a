package cmdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

const classCols = "id, key, name, description, builtin, attributes, created_at, updated_at, version"

func scanClass(r db.Scanner) (Class, error) {
	var c Class
	var attrs string
	var created, updated int64
	if err := r.Scan(&c.ID, &c.Key, &c.Name, &c.Description, &c.Builtin, &attrs, &created, &updated, &c.Version); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return c, fmt.Errorf("class %s: attributes: %w", c.Key, err)
	}
	if c.Attributes == nil {
		c.Attributes = []AttrDef{}
	}
	c.CreatedAt, c.UpdatedAt = clock.FromMillis(created), clock.FromMillis(updated)
	return c, nil
}

// ClassByKey returns the class with this key, inside q (a transaction or a
// pool), without an access check: callers have made theirs.
func (s *Store) ClassByKey(ctx context.Context, q db.Querier, key string) (Class, error) {
	c, err := scanClass(q.QueryRowContext(ctx, "SELECT "+classCols+" FROM ci_classes WHERE key = $1", key))
	if errors.Is(err, sql.ErrNoRows) {
		return c, errs.NotFound("CI class %q not found", key)
	}
	return c, db.Classify(err)
}

func (s *Store) classByID(ctx context.Context, q db.Querier, id int64) (Class, error) {
	c, err := scanClass(q.QueryRowContext(ctx, "SELECT "+classCols+" FROM ci_classes WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, errs.NotFound("CI class %d not found", id)
	}
	return c, db.Classify(err)
}

// Attr returns the definition of attribute key.
func (c Class) Attr(key string) (AttrDef, bool) {
	for _, a := range c.Attributes {
		if a.Key == key {
			return a, true
		}
	}
	return AttrDef{}, false
}

// ClassCount is a class with the number of its CIs.
type ClassCount struct {
	Class
	CIs int64 `json:"ci_count"`
}

// Classes lists every class by name, each with its number of CIs.
func (s *Store) Classes(ctx context.Context) ([]ClassCount, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	counts := map[int64]int64{}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT class_id, COUNT(*) FROM cis GROUP BY class_id")
	if err != nil {
		return nil, db.Classify(err)
	}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, err
		}
		counts[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cls, err := db.All(ctx, s.DB.R, scanClass, "SELECT "+classCols+" FROM ci_classes ORDER BY name, id")
	if err != nil {
		return nil, err
	}
	out := make([]ClassCount, 0, len(cls))
	for _, c := range cls {
		out = append(out, ClassCount{Class: c, CIs: counts[c.ID]})
	}
	return out, nil
}

// GetClass returns one class with its number of CIs.
func (s *Store) GetClass(ctx context.Context, key string) (ClassCount, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return ClassCount{}, err
	}
	c, err := s.ClassByKey(ctx, s.DB.R, key)
	if err != nil {
		return ClassCount{}, err
	}
	out := ClassCount{Class: c}
	err = s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM cis WHERE class_id = $1", c.ID).Scan(&out.CIs)
	return out, db.Classify(err)
}

var (
	classKeyRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	attrKeyRe  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

// AttrTypes lists the attribute types.
var AttrTypes = []string{TypeString, TypeNumber, TypeBoolean, TypeEnum, TypeDate, TypeIP, TypeURL, TypeRef}

func oneLine(s string) bool { return !strings.ContainsFunc(s, unicode.IsControl) }

// validateClass checks a class definition (its key only when checkKey) and
// names every invalid field.
func (s *Store) validateClass(ctx context.Context, q db.Querier, c *Class, checkKey bool) error {
	var fe errs.Fields
	c.Key = strings.TrimSpace(c.Key)
	c.Name = strings.TrimSpace(c.Name)
	c.Description = strings.TrimSpace(c.Description)
	if checkKey {
		fe.Check(!classKeyRe.MatchString(c.Key), "key", "must be 1 to 63 lower-case letters, digits or _, starting with a letter")
		fe.Check(c.Key == "new", "key", `"new" is reserved (it names the page of a new class)`)
	}
	fe.Check(c.Name == "", "name", "is required")
	fe.Check(len(c.Name) > 200, "name", "must be at most 200 characters")
	fe.Check(!oneLine(c.Name), "name", "must not contain control characters")
	fe.Check(len(c.Description) > 4000, "description", "must be at most 4000 characters")
	fe.Text("description", c.Description)
	fe.Check(len(c.Attributes) > 100, "attributes", "must have at most 100 entries")
	seen := map[string]bool{}
	for i := range c.Attributes {
		a := &c.Attributes[i]
		a.Key, a.Name, a.RefClass = strings.TrimSpace(a.Key), strings.TrimSpace(a.Name), strings.TrimSpace(a.RefClass)
		f := fmt.Sprintf("attributes[%d]", i)
		if !attrKeyRe.MatchString(a.Key) {
			fe.Add(f+".key", "must be 1 to 63 lower-case letters, digits or _, starting with a letter")
		} else if seen[a.Key] {
			fe.Add(f+".key", "repeats "+a.Key)
		}
		seen[a.Key] = true
		if a.Name == "" {
			a.Name = a.Key
		}
		fe.Check(len(a.Name) > 200 || !oneLine(a.Name), f+".name", "must be one line of at most 200 characters")
		if !slices.Contains(AttrTypes, a.Type) {
			fe.Add(f+".type", "must be one of "+strings.Join(AttrTypes, ", "))
			continue
		}
		if a.Type == TypeEnum {
			if len(a.Enum) == 0 {
				fe.Add(f+".enum", "must list the allowed values")
			}
			vals := map[string]bool{}
			for _, v := range a.Enum {
				if strings.TrimSpace(v) == "" || len(v) > 200 || !oneLine(v) {
					fe.Add(f+".enum", "values must be non-empty lines of at most 200 characters")
					break
				}
				if vals[strings.ToLower(v)] {
					fe.Add(f+".enum", "repeats "+v)
					break
				}
				vals[strings.ToLower(v)] = true
			}
		} else if len(a.Enum) > 0 {
			fe.Add(f+".enum", "is only for enum attributes")
		}
		if a.RefClass != "" {
			if a.Type != TypeRef {
				fe.Add(f+".ref_class", "is only for ref attributes")
			} else if a.RefClass != c.Key {
				if _, err := s.ClassByKey(ctx, q, a.RefClass); errs.Is(err, errs.KindNotFound) {
					fe.Add(f+".ref_class", "names no class")
				} else if err != nil {
					return err
				}
			}
		}
	}
	return fe.Err()
}

// CreateClass adds an admin-defined class.
func (s *Store) CreateClass(ctx context.Context, c Class) (Class, error) {
	if err := iam.Require(ctx, iam.RoleAdmin); err != nil {
		return Class{}, err
	}
	if c.Attributes == nil {
		c.Attributes = []AttrDef{}
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.validateClass(ctx, tx, &c, true); err != nil {
			return err
		}
		t := s.Clock.Now().UnixMilli()
		err := tx.QueryRowContext(ctx, `INSERT INTO ci_classes (key, name, description, builtin, attributes, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, c.Key, c.Name, c.Description, false, db.JSON(c.Attributes), t).Scan(&c.ID)
		if db.IsUniqueViolation(err) {
			return &errs.Error{Kind: errs.KindConflict, Message: "a CI class with this key exists",
				Fields: []errs.FieldError{{Field: "key", Detail: "is taken"}}}
		}
		if err != nil {
			return err
		}
		c.Version, c.CreatedAt, c.UpdatedAt = 1, clock.FromMillis(t), clock.FromMillis(t)
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci_class.create", ObjectType: "ci_class", ObjectID: c.Key,
			Summary: "created CI class " + c.Name, Changes: map[string]any{"attributes": c.Attributes}})
	})
	return c, err
}

// UpdateClass changes an admin-defined class: its name, description and
// attributes (the key stays). Built-in classes are read-only. ifVersion,
// when not 0, must be the class's current version.
func (s *Store) UpdateClass(ctx context.Context, key string, c Class, ifVersion int64) (Class, error) {
	if err := iam.Require(ctx, iam.RoleAdmin); err != nil {
		return Class{}, err
	}
	if c.Attributes == nil {
		c.Attributes = []AttrDef{}
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := s.ClassByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		if old.Builtin {
			return errs.Conflict("CI class %s is built in and cannot be changed", key)
		}
		if ifVersion != 0 && old.Version != ifVersion {
			return errs.PreconditionFailed("CI class %s has changed (version %d, not %d)", key, old.Version, ifVersion)
		}
		c.Key = old.Key
		if err := s.validateClass(ctx, tx, &c, false); err != nil {
			return err
		}
		t := s.Clock.Now().UnixMilli()
		if _, err := tx.ExecContext(ctx, `UPDATE ci_classes SET name = $1, description = $2, attributes = $3, updated_at = $4,
			version = version + 1 WHERE id = $5`, c.Name, c.Description, db.JSON(c.Attributes), t, old.ID); err != nil {
			return err
		}
		// Attribute values of removed attributes no longer count for
		// search or uniqueness.
		keep := map[string]bool{}
		for _, a := range c.Attributes {
			keep[a.Key] = true
		}
		for _, a := range old.Attributes {
			if !keep[a.Key] {
				if _, err := tx.ExecContext(ctx, "DELETE FROM ci_attribute_values WHERE class_id = $1 AND key = $2", old.ID, a.Key); err != nil {
					return err
				}
			}
		}
		// The unique index covers the values of the attributes unique now.
		for i, a := range c.Attributes {
			if _, err := tx.ExecContext(ctx, "UPDATE ci_attribute_values SET is_unique = $1 WHERE class_id = $2 AND key = $3 AND is_unique <> $1",
				a.Unique, old.ID, a.Key); err != nil {
				if db.IsUniqueViolation(err) {
					return errs.Invalid(fmt.Sprintf("attributes[%d].unique", i), "CIs of the class share values of "+a.Key+"; make them differ first")
				}
				return err
			}
		}
		c.ID, c.Builtin, c.CreatedAt, c.UpdatedAt, c.Version = old.ID, false, old.CreatedAt, clock.FromMillis(t), old.Version+1
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci_class.update", ObjectType: "ci_class", ObjectID: c.Key,
			Summary: "changed CI class " + c.Name, Changes: map[string]any{"attributes": map[string]any{"from": old.Attributes, "to": c.Attributes}}})
	})
	return c, err
}

// DeleteClass removes an admin-defined class that has no CIs.
func (s *Store) DeleteClass(ctx context.Context, key string) error {
	if err := iam.Require(ctx, iam.RoleAdmin); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.ClassByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		if c.Builtin {
			return errs.Conflict("CI class %s is built in and cannot be deleted", key)
		}
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM cis WHERE class_id = $1", c.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflict("CI class %s still has %d CIs", key, n)
		}
		// Other classes may refer to this one.
		rows, err := tx.QueryContext(ctx, "SELECT key, attributes FROM ci_classes WHERE id <> $1", c.ID)
		if err != nil {
			return err
		}
		var users []string
		for rows.Next() {
			var k, attrs string
			if err := rows.Scan(&k, &attrs); err != nil {
				rows.Close()
				return err
			}
			var defs []AttrDef
			_ = json.Unmarshal([]byte(attrs), &defs)
			for _, a := range defs {
				if a.RefClass == key {
					users = append(users, k)
					break
				}
			}
		}
		rows.Close()
		if len(users) > 0 {
			return errs.Conflict("CI class %s is referred to by %s", key, strings.Join(users, ", "))
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM ci_classes WHERE id = $1", c.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci_class.delete", ObjectType: "ci_class", ObjectID: key,
			Summary: "deleted CI class " + c.Name})
	})
}
