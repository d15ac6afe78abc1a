package iam

import (
	"context"
	"database/sql"
	"errors"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// ConfirmPassword checks that the caller knows the password of their own
// account, before a step that an unattended browser must not take alone
// (changing the password, turning off the second factor). Attempts are rate
// limited like logins, so a stolen session cannot guess the password here.
func (s *Service) ConfirmPassword(ctx context.Context, userID int64, password string) error {
	if p, ok := PrincipalFrom(ctx); ok && p.UserID != userID {
		return errs.Forbidden("you may only confirm your own password")
	}
	if ok, wait := s.Logins.Allow("reauth:" + itoa(userID)); !ok {
		return errs.RateLimited(wait, "too many attempts; try again in %d seconds", wait)
	}
	var hash sql.NullString
	err := s.DB.R.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = $1", userID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFound("user %d not found", userID)
	}
	if err != nil {
		return db.Classify(err)
	}
	stored := dummyHash
	if hash.Valid {
		stored = hash.String
	}
	match, err := s.checkPassword(ctx, stored, password)
	if err != nil {
		return err
	}
	if !hash.Valid || !match {
		return errs.Invalid("current_password", "is not your current password")
	}
	s.Logins.Reset("reauth:" + itoa(userID))
	return nil
}
