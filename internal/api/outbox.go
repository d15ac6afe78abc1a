package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/notify"
)

// listOutbox lists outbox items newest first (managers: all; others: their
// own), filtered by status, incident and user.
func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	inc, err := queryID(r, "incident")
	if err != nil {
		return err
	}
	user, err := queryID(r, "user")
	if err != nil {
		return err
	}
	l, err := s.Outbox.List(r.Context(), notify.Filter{Status: r.URL.Query().Get("status"), IncidentID: inc, UserID: user}, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) getOutboxItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	it, err := s.Outbox.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, it)
}

func (s *Server) retryOutboxItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	it, err := s.Outbox.Retry(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, it)
}
