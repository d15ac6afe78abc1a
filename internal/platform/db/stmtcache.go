package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"reflect"

	"modernc.org/sqlite"
)

// SQLite spends more time parsing a short statement than running it, and
// modernc.org/sqlite parses every statement that is not prepared by hand.
// Steady's SQL is a fixed set of texts, so each SQLite connection keeps its
// statements prepared, by text, and reuses them: the "sqlite-cached" driver
// wraps the SQLite driver with that cache. A statement that is busy (its rows
// are still being read) is not shared: a second use of the same text while
// the first is open gets a statement of its own.

const cachedDriverName = "sqlite-cached"

// maxCachedStmts bounds the statements one connection keeps. Texts built
// with a variable number of placeholders make new entries; past the bound
// the oldest is dropped.
const maxCachedStmts = 512

func init() {
	sql.Register(cachedDriverName, &cachingDriver{d: &sqlite.Driver{}})
}

type cachingDriver struct{ d driver.Driver }

func (cd *cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := cd.d.Open(name)
	if err != nil {
		return nil, err
	}
	return &cachedConn{Conn: c, stmts: map[string]*cachedStmt{}}, nil
}

// inner is what modernc.org/sqlite's connection offers besides driver.Conn.
type inner interface {
	driver.ConnPrepareContext
	driver.ConnBeginTx
}

type cachedConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
	order []string // insertion order, for eviction
}

type cachedStmt struct {
	s    driver.Stmt
	busy bool // rows of it are open
	dead bool // evicted while busy: close when the rows close
}

func (c *cachedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(inner).BeginTx(ctx, opts)
}

func (c *cachedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(inner).PrepareContext(ctx, query)
}

func (c *cachedConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachedConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *cachedConn) Close() error {
	for _, s := range c.stmts {
		if !s.busy {
			s.s.Close()
		}
	}
	c.stmts = nil
	return c.Conn.Close()
}

// stmt returns a prepared statement for query that is not busy, and whether
// it is the cached one (which must not be closed after use).
func (c *cachedConn) stmt(ctx context.Context, query string) (*cachedStmt, bool, error) {
	if cs := c.stmts[query]; cs != nil && !cs.busy {
		return cs, true, nil
	}
	s, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	cs := &cachedStmt{s: s}
	if _, ok := c.stmts[query]; ok || c.stmts == nil {
		// The cached one is busy: this one is for this use only.
		return cs, false, nil
	}
	if len(c.order) >= maxCachedStmts {
		old := c.order[0]
		c.order = c.order[1:]
		if o := c.stmts[old]; o != nil {
			if o.busy {
				o.dead = true
			} else {
				o.s.Close()
			}
			delete(c.stmts, old)
		}
	}
	c.stmts[query] = cs
	c.order = append(c.order, query)
	return cs, true, nil
}

func (c *cachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, cached, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := cs.s.(driver.StmtExecContext).ExecContext(ctx, args)
	if !cached {
		cs.s.Close()
	}
	return res, err
}

func (c *cachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, cached, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := cs.s.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if !cached {
			cs.s.Close()
		}
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs, own: !cached}, nil
}

// cachedRows gives the statement back when the rows close.
type cachedRows struct {
	driver.Rows
	cs  *cachedStmt
	own bool
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	if r.own || r.cs.dead {
		r.cs.s.Close()
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
