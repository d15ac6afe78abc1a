package oncall

import (
	"context"
	"errors"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
)

// Policies stores escalation policies.
type Policies struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock
}

// NewPolicies returns the escalation policy store.
func NewPolicies(d *db.DB, a *audit.Log, c clock.Clock) *Policies {
	return &Policies{DB: d, Audit: a, Clock: c}
}

// Policy is an escalation policy: its levels are paged in order, each after
// the previous level's delay; the whole policy runs 1+Repeat times.
type Policy struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	TeamID      *int64    `json:"team_id"`
	Repeat      int       `json:"repeat"`
	Levels      []Level   `json:"levels"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Level is one step of a policy: its targets are paged together, and the
// next level follows DelayMinutes later unless the incident is acknowledged.
type Level struct {
	DelayMinutes int      `json:"delay_minutes"`
	Targets      []Target `json:"targets"`
}

// Target kinds.
const (
	TargetUser     = "user"
	TargetSchedule = "schedule"
	TargetTeam     = "team"
)

// Target is who a level pages: a user, whoever is on call in a schedule, or
// every member of a team.
type Target struct {
	Kind string `json:"kind"`
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"` // filled in on reads
}

// Load reads a policy through q, without access checks (for the engine).
func (p *Policies) Load(ctx context.Context, q db.Querier, id int64) (Policy, error) {
	return Policy{}, errors.New("policies: not built yet")
}

// OfService returns the escalation policy attached to a service, if any.
func (p *Policies) OfService(ctx context.Context, q db.Querier, serviceID int64) (int64, bool, error) {
	return 0, false, nil
}
