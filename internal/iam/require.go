package iam

import "context"

// Require fails with KindForbidden unless the caller of ctx has at least role
// min. Other capabilities use it for their own permission checks; a context
// without a principal (Steady itself, a local command) may do anything.
func Require(ctx context.Context, min Role) error { return require(ctx, min) }
