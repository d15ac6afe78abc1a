package web

import (
	"net/http"
	"strconv"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/page"
)

// priorityCount is one tile of the open incidents on the dashboard.
type priorityCount struct {
	Priority string
	Count    int
}

type homeData struct {
	Counts  iam.Overview
	MyTeams []iam.Membership
	Recent  []audit.Entry // managers and admins only
	// Open counts the open incidents the user may read, P1 to P5.
	Open      []priorityCount
	OpenTotal int
	// Mine are the open incidents assigned to the user.
	Mine []incidentRow
	// OnCall says who is on call now in each schedule, and until when.
	OnCall []oncall.OnCall
}

// recentAudit is how many audit entries the dashboard shows.
const recentAudit = 8

// myIncidents is how many of their open incidents the dashboard shows a user.
const myIncidents = 10

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var d homeData
	var err error
	if d.Counts, err = s.IAM.Overview(ctx); err != nil {
		return err
	}
	if d.MyTeams, err = s.IAM.TeamsOf(ctx, me(r).UserID); err != nil {
		return err
	}
	open, err := s.Incidents.OpenCounts(ctx)
	if err != nil {
		return err
	}
	for i := 1; i <= 5; i++ {
		p := "P" + strconv.Itoa(i)
		d.Open = append(d.Open, priorityCount{Priority: p, Count: open[p]})
		d.OpenTotal += open[p]
	}
	mine, err := s.Incidents.List(ctx, incident.Filter{AssigneeID: me(r).UserID, Statuses: []incident.Status{"open"}},
		page.Request{Limit: myIncidents})
	if err != nil {
		return err
	}
	if d.Mine, err = s.rowsOf(r, mine.Items); err != nil {
		return err
	}
	if s.Schedules != nil {
		if d.OnCall, err = s.Schedules.AllNow(ctx, s.Clock.Now()); err != nil {
			return err
		}
	}
	if me(r).Role.AtLeast(iam.RoleManager) {
		l, err := s.Audit.List(ctx, audit.Filter{}, page.Request{Limit: recentAudit})
		if err != nil {
			return err
		}
		d.Recent = l.Items
	}
	return s.render(w, r, http.StatusOK, s.v.home, view{Title: "Home", Nav: "home", Data: d})
}
