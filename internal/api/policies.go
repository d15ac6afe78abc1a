package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/oncall"
)

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	team, err := queryID(r, "team")
	if err != nil {
		return err
	}
	l, err := s.Policies.List(r.Context(), oncall.PolicyFilter{TeamID: team, Query: r.URL.Query().Get("q")}, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func policyRef(x oncall.Policy) (id, version int64) { return x.ID, x.Version }
