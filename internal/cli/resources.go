package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// call runs one API request and prints the answer.
func (e *env) call(ctx context.Context, method, path string, body any, columns []column) error {
	var out any
	if err := e.client().do(ctx, method, path, body, &out); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return e.print(out, columns)
}

// listCmd is a client command that lists a collection with paging and filters.
func (e *env) listCmd(use, short, path, columns string, filters ...string) *cobra.Command {
	var limit int
	var after string
	vals := make([]string, len(filters))
	c := &cobra.Command{
		Use: use, Short: short, Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			q := url.Values{}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			if after != "" {
				q.Set("after", after)
			}
			for i, f := range filters {
				if vals[i] != "" {
					q.Set(f, vals[i])
				}
			}
			p := path
			if len(q) > 0 {
				p += "?" + q.Encode()
			}
			return e.call(c.Context(), "GET", p, nil, cols(columns))
		},
	}
	c.Flags().IntVar(&limit, "limit", 0, "at most this many items (1 to 1000)")
	c.Flags().StringVar(&after, "after", "", "cursor of the next page, as printed by the previous one")
	for i, f := range filters {
		c.Flags().StringVar(&vals[i], f, "", "filter by "+f)
	}
	return c
}

const userColumns = "id email name role disabled totp_enabled"

func (e *env) userCmd() *cobra.Command {
	c := &cobra.Command{Use: "user", Short: "Manage users"}
	c.AddCommand(e.listCmd("list", "List users", "/api/v1/users", userColumns, "role", "q", "team"))
	c.AddCommand(&cobra.Command{
		Use: "get ID|me", Short: "Show one user", Args: args(1, "a user id or me"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/users/"+url.PathEscape(a[0]), nil, nil)
		},
	})

	var n iam.NewUser
	var role string
	var direct serverFlags
	create := &cobra.Command{
		Use:   "create --email EMAIL --name NAME [--role ROLE] [--password PW]",
		Short: "Create a user (through the server, or directly in a database with --data/--database)",
		Args:  args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			n.Role = iam.Role(role)
			if n.Password == "" {
				n.Password = e.getenv("STEADY_USER_PASSWORD")
			}
			if isDirect(c) {
				return e.direct(c, &direct, func(ctx context.Context, s *iam.Service) (any, error) {
					return s.CreateUser(ctx, n)
				}, userColumns)
			}
			return e.call(c.Context(), "POST", "/api/v1/users", n, nil)
		},
	}
	create.Flags().StringVar(&n.Email, "email", "", "email address (the sign-in name)")
	create.Flags().StringVar(&n.Name, "name", "", "full name")
	create.Flags().StringVar(&role, "role", "viewer", "viewer, responder, manager or admin")
	create.Flags().StringVar(&n.Password, "password", "", "UI password (or env STEADY_USER_PASSWORD); none means API tokens only")
	e.bindServerFlags(create, &direct, false)
	c.AddCommand(create)

	var p struct {
		role, name, email string
		disabled          string
	}
	update := &cobra.Command{
		Use: "update ID|me [--role R] [--name N] [--email E] [--disabled true|false]", Short: "Change a user", Args: args(1, "a user id or me"),
		RunE: func(c *cobra.Command, a []string) error {
			body := map[string]any{}
			if p.role != "" {
				body["role"] = p.role
			}
			if p.name != "" {
				body["name"] = p.name
			}
			if p.email != "" {
				body["email"] = p.email
			}
			if p.disabled != "" {
				b, err := strconv.ParseBool(p.disabled)
				if err != nil {
					return usageError{fmt.Errorf("--disabled must be true or false")}
				}
				body["disabled"] = b
			}
			if pw := e.getenv("STEADY_USER_PASSWORD"); pw != "" {
				body["password"] = pw
			}
			return e.call(c.Context(), "PATCH", "/api/v1/users/"+url.PathEscape(a[0]), body, nil)
		},
	}
	update.Flags().StringVar(&p.role, "role", "", "new role")
	update.Flags().StringVar(&p.name, "name", "", "new name")
	update.Flags().StringVar(&p.email, "email", "", "new email")
	update.Flags().StringVar(&p.disabled, "disabled", "", "true to disable, false to enable")
	c.AddCommand(update)
	c.AddCommand(&cobra.Command{
		Use: "delete ID", Short: "Delete a user (the audit trail keeps what they did)", Args: args(1, "a user id"),
		RunE: func(c *cobra.Command, a []string) error {
			if err := e.client().do(c.Context(), "DELETE", "/api/v1/users/"+url.PathEscape(a[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "deleted user", a[0])
			return nil
		},
	})
	return c
}

func (e *env) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use: "whoami", Short: "Show the user the token acts as", Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.call(c.Context(), "GET", "/api/v1/users/me", nil, nil)
		},
	}
}

const teamColumns = "id name member_count description"

func (e *env) teamCmd() *cobra.Command {
	c := &cobra.Command{Use: "team", Short: "Manage teams and their members"}
	c.AddCommand(e.listCmd("list", "List teams", "/api/v1/teams", teamColumns, "q"))
	c.AddCommand(&cobra.Command{
		Use: "get ID", Short: "Show one team", Args: args(1, "a team id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/teams/"+url.PathEscape(a[0]), nil, nil)
		},
	})
	var n iam.NewTeam
	create := &cobra.Command{
		Use: "create NAME [--description TEXT]", Short: "Create a team", Args: args(1, "a team name"),
		RunE: func(c *cobra.Command, a []string) error {
			n.Name = a[0]
			return e.call(c.Context(), "POST", "/api/v1/teams", n, nil)
		},
	}
	create.Flags().StringVar(&n.Description, "description", "", "what the team does")
	c.AddCommand(create)
	c.AddCommand(&cobra.Command{
		Use: "delete ID", Short: "Delete a team", Args: args(1, "a team id"),
		RunE: func(c *cobra.Command, a []string) error {
			if err := e.client().do(c.Context(), "DELETE", "/api/v1/teams/"+url.PathEscape(a[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "deleted team", a[0])
			return nil
		},
	})
	members := &cobra.Command{Use: "member", Short: "List, add and remove team members"}
	members.AddCommand(&cobra.Command{
		Use: "list TEAM_ID", Short: "List the members of a team", Args: args(1, "a team id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "GET", "/api/v1/teams/"+url.PathEscape(a[0])+"/members", nil, cols("user_id email name team_role"))
		},
	})
	var lead bool
	add := &cobra.Command{
		Use: "add TEAM_ID USER_ID [--lead]", Short: "Add a user to a team (or change their team role)", Args: args(2, "a team id and a user id"),
		RunE: func(c *cobra.Command, a []string) error {
			uid, err := strconv.ParseInt(a[1], 10, 64)
			if err != nil {
				return usageError{fmt.Errorf("USER_ID must be a number")}
			}
			role := iam.TeamMember
			if lead {
				role = iam.TeamLead
			}
			return e.call(c.Context(), "POST", "/api/v1/teams/"+url.PathEscape(a[0])+"/members",
				map[string]any{"user_id": uid, "team_role": role}, nil)
		},
	}
	add.Flags().BoolVar(&lead, "lead", false, "make them a team lead")
	members.AddCommand(add)
	members.AddCommand(&cobra.Command{
		Use: "remove TEAM_ID USER_ID", Short: "Take a user out of a team", Args: args(2, "a team id and a user id"),
		RunE: func(c *cobra.Command, a []string) error {
			if err := e.client().do(c.Context(), "DELETE", "/api/v1/teams/"+url.PathEscape(a[0])+"/members/"+url.PathEscape(a[1]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "removed user %s from team %s\n", a[1], a[0])
			return nil
		},
	})
	c.AddCommand(members)
	return c
}

const tokenColumns = "id name hint user_id role expires_at last_used_at revoked_at"

func (e *env) tokenCmd() *cobra.Command {
	c := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	c.AddCommand(e.listCmd("list", "List API tokens (yours; all for an admin)", "/api/v1/tokens", tokenColumns, "user"))
	var name, role string
	var userID int64
	var ttl time.Duration
	var direct serverFlags
	create := &cobra.Command{
		Use:   "create --name NAME [--user ID] [--role ROLE] [--expires-in DURATION]",
		Short: "Create an API token; its secret is printed once",
		Long: `Create an API token. With --user it acts as that user (at most --role when
given); without --user it is a service token with --role. Through the server,
or directly in a database with --data/--database (to recover admin access).`,
		Args: args(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			n := iam.NewToken{Name: name}
			if userID != 0 {
				n.UserID = &userID
			}
			if role != "" {
				r := iam.Role(role)
				n.Role = &r
			}
			if ttl > 0 {
				t := time.Now().Add(ttl).UTC()
				n.ExpiresAt = &t
			}
			if isDirect(c) {
				return e.direct(c, &direct, func(ctx context.Context, s *iam.Service) (any, error) {
					return s.CreateToken(ctx, n)
				}, "")
			}
			return e.call(c.Context(), "POST", "/api/v1/tokens", n, nil)
		},
	}
	create.Flags().StringVar(&name, "name", "", "what the token is for")
	create.Flags().Int64Var(&userID, "user", 0, "id of the user the token acts as")
	create.Flags().StringVar(&role, "role", "", "role of a service token, or a cap on a user's token")
	create.Flags().DurationVar(&ttl, "expires-in", 0, "lifetime, e.g. 720h; none means no expiry")
	e.bindServerFlags(create, &direct, false)
	c.AddCommand(create)
	c.AddCommand(&cobra.Command{
		Use: "revoke ID", Short: "Revoke an API token", Args: args(1, "a token id"),
		RunE: func(c *cobra.Command, a []string) error {
			return e.call(c.Context(), "DELETE", "/api/v1/tokens/"+url.PathEscape(a[0]), nil, nil)
		},
	})
	return c
}

func (e *env) auditCmd() *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "Read and verify the audit trail"}
	c.AddCommand(e.listCmd("list", "List audit entries, newest first", "/api/v1/audit",
		"seq at actor_name action object_type object_id summary source", "actor", "action", "object_type", "object_id", "since", "until"))
	c.AddCommand(e.auditVerifyCmd())
	return c
}

// isDirect reports whether a command was pointed at a database instead of a server.
func isDirect(c *cobra.Command) bool {
	return c.Flags().Changed("data") || c.Flags().Changed("database") || c.Flags().Changed("config")
}

// direct runs fn against the database itself, as the local operator: for
// recovery when no admin token is at hand. The action is audited with source
// "cli" and the operating-system user as actor.
func (e *env) direct(c *cobra.Command, s *serverFlags, fn func(context.Context, *iam.Service) (any, error), columns string) error {
	o, err := e.options(c, s)
	if err != nil {
		return usageError{err}
	}
	ctx := c.Context()
	if o.DatabaseURL == "" {
		// A running server holds the directory: then go through it instead.
		unlock, err := db.LockDir(o.DataDir)
		if err != nil {
			return fmt.Errorf("%w: use the client form (--server, --token) while the server runs", err)
		}
		defer unlock()
	}
	d, err := db.Open(ctx, db.Config{URL: o.DatabaseURL, DataDir: o.DataDir, Synchronous: o.Synchronous})
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx, time.Now()); err != nil {
		return err
	}
	svc := iam.New(d, &audit.Log{DB: d, Clock: clock.Real{}}, clock.Real{})
	who := e.env("USER", "unknown")
	ctx = reqctx.WithSource(reqctx.WithActor(ctx, reqctx.Actor{Type: "cli", ID: who, Name: who + " (local)"}), "cli")
	out, err := fn(ctx, svc)
	if err != nil {
		return err
	}
	return e.printValue(out, cols(columns))
}

// printValue prints a Go value the way the API would have returned it.
func (e *env) printValue(v any, columns []column) error {
	b, err := jsonRoundTrip(v)
	if err != nil {
		return err
	}
	return e.print(b, columns)
}
