package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
)

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	team, err := queryID(r, "team")
	if err != nil {
		return err
	}
	f := iam.UserFilter{Role: iam.Role(q.Get("role")), Query: q.Get("q"), TeamID: team}
	if f.Role != "" && !f.Role.Valid() {
		return errs.Invalid("role", "must be one of viewer, responder, manager, admin")
	}
	l, err := s.IAM.ListUsers(r.Context(), f, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	u, err := s.IAM.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, u.Version, u)
}

// userID reads {id}, where "me" names the caller.
func (s *Server) userID(r *http.Request) (int64, error) {
	if r.PathValue("id") == "me" {
		p, _ := iam.PrincipalFrom(r.Context())
		if p.UserID == 0 {
			return 0, errs.NotFound("this token belongs to no user")
		}
		return p.UserID, nil
	}
	return pathID(r, "id")
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	var in iam.UserPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.IAM.UpdateUser(r.Context(), id, in, ver)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, u.Version, u)
}

func (s *Server) startTOTP(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	e, err := s.IAM.StartTOTP(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.IAM.ConfirmTOTP(r.Context(), id, in.Code); err != nil {
		return err
	}
	return s.getUser(w, r)
}

func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	if err := s.IAM.DisableTOTP(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func userRef(x iam.User) (id, version int64) { return x.ID, x.Version }
