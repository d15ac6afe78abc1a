package oncall_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/service"
	"github.com/steadyhq/steady/internal/testkit"
)

func policyActor(role iam.Role) context.Context {
	return iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "x@example.com", Role: role})
}

func TestPolicyStore(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		ps := s.App.Policies
		mgr, viewer := policyActor(iam.RoleManager), policyActor(iam.RoleViewer)
		alice := s.NewUser(iam.RoleResponder)

		in := oncall.PolicyInput{Name: " Storage ", Repeat: 1, Levels: []oncall.LevelInput{
			{DelayMinutes: 5, Targets: []oncall.TargetInput{{Kind: oncall.TargetUser, Name: alice.Email}}},
			{DelayMinutes: 30, Targets: []oncall.TargetInput{{Kind: oncall.TargetUser, ID: s.AdminID}}},
		}}
		if _, err := ps.Create(policyActor(iam.RoleResponder), in); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a responder created a policy: %v", err)
		}
		p, err := ps.Create(mgr, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Storage" || p.Levels[0].Targets[0].ID != alice.ID || p.Levels[1].Targets[0].Name == "" || p.Version != 1 {
			t.Fatalf("created: %+v", p)
		}

		// Load reads through any querier, without access checks, also in a transaction.
		err = s.App.DB.Tx(context.Background(), func(tx *sql.Tx) error {
			got, err := ps.Load(context.Background(), tx, p.ID)
			if err != nil {
				return err
			}
			if got.Repeat != 1 || len(got.Levels) != 2 || got.Levels[1].DelayMinutes != 30 || got.Levels[1].Targets[0].ID != s.AdminID {
				t.Errorf("loaded: %+v", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ps.Load(context.Background(), s.App.DB.R, p.ID+100); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("load a missing policy: %v", err)
		}

		// OfService: none, attached, detached; a missing service has none.
		svc, err := s.App.Services.Create(mgr, service.Fields{Name: policyPtr("db")})
		if err != nil {
			t.Fatal(err)
		}
		if id, ok, err := ps.OfService(context.Background(), s.App.DB.R, svc.ID); err != nil || ok || id != 0 {
			t.Fatalf("no policy: %d %v %v", id, ok, err)
		}
		if _, err := s.App.Services.Update(mgr, svc.ID, service.Fields{EscalationPolicyID: policyPtr(p.ID + 100)}, 0); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("attach a missing policy: %v", err)
		}
		up, err := s.App.Services.Update(mgr, svc.ID, service.Fields{EscalationPolicyID: &p.ID}, 0)
		if err != nil || up.EscalationPolicyID == nil || *up.EscalationPolicyID != p.ID {
			t.Fatalf("attach: %+v %v", up, err)
		}
		if id, ok, err := ps.OfService(context.Background(), s.App.DB.R, svc.ID); err != nil || !ok || id != p.ID {
			t.Fatalf("attached policy: %d %v %v", id, ok, err)
		}
		if id, ok, err := ps.OfService(context.Background(), s.App.DB.R, svc.ID+100); err != nil || ok || id != 0 {
			t.Fatalf("policy of a missing service: %d %v %v", id, ok, err)
		}
		if err := ps.Delete(mgr, p.ID); !errs.Is(err, errs.KindConflict) {
			t.Fatalf("deleted a policy in use: %v", err)
		}
		l, err := ps.List(viewer, oncall.PolicyFilter{}, page.Request{Limit: 10})
		if err != nil || len(l.Items) != 1 || len(l.Items[0].Services) != 1 || l.Items[0].Services[0].Name != "db" {
			t.Fatalf("list: %+v %v", l, err)
		}
		if _, err := s.App.Services.Update(mgr, svc.ID, service.Fields{EscalationPolicyID: policyPtr(int64(0))}, 0); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := ps.OfService(context.Background(), s.App.DB.R, svc.ID); ok {
			t.Fatal("a detached service still has a policy")
		}

		// Replace keeps the id, bumps the version, and refuses a stale one.
		in.Levels = in.Levels[:1]
		r, err := ps.Replace(mgr, p.ID, in, p.Version)
		if err != nil || r.Version != 2 || len(r.Levels) != 1 {
			t.Fatalf("replace: %+v %v", r, err)
		}
		if _, err := ps.Replace(mgr, p.ID, in, p.Version); !errs.Is(err, errs.KindPreconditionFailed) {
			t.Fatalf("stale replace: %v", err)
		}
		if err := ps.Delete(mgr, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.Get(viewer, p.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("deleted policy: %v", err)
		}
	})
}

func policyPtr[T any](v T) *T { return &v }
