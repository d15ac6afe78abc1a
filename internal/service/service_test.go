package service_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/service"
	"github.com/steadyhq/steady/internal/testkit"
)

func ptr[T any](v T) *T { return &v }

func as(role iam.Role) context.Context {
	return iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "x@example.com", Role: role})
}

func TestCatalog(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := service.New(s.App.DB, s.App.Audit, s.Clock)
		mgr := as(iam.RoleManager)

		if _, err := c.Create(as(iam.RoleResponder), service.Fields{Name: ptr("x")}); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a responder created a service: %v", err)
		}
		_, err := c.Create(mgr, service.Fields{Name: ptr(""), Criticality: ptr(service.Criticality("huge")),
			Labels: &map[string]string{"bad label": "x"}, GroupWindow: ptr(-1), TeamID: ptr(int64(999))})
		e, _ := errs.As(err)
		if e == nil || len(e.Fields) != 4 {
			t.Fatalf("validation: %v", err)
		}
		if _, err := c.Create(mgr, service.Fields{Name: ptr("ghost"), TeamID: ptr(int64(999))}); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("a missing team: %v", err)
		}

		svc, err := c.Create(mgr, service.Fields{Name: ptr("Checkout API"), Criticality: ptr(service.Critical),
			Labels: &map[string]string{"tier": "1"}, GroupBy: &[]string{"alertname"}})
		if err != nil {
			t.Fatal(err)
		}
		if !svc.AutoResolve || svc.GroupWindow != 300 || svc.Labels["tier"] != "1" || svc.GroupBy[0] != "alertname" {
			t.Fatalf("defaults: %+v", svc)
		}
		if _, err := c.Create(mgr, service.Fields{Name: ptr("Checkout API")}); !errs.Is(err, errs.KindConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		up, err := c.Update(mgr, svc.ID, service.Fields{Description: ptr("Takes the money")}, svc.Version)
		if err != nil || up.Description != "Takes the money" || up.Version != svc.Version+1 {
			t.Fatalf("update: %+v %v", up, err)
		}
		if _, err := c.Update(mgr, svc.ID, service.Fields{Description: ptr("stale")}, svc.Version); !errs.Is(err, errs.KindPreconditionFailed) {
			t.Fatalf("stale update: %v", err)
		}

		k, err := c.CreateKey(mgr, svc.ID, "prometheus")
		if err != nil || len(k.Key) != 32 {
			t.Fatalf("key: %+v %v", k, err)
		}
		sid, kid, err := c.Route(context.Background(), k.Key)
		if err != nil || sid != svc.ID || kid != k.ID {
			t.Fatalf("route: %d %d %v", sid, kid, err)
		}
		if _, _, err := c.Route(context.Background(), "nope"); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("unknown key: %v", err)
		}
		if _, err := c.RevokeKey(mgr, svc.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Route(context.Background(), k.Key); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("a revoked key still routes: %v", err)
		}
		keys, err := c.Keys(mgr, svc.ID)
		if err != nil || len(keys) != 1 || keys[0].RevokedAt == nil {
			t.Fatalf("keys: %+v %v", keys, err)
		}

		l, err := c.List(as(iam.RoleViewer), service.Filter{Query: "checkout"}, page.Request{Limit: 10})
		if err != nil || len(l.Items) != 1 {
			t.Fatalf("list: %+v %v", l, err)
		}
		if err := c.Delete(mgr, svc.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(mgr, svc.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("deleted service: %v", err)
		}
		a := s.Do("GET", "/api/v1/audit?action=service.", s.AdminToken, nil).Want(200).Map()
		if n := len(a["items"].([]any)); n != 5 {
			t.Fatalf("%d service audit entries, want 5 (create, update, key create, key revoke, delete)", n)
		}
	})
}

// A key's last-used time is written at most once a minute, and an expired
// cache entry is read again by one request while the others go on.
func TestRouteLastUsed(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		c := service.New(s.App.DB, s.App.Audit, s.Clock)
		mgr := as(iam.RoleManager)
		svc, err := c.Create(mgr, service.Fields{Name: ptr("api")})
		if err != nil {
			t.Fatal(err)
		}
		k, err := c.CreateKey(mgr, svc.ID, "prometheus")
		if err != nil {
			t.Fatal(err)
		}
		used := func() int64 {
			t.Helper()
			var v sql.NullInt64
			if err := s.App.DB.R.QueryRow("SELECT last_used_at FROM integration_keys WHERE id = $1", k.ID).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v.Int64
		}
		route := func() {
			t.Helper()
			if got, _, err := c.Route(context.Background(), k.Key); err != nil || got != svc.ID {
				t.Fatalf("route: %d, %v", got, err)
			}
		}
		route()
		first := used()
		if first != s.Clock.Now().UnixMilli() {
			t.Fatalf("last used %d, want %d", first, s.Clock.Now().UnixMilli())
		}
		s.Clock.Advance(10 * time.Second) // the cache has expired, the minute has not
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				route()
			}()
		}
		wg.Wait()
		if got := used(); got != first {
			t.Fatalf("last used written again after 10 s: %d → %d", first, got)
		}
		s.Clock.Advance(2 * time.Minute)
		route()
		if got := used(); got != s.Clock.Now().UnixMilli() {
			t.Fatalf("last used %d after two minutes, want %d", got, s.Clock.Now().UnixMilli())
		}
	})
}
