// Package iam is identity and access: users, teams, roles, API tokens,
// password and TOTP login, web sessions, and the bootstrap of the first admin.
// Every change is recorded in the audit trail in the same transaction.
package iam

import (
	"context"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// Role is a user's or token's level of access. Each role includes the rights
// of the roles below it.
type Role string

const (
	RoleViewer    Role = "viewer"    // reads everything that is not restricted
	RoleResponder Role = "responder" // works incidents
	RoleManager   Role = "manager"   // manages teams, services and processes
	RoleAdmin     Role = "admin"     // manages users, tokens and settings
)

// Roles lists the roles from the least to the most powerful.
var Roles = []Role{RoleViewer, RoleResponder, RoleManager, RoleAdmin}

func (r Role) level() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.level() > 0 }

// AtLeast reports whether r includes the rights of min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.level() >= min.level() }

func lower(a, b Role) Role {
	if a.level() < b.level() {
		return a
	}
	return b
}

// Principal is who a request acts as, after authentication.
type Principal struct {
	UserID  int64  // 0 for a token that belongs to no user
	TokenID int64  // 0 for a web session
	Name    string // user name or token name
	Email   string
	Role    Role
}

// Actor is the principal as the audit trail records it.
func (p Principal) Actor() reqctx.Actor {
	if p.UserID != 0 {
		return reqctx.Actor{Type: "user", ID: itoa(p.UserID), Name: p.Email}
	}
	return reqctx.Actor{Type: "token", ID: itoa(p.TokenID), Name: p.Name}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, and p as the acting party for the audit trail.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	ctx = context.WithValue(ctx, principalKey{}, p)
	return reqctx.WithActor(ctx, p.Actor())
}

// PrincipalFrom returns the principal of ctx. Without one, the call comes from
// Steady itself or a local command, which may do anything.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// require fails unless the caller of ctx has at least role min.
func require(ctx context.Context, min Role) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	if !p.Role.AtLeast(min) {
		return errs.Forbidden("this needs the %s role", min)
	}
	return nil
}

// isSelfOr reports whether the caller is user id or has at least role min.
func isSelfOr(ctx context.Context, id int64, min Role) bool {
	p, ok := PrincipalFrom(ctx)
	return !ok || p.UserID == id || p.Role.AtLeast(min)
}

// Service is identity and access.
type Service struct {
	DB      *db.DB
	Audit   *audit.Log
	Clock   clock.Clock
	Logins  *Limiter
	hashers chan struct{} // caps concurrent argon2id work (64 MiB each)
}

// New returns the service.
func New(d *db.DB, a *audit.Log, c clock.Clock) *Service {
	return &Service{
		DB:      d,
		Audit:   a,
		Clock:   c,
		Logins:  NewLimiter(c),
		hashers: make(chan struct{}, 2),
	}
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC() }
