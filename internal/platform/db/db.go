// Package db opens Steady's database (embedded SQLite by default, PostgreSQL
// for scale-out), applies migrations and runs transactions. Capability
// packages write their own SQL against it; this package only gives them
// connections, one portable placeholder style ($1, $2, …) and error kinds.
package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/steadyhq/steady/internal/platform/errs"
)

// Dialect names the SQL dialect of a database.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// FileName is the SQLite database file inside the data directory.
const FileName = "steady.db"

// Config says which database to open.
type Config struct {
	// URL of a PostgreSQL database (postgres://…). Empty means SQLite in DataDir.
	URL string
	// DataDir holds the SQLite database file.
	DataDir string
	// Synchronous is SQLite's synchronous pragma: "full" (default) or "normal".
	Synchronous string
	// MaxConns caps the PostgreSQL pool and the SQLite read pool.
	MaxConns int
	// ReadOnly opens SQLite without creating or writing anything.
	ReadOnly bool
}

// Querier is what both *sql.DB and *sql.Tx offer; store functions take one so
// they run the same inside or outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open database: a writer and a read pool (the same pool on PostgreSQL).
type DB struct {
	Dialect Dialect
	// W takes writes. On SQLite it holds exactly one connection, so every
	// write transaction is serialized in Go instead of in SQLite's busy loop.
	W *sql.DB
	// R serves reads that need no transaction.
	R *sql.DB
	// Path is the SQLite file, empty on PostgreSQL.
	Path string

	ckpt *checkpointer
}

// Open opens (and for SQLite creates) the database described by cfg.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.URL != "" {
		return openPostgres(ctx, cfg)
	}
	return openSQLite(ctx, cfg)
}

func openPostgres(ctx context.Context, cfg Config) (*DB, error) {
	if !strings.HasPrefix(cfg.URL, "postgres://") && !strings.HasPrefix(cfg.URL, "postgresql://") {
		return nil, fmt.Errorf("database URL must start with postgres:// or postgresql://")
	}
	pool, err := sql.Open("pgx", cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = 20
	}
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.PingContext(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return &DB{Dialect: Postgres, W: pool, R: pool}, nil
}

func openSQLite(ctx context.Context, cfg Config) (*DB, error) {
	dir := cfg.DataDir
	if dir == "" {
		dir = "steady-data"
	}
	path := filepath.Join(dir, FileName)
	if cfg.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database at %s: %w", path, err)
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	sync := strings.ToLower(cfg.Synchronous)
	if sync == "" {
		sync = "full"
	}
	if sync != "full" && sync != "normal" {
		return nil, fmt.Errorf("sqlite synchronous must be full or normal, not %q", cfg.Synchronous)
	}
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(" + sync + ")"
	uri := "file:" + path + "?"
	rd := uri + common + "&_pragma=query_only(1)&_txlock=deferred"
	var w *sql.DB
	if !cfg.ReadOnly {
		var err error
		// temp_store(2): statement journals (which SQLite keeps for every
		// multi-row write, foreign keys being on) live in memory; in a
		// file they cost a pwrite per page inside the serial commit.
		w, err = sql.Open(cachedDriverName, uri+common+"&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)&_pragma=cache_size(-65536)&_pragma=temp_store(2)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxIdleTime(0)
		w.SetConnMaxLifetime(0)
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}
	r, err := sql.Open(cachedDriverName, rd)
	if err != nil {
		if w != nil {
			w.Close()
		}
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = max(4, 2*runtime.NumCPU())
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	d := &DB{Dialect: SQLite, W: w, R: r, Path: path}
	if w == nil {
		d.W = r
	} else {
		// The writer does not checkpoint (wal_autocheckpoint(0) above): a
		// connection of its own does, in the background (checkpoint.go).
		if d.ckpt, err = startCheckpointer(uri+common, w); err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	return d, nil
}

// Close closes both pools.
func (d *DB) Close() error {
	var err error
	if d.ckpt != nil {
		err = d.ckpt.close()
	}
	if d.R != d.W {
		err = errors.Join(err, d.R.Close())
	}
	return errors.Join(err, d.W.Close())
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.R.PingContext(ctx); err != nil {
		return errs.Unavailable(err, "database unavailable")
	}
	var one int
	if err := d.R.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return errs.Unavailable(err, "database unavailable")
	}
	return nil
}

// Tx runs fn in a write transaction and commits when fn returns nil. Any
// error, or a panic, rolls everything back: a failed request writes nothing.
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return Classify(err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return Classify(err)
	}
	if err = tx.Commit(); err != nil {
		return Classify(err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique or primary-key violation.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsForeignKeyViolation reports whether err is a foreign-key violation.
func IsForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// Classify gives database errors that callers can act on an error kind:
// sql.ErrNoRows stays as it is, a lost connection becomes KindUnavailable,
// and errors that already have a kind pass through.
func Classify(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P0x: the server is shutting down.
		if strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") {
			return errs.Unavailable(err, "database unavailable")
		}
		return err
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, sql.ErrConnDone) {
		return errs.Unavailable(err, "database unavailable")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errs.Unavailable(err, "database busy")
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return errs.Unavailable(err, "database unavailable")
		}
	}
	return err
}

// likeEscaper escapes the wildcards of LIKE.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// LikeEscape makes s match itself in a LIKE pattern written with
// ESCAPE '\' (both dialects): "50%_off" matches only that text.
func LikeEscape(s string) string { return likeEscaper.Replace(s) }

// NullMillis turns a nullable millisecond column into a *time.Time.
func NullMillis(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.UnixMilli(n.Int64).UTC()
	return &t
}

// IDOrNil is the column value for an optional id.
func IDOrNil(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// IDPtr is an optional id column as a pointer (nil for NULL).
func IDPtr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}

// JSON is v as JSON text, for a JSON column (v must be marshalable).
func JSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// MillisOrNil is the column value for an optional time.
func MillisOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// Params returns n comma-separated placeholders for arguments from..from+n-1:
// "$3,$4,$5" on PostgreSQL, "?,?,?" on SQLite. Statements with many
// arguments (bulk inserts) must use it: SQLite treats $N as a named parameter
// and resolving thousands of names costs quadratic time, while ? binds by
// position. The arguments must then be passed in the order they appear.
func (d Dialect) Params(from, n int) string {
	var b strings.Builder
	b.Grow(n * 4)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		if d == SQLite {
			b.WriteByte('?')
			continue
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// Scanner is a row: what *sql.Row and *sql.Rows both offer.
type Scanner interface{ Scan(dest ...any) error }

// All runs a query and turns every row into a T with scan.
func All[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, Classify(err)
		}
		out = append(out, v)
	}
	return out, Classify(rows.Err())
}
