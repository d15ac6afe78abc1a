package iam

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

const (
	// SessionLifetime is how long a web session lasts at most.
	SessionLifetime = 12 * time.Hour
	// SessionIdle ends a session nobody used for this long.
	SessionIdle = 2 * time.Hour
	// mfaWindow is how long the second step of a login may take.
	mfaWindow = 5 * time.Minute
)

// Session is a signed-in browser.
type Session struct {
	UserID     int64
	CSRF       string // the token every form of this session must carry
	MFAPending bool   // the password was right; the TOTP code is still due
	Principal  Principal
}

// LoginResult is what a first login step returns.
type LoginResult struct {
	Secret     string // the session cookie's value
	MFAPending bool
}

// Login checks an email and password and opens a session, which waits for a
// TOTP code first when the user has one. Attempts are rate limited by address
// and by account; failures are audited.
func (s *Service) Login(ctx context.Context, email, password, ip, userAgent string) (LoginResult, error) {
	email = clean(strings.ToLower(strings.TrimSpace(email)))
	if ok, wait := s.Logins.Allow("ip:"+ip, "acct:"+email); !ok {
		return LoginResult{}, errs.RateLimited(wait, "too many sign-in attempts; try again in %d seconds", wait)
	}
	var (
		id       int64
		hash     sql.NullString
		disabled bool
		totp     bool
	)
	err := s.DB.R.QueryRowContext(ctx, "SELECT id, password_hash, disabled, totp_enabled FROM users WHERE email = $1", email).
		Scan(&id, &hash, &disabled, &totp)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return LoginResult{}, db.Classify(err)
	}
	stored := dummyHash
	if hash.Valid {
		stored = hash.String
	}
	match, herr := s.checkPassword(ctx, stored, password)
	if herr != nil {
		return LoginResult{}, herr
	}
	if err != nil || !hash.Valid || !match || disabled {
		s.recordFailure(ctx, email, ip, "wrong email or password")
		return LoginResult{}, errs.Unauthenticated("wrong email or password")
	}
	s.Logins.Reset("acct:" + email)
	secret := ids.Secret("sess")
	now := s.now()
	expires := now.Add(SessionLifetime)
	if totp {
		expires = now.Add(mfaWindow)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf, mfa_pending, created_at, expires_at, last_seen_at, ip, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $5, $7, $8)`, ids.Hash(secret), id, ids.Random(20), totp, now.UnixMilli(),
			expires.UnixMilli(), ip, truncate(userAgent, 300)); err != nil {
			return err
		}
		if totp {
			return nil // the login is audited when the second step succeeds
		}
		return s.Audit.Record(reqctx.WithActor(ctx, reqctx.Actor{Type: "user", ID: itoa(id), Name: email}), tx,
			audit.Event{Action: "session.login", ObjectType: "user", ObjectID: id, Summary: email + " signed in from " + ip})
	})
	return LoginResult{Secret: secret, MFAPending: totp}, err
}

func (s *Service) recordFailure(ctx context.Context, email, ip, why string) {
	_ = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.Audit.Record(reqctx.WithActor(ctx, reqctx.Actor{Type: "anonymous", ID: ip, Name: email}), tx,
			audit.Event{Action: "session.login_failed", ObjectType: "user", ObjectID: email, Summary: "failed sign-in for " + email + " from " + ip + ": " + why})
	})
}

// CompleteMFA finishes a login with a TOTP code.
func (s *Service) CompleteMFA(ctx context.Context, secret, code, ip string) error {
	sess, err := s.lookupSession(ctx, secret, true)
	if err != nil {
		return err
	}
	if !sess.MFAPending {
		return nil
	}
	if ok, wait := s.Logins.Allow("ip:"+ip, "mfa:"+itoa(sess.UserID)); !ok {
		return errs.RateLimited(wait, "too many codes; try again in %d seconds", wait)
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var tsecret sql.NullString
		var last int64
		var email string
		if err := tx.QueryRowContext(ctx, "SELECT totp_secret, totp_last_step, email FROM users WHERE id = $1", sess.UserID).
			Scan(&tsecret, &last, &email); err != nil {
			return err
		}
		step, ok := matchTOTP(tsecret.String, strings.TrimSpace(code), s.now(), last)
		if !ok {
			return errs.Invalid("code", "is not the current code of your authenticator")
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_last_step = $1 WHERE id = $2", step, sess.UserID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE sessions SET mfa_pending = $1, expires_at = $2, last_seen_at = $3 WHERE id_hash = $4",
			false, now.Add(SessionLifetime).UnixMilli(), now.UnixMilli(), ids.Hash(secret)); err != nil {
			return err
		}
		return s.Audit.Record(reqctx.WithActor(ctx, reqctx.Actor{Type: "user", ID: itoa(sess.UserID), Name: email}), tx,
			audit.Event{Action: "session.login", ObjectType: "user", ObjectID: sess.UserID, Summary: email + " signed in with a second factor from " + ip})
	})
}

// Session returns the signed-in session of a cookie value. A session still
// waiting for its TOTP code is not signed in.
func (s *Service) Session(ctx context.Context, secret string) (Session, error) {
	return s.lookupSession(ctx, secret, false)
}

// PendingSession returns a session that waits for its TOTP code.
func (s *Service) PendingSession(ctx context.Context, secret string) (Session, error) {
	sess, err := s.lookupSession(ctx, secret, true)
	if err == nil && !sess.MFAPending {
		return sess, errs.Unauthenticated("this session is already signed in")
	}
	return sess, err
}

func (s *Service) lookupSession(ctx context.Context, secret string, allowPending bool) (Session, error) {
	if secret == "" {
		return Session{}, errs.Unauthenticated("not signed in")
	}
	var sess Session
	var expires, seen int64
	var email, name, role string
	var disabled bool
	err := s.DB.R.QueryRowContext(ctx, `SELECT s.user_id, s.csrf, s.mfa_pending, s.expires_at, s.last_seen_at,
		u.email, u.name, u.role, u.disabled FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1`, ids.Hash(secret)).
		Scan(&sess.UserID, &sess.CSRF, &sess.MFAPending, &expires, &seen, &email, &name, &role, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, errs.Unauthenticated("not signed in")
	}
	if err != nil {
		return Session{}, db.Classify(err)
	}
	now := s.now().UnixMilli()
	if disabled || now >= expires || (!sess.MFAPending && now-seen >= SessionIdle.Milliseconds()) {
		_, _ = s.DB.W.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = $1", ids.Hash(secret))
		return Session{}, errs.Unauthenticated("the session has ended; sign in again")
	}
	if sess.MFAPending && !allowPending {
		return Session{}, errs.Unauthenticated("not signed in")
	}
	if now-seen >= time.Minute.Milliseconds() {
		_, _ = s.DB.W.ExecContext(ctx, "UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2", now, ids.Hash(secret))
	}
	sess.Principal = Principal{UserID: sess.UserID, Name: name, Email: email, Role: Role(role)}
	return sess, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, secret string) error {
	sess, err := s.lookupSession(ctx, secret, true)
	if err != nil {
		return nil // already gone
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = $1", ids.Hash(secret)); err != nil {
			return err
		}
		return s.Audit.Record(WithPrincipal(ctx, sess.Principal), tx, audit.Event{Action: "session.logout",
			ObjectType: "user", ObjectID: sess.UserID, Summary: sess.Principal.Email + " signed out"})
	})
}

// PruneSessions deletes ended sessions and returns how many.
func (s *Service) PruneSessions(ctx context.Context) (int64, error) {
	res, err := s.DB.W.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= $1", s.now().UnixMilli())
	if err != nil {
		return 0, db.Classify(err)
	}
	return res.RowsAffected()
}

// TOTPEnrollment is what an authenticator app needs to add a user.
type TOTPEnrollment struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
}

// StartTOTP makes a new TOTP secret for a user (themselves, or any user for an
// admin); it takes effect after ConfirmTOTP proves the app has it.
func (s *Service) StartTOTP(ctx context.Context, userID int64) (TOTPEnrollment, error) {
	if !isSelfOr(ctx, userID, RoleAdmin) {
		return TOTPEnrollment{}, errs.Forbidden("you may only set up your own second factor")
	}
	secret := newTOTPSecret()
	var out TOTPEnrollment
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		u, err := getUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if u.TOTPEnabled {
			return errs.Conflict("a second factor is already active; turn it off first")
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2", secret, userID); err != nil {
			return err
		}
		out = TOTPEnrollment{Secret: secret, URI: totpURI(secret, u.Email)}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "user.totp.start", ObjectType: "user", ObjectID: userID,
			Summary: "started second-factor enrolment for " + u.Email})
	})
	return out, err
}

// ConfirmTOTP turns the second factor on once a code from the app matches.
func (s *Service) ConfirmTOTP(ctx context.Context, userID int64, code string) error {
	if !isSelfOr(ctx, userID, RoleAdmin) {
		return errs.Forbidden("you may only set up your own second factor")
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var secret sql.NullString
		var last int64
		var email string
		var enabled bool
		err := tx.QueryRowContext(ctx, "SELECT totp_secret, totp_last_step, email, totp_enabled FROM users WHERE id = $1", userID).
			Scan(&secret, &last, &email, &enabled)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("user %d not found", userID)
		}
		if err != nil {
			return err
		}
		if enabled {
			return nil
		}
		if !secret.Valid {
			return errs.Conflict("start the enrolment first")
		}
		step, ok := matchTOTP(secret.String, strings.TrimSpace(code), s.now(), last)
		if !ok {
			return errs.Invalid("code", "is not the current code of your authenticator")
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_enabled = $1, totp_last_step = $2, version = version + 1 WHERE id = $3",
			true, step, userID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "user.totp.enable", ObjectType: "user", ObjectID: userID,
			Summary: "turned on the second factor for " + email})
	})
}

// DisableTOTP turns the second factor off.
func (s *Service) DisableTOTP(ctx context.Context, userID int64) error {
	if !isSelfOr(ctx, userID, RoleAdmin) {
		return errs.Forbidden("you may only change your own second factor")
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		u, err := getUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_enabled = $1, totp_secret = NULL, version = version + 1 WHERE id = $2", false, userID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "user.totp.disable", ObjectType: "user", ObjectID: userID,
			Summary: "turned off the second factor for " + u.Email})
	})
}

// clean makes text from a browser storable: valid UTF-8 without NUL
// characters, which PostgreSQL cannot hold.
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// truncate cleans s and cuts it to at most n bytes, between characters.
func truncate(s string, n int) string {
	s = clean(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
