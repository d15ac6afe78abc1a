package db

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// BackupSQLite writes a consistent copy of the SQLite database in dataDir to
// out while a server may be using it: VACUUM INTO reads one snapshot (WAL
// readers never block the writer) and writes a compact, self-contained file.
// The copy goes to a temporary name first and is checked before it is renamed
// into place, so out is either a complete, checked backup or absent.
func BackupSQLite(ctx context.Context, dataDir, out string) error {
	src := filepath.Join(dataDir, FileName)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no database to back up at %s", src)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists already; choose a new file name", out)
	}
	tmp := out + ".partial"
	_ = os.Remove(tmp)
	conn, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(30000)")
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO $1", tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("copy database: %w", err)
	}
	if err := CheckSQLiteFile(ctx, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("the copy failed its check: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// CheckSQLiteFile checks that path is an intact Steady database that this
// binary can run, and returns nil if so.
func CheckSQLiteFile(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer conn.Close()
	var res string
	if err := conn.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("%s is not a SQLite database: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("%s is damaged: %s", path, res)
	}
	var v sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return fmt.Errorf("%s is not a Steady database: %w", path, err)
	}
	all, err := Migrations(SQLite)
	if err != nil {
		return err
	}
	if int(v.Int64) > len(all) {
		return fmt.Errorf("%s has schema version %d, newer than this binary (%d)", path, v.Int64, len(all))
	}
	return nil
}

// RestoreSQLite replaces the database in dataDir with the backup in. It
// refuses while a server holds the directory. An existing database is kept
// beside it as steady.db.before-restore-<time>, never deleted.
func RestoreSQLite(ctx context.Context, dataDir, in string, now time.Time) (kept string, err error) {
	if err := CheckSQLiteFile(ctx, in); err != nil {
		return "", err
	}
	unlock, err := LockDir(dataDir)
	if err != nil {
		return "", err
	}
	defer unlock()
	dst := filepath.Join(dataDir, FileName)
	tmp := dst + ".restoring"
	if err := copyFile(in, tmp); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if _, err := os.Stat(dst); err == nil {
		kept = dst + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(dst, kept); err != nil {
			return "", err
		}
		for _, ext := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(dst + ext); err == nil {
				if err := os.Rename(dst+ext, kept+ext); err != nil {
					return kept, err
				}
			}
		}
	}
	return kept, os.Rename(tmp, dst)
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
