package oncall

import (
	"log/slog"

	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
)

// Engine walks incidents through their escalation policies on timers kept in
// the database.
type Engine struct {
	DB        *db.DB
	Clock     clock.Clock
	Log       *slog.Logger
	Schedules *Schedules
	Policies  *Policies
}
