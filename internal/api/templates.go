package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/notify"
)

// Message templates: every kind's template (built-in or an admin's
// replacement), changes by admins, and previews with sample data.

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Templates.List(r.Context())
	return list(w, l, err)
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Templates.Get(r.Context(), r.PathValue("kind"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) putTemplate(w http.ResponseWriter, r *http.Request) error {
	var in notify.TemplateSource
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.Templates.Save(r.Context(), r.PathValue("kind"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) resetTemplate(w http.ResponseWriter, r *http.Request) error {
	if err := s.Templates.Reset(r.Context(), r.PathValue("kind")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// previewTemplate renders the sample data with the template sent, or with
// the template in effect when the body is left out.
func (s *Server) previewTemplate(w http.ResponseWriter, r *http.Request) error {
	var in *notify.TemplateSource
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	out, err := s.Templates.Preview(r.Context(), r.PathValue("kind"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
