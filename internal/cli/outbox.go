package cli

import (
	"github.com/spf13/cobra"
)

// outboxCmd reads the outbox and queues dead letters again.
func (e *env) outboxCmd() *cobra.Command {
	c := &cobra.Command{Use: "outbox", Short: "Messages sent and to send, and the dead letters"}
	const columns = "id kind status channel address incident_id attempts last_error created_at"
	c.AddCommand(e.listCmd("list", "List outbox items, newest first (--status failed: the dead letters)", "/api/v1/outbox",
		columns, "status", "incident", "user"))
	c.AddCommand(&cobra.Command{Use: "show ID", Short: "Show one item and its delivery attempts", Args: args(1, "ID"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/outbox/"+a[0], nil, nil)
		}})
	c.AddCommand(&cobra.Command{Use: "retry ID", Short: "Queue a dead letter again", Args: args(1, "ID"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "POST", "/api/v1/outbox/"+a[0]+"/retry", nil, cols(columns))
		}})
	return c
}
