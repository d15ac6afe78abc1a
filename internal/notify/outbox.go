package notify

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
)

// TimelineFunc appends an entry to an incident's timeline in tx.
type TimelineFunc func(ctx context.Context, tx *sql.Tx, incidentID int64, kind, body string, data map[string]any) error

// Outbox is the durable queue of messages: rows are written in the
// transaction of what caused them and delivered by Deliver.
type Outbox struct {
	DB        *db.DB
	Audit     *audit.Log
	Clock     clock.Clock
	Log       *slog.Logger
	Contacts  *Contacts
	Templates *Templates
	Channels  *Channels
	Signer    Signer
	BaseURL   string
	Timeline  TimelineFunc
}

// Item is one outbox row.
type Item struct {
	ID             int64     `json:"id"`
	IdempotencyKey string    `json:"idempotency_key"`
	Kind           string    `json:"kind"`
	Status         string    `json:"status"`
	UserID         int64     `json:"user_id"`
	MethodID       int64     `json:"contact_method_id"`
	Channel        string    `json:"channel"`
	IncidentID     *int64    `json:"incident_id"`
	Subject        string    `json:"subject"`
	Attempts       int       `json:"attempts"`
	NextAttemptAt  time.Time `json:"next_attempt_at"`
	LastError      string    `json:"last_error"`
	CreatedAt      time.Time `json:"created_at"`
}

// EnqueueTest queues a test message to one of the caller's contact methods
// (an admin may test anyone's).
func (o *Outbox) EnqueueTest(ctx context.Context, methodID int64) (Item, error) {
	return Item{}, errors.New("outbox: not built yet")
}
