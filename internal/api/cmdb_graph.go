package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// CMDB relationships, redundancy rules and impact analysis.

// RelationInput is a relation to create: its CIs by id, or by reference (an
// id, "source:external_id" or an exact name).
type RelationInput struct {
	SourceID int64  `json:"source_id,omitempty"`
	Source   string `json:"source,omitempty"`
	Type     string `json:"type"`
	TargetID int64  `json:"target_id,omitempty"`
	Target   string `json:"target,omitempty"`
}

// RedundancyInput is a group's redundancy rule.
type RedundancyInput struct {
	MinUp int `json:"min_up"`
}

// resolveCI turns a reference into a CI id; field names it in errors.
func (s *Server) resolveCI(r *http.Request, id int64, ref, field string) (int64, error) {
	ref = strings.TrimSpace(ref)
	switch {
	case id != 0 && ref != "":
		return 0, errs.Invalid(field, "give either "+field+"_id or "+field+", not both")
	case id != 0 || ref == "":
		return id, nil
	}
	ci, err := s.CMDB.FindCI(r.Context(), s.DB.R, ref)
	if err != nil {
		if e, ok := errs.As(err); ok && (e.Kind == errs.KindNotFound || e.Kind == errs.KindConflict) {
			return 0, errs.Invalid(field, e.Message)
		}
		return 0, err
	}
	return ci.ID, nil
}

func (s *Server) createRelation(w http.ResponseWriter, r *http.Request) error {
	var in RelationInput
	if err := decode(r, &in); err != nil {
		return err
	}
	var f errs.Fields
	src, err := s.resolveCI(r, in.SourceID, in.Source, "source")
	if e, ok := errs.As(err); ok && e.Kind == errs.KindInvalid {
		f = append(f, e.Fields...)
	} else if err != nil {
		return err
	}
	dst, err := s.resolveCI(r, in.TargetID, in.Target, "target")
	if e, ok := errs.As(err); ok && e.Kind == errs.KindInvalid {
		f = append(f, e.Fields...)
	} else if err != nil {
		return err
	}
	if err := f.Err(); err != nil {
		return err
	}
	out, err := s.CMDB.CreateRelation(r.Context(), cmdb.Relation{SourceID: src, Type: in.Type, TargetID: dst})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/relations/"+itoa(out.ID))
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getRelation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	out, err := s.CMDB.GetRelation(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteRelation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.CMDB.DeleteRelation(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listCIRelations(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	l, err := s.CMDB.Relations(r.Context(), id)
	return list(w, l, err)
}

func (s *Server) getRedundancy(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	out, err := s.CMDB.GetRedundancy(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) setRedundancy(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in RedundancyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.CMDB.SetRedundancy(r.Context(), id, in.MinUp)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// ciImpact answers GET /api/v1/cis/{id}/impact?direction=&depth=.
func (s *Server) ciImpact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := checkQuery(r); err != nil {
		return err
	}
	q := r.URL.Query()
	depth := 0
	if v := q.Get("depth"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > cmdb.MaxImpactDepth {
			return errs.Invalid("depth", "must be a whole number from 1 to "+strconv.Itoa(cmdb.MaxImpactDepth))
		}
		depth = n
	}
	out, err := s.CMDB.ImpactOf(r.Context(), id, q.Get("direction"), depth)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// analyseImpact answers POST /api/v1/impact.
func (s *Server) analyseImpact(w http.ResponseWriter, r *http.Request) error {
	var in cmdb.ImpactRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.CMDB.Analyse(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
