// Package ids makes random identifiers and secrets.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Random returns n random bytes encoded as lower-case base32.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return enc.EncodeToString(b)
}

// Secret returns a high-entropy secret with a readable prefix, e.g. "stdy_…".
func Secret(prefix string) string { return prefix + "_" + Random(24) }

// Hash is the stored form of a high-entropy secret (tokens, session ids):
// SHA-256 is enough because the secret itself cannot be guessed.
func Hash(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(s[:])
}

// RequestID returns a short random request id.
func RequestID() string { return strings.ToUpper(Random(10)) }
