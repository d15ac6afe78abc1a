package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/db"
)

func (e *env) backupCmd() *cobra.Command {
	var s serverFlags
	var out string
	c := &cobra.Command{
		Use:   "backup --data DIR --out FILE",
		Short: "Take a consistent copy of the SQLite database, also while a server runs",
		Long: `Take a consistent online copy of the embedded SQLite database into FILE. It
is safe while a server is running and writing. The copy is checked before it
is kept. For PostgreSQL, use pg_dump (see the README).`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			o, err := e.options(c, &s)
			if err != nil {
				return usageError{err}
			}
			if out == "" {
				return usageError{fmt.Errorf("--out FILE is required")}
			}
			if o.DatabaseURL != "" {
				return fmt.Errorf("backup copies the embedded SQLite database; for PostgreSQL use pg_dump --format=custom (see the README)")
			}
			start := time.Now()
			if err := db.BackupSQLite(c.Context(), o.DataDir, out); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "backup written to %s in %s\n", out, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	e.bindServerFlags(c, &s, false)
	c.Flags().StringVar(&out, "out", "", "file to write the backup to (must not exist)")
	return c
}

func (e *env) restoreCmd() *cobra.Command {
	var s serverFlags
	var in string
	c := &cobra.Command{
		Use:   "restore --data DIR --in FILE",
		Short: "Put a backup back in place of the SQLite database (server stopped)",
		Long: `Check the backup FILE and make it the database of the data directory. The
server must be stopped. The database it replaces is kept beside it as
steady.db.before-restore-<time>, never deleted.`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			o, err := e.options(c, &s)
			if err != nil {
				return usageError{err}
			}
			if in == "" {
				return usageError{fmt.Errorf("--in FILE is required")}
			}
			if o.DatabaseURL != "" {
				return fmt.Errorf("restore puts back an SQLite backup; for PostgreSQL use pg_restore (see the README)")
			}
			kept, err := db.RestoreSQLite(c.Context(), o.DataDir, in, time.Now())
			if err != nil {
				return err
			}
			if kept != "" {
				fmt.Fprintf(e.stdout, "the previous database is kept as %s\n", kept)
			}
			fmt.Fprintf(e.stdout, "restored %s into %s; start the server with: steady serve --data %s\n", in, o.DataDir, o.DataDir)
			return nil
		},
	}
	e.bindServerFlags(c, &s, false)
	c.Flags().StringVar(&in, "in", "", "backup file to restore")
	return c
}

// auditVerify checks the chain directly in the database, or through a server.
func (e *env) auditVerifyCmd() *cobra.Command {
	var s serverFlags
	c := &cobra.Command{
		Use:   "verify [--data DIR | --database URL]",
		Short: "Check the audit trail's hash chain; exits 1 at the first broken link",
		Long: `Walk the whole audit trail and check every link of its hash chain. With
--data or --database it reads the database directly (a server may be running);
without them it asks the server (--server, --token; admin only).`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			var res audit.VerifyResult
			if c.Flags().Changed("data") || c.Flags().Changed("database") || s.config != "" {
				o, err := e.options(c, &s)
				if err != nil {
					return usageError{err}
				}
				d, err := db.Open(ctx, db.Config{URL: o.DatabaseURL, DataDir: o.DataDir, ReadOnly: true})
				if err != nil {
					return err
				}
				defer d.Close()
				if res, err = audit.Verify(ctx, d); err != nil {
					return err
				}
			} else {
				var out struct {
					OK       bool   `json:"ok"`
					Checked  int64  `json:"checked"`
					BrokenAt int64  `json:"broken_at"`
					Problem  string `json:"problem"`
				}
				if err := e.client().do(ctx, "GET", "/api/v1/audit/verify", nil, &out); err != nil {
					return err
				}
				res = audit.VerifyResult{OK: out.OK, Checked: out.Checked, BrokenAt: out.BrokenAt, Problem: out.Problem}
			}
			if !res.OK {
				return &exitError{code: 1, msg: fmt.Sprintf("audit trail BROKEN at entry %d: %s (%d entries before it are intact)",
					res.BrokenAt, res.Problem, res.Checked)}
			}
			fmt.Fprintf(e.stdout, "audit trail intact: %d entries verified\n", res.Checked)
			return nil
		},
	}
	e.bindServerFlags(c, &s, false)
	return c
}
