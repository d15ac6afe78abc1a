//go:build !unix

package db

import "errors"

// ErrLocked means another process (a running server) holds the data directory.
var ErrLocked = errors.New("the data directory is in use by a running steady server")

// LockDir is a no-op where advisory file locks are not available.
func LockDir(dir string) (release func(), err error) { return func() {}, nil }
