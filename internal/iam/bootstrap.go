package iam

import (
	"context"
	"database/sql"

	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// Bootstrap is what a new database starts with.
type Bootstrap struct {
	Email    string // of the first admin; "admin@localhost" when empty
	Password string // a random one when empty
	Token    string // the first admin's API token; a random one when empty
}

// BootstrapResult reports the first admin's credentials, to be shown once.
type BootstrapResult struct {
	User     User
	Token    string
	Password string
	// Generated says which of the secrets were made up here (and must be shown).
	GeneratedToken, GeneratedPassword bool
}

// BootstrapAdmin creates the first admin and their API token, in one
// transaction. It is called only on a new database.
func (s *Service) BootstrapAdmin(ctx context.Context, b Bootstrap) (BootstrapResult, error) {
	var res BootstrapResult
	if b.Email == "" {
		b.Email = "admin@localhost"
	}
	if b.Password == "" {
		b.Password, res.GeneratedPassword = ids.Random(12), true
	}
	if b.Token == "" {
		b.Token, res.GeneratedToken = ids.Secret(TokenPrefix), true
	}
	n := NewUser{Email: b.Email, Name: "Administrator", Role: RoleAdmin, Password: b.Password}
	n.normalize()
	if err := n.Validate(); err != nil {
		return res, err
	}
	if err := (NewToken{Name: "bootstrap", Role: ptr(RoleAdmin), Secret: b.Token}).Validate(s.now()); err != nil {
		return res, err
	}
	hash, err := s.hashPassword(ctx, b.Password)
	if err != nil {
		return res, err
	}
	ctx = reqctx.WithActor(ctx, reqctx.System)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		u, err := s.insertUser(ctx, tx, n, hash)
		if err != nil {
			return err
		}
		res.User = u
		_, err = s.insertToken(ctx, tx, NewToken{Name: "bootstrap", UserID: &u.ID, Secret: b.Token})
		return err
	})
	res.Token, res.Password = b.Token, b.Password
	return res, err
}

func ptr[T any](v T) *T { return &v }

// NoUsers reports whether the database has no users yet (a new database).
func (s *Service) NoUsers(ctx context.Context) (bool, error) {
	var n int
	err := s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) AS u").Scan(&n)
	return n == 0, err
}
