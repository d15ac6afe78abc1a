package iam

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/platform/clock"
)

func TestPasswordHash(t *testing.T) {
	s := New(nil, nil, clock.NewFake(time.Unix(0, 0)))
	ctx := context.Background()
	h, err := s.hashPassword(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=2$") || strings.Contains(h, "correct horse") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := s.hashPassword(ctx, "correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, c := range []struct {
		stored, pw string
		want       bool
	}{
		{h, "correct horse", true},
		{h2, "correct horse", true},
		{h, "correct horse ", false},
		{h, "", false},
		{dummyHash, "anything", false},
		{"", "x", false},
		{"$bcrypt$whatever", "x", false},
		{"$argon2id$v=19$m=x$salt$key", "x", false},
		{"$argon2id$v=19$m=65536,t=1,p=2$!!$!!", "x", false},
	} {
		got, err := s.checkPassword(ctx, c.stored, c.pw)
		if err != nil || got != c.want {
			t.Errorf("checkPassword(%q, %q) = %v, %v; want %v", c.stored, c.pw, got, err, c.want)
		}
	}
	// A caller that gives up while waiting for a hasher gets its error back.
	s.hashers <- struct{}{}
	s.hashers <- struct{}{}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.hashPassword(cctx, "x"); err == nil {
		t.Fatal("hashPassword ran with every hasher busy and its context done")
	}
}

func TestRoles(t *testing.T) {
	for i, r := range Roles {
		if !r.Valid() {
			t.Errorf("%s is not valid", r)
		}
		for j, min := range Roles {
			if got := r.AtLeast(min); got != (i >= j) {
				t.Errorf("%s.AtLeast(%s) = %v", r, min, got)
			}
		}
	}
	for _, r := range []Role{"", "root", "Admin", "ADMIN"} {
		if r.Valid() || r.AtLeast(RoleViewer) {
			t.Errorf("%q is accepted as a role", r)
		}
	}
	if lower(RoleAdmin, RoleViewer) != RoleViewer || lower(RoleResponder, RoleManager) != RoleResponder {
		t.Error("lower does not pick the weaker role")
	}
}
