package iam

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 key of RFC 6238's test vectors, base32 encoded.
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

// TestTOTPCodeRFC6238 checks the SHA-1 vectors of RFC 6238 appendix B. The RFC
// prints 8 digits; Steady's codes are the last 6 of them.
func TestTOTPCodeRFC6238(t *testing.T) {
	for _, v := range []struct {
		unix int64
		rfc  string // 8 digits, as printed in the RFC
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got, err := TOTPCode(rfcSecret, time.Unix(v.unix, 0))
		if err != nil {
			t.Fatal(err)
		}
		if want := v.rfc[2:]; got != want {
			t.Errorf("T=%d: code %s; want %s", v.unix, got, want)
		}
	}
	if got, _ := TOTPCode(rfcSecret, time.Unix(59, 0)); got != "287082" {
		t.Fatalf("T=59: %s; want 287082", got)
	}
	if _, err := TOTPCode("not base32!", time.Unix(59, 0)); err == nil {
		t.Fatal("TOTPCode accepted a secret that is not base32")
	}
}

func TestMatchTOTP(t *testing.T) {
	now := time.Unix(1_700_000_015, 0) // the middle of a 30-second step
	step := now.Unix() / totpStep
	code := func(s int64) string { c, _ := TOTPCode(rfcSecret, time.Unix(s*totpStep, 0)); return c }
	cases := []struct {
		name     string
		code     string
		lastStep int64
		wantOK   bool
		wantStep int64
	}{
		{"current step", code(step), 0, true, step},
		{"one step behind (clock drift)", code(step - 1), 0, true, step - 1},
		{"one step ahead (clock drift)", code(step + 1), 0, true, step + 1},
		{"two steps behind", code(step - 2), 0, false, 0},
		{"two steps ahead", code(step + 2), 0, false, 0},
		{"already used", code(step), step, false, 0},
		{"older than the last used", code(step - 1), step, false, 0},
		{"newer than the last used", code(step + 1), step, true, step + 1},
		{"too short", code(step)[:5], 0, false, 0},
		{"too long", code(step) + "0", 0, false, 0},
		{"empty", "", 0, false, 0},
		{"not digits", "abcdef", 0, false, 0},
	}
	for _, c := range cases {
		got, ok := matchTOTP(rfcSecret, c.code, now, c.lastStep)
		if ok != c.wantOK || got != c.wantStep {
			t.Errorf("%s: matchTOTP(%q) = %d, %v; want %d, %v", c.name, c.code, got, ok, c.wantStep, c.wantOK)
		}
	}
	if _, ok := matchTOTP("***", code(step), now, 0); ok {
		t.Error("a broken secret matched")
	}
}

func TestTOTPSecretAndURI(t *testing.T) {
	a, b := newTOTPSecret(), newTOTPSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	key, err := totpEnc.DecodeString(a)
	if err != nil || len(key) != 20 {
		t.Fatalf("secret %q decodes to %d bytes, %v; want 20 (160 bits, as RFC 4226 recommends)", a, len(key), err)
	}
	u, err := url.Parse(totpURI(a, "ada@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || !strings.HasPrefix(u.Path, "/Steady:ada@example.com") ||
		q.Get("secret") != a || q.Get("issuer") != "Steady" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Fatalf("URI %s", u)
	}
}
