package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/iam"
)

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) error {
	var in iam.NewTeam
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.IAM.CreateTeam(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/teams/"+itoa(t.ID))
	return writeVersioned(w, http.StatusCreated, t.Version, t)
}

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

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.IAM.GetTeam(r.Context(), id)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, t.Version, t)
}

func (s *Server) updateTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	var in iam.TeamPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.IAM.UpdateTeam(r.Context(), id, in, ver)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, t.Version, t)
}

func (s *Server) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.IAM.DeleteTeam(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
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
