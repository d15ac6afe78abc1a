package iam

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/page"
)

// User is a person who signs in to Steady or acts through a token.
type User struct {
	ID          int64     `json:"id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Role        Role      `json:"role"`
	HasPassword bool      `json:"has_password"`
	TOTPEnabled bool      `json:"totp_enabled"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int64     `json:"version"`
}

// NewUser is the input to CreateUser.
type NewUser struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     Role   `json:"role"`
	Password string `json:"password,omitempty"`
}

func (n *NewUser) normalize() {
	n.Email = strings.ToLower(strings.TrimSpace(n.Email))
	n.Name = strings.TrimSpace(n.Name)
	if n.Role == "" {
		n.Role = RoleViewer
	}
}

// Validate checks a new user and names every invalid field.
func (n NewUser) Validate() error {
	var f errs.Fields
	checkEmail(&f, n.Email)
	checkName(&f, "name", n.Name)
	f.Check(!n.Role.Valid(), "role", "must be one of viewer, responder, manager, admin")
	if n.Password != "" {
		checkPassword(&f, n.Password)
	}
	return f.Err()
}

func checkEmail(f *errs.Fields, email string) {
	if email == "" {
		f.Add("email", "is required")
		return
	}
	a, err := mail.ParseAddress(email)
	f.Check(err != nil || a.Address != email || len(email) > 254, "email", "must be a plain email address such as ada@example.com")
}

func checkName(f *errs.Fields, field, name string) {
	f.Check(name == "", field, "is required")
	f.Check(len(name) > 200, field, "must be at most 200 characters")
	// A name is one line of text; PostgreSQL cannot store NUL at all.
	f.Check(strings.ContainsFunc(name, unicode.IsControl), field, "must not contain control characters")
}

func checkPassword(f *errs.Fields, pw string) {
	f.Check(len(pw) < MinPasswordLength, "password", "must be at least 8 characters")
	f.Check(len(pw) > 1024, "password", "must be at most 1024 characters")
}

const userCols = "id, email, name, role, password_hash IS NOT NULL, totp_enabled, disabled, created_at, updated_at, version"

func scanUser(r db.Scanner) (User, error) {
	var u User
	var created, updated int64
	err := r.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.HasPassword, &u.TOTPEnabled, &u.Disabled, &created, &updated, &u.Version)
	u.CreatedAt, u.UpdatedAt = clock.FromMillis(created), clock.FromMillis(updated)
	return u, err
}

// CreateUser adds a user. Only admins may.
func (s *Service) CreateUser(ctx context.Context, n NewUser) (User, error) {
	if err := require(ctx, RoleAdmin); err != nil {
		return User{}, err
	}
	n.normalize()
	if err := n.Validate(); err != nil {
		return User{}, err
	}
	var hash any
	if n.Password != "" {
		h, err := s.hashPassword(ctx, n.Password)
		if err != nil {
			return User{}, err
		}
		hash = h
	}
	var u User
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = s.insertUser(ctx, tx, n, hash)
		return err
	})
	return u, err
}

func (s *Service) insertUser(ctx context.Context, tx *sql.Tx, n NewUser, hash any) (User, error) {
	now := s.now().UnixMilli()
	u, err := scanUser(tx.QueryRowContext(ctx, `INSERT INTO users (email, name, role, password_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) RETURNING `+userCols, n.Email, n.Name, string(n.Role), hash, now))
	if err != nil {
		if db.IsUniqueViolation(err) {
			return u, &errs.Error{Kind: errs.KindConflict, Message: "a user with this email exists",
				Fields: []errs.FieldError{{Field: "email", Detail: "is already taken"}}}
		}
		return u, err
	}
	return u, s.Audit.Record(ctx, tx, audit.Event{
		Action: "user.create", ObjectType: "user", ObjectID: u.ID,
		Summary: "created user " + u.Email + " with role " + string(u.Role),
		Changes: map[string]any{"email": u.Email, "name": u.Name, "role": u.Role, "password_set": hash != nil},
	})
}

// GetUser returns one user.
func (s *Service) GetUser(ctx context.Context, id int64) (User, error) {
	if err := require(ctx, RoleViewer); err != nil {
		return User{}, err
	}
	return getUser(ctx, s.DB.R, id)
}

func getUser(ctx context.Context, q db.Querier, id int64) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, errs.NotFound("user %d not found", id)
	}
	return u, db.Classify(err)
}

// UserFilter selects users.
type UserFilter struct {
	Role   Role
	Query  string // part of the name or email
	TeamID int64
}

// ListUsers lists users by id.
func (s *Service) ListUsers(ctx context.Context, f UserFilter, p page.Request) (page.List[User], error) {
	if err := require(ctx, RoleViewer); err != nil {
		return page.List[User]{}, err
	}
	q := "SELECT " + userCols + " FROM users WHERE id > $1"
	args := []any{p.After}
	if f.Role != "" {
		args = append(args, string(f.Role))
		q += " AND role = $" + strconv.Itoa(len(args))
	}
	if f.Query != "" {
		args = append(args, "%"+db.LikeEscape(strings.ToLower(f.Query))+"%")
		n := strconv.Itoa(len(args))
		q += " AND (LOWER(name) LIKE $" + n + ` ESCAPE '\' OR email LIKE $` + n + ` ESCAPE '\')`
	}
	if f.TeamID != 0 {
		args = append(args, f.TeamID)
		q += " AND id IN (SELECT user_id FROM team_members WHERE team_id = $" + strconv.Itoa(len(args)) + ")"
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	out, err := db.All(ctx, s.DB.R, scanUser, q, args...)
	if err != nil {
		return page.List[User]{}, err
	}
	return page.Cut(out, p, func(u User) int64 { return u.ID }), nil
}

// UserPatch changes some fields of a user; nil fields stay as they are.
type UserPatch struct {
	Email    *string `json:"email,omitempty"`
	Name     *string `json:"name,omitempty"`
	Role     *Role   `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	Password *string `json:"password,omitempty"`
	// KeepSession is the session secret that survives a password change
	// (the browser that made it); every other session of the user ends.
	KeepSession string `json:"-"`
}

// UpdateUser changes a user. Users may change their own name and password;
// everything else, and other users, need an admin. ifVersion > 0 makes the
// write fail with KindPreconditionFailed when the user changed meanwhile.
func (s *Service) UpdateUser(ctx context.Context, id int64, p UserPatch, ifVersion int64) (User, error) {
	if !isSelfOr(ctx, id, RoleAdmin) || ((p.Email != nil || p.Role != nil || p.Disabled != nil) && require(ctx, RoleAdmin) != nil) {
		return User{}, errs.Forbidden("only an admin may change this")
	}
	var f errs.Fields
	if p.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*p.Email))
		p.Email = &e
		checkEmail(&f, e)
	}
	if p.Name != nil {
		n := strings.TrimSpace(*p.Name)
		p.Name = &n
		checkName(&f, "name", n)
	}
	if p.Role != nil {
		f.Check(!p.Role.Valid(), "role", "must be one of viewer, responder, manager, admin")
	}
	var hash any
	if p.Password != nil {
		checkPassword(&f, *p.Password)
	}
	if err := f.Err(); err != nil {
		return User{}, err
	}
	if p.Password != nil {
		h, err := s.hashPassword(ctx, *p.Password)
		if err != nil {
			return User{}, err
		}
		hash = h
	}
	var out User
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && old.Version != ifVersion {
			return errs.PreconditionFailed("user %d has changed (version %d, not %d)", id, old.Version, ifVersion)
		}
		u := old
		if p.Email != nil {
			u.Email = *p.Email
		}
		if p.Name != nil {
			u.Name = *p.Name
		}
		if p.Role != nil {
			u.Role = *p.Role
		}
		if p.Disabled != nil {
			u.Disabled = *p.Disabled
		}
		if old.Role == RoleAdmin && (u.Role != RoleAdmin || u.Disabled) {
			if err := s.keepOneAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		q := "UPDATE users SET email = $1, name = $2, role = $3, disabled = $4, updated_at = $5, version = version + 1"
		args := []any{u.Email, u.Name, string(u.Role), u.Disabled, s.now().UnixMilli()}
		if hash != nil {
			q += ", password_hash = $6"
			args = append(args, hash)
		}
		args = append(args, id)
		q += " WHERE id = $" + strconv.Itoa(len(args)) + " RETURNING " + userCols
		out, err = scanUser(tx.QueryRowContext(ctx, q, args...))
		if err != nil {
			if db.IsUniqueViolation(err) {
				return &errs.Error{Kind: errs.KindConflict, Message: "a user with this email exists",
					Fields: []errs.FieldError{{Field: "email", Detail: "is already taken"}}}
			}
			return err
		}
		if hash != nil {
			// A new password signs the user out everywhere else, so that a
			// session opened with the old one does not outlive it.
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2", id, ids.Hash(p.KeepSession)); err != nil {
				return err
			}
		}
		if u.Disabled && !old.Disabled {
			// A disabled user is signed out everywhere at once.
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1", id); err != nil {
				return err
			}
		}
		ch := audit.Diff("email", old.Email, out.Email, "name", old.Name, out.Name,
			"role", old.Role, out.Role, "disabled", old.Disabled, out.Disabled)
		if hash != nil {
			ch["password"] = "changed"
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "user.update", ObjectType: "user", ObjectID: id,
			Summary: "updated user " + out.Email, Changes: ch})
	})
	return out, err
}

// keepOneAdmin refuses a change that would leave no enabled admin but user id.
func (s *Service) keepOneAdmin(ctx context.Context, tx *sql.Tx, id int64) error {
	q := "SELECT id FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id"
	if s.DB.Dialect == db.Postgres {
		// Lock the enabled admins, in id order so that callers cannot
		// deadlock: two admins demoting each other at once must not both see
		// the other still in place. (SQLite has a single writer.)
		q += " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var admin int64
		if err := rows.Scan(&admin); err != nil {
			return err
		}
		if admin != id {
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n == 0 {
		return errs.Conflict("this is the last enabled admin; make another user admin first")
	}
	return nil
}

// DeleteUser removes a user with their tokens, sessions and memberships.
// The audit trail keeps what they did.
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	if err := require(ctx, RoleAdmin); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		u, err := getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Role == RoleAdmin {
			if err := s.keepOneAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = $1", id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "user.delete", ObjectType: "user", ObjectID: id,
			Summary: "deleted user " + u.Email, Changes: map[string]any{"email": u.Email, "role": u.Role}})
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
