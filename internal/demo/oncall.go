package demo

import (
	"context"
	"time"

	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/service"
)

// demoRotation is a team's on-call schedule and escalation policy.
type demoRotation struct {
	team, zone string
	unit       string   // shift unit of the rotation
	rota       []string // emails, in turn
	backup     string   // the second level: the team lead
	services   []string // the services the policy pages for
}

var rotations = []demoRotation{
	{"Platform", "Europe/Berlin", "week", []string{"linus@example.com", "barbara@example.com", AdminEmail}, AdminEmail,
		[]string{"Kubernetes Platform"}},
	{"Payments", "America/New_York", "day", []string{"margaret@example.com", "grace@example.com"}, "grace@example.com",
		[]string{"Checkout API", "Payment Gateway"}},
	{"Databases", "Europe/London", "week", []string{"edgar@example.com", "barbara@example.com"}, "edgar@example.com",
		[]string{"PostgreSQL Fleet"}},
}

// seedOnCall gives three teams a schedule (started last Monday at 09:00
// local time), an override, and a two-level policy on their services. It
// runs after the estate, so the demo's incidents page nobody.
func seedOnCall(ctx context.Context, e Estate, teamID, people map[string]int64) error {
	now := e.Clock.Now()
	for i, r := range rotations {
		loc, err := time.LoadLocation(r.zone)
		if err != nil {
			return err
		}
		local := now.In(loc)
		monday := local.AddDate(0, 0, -((int(local.Weekday()) + 6) % 7))
		start := time.Date(monday.Year(), monday.Month(), monday.Day(), 9, 0, 0, 0, loc).AddDate(0, 0, -7)
		var rota []int64
		for _, email := range r.rota {
			rota = append(rota, people[email])
		}
		team := teamID[r.team]
		sched, err := e.Schedules.Create(ctx, oncall.ScheduleInput{Name: r.team + " primary", TimeZone: r.zone, TeamID: &team,
			Description: "The " + r.team + " team's first line.",
			Layers:      []oncall.LayerInput{{Name: "Rotation", Start: start.Format("2006-01-02T15:04"), ShiftUnit: r.unit, Participants: rota}}})
		if err != nil {
			return err
		}
		if i == 0 {
			// Someone covers for an afternoon tomorrow.
			from := time.Date(local.Year(), local.Month(), local.Day()+1, 13, 0, 0, 0, loc)
			if _, err := e.Schedules.CreateOverride(ctx, sched.ID, oncall.OverrideInput{UserID: people["barbara@example.com"],
				Start: from, End: from.Add(4 * time.Hour), Note: "covering a dentist appointment"}); err != nil {
				return err
			}
		}
		pol, err := e.Policies.Create(ctx, oncall.PolicyInput{Name: r.team, TeamID: team, Repeat: 1,
			Description: "The " + r.team + " on-call first, then the team lead.",
			Levels: []oncall.LevelInput{
				{DelayMinutes: 10, Targets: []oncall.TargetInput{{Kind: oncall.TargetSchedule, ID: sched.ID}}},
				{DelayMinutes: 15, Targets: []oncall.TargetInput{{Kind: oncall.TargetUser, ID: people[r.backup]}}},
			}})
		if err != nil {
			return err
		}
		for _, name := range r.services {
			l, err := e.Services.List(ctx, service.Filter{}, pageAll)
			if err != nil {
				return err
			}
			for _, s := range l.Items {
				if s.Name == name {
					if _, err := e.Services.Update(ctx, s.ID, service.Fields{EscalationPolicyID: &pol.ID}, 0); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
