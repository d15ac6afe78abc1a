// Package cli is the steady command line: the server (serve, migrate),
// offline maintenance (backup, restore, audit verify) and client commands that
// talk to a running server over the REST API.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// env is what a command may use of the process: no globals.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// client options, shared by every client command
	server string
	token  string
	output string
}

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// Run runs the steady command line and returns the process exit code:
// 0 on success, 1 on failure, 2 on a usage error.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := e.root()
	if len(args) > 0 {
		args = args[1:]
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "steady:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "steady:", err)
	if isUsage(err) {
		return 2
	}
	return 1
}

func (e *env) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "steady",
		Short: "Steady: IT service operations in one binary",
		Long: `Steady takes in every operational event, turns it into incidents, pages the
right person and runs the ITSM processes around them.

Server:      steady serve --demo
Client:      steady --server URL --token TOKEN user list
Events:      steady event send --key KEY --summary "disk full"
Maintenance: steady backup, steady restore, steady audit verify, steady migrate`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&e.server, "server", e.env("STEADY_SERVER", "http://127.0.0.1:8080"), "URL of the Steady server (env STEADY_SERVER)")
	pf.StringVar(&e.token, "token", e.getenv("STEADY_TOKEN"), "API token (env STEADY_TOKEN)")
	pf.StringVarP(&e.output, "output", "o", "table", "output format: table, json or yaml")
	root.AddCommand(e.serveCmd(), e.migrateCmd(), e.versionCmd(), e.backupCmd(), e.restoreCmd(),
		e.userCmd(), e.teamCmd(), e.tokenCmd(), e.auditCmd(), e.whoamiCmd(),
		e.serviceCmd(), e.alertCmd(), e.eventCmd(), e.benchCmd(), e.incidentCmd(),
		e.ruleCmd(), e.silenceCmd(), e.maintenanceCmd(), e.inhibitCmd(), e.outboxCmd(),
		e.heartbeatCmd(), e.contactCmd(), e.notificationRuleCmd(), e.policyCmd(), e.templateCmd(),
		e.onCallCmd(), e.scheduleCmd(), e.overrideCmd(),
		e.ciCmd(), e.ciClassCmd(), e.relationCmd(), e.impactCmd(), e.cmdbCmd())
	return root
}

func (e *env) env(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

// args checks positional arguments and marks a mismatch as a usage error.
func args(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) != n {
			return usageError{fmt.Errorf("%s takes %s (see --help)", cmd.CommandPath(), names)}
		}
		return nil
	}
}
