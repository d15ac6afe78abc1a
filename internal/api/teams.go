package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/iam"
)

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	l, err := s.IAM.ListTeams(r.Context(), r.URL.Query().Get("q"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ms, err := s.IAM.Members(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": ms, "next": ""})
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		UserID   int64        `json:"user_id"`
		TeamRole iam.TeamRole `json:"team_role"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := s.IAM.SetMember(r.Context(), id, in.UserID, in.TeamRole)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, m)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	uid, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := s.IAM.RemoveMember(r.Context(), id, uid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func teamRef(x iam.Team) (id, version int64) { return x.ID, x.Version }
