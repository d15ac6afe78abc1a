package web

import (
	"net/http"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/page"
)

type homeData struct {
	Counts  iam.Overview
	MyTeams []iam.Membership
	Recent  []audit.Entry // managers and admins only
}

// recentAudit is how many audit entries the dashboard shows.
const recentAudit = 8

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
	if me(r).Role.AtLeast(iam.RoleManager) {
		l, err := s.Audit.List(ctx, audit.Filter{}, page.Request{Limit: recentAudit})
		if err != nil {
			return err
		}
		d.Recent = l.Items
	}
	return s.render(w, r, http.StatusOK, s.v.home, view{Title: "Home", Nav: "home", Data: d})
}
