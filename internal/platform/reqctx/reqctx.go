// Package reqctx carries who is acting and which request it is through a
// context, so that capability packages can record both without knowing HTTP.
package reqctx

import "context"

// Actor is who performs an action: a user, a token without a user, or the system.
type Actor struct {
	Type string // "user", "token", "system", "cli"
	ID   string
	Name string
}

// System is the actor for actions Steady takes by itself.
var System = Actor{Type: "system", ID: "steady", Name: "steady"}

type actorKey struct{}
type requestIDKey struct{}
type sourceKey struct{}

func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the acting party, System when none was set.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return System
}

func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// WithSource records through which door an action came in: "api", "web", "cli".
func WithSource(ctx context.Context, s string) context.Context {
	return context.WithValue(ctx, sourceKey{}, s)
}

func Source(ctx context.Context) string {
	if s, ok := ctx.Value(sourceKey{}).(string); ok {
		return s
	}
	return "system"
}
