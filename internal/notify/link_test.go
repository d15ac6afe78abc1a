package notify_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/notify"
)

var linkKey = bytes.Repeat([]byte("k"), 32)

func TestLinkRoundTrip(t *testing.T) {
	s := notify.NewSigner(linkKey)
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for _, l := range []notify.Link{
		{Action: notify.ActionAcknowledge, IncidentID: 1, UserID: 2, OutboxID: 3, Expires: now.Add(time.Hour)},
		{Action: notify.ActionResolve, IncidentID: 1 << 40, UserID: 7, OutboxID: 0, Expires: now.Add(72 * time.Hour)},
	} {
		tok := s.Sign(l)
		if tok == "" || strings.ContainsAny(tok, "+/=") {
			t.Fatalf("token %q is not URL-safe", tok)
		}
		got, err := s.Verify(tok, now)
		if err != nil {
			t.Fatalf("verify %v: %v", l, err)
		}
		if got != l {
			t.Fatalf("round trip: got %+v, want %+v", got, l)
		}
	}
}

func TestLinkRefusals(t *testing.T) {
	s := notify.NewSigner(linkKey)
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	l := notify.Link{Action: notify.ActionAcknowledge, IncidentID: 41, UserID: 2, OutboxID: 3, Expires: now.Add(time.Hour)}
	tok := s.Sign(l)
	payload, sig, _ := strings.Cut(tok, ".")
	enc := base64.RawURLEncoding

	// The same link for another incident or action, signed by nobody.
	raw, _ := enc.DecodeString(payload)
	other := append([]byte(nil), raw...)
	other[2]++ // the incident id
	resolve := append([]byte(nil), raw...)
	resolve[1] = 'r'
	flipped, _ := enc.DecodeString(sig)
	flipped[0] ^= 1

	cases := []struct {
		name  string
		token string
		at    time.Time
		want  error
	}{
		{"tampered payload (incident)", enc.EncodeToString(other) + "." + sig, now, notify.ErrLinkForged},
		{"tampered payload (action)", enc.EncodeToString(resolve) + "." + sig, now, notify.ErrLinkForged},
		{"tampered signature", payload + "." + enc.EncodeToString(flipped), now, notify.ErrLinkForged},
		{"wrong key", notify.NewSigner(bytes.Repeat([]byte("x"), 32)).Sign(l), now, notify.ErrLinkForged},
		{"expired", tok, now.Add(time.Hour), notify.ErrLinkExpired},
		{"truncated signature", tok[:len(tok)-5], now, notify.ErrLinkMalformed},
		{"truncated to the payload", payload, now, notify.ErrLinkMalformed},
		{"empty", "", now, notify.ErrLinkMalformed},
		{"garbage", "not a token at all", now, notify.ErrLinkMalformed},
		{"garbage with a dot", "!!!.???", now, notify.ErrLinkMalformed},
		{"two tokens", tok + tok, now, notify.ErrLinkMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Verify(c.token, c.at)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
			if c.want != notify.ErrLinkExpired && got != (notify.Link{}) {
				t.Fatalf("a refused link returned %+v", got)
			}
		})
	}
	// An expired link still says what it was for (its signature held).
	if got, err := s.Verify(tok, now.Add(2*time.Hour)); !errors.Is(err, notify.ErrLinkExpired) || got.IncidentID != 41 {
		t.Fatalf("expired: %+v %v", got, err)
	}
	// A signed payload that does not parse is malformed, not trusted.
	for _, bad := range [][]byte{{1, 'x', 1, 2, 3, 4}, {2, 'a', 1, 2, 3, 4}, {1, 'a', 1, 2}, {1, 'a', 1, 2, 3, 4, 5}} {
		m := hmac.New(sha256.New, linkKey)
		m.Write(bad)
		if _, err := s.Verify(enc.EncodeToString(bad)+"."+enc.EncodeToString(m.Sum(nil)), now); !errors.Is(err, notify.ErrLinkMalformed) {
			t.Errorf("signed payload %v: %v, want malformed", bad, err)
		}
	}
}

func TestSignerNeedsAKey(t *testing.T) {
	now := time.Now()
	l := notify.Link{Action: notify.ActionAcknowledge, IncidentID: 1, UserID: 1, Expires: now.Add(time.Hour)}
	var zero notify.Signer
	if zero.Valid() || zero.Sign(l) != "" {
		t.Fatal("a signer without a key signs")
	}
	if _, err := zero.Verify(notify.NewSigner(linkKey).Sign(l), now); !errors.Is(err, notify.ErrLinkForged) {
		t.Fatalf("a signer without a key accepts: %v", err)
	}
	if notify.NewSigner(linkKey).Sign(notify.Link{Action: "delete", Expires: now}) != "" {
		t.Fatal("an unknown action was signed")
	}
}
