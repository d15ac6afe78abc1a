package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Link actions.
const (
	ActionAcknowledge = "acknowledge"
	ActionResolve     = "resolve"
)

// Link is what a signed one-click link allows: one action on one incident,
// as the user the message went to, until it expires.
type Link struct {
	Action     string
	IncidentID int64
	UserID     int64
	OutboxID   int64
	Expires    time.Time
}

// Errors of Verify. They are distinct so that a page can say what is wrong:
// a forged or altered link, one that is no longer valid, or one that is not
// a link at all (cut off when it was copied).
var (
	ErrLinkForged    = errors.New("the link's signature does not match: it was altered or not made by this server")
	ErrLinkExpired   = errors.New("the link has expired")
	ErrLinkMalformed = errors.New("the link is not complete or not a Steady link")
)

// MinLinkKey is the shortest key a Signer accepts.
const MinLinkKey = 32

// Signer signs and checks links with a server secret.
type Signer struct{ key []byte }

// NewSigner returns a signer with key (at least MinLinkKey bytes; with a
// shorter key the signer signs nothing and accepts nothing).
func NewSigner(key []byte) Signer { return Signer{key: append([]byte(nil), key...)} }

// Valid reports whether the signer has a key long enough to sign with.
func (s Signer) Valid() bool { return len(s.key) >= MinLinkKey }

// linkVersion is the first byte of every payload, so that a later format can
// be told apart.
const linkVersion = 1

var actionCodes = map[string]byte{ActionAcknowledge: 'a', ActionResolve: 'r'}

// Sign returns the token of l, for a URL path: base64url(payload) "."
// base64url(HMAC-SHA256(key, payload)). The payload holds the action, the
// incident, user and outbox ids and the expiry in Unix seconds. Sign returns
// "" when the signer has no usable key or the action is unknown.
func (s Signer) Sign(l Link) string {
	code, ok := actionCodes[l.Action]
	if !s.Valid() || !ok {
		return ""
	}
	p := make([]byte, 0, 2+4*binary.MaxVarintLen64)
	p = append(p, linkVersion, code)
	p = binary.AppendUvarint(p, uint64(l.IncidentID))
	p = binary.AppendUvarint(p, uint64(l.UserID))
	p = binary.AppendUvarint(p, uint64(l.OutboxID))
	p = binary.AppendVarint(p, l.Expires.Unix())
	enc := base64.RawURLEncoding
	return enc.EncodeToString(p) + "." + enc.EncodeToString(s.mac(p))
}

func (s Signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)
}

// Verify checks a token at now: its signature (in constant time), then its
// expiry. An expired link is returned with ErrLinkExpired, so that a page
// can name the incident it was for; a forged or malformed one is returned
// empty.
func (s Signer) Verify(token string, now time.Time) (Link, error) {
	enc := base64.RawURLEncoding
	ps, ss, ok := strings.Cut(token, ".")
	if !ok || ps == "" || ss == "" || len(token) > 512 {
		return Link{}, ErrLinkMalformed
	}
	payload, err := enc.DecodeString(ps)
	if err != nil {
		return Link{}, ErrLinkMalformed
	}
	sig, err := enc.DecodeString(ss)
	if err != nil || len(sig) != sha256.Size {
		return Link{}, ErrLinkMalformed
	}
	if !s.Valid() || !hmac.Equal(sig, s.mac(payload)) {
		return Link{}, ErrLinkForged
	}
	l, ok := parseLink(payload)
	if !ok {
		return Link{}, ErrLinkMalformed
	}
	if !now.Before(l.Expires) {
		return l, ErrLinkExpired
	}
	return l, nil
}

func parseLink(p []byte) (Link, bool) {
	var l Link
	if len(p) < 2 || p[0] != linkVersion {
		return l, false
	}
	for a, c := range actionCodes {
		if c == p[1] {
			l.Action = a
		}
	}
	if l.Action == "" {
		return l, false
	}
	p = p[2:]
	var ids [3]int64
	for i := range ids {
		v, n := binary.Uvarint(p)
		if n <= 0 || v > 1<<62 {
			return l, false
		}
		ids[i], p = int64(v), p[n:]
	}
	exp, n := binary.Varint(p)
	if n <= 0 || n != len(p) {
		return l, false
	}
	l.IncidentID, l.UserID, l.OutboxID, l.Expires = ids[0], ids[1], ids[2], time.Unix(exp, 0).UTC()
	return l, true
}
