package iam

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"time"
)

// TOTP (RFC 6238): SHA-1, 6 digits, 30-second steps, one step of drift allowed.
const totpStep = 30

var totpEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

func newTOTPSecret() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return totpEnc.EncodeToString(b)
}

// TOTPCode returns the code of secret at time t.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := totpEnc.DecodeString(secret)
	if err != nil {
		return "", err
	}
	return hotp(key, uint64(t.Unix()/totpStep)), nil
}

func hotp(key []byte, counter uint64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// matchTOTP returns the step that code matches at time t (within one step of
// drift) and whether it is newer than lastStep, so that a code works once.
func matchTOTP(secret, code string, t time.Time, lastStep int64) (int64, bool) {
	key, err := totpEnc.DecodeString(secret)
	if err != nil || len(code) != 6 {
		return 0, false
	}
	now := t.Unix() / totpStep
	for _, step := range []int64{now - 1, now, now + 1} {
		if step > lastStep && hmac.Equal([]byte(hotp(key, uint64(step))), []byte(code)) {
			return step, true
		}
	}
	return 0, false
}

// totpURI is the otpauth:// URI an authenticator app reads.
func totpURI(secret, account string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", "Steady")
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	return "otpauth://totp/" + url.PathEscape("Steady:"+account) + "?" + v.Encode()
}
