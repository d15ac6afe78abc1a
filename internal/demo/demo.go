// Package demo seeds a small, realistic organisation so that a newcomer who
// runs `steady serve --demo` sees a living system. It runs once per database.
package demo

import (
	"context"
	"database/sql"
	"errors"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// Password is every demo user's password.
const Password = "steady-demo"

// AdminEmail is the demo admin.
const AdminEmail = "ada@example.com"

type person struct {
	email, name string
	role        iam.Role
	teams       map[string]iam.TeamRole
}

var teams = []iam.NewTeam{
	{Name: "Platform", Description: "Kubernetes clusters, CI/CD and the shared runtime."},
	{Name: "Payments", Description: "Checkout, billing and the payment gateway integrations."},
	{Name: "Network", Description: "Data-centre network, load balancers, DNS and edge."},
	{Name: "Databases", Description: "PostgreSQL and Redis fleets, backups and capacity."},
	{Name: "Service Desk", Description: "First line: takes calls, triages and follows up."},
}

var people = []person{
	{AdminEmail, "Ada Lovelace", iam.RoleAdmin, map[string]iam.TeamRole{"Platform": iam.TeamLead}},
	{"grace@example.com", "Grace Hopper", iam.RoleManager, map[string]iam.TeamRole{"Payments": iam.TeamLead, "Platform": iam.TeamMember}},
	{"linus@example.com", "Linus Nakamura", iam.RoleResponder, map[string]iam.TeamRole{"Platform": iam.TeamMember}},
	{"margaret@example.com", "Margaret Hamilton", iam.RoleResponder, map[string]iam.TeamRole{"Payments": iam.TeamMember}},
	{"radia@example.com", "Radia Perlman", iam.RoleManager, map[string]iam.TeamRole{"Network": iam.TeamLead}},
	{"vint@example.com", "Vint Okafor", iam.RoleResponder, map[string]iam.TeamRole{"Network": iam.TeamMember}},
	{"edgar@example.com", "Edgar Codd", iam.RoleResponder, map[string]iam.TeamRole{"Databases": iam.TeamLead}},
	{"barbara@example.com", "Barbara Liskov", iam.RoleResponder, map[string]iam.TeamRole{"Databases": iam.TeamMember, "Platform": iam.TeamMember}},
	{"ken@example.com", "Ken Adeyemi", iam.RoleResponder, map[string]iam.TeamRole{"Service Desk": iam.TeamLead}},
	{"frances@example.com", "Frances Allen", iam.RoleViewer, map[string]iam.TeamRole{"Service Desk": iam.TeamMember}},
}

const seededKey = "demo_seeded"

// Seed creates the demo organisation unless it was created before. It reports
// whether it created anything.
func Seed(ctx context.Context, d *db.DB, svc *iam.Service, e Estate) (bool, error) {
	var v string
	err := d.R.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = $1", seededKey).Scan(&v)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	ctx = reqctx.WithSource(reqctx.WithActor(ctx, reqctx.Actor{Type: "system", ID: "demo", Name: "demo seed"}), "system")
	teamID := map[string]int64{}
	for _, t := range teams {
		made, err := svc.CreateTeam(ctx, t)
		if err != nil {
			return false, err
		}
		teamID[t.Name] = made.ID
	}
	userID := map[string]int64{}
	for _, p := range people {
		u, err := svc.CreateUser(ctx, iam.NewUser{Email: p.email, Name: p.name, Role: p.role, Password: Password})
		if err != nil {
			return false, err
		}
		userID[p.email] = u.ID
		for team, role := range p.teams {
			if _, err := svc.SetMember(ctx, teamID[team], u.ID, role); err != nil {
				return false, err
			}
		}
	}
	if err := seedEstate(ctx, e, teamID, userID); err != nil {
		return false, err
	}
	if err := seedOnCall(ctx, e, teamID, userID); err != nil {
		return false, err
	}
	if err := seedCMDB(ctx, e); err != nil {
		return false, err
	}
	_, err = d.W.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, $2)", seededKey, "1")
	return true, db.Classify(err)
}

var pageAll = page.Request{Limit: page.MaxLimit}
