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

func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request) error {
	var in oncall.PolicyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.Policies.Create(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/escalation-policies/"+itoa(p.ID))
	return writeVersioned(w, http.StatusCreated, p.Version, p)
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.Policies.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, p.Version, p)
}

func (s *Server) replacePolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	var in oncall.PolicyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.Policies.Replace(r.Context(), id, in, ver)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, p.Version, p)
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Policies.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
