package oncall

import (
	"context"
	"errors"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
)

// Schedules stores on-call schedules and answers who is on call.
type Schedules struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock
}

// NewSchedules returns the schedule store.
func NewSchedules(d *db.DB, a *audit.Log, c clock.Clock) *Schedules {
	return &Schedules{DB: d, Audit: a, Clock: c}
}

// OnCallAt returns the users on call in a schedule at t (overrides applied),
// reading through q so that the escalation engine can ask inside its
// transaction.
func (s *Schedules) OnCallAt(ctx context.Context, q db.Querier, scheduleID int64, at time.Time) ([]int64, error) {
	return nil, errors.New("schedules: not built yet")
}
