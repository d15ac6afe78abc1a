// Command steady is the Steady IT service operation platform: one binary that
// serves the API and UI and also acts as a command-line client.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/steadyhq/steady/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
