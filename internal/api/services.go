package api

import (
	"bytes"
	"io"
	"net/http"

	"github.com/steadyhq/steady/internal/service"
)

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	team, err := queryID(r, "team")
	if err != nil {
		return err
	}
	l, err := s.Services.List(r.Context(), service.Filter{TeamID: team, Query: r.URL.Query().Get("q")}, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) listIntegrationKeys(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	keys, err := s.Services.Keys(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, map[string]any{"items": keys, "next": ""})
}

// NewIntegrationKey is the body of POST /api/v1/services/{id}/integration-keys.
type NewIntegrationKey struct {
	// Name says what sends with the key; "default" when empty.
	Name string `json:"name,omitempty"`
}

func (s *Server) createIntegrationKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in NewIntegrationKey
	// The body is optional: none makes a key named "default".
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	k, err := s.Services.CreateKey(r.Context(), id, in.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, k)
}

func (s *Server) revokeIntegrationKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	kid, err := pathID(r, "key_id")
	if err != nil {
		return err
	}
	k, err := s.Services.RevokeKey(r.Context(), id, kid)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, k)
}

func serviceRef(x service.Service) (id, version int64) { return x.ID, x.Version }
