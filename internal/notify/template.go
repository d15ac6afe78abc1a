package notify

import (
	"context"
	"errors"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
)

// Templates renders messages from the built-in templates or an admin's
// replacement of them.
type Templates struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock
}

// NewTemplates returns the template store.
func NewTemplates(d *db.DB, a *audit.Log, c clock.Clock) *Templates {
	return &Templates{DB: d, Audit: a, Clock: c}
}

// Render renders the template for data.Kind through q.
func (t *Templates) Render(ctx context.Context, q db.Querier, data MessageData) (Message, error) {
	return Message{}, errors.New("templates: not built yet")
}
