package iam

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/page"
)

// TokenPrefix starts every API token, so that a leaked one is easy to spot.
const TokenPrefix = "stdy"

// Token is an API token as listed: the secret itself is shown only once, when
// it is created, and stored only as a hash.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"` // the first characters of the secret
	UserID     *int64     `json:"user_id"`
	Role       *Role      `json:"role"` // limits a user's token; the whole role of a token without a user
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// NewToken is the input to CreateToken. A token with a user acts as that user
// (with at most Role, when set); a token without a user acts with Role.
type NewToken struct {
	Name      string     `json:"name"`
	UserID    *int64     `json:"user_id,omitempty"`
	Role      *Role      `json:"role,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Secret, when set, is used instead of a random one (the bootstrap token).
	Secret string `json:"-"`
}

// Validate checks a new token.
func (n NewToken) Validate(now time.Time) error {
	var f errs.Fields
	checkName(&f, "name", n.Name)
	if n.Role != nil {
		f.Check(!n.Role.Valid(), "role", "must be one of viewer, responder, manager, admin")
	}
	f.Check(n.UserID == nil && n.Role == nil, "user_id", "is required for a token without a role")
	if n.ExpiresAt != nil {
		f.Check(!n.ExpiresAt.After(now), "expires_at", "must be in the future")
	}
	if n.Secret != "" {
		f.Check(len(n.Secret) < 16 || len(n.Secret) > 200 || strings.ContainsAny(n.Secret, " \t\r\n"),
			"token", "must be 16 to 200 characters without spaces")
	}
	return f.Err()
}

// CreatedToken is a new token with its secret.
type CreatedToken struct {
	Token
	Secret string `json:"token"`
}

const tokenCols = "id, name, hint, user_id, role, created_by, created_at, expires_at, last_used_at, revoked_at"

func scanToken(r db.Scanner) (Token, error) {
	var t Token
	var uid sql.NullInt64
	var role sql.NullString
	var created int64
	var expires, used, revoked sql.NullInt64
	err := r.Scan(&t.ID, &t.Name, &t.Hint, &uid, &role, &t.CreatedBy, &created, &expires, &used, &revoked)
	if uid.Valid {
		t.UserID = &uid.Int64
	}
	if role.Valid {
		r := Role(role.String)
		t.Role = &r
	}
	t.CreatedAt = clock.FromMillis(created)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = db.NullMillis(expires), db.NullMillis(used), db.NullMillis(revoked)
	return t, err
}

// CreateToken makes an API token. Anyone may make one for themselves; a token
// for another user, or without a user, needs an admin.
func (s *Service) CreateToken(ctx context.Context, n NewToken) (CreatedToken, error) {
	p, hasP := PrincipalFrom(ctx)
	n.Name = strings.TrimSpace(n.Name)
	if err := n.Validate(s.now()); err != nil {
		return CreatedToken{}, err
	}
	if hasP && !p.Role.AtLeast(RoleAdmin) && (n.UserID == nil || *n.UserID != p.UserID) {
		return CreatedToken{}, errs.Forbidden("only an admin may create tokens for others or without a user")
	}
	if hasP && n.Role != nil && !p.Role.AtLeast(*n.Role) {
		return CreatedToken{}, errs.Forbidden("a token cannot have more rights than its creator")
	}
	var out CreatedToken
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.insertToken(ctx, tx, n)
		return err
	})
	return out, err
}

func (s *Service) insertToken(ctx context.Context, tx *sql.Tx, n NewToken) (CreatedToken, error) {
	if n.UserID != nil {
		if _, err := getUser(ctx, tx, *n.UserID); err != nil {
			if errs.Is(err, errs.KindNotFound) {
				return CreatedToken{}, errs.Invalid("user_id", "names no user")
			}
			return CreatedToken{}, err
		}
	}
	secret := n.Secret
	if secret == "" {
		secret = ids.Secret(TokenPrefix)
	}
	hint := secret[:min(len(secret), len(TokenPrefix)+5)] + "…"
	var role any
	if n.Role != nil {
		role = string(*n.Role)
	}
	creator := "steady"
	if p, ok := PrincipalFrom(ctx); ok {
		creator = p.Actor().Type + ":" + p.Actor().Name
	}
	t, err := scanToken(tx.QueryRowContext(ctx, `INSERT INTO api_tokens (name, token_hash, hint, user_id, role, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+tokenCols,
		n.Name, ids.Hash(secret), hint, n.UserID, role, creator, s.now().UnixMilli(), db.MillisOrNil(n.ExpiresAt)))
	if err != nil {
		if db.IsUniqueViolation(err) {
			return CreatedToken{}, errs.Conflict("this token secret is already in use")
		}
		return CreatedToken{}, err
	}
	ch := map[string]any{"name": t.Name, "user_id": t.UserID, "role": t.Role, "expires_at": t.ExpiresAt}
	if err := s.Audit.Record(ctx, tx, audit.Event{Action: "token.create", ObjectType: "token", ObjectID: t.ID,
		Summary: "created API token " + t.Name, Changes: ch}); err != nil {
		return CreatedToken{}, err
	}
	return CreatedToken{Token: t, Secret: secret}, nil
}

// ListTokens lists tokens: all of them for an admin, one's own otherwise.
func (s *Service) ListTokens(ctx context.Context, userID int64, p page.Request) (page.List[Token], error) {
	if pr, ok := PrincipalFrom(ctx); ok && !pr.Role.AtLeast(RoleAdmin) {
		if pr.UserID == 0 {
			return page.List[Token]{Items: []Token{}}, nil
		}
		userID = pr.UserID
	}
	q := "SELECT " + tokenCols + " FROM api_tokens WHERE id > $1"
	args := []any{p.After}
	if userID != 0 {
		args = append(args, userID)
		q += " AND user_id = $2"
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	out, err := db.All(ctx, s.DB.R, scanToken, q, args...)
	if err != nil {
		return page.List[Token]{}, err
	}
	return page.Cut(out, p, func(t Token) int64 { return t.ID }), nil
}

// GetToken returns one token; others' tokens are hidden from non-admins.
func (s *Service) GetToken(ctx context.Context, id int64) (Token, error) {
	t, err := scanToken(s.DB.R.QueryRowContext(ctx, "SELECT "+tokenCols+" FROM api_tokens WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !ownsToken(ctx, t)) {
		return Token{}, errs.NotFound("token %d not found", id)
	}
	return t, db.Classify(err)
}

func ownsToken(ctx context.Context, t Token) bool {
	p, ok := PrincipalFrom(ctx)
	return !ok || p.Role.AtLeast(RoleAdmin) || (t.UserID != nil && *t.UserID == p.UserID && p.UserID != 0)
}

// RevokeToken stops a token from working. Revoking twice is not an error.
func (s *Service) RevokeToken(ctx context.Context, id int64) (Token, error) {
	var out Token
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := scanToken(tx.QueryRowContext(ctx, "SELECT "+tokenCols+" FROM api_tokens WHERE id = $1", id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !ownsToken(ctx, t)) {
			return errs.NotFound("token %d not found", id)
		}
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			out = t
			return nil
		}
		out, err = scanToken(tx.QueryRowContext(ctx, "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 RETURNING "+tokenCols,
			s.now().UnixMilli(), id))
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "token.revoke", ObjectType: "token", ObjectID: id,
			Summary: "revoked API token " + t.Name})
	})
	return out, err
}

// LastUsedDue says whether a credential's last-used time (an API token's,
// an integration key's), stored as used, is due to be written again at now:
// at most once a minute, so that a busy credential does not cost a write per
// request.
func LastUsedDue(used sql.NullInt64, now time.Time) bool {
	return !used.Valid || now.UnixMilli()-used.Int64 >= time.Minute.Milliseconds()
}

// Authenticate turns a bearer secret into a principal. A wrong, revoked or
// expired token, or one whose user is disabled, is KindUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	var (
		id                     int64
		name                   string
		uid                    sql.NullInt64
		role                   sql.NullString
		expires, used, revoked sql.NullInt64
		email, uname, urole    sql.NullString
		disabled               sql.NullBool
	)
	err := s.DB.R.QueryRowContext(ctx, `SELECT t.id, t.name, t.user_id, t.role, t.expires_at, t.last_used_at, t.revoked_at,
		u.email, u.name, u.role, u.disabled
		FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, ids.Hash(secret)).
		Scan(&id, &name, &uid, &role, &expires, &used, &revoked, &email, &uname, &urole, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, errs.Unauthenticated("the token is not valid")
	}
	if err != nil {
		return Principal{}, db.Classify(err)
	}
	now := s.now()
	switch {
	case revoked.Valid:
		return Principal{}, errs.Unauthenticated("the token has been revoked")
	case expires.Valid && now.UnixMilli() >= expires.Int64:
		return Principal{}, errs.Unauthenticated("the token has expired")
	case uid.Valid && disabled.Bool:
		return Principal{}, errs.Unauthenticated("the token's user is disabled")
	}
	p := Principal{TokenID: id, Name: name}
	if uid.Valid {
		p.UserID, p.Email, p.Name, p.Role = uid.Int64, email.String, uname.String, Role(urole.String)
		if role.Valid {
			p.Role = lower(p.Role, Role(role.String))
		}
	} else {
		p.Role = Role(role.String)
	}
	if LastUsedDue(used, now) {
		// Best effort: a failure here must not fail the request.
		_, _ = s.DB.W.ExecContext(ctx, "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2", now.UnixMilli(), id)
	}
	return p, nil
}
