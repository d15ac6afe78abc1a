package api

import (
	"net/http"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/errs"
)

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := audit.Filter{ActorID: q.Get("actor"), Action: q.Get("action"), ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id")}
	var fe errs.Fields
	for name, dst := range map[string]**time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				fe.Add(name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
				continue
			}
			*dst = &t
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	l, err := s.Audit.List(r.Context(), f, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	res, err := audit.Verify(r.Context(), s.DB)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"ok": res.OK, "checked": res.Checked, "broken_at": res.BrokenAt, "problem": res.Problem,
	})
}
