package oncall_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

func scheduleActor(role iam.Role) context.Context {
	return iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "x@example.com", Role: role})
}

// onCallInTx asks who is on call the way the escalation engine does: inside
// a write transaction.
func onCallInTx(t *testing.T, s *testkit.Server, id int64, at time.Time) []int64 {
	t.Helper()
	var out []int64
	err := s.App.DB.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		out, err = s.App.Schedules.OnCallAt(context.Background(), tx, id, at)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScheduleStore(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		s.Clock.Set(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
		ss := s.App.Schedules
		a, b, c := s.NewUser(iam.RoleResponder), s.NewUser(iam.RoleResponder), s.NewUser(iam.RoleResponder)
		// Daily at 08:00 New York time, across the change to EDT on 8 March.
		in := oncall.ScheduleInput{Name: "NY", TimeZone: "America/New_York", Layers: []oncall.LayerInput{
			{Start: "2026-03-06T08:00", ShiftUnit: oncall.UnitDay, Participants: []int64{a.ID, b.ID, c.ID}}}}
		if _, err := ss.Create(scheduleActor(iam.RoleResponder), in); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("a responder created a schedule: %v", err)
		}
		sc, err := ss.Create(scheduleActor(iam.RoleManager), in)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Layers[0].Name != "Layer 1" || sc.Layers[0].ShiftLength != 1 || sc.Version != 1 {
			t.Fatalf("created: %+v", sc)
		}
		at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
		for when, want := range map[string]int64{
			"2026-03-06T13:00:00Z": a.ID, // 08:00 EST
			"2026-03-08T11:59:00Z": b.ID, // 07:59 EDT: still the 7th's shift
			"2026-03-08T12:00:00Z": c.ID, // 08:00 EDT
			"2026-03-09T12:00:00Z": a.ID,
		} {
			if got := onCallInTx(t, s, sc.ID, at(when)); len(got) != 1 || got[0] != want {
				t.Errorf("at %s: %v; want %d", when, got, want)
			}
		}
		if got := onCallInTx(t, s, sc.ID, at("2026-03-06T12:59:00Z")); len(got) != 0 {
			t.Errorf("before the first shift: %v", got)
		}
		// "Now" on a real clock has nanoseconds; shifts are stored to the
		// millisecond.
		now, err := ss.Now(scheduleActor(iam.RoleViewer), sc.ID, at("2026-03-09T12:00:00Z").Add(1234567*time.Nanosecond))
		if err != nil || len(now.Users) != 1 || now.Users[0].UserID != a.ID {
			t.Errorf("now, between two milliseconds: %+v %v", now, err)
		}
		if _, err := ss.OnCallAt(context.Background(), s.App.DB.R, 424242, at("2026-03-06T12:59:00Z")); !errs.Is(err, errs.KindNotFound) {
			t.Errorf("an unknown schedule: %v", err)
		}

		// An override wins; deleting its user removes it and them from the rotation.
		o, err := ss.CreateOverride(scheduleActor(iam.RoleResponder), sc.ID, oncall.OverrideInput{UserID: c.ID,
			Start: at("2026-03-06T12:00:00Z"), End: at("2026-03-06T18:00:00Z")})
		if err != nil {
			t.Fatal(err)
		}
		if got := onCallInTx(t, s, sc.ID, at("2026-03-06T13:00:00Z")); len(got) != 1 || got[0] != c.ID {
			t.Fatalf("during the override: %v", got)
		}
		s.Do("DELETE", fmt.Sprintf("/api/v1/users/%d", c.ID), s.AdminToken, nil).Want(200, 204)
		if got := onCallInTx(t, s, sc.ID, at("2026-03-06T13:00:00Z")); len(got) != 1 || got[0] != a.ID {
			t.Fatalf("after the override's user was deleted: %v", got)
		}
		if err := ss.DeleteOverride(scheduleActor(iam.RoleResponder), sc.ID, o.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("the deleted user's override: %v", err)
		}
		got, _ := ss.Get(scheduleActor(iam.RoleViewer), sc.ID)
		if p := got.Layers[0].Participants; len(p) != 2 || p[0] != a.ID || p[1] != b.ID {
			t.Fatalf("participants after a user was deleted: %v", p)
		}

		// A stale replace changes nothing.
		in.Name = "New York"
		if _, err := ss.Replace(scheduleActor(iam.RoleManager), sc.ID, in, 7); !errs.Is(err, errs.KindPreconditionFailed) {
			t.Fatalf("stale replace: %v", err)
		}
		in.Layers[0].Participants = []int64{a.ID, 999999}
		if _, err := ss.Replace(scheduleActor(iam.RoleManager), sc.ID, in, 1); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("replace with an unknown user: %v", err)
		}
		if got, _ := ss.Get(scheduleActor(iam.RoleViewer), sc.ID); got.Name != "NY" || got.Version != 1 {
			t.Fatalf("a refused replace changed the schedule: %+v", got)
		}
	})
}

// BenchmarkOnCallAt measures the escalation engine's question on a
// schedule of three layers with hourly, daily and weekly rotations.
func BenchmarkOnCallAt(b *testing.B) {
	s := testkit.Start(b, db.SQLite)
	u := s.NewUser(iam.RoleResponder)
	users := []int64{u.ID, s.AdminID, u.ID}
	sc, err := s.App.Schedules.Create(context.Background(), oncall.ScheduleInput{Name: "Bench", TimeZone: "Europe/Berlin",
		Layers: []oncall.LayerInput{
			{Start: "2025-01-06T09:00", ShiftUnit: oncall.UnitWeek, Participants: users},
			{Start: "2025-01-06T09:00", ShiftUnit: oncall.UnitDay, Participants: users,
				Restrictions: []oncall.Restriction{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}}},
			{Start: "2025-01-06T00:00", ShiftUnit: oncall.UnitHour, ShiftLength: 8, Participants: users,
				Restrictions: []oncall.Restriction{{Days: []string{"sat", "sun"}, Start: "00:00", End: "23:59"}}},
		}})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.App.Schedules.OnCallAt(ctx, s.App.DB.R, sc.ID, at.Add(time.Duration(i)*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
}
