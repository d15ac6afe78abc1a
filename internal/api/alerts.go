package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/event"
)

// listAlerts lists alerts newest first, filtered by service, status and dedup key.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	svc, err := queryID(r, "service")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := s.Incidents.ListAlerts(r.Context(), event.AlertFilter{ServiceID: svc, Status: q.Get("status"), DedupKey: q.Get("dedup_key")}, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.Incidents.GetAlert(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}
