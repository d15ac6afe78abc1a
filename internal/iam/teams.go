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
	"github.com/steadyhq/steady/internal/platform/page"
)

// Team is a group of users that owns services and takes on-call duty.
type Team struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	MemberCount int       `json:"member_count"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int64     `json:"version"`
}

// TeamRole is a member's role within a team.
type TeamRole string

const (
	TeamMember TeamRole = "member"
	TeamLead   TeamRole = "lead"
)

// Member is a user's membership of a team.
type Member struct {
	UserID   int64     `json:"user_id"`
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	TeamRole TeamRole  `json:"team_role"`
	AddedAt  time.Time `json:"added_at"`
}

// NewTeam is the input to CreateTeam.
type NewTeam struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Validate checks a new team.
func (n NewTeam) Validate() error {
	var f errs.Fields
	checkName(&f, "name", n.Name)
	f.Check(len(n.Description) > 2000, "description", "must be at most 2000 characters")
	f.Check(strings.ContainsRune(n.Description, 0), "description", "must not contain NUL characters")
	return f.Err()
}

const teamCols = "id, name, description, (SELECT COUNT(*) FROM team_members m WHERE m.team_id = teams.id), created_at, updated_at, version"

func scanTeam(r db.Scanner) (Team, error) {
	var t Team
	var created, updated int64
	err := r.Scan(&t.ID, &t.Name, &t.Description, &t.MemberCount, &created, &updated, &t.Version)
	t.CreatedAt, t.UpdatedAt = clock.FromMillis(created), clock.FromMillis(updated)
	return t, err
}

func teamConflict(err error) error {
	if db.IsUniqueViolation(err) {
		return &errs.Error{Kind: errs.KindConflict, Message: "a team with this name exists",
			Fields: []errs.FieldError{{Field: "name", Detail: "is already taken"}}}
	}
	return err
}

// CreateTeam adds a team. Managers and admins may.
func (s *Service) CreateTeam(ctx context.Context, n NewTeam) (Team, error) {
	if err := require(ctx, RoleManager); err != nil {
		return Team{}, err
	}
	n.Name, n.Description = strings.TrimSpace(n.Name), strings.TrimSpace(n.Description)
	if err := n.Validate(); err != nil {
		return Team{}, err
	}
	var t Team
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now().UnixMilli()
		var err error
		t, err = scanTeam(tx.QueryRowContext(ctx, `INSERT INTO teams (name, description, created_at, updated_at)
			VALUES ($1, $2, $3, $3) RETURNING `+teamCols, n.Name, n.Description, now))
		if err != nil {
			return teamConflict(err)
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "team.create", ObjectType: "team", ObjectID: t.ID,
			Summary: "created team " + t.Name, Changes: map[string]any{"name": t.Name, "description": t.Description}})
	})
	return t, err
}

// GetTeam returns one team.
func (s *Service) GetTeam(ctx context.Context, id int64) (Team, error) {
	if err := require(ctx, RoleViewer); err != nil {
		return Team{}, err
	}
	return getTeam(ctx, s.DB.R, id)
}

func getTeam(ctx context.Context, q db.Querier, id int64) (Team, error) {
	t, err := scanTeam(q.QueryRowContext(ctx, "SELECT "+teamCols+" FROM teams WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, errs.NotFound("team %d not found", id)
	}
	return t, db.Classify(err)
}

// ListTeams lists teams by id; query matches part of the name.
func (s *Service) ListTeams(ctx context.Context, query string, p page.Request) (page.List[Team], error) {
	if err := require(ctx, RoleViewer); err != nil {
		return page.List[Team]{}, err
	}
	q := "SELECT " + teamCols + " FROM teams WHERE id > $1"
	args := []any{p.After}
	if query != "" {
		args = append(args, "%"+db.LikeEscape(strings.ToLower(query))+"%")
		q += ` AND LOWER(name) LIKE $2 ESCAPE '\'`
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	out, err := db.All(ctx, s.DB.R, scanTeam, q, args...)
	if err != nil {
		return page.List[Team]{}, err
	}
	return page.Cut(out, p, func(t Team) int64 { return t.ID }), nil
}

// TeamPatch changes some fields of a team.
type TeamPatch struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

// UpdateTeam changes a team; ifVersion > 0 guards against a stale write.
func (s *Service) UpdateTeam(ctx context.Context, id int64, p TeamPatch, ifVersion int64) (Team, error) {
	if err := require(ctx, RoleManager); err != nil {
		return Team{}, err
	}
	var out Team
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := getTeam(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && old.Version != ifVersion {
			return errs.PreconditionFailed("team %d has changed (version %d, not %d)", id, old.Version, ifVersion)
		}
		n := NewTeam{Name: old.Name, Description: old.Description}
		if p.Name != nil {
			n.Name = strings.TrimSpace(*p.Name)
		}
		if p.Description != nil {
			n.Description = strings.TrimSpace(*p.Description)
		}
		if err := n.Validate(); err != nil {
			return err
		}
		out, err = scanTeam(tx.QueryRowContext(ctx, `UPDATE teams SET name = $1, description = $2, updated_at = $3,
			version = version + 1 WHERE id = $4 RETURNING `+teamCols, n.Name, n.Description, s.now().UnixMilli(), id))
		if err != nil {
			return teamConflict(err)
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "team.update", ObjectType: "team", ObjectID: id,
			Summary: "updated team " + out.Name,
			Changes: audit.Diff("name", old.Name, out.Name, "description", old.Description, out.Description)})
	})
	return out, err
}

// DeleteTeam removes a team and its memberships.
func (s *Service) DeleteTeam(ctx context.Context, id int64) error {
	if err := require(ctx, RoleManager); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := getTeam(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM teams WHERE id = $1", id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "team.delete", ObjectType: "team", ObjectID: id,
			Summary: "deleted team " + t.Name, Changes: map[string]any{"name": t.Name}})
	})
}

// Members lists the members of a team by name.
func (s *Service) Members(ctx context.Context, teamID int64) ([]Member, error) {
	if err := require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	if _, err := getTeam(ctx, s.DB.R, teamID); err != nil {
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT u.id, u.email, u.name, m.role, m.created_at
		FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY u.name, u.id`, teamID)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		var at int64
		if err := rows.Scan(&m.UserID, &m.Email, &m.Name, &m.TeamRole, &at); err != nil {
			return nil, err
		}
		m.AddedAt = clock.FromMillis(at)
		out = append(out, m)
	}
	return out, db.Classify(rows.Err())
}

// SetMember adds a user to a team, or changes their team role.
func (s *Service) SetMember(ctx context.Context, teamID, userID int64, role TeamRole) (Member, error) {
	if err := require(ctx, RoleManager); err != nil {
		return Member{}, err
	}
	if role == "" {
		role = TeamMember
	}
	if role != TeamMember && role != TeamLead {
		return Member{}, errs.Invalid("team_role", "must be member or lead")
	}
	var m Member
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := getTeam(ctx, tx, teamID)
		if err != nil {
			return err
		}
		u, err := getUser(ctx, tx, userID)
		if err != nil {
			if errs.Is(err, errs.KindNotFound) {
				return errs.Invalid("user_id", "names no user")
			}
			return err
		}
		now := s.now()
		var prev string
		err = tx.QueryRowContext(ctx, "SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2", teamID, userID).Scan(&prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
				teamID, userID, string(role), now.UnixMilli())
		case err == nil:
			_, err = tx.ExecContext(ctx, "UPDATE team_members SET role = $1 WHERE team_id = $2 AND user_id = $3", string(role), teamID, userID)
		}
		if err != nil {
			return err
		}
		m = Member{UserID: u.ID, Email: u.Email, Name: u.Name, TeamRole: role, AddedAt: now}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "team.member.set", ObjectType: "team", ObjectID: teamID,
			Summary: u.Email + " is " + string(role) + " of team " + t.Name,
			Changes: map[string]any{"user_id": u.ID, "team_role": audit.Diff("team_role", prev, role)["team_role"]}})
	})
	return m, err
}

// RemoveMember takes a user out of a team.
func (s *Service) RemoveMember(ctx context.Context, teamID, userID int64) error {
	if err := require(ctx, RoleManager); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := getTeam(ctx, tx, teamID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2", teamID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("user %d is not a member of team %d", userID, teamID)
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "team.member.remove", ObjectType: "team", ObjectID: teamID,
			Summary: "removed user " + itoa(userID) + " from team " + t.Name, Changes: map[string]any{"user_id": userID}})
	})
}
