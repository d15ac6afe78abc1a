package cmdb

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
)

// Store is the CMDB.
type Store struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock
	Log   *slog.Logger

	graph graphCache
}

// New returns the CMDB store.
func New(d *db.DB, a *audit.Log, c clock.Clock, log *slog.Logger) *Store {
	return &Store{DB: d, Audit: a, Clock: c, Log: log}
}

// Attribute types.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
	TypeEnum    = "enum"
	TypeDate    = "date" // YYYY-MM-DD
	TypeIP      = "ip"
	TypeURL     = "url"
	TypeRef     = "ref" // the id (or name) of another CI, of RefClass when set
)

// AttrDef defines one attribute of a class.
type AttrDef struct {
	Key      string   `json:"key"`
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Required bool     `json:"required,omitempty"`
	Unique   bool     `json:"unique,omitempty"` // unique among the CIs of the class
	Enum     []string `json:"enum,omitempty"`
	RefClass string   `json:"ref_class,omitempty"`
}

// Class is a kind of CI.
type Class struct {
	ID          int64     `json:"id"`
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Builtin     bool      `json:"builtin"`
	Attributes  []AttrDef `json:"attributes"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Built-in class keys that other packages name.
const (
	ClassBusinessService = "business_service"
)

// Lifecycle states and environments.
const (
	LifecyclePlanned     = "planned"
	LifecycleInUse       = "in_use"
	LifecycleMaintenance = "maintenance"
	LifecycleRetired     = "retired"
	LifecycleDisposed    = "disposed"
)

// Lifecycles lists where each lifecycle state may go.
var Lifecycles = map[string][]string{
	LifecyclePlanned:     {LifecycleInUse, LifecycleRetired},
	LifecycleInUse:       {LifecycleMaintenance, LifecycleRetired},
	LifecycleMaintenance: {LifecycleInUse, LifecycleRetired},
	LifecycleRetired:     {LifecycleInUse, LifecycleDisposed},
	LifecycleDisposed:    {},
}

// Environments are the environments a CI may be in.
var Environments = []string{"production", "staging", "test", "development", "disaster_recovery"}

// CI is a configuration item.
type CI struct {
	ID           int64          `json:"id"`
	Class        string         `json:"class"` // the class key
	ClassID      int64          `json:"class_id"`
	Name         string         `json:"name"`
	TeamID       *int64         `json:"team_id"`
	Environment  string         `json:"environment"`
	Location     string         `json:"location"`
	Lifecycle    string         `json:"lifecycle"`
	Source       string         `json:"source"`
	ExternalID   *string        `json:"external_id"`
	Attributes   map[string]any `json:"attributes"`
	LastSeenAt   *time.Time     `json:"last_seen_at"`
	MissingSince *time.Time     `json:"missing_since"`
	// ServiceID is the service this CI is, for business services.
	ServiceID *int64    `json:"service_id"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CIInput is a CI as written: by the API, an import row, a discovery item.
// Empty optional fields keep their defaults on create.
type CIInput struct {
	Class       string         `json:"class"`
	Name        string         `json:"name"`
	TeamID      *int64         `json:"team_id,omitempty"`
	Environment string         `json:"environment,omitempty"`
	Location    string         `json:"location,omitempty"`
	Lifecycle   string         `json:"lifecycle,omitempty"`
	Source      string         `json:"source,omitempty"`
	ExternalID  *string        `json:"external_id,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
}

// Relationship types: "source <type> target".
const (
	RelDependsOn  = "depends_on"
	RelRunsOn     = "runs_on"
	RelHostedOn   = "hosted_on"
	RelConnectsTo = "connects_to"
	RelMemberOf   = "member_of"
	RelBackedUpBy = "backed_up_by"
)

// RelationTypes describes each type: whether a failure of the target
// affects the source, and whether cycles are refused.
var RelationTypes = map[string]struct {
	Propagates bool // the target's failure affects the source
	Acyclic    bool // a cycle of this type is refused
}{
	RelDependsOn:  {true, true},
	RelRunsOn:     {true, true},
	RelHostedOn:   {true, true},
	RelMemberOf:   {true, true},
	RelConnectsTo: {false, false},
	RelBackedUpBy: {false, false},
}

// Relation is one typed, directed edge.
type Relation struct {
	ID         int64     `json:"id"`
	SourceID   int64     `json:"source_id"`
	Type       string    `json:"type"`
	TargetID   int64     `json:"target_id"`
	SourceName string    `json:"source_name,omitempty"`
	TargetName string    `json:"target_name,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// bump tells every replica (and this one) that the graph changed; call it
// in the transaction of the change.
func bump(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "UPDATE cmdb_revision SET revision = revision + 1 WHERE id = 1")
	return err
}
