package db

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// SQLite in WAL mode appends every commit to the write-ahead log and copies
// the log back into the database file in checkpoints. By default the writer
// runs a checkpoint itself, inside the commit that crosses 1000 pages: the
// one serial path of the server then stops to copy and fsync megabytes of
// pages. Steady turns that off on the writer and checkpoints from a
// connection of its own in the background instead, on the other core:
// PASSIVE checkpoints, which never block the writer, as the log grows. Under
// constant load a PASSIVE checkpoint never quite catches up, so the log
// would grow for ever: past walRestartPages a RESTART checkpoint runs on the
// writer connection itself, queued between two write transactions like any
// write, so it copies only what the last PASSIVE one left and lets the log
// start over, without making the writer sleep in SQLite's busy handler.
// Durability is unchanged: a commit is durable when its log frames are
// synced, which synchronous=full does in the commit.

const (
	checkpointEvery = 50 * time.Millisecond
	// walPassivePages starts a background checkpoint (4 MiB of pages).
	walPassivePages = 1000
	// walRestartPages makes the log start over (64 MiB).
	walRestartPages = 16384
)

type checkpointer struct {
	conn   *sql.DB
	writer *sql.DB
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func startCheckpointer(uri string, writer *sql.DB) (*checkpointer, error) {
	c, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, err
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxIdleTime(0)
	c.SetConnMaxLifetime(0)
	cp := &checkpointer{conn: c, writer: writer, stop: make(chan struct{}), done: make(chan struct{})}
	go cp.run()
	return cp, nil
}

func (cp *checkpointer) run() {
	defer close(cp.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	ctx := context.Background()
	for {
		select {
		case <-cp.stop:
			return
		case <-t.C:
		}
		var busy, logPages, done int
		// wal_checkpoint with no mode reports without copying when the log
		// is empty; PASSIVE copies what it can without waiting for anyone.
		if err := cp.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done); err != nil {
			continue
		}
		if logPages >= walRestartPages {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_ = cp.writer.QueryRowContext(rctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &logPages, &done)
			cancel()
		}
	}
}

// close stops the checkpointer; the writer's close checkpoints what is left.
func (cp *checkpointer) close() error {
	var err error
	cp.once.Do(func() {
		close(cp.stop)
		<-cp.done
		err = cp.conn.Close()
	})
	return err
}
