package api

import (
	"net/http"
	"strconv"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// NewCIClass is the body of POST /api/v1/ci-classes.
type NewCIClass struct {
	Key         string         `json:"key"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Attributes  []cmdb.AttrDef `json:"attributes,omitempty"`
}

// CIClassInput is the body of PUT /api/v1/ci-classes/{key}: the class's new
// name, description and attributes (its key stays).
type CIClassInput struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Attributes  []cmdb.AttrDef `json:"attributes,omitempty"`
}

func (s *Server) listCIClasses(w http.ResponseWriter, r *http.Request) error {
	l, err := s.CMDB.Classes(r.Context())
	return list(w, l, err)
}

func (s *Server) getCIClass(w http.ResponseWriter, r *http.Request) error {
	c, err := s.CMDB.GetClass(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, c.Version, c)
}

func (s *Server) createCIClass(w http.ResponseWriter, r *http.Request) error {
	var in NewCIClass
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := s.CMDB.CreateClass(r.Context(), cmdb.Class{Key: in.Key, Name: in.Name, Description: in.Description, Attributes: in.Attributes})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/ci-classes/"+c.Key)
	return writeVersioned(w, http.StatusCreated, c.Version, cmdb.ClassCount{Class: c})
}

func (s *Server) updateCIClass(w http.ResponseWriter, r *http.Request) error {
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	var in CIClassInput
	if err := decode(r, &in); err != nil {
		return err
	}
	key := r.PathValue("key")
	if _, err := s.CMDB.UpdateClass(r.Context(), key, cmdb.Class{Name: in.Name, Description: in.Description, Attributes: in.Attributes}, ver); err != nil {
		return err
	}
	c, err := s.CMDB.GetClass(r.Context(), key)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, c.Version, c)
}

func (s *Server) deleteCIClass(w http.ResponseWriter, r *http.Request) error {
	if err := s.CMDB.DeleteClass(r.Context(), r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ciFilter reads the filters of GET /api/v1/cis.
func ciFilter(r *http.Request) (cmdb.Filter, error) {
	q := r.URL.Query()
	f := cmdb.Filter{Class: q.Get("class"), Environment: q.Get("environment"), Lifecycle: q.Get("lifecycle"), Q: q.Get("q"), Prefix: q.Get("prefix")}
	team, err := queryID(r, "team")
	if err != nil {
		return f, err
	}
	f.TeamID = team
	for _, a := range q["attr"] {
		m, err := cmdb.ParseAttrMatch(a)
		if err != nil {
			return f, err
		}
		f.Attrs = append(f.Attrs, m)
	}
	if v := q.Get("missing"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, errs.Invalid("missing", "must be true or false")
		}
		f.Missing = b
	}
	return f, nil
}

func (s *Server) listCIs(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	f, err := ciFilter(r)
	if err != nil {
		return err
	}
	p, err := cmdb.ParsePage(r.URL.Query().Get("limit"), r.URL.Query().Get("after"))
	if err != nil {
		return err
	}
	l, err := s.CMDB.List(r.Context(), f, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) ciHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	l, err := s.CMDB.History(r.Context(), id, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func ciRef(x cmdb.CI) (id, version int64) { return x.ID, x.Version }
