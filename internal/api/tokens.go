package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/iam"
)

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in iam.NewToken
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.IAM.CreateToken(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tokens/"+itoa(t.ID))
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	uid, err := queryID(r, "user")
	if err != nil {
		return err
	}
	l, err := s.IAM.ListTokens(r.Context(), uid, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.IAM.GetToken(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.IAM.RevokeToken(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}
