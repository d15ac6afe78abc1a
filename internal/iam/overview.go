package iam

import (
	"context"

	"github.com/steadyhq/steady/internal/platform/db"
)

// Overview counts what a dashboard shows, limited to what the caller may see.
type Overview struct {
	Users  int
	Teams  int
	Tokens int // tokens that still work: all of them for an admin, one's own otherwise
}

// Overview counts users, teams and working API tokens.
func (s *Service) Overview(ctx context.Context) (Overview, error) {
	if err := require(ctx, RoleViewer); err != nil {
		return Overview{}, err
	}
	var o Overview
	tq := "SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)"
	targs := []any{s.now().UnixMilli()}
	if p, ok := PrincipalFrom(ctx); ok && !p.Role.AtLeast(RoleAdmin) {
		targs = append(targs, p.UserID)
		tq += " AND user_id = $2"
	}
	for _, c := range []struct {
		dst  *int
		q    string
		args []any
	}{
		{&o.Users, "SELECT COUNT(*) FROM users", nil},
		{&o.Teams, "SELECT COUNT(*) FROM teams", nil},
		{&o.Tokens, tq, targs},
	} {
		if err := s.DB.R.QueryRowContext(ctx, c.q, c.args...).Scan(c.dst); err != nil {
			return Overview{}, db.Classify(err)
		}
	}
	return o, nil
}

// Membership is one team a user belongs to.
type Membership struct {
	TeamID   int64
	TeamName string
	TeamRole TeamRole
	// MemberCount counts everyone in the team, the user included.
	MemberCount int
}

// TeamsOf lists the teams of a user by team name.
func (s *Service) TeamsOf(ctx context.Context, userID int64) ([]Membership, error) {
	if err := require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT t.id, t.name, m.role,
		(SELECT COUNT(*) FROM team_members c WHERE c.team_id = t.id)
		FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1 ORDER BY t.name, t.id`, userID)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	out := []Membership{}
	for rows.Next() {
		var m Membership
		if err := rows.Scan(&m.TeamID, &m.TeamName, &m.TeamRole, &m.MemberCount); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, db.Classify(rows.Err())
}
