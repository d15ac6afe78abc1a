package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/notify"
)

// Contact methods and notification rules: a user manages their own, an
// admin anyone's; the contact store decides. {id} may be "me".

func (s *Server) contactMethodPath(userID, id int64) string {
	return "/api/v1/users/" + itoa(userID) + "/contact-methods/" + itoa(id)
}

// userAndMethod reads {id} (or "me") and {method_id}.
func (s *Server) userAndMethod(r *http.Request) (int64, int64, error) {
	uid, err := s.userID(r)
	if err != nil {
		return 0, 0, err
	}
	mid, err := pathID(r, "method_id")
	return uid, mid, err
}

func (s *Server) listContactMethods(w http.ResponseWriter, r *http.Request) error {
	uid, err := s.userID(r)
	if err != nil {
		return err
	}
	l, err := s.Contacts.Methods(r.Context(), uid)
	return list(w, l, err)
}

func (s *Server) createContactMethod(w http.ResponseWriter, r *http.Request) error {
	uid, err := s.userID(r)
	if err != nil {
		return err
	}
	var in notify.NewMethod
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := s.Contacts.CreateMethod(r.Context(), uid, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.contactMethodPath(uid, m.ID))
	w.Header().Set("Cache-Control", "no-store")
	return writeVersioned(w, http.StatusCreated, m.Version, m)
}

func (s *Server) getContactMethod(w http.ResponseWriter, r *http.Request) error {
	uid, mid, err := s.userAndMethod(r)
	if err != nil {
		return err
	}
	m, err := s.Contacts.GetMethod(r.Context(), uid, mid)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, m.Version, m)
}

func (s *Server) updateContactMethod(w http.ResponseWriter, r *http.Request) error {
	uid, mid, err := s.userAndMethod(r)
	if err != nil {
		return err
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	var in notify.MethodPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := s.Contacts.UpdateMethod(r.Context(), uid, mid, in, ver)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, m.Version, m)
}

func (s *Server) deleteContactMethod(w http.ResponseWriter, r *http.Request) error {
	uid, mid, err := s.userAndMethod(r)
	if err != nil {
		return err
	}
	if err := s.Contacts.DeleteMethod(r.Context(), uid, mid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateContactSecret(w http.ResponseWriter, r *http.Request) error {
	uid, mid, err := s.userAndMethod(r)
	if err != nil {
		return err
	}
	m, err := s.Contacts.RotateSecret(r.Context(), uid, mid)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeVersioned(w, http.StatusOK, m.Version, m)
}

func (s *Server) testContactMethod(w http.ResponseWriter, r *http.Request) error {
	uid, mid, err := s.userAndMethod(r)
	if err != nil {
		return err
	}
	// The method must be this user's, and the caller allowed to manage it.
	if _, err := s.Contacts.GetMethod(r.Context(), uid, mid); err != nil {
		return err
	}
	it, err := s.Outbox.EnqueueTest(r.Context(), mid)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, it)
}

func (s *Server) listNotificationRules(w http.ResponseWriter, r *http.Request) error {
	uid, err := s.userID(r)
	if err != nil {
		return err
	}
	l, err := s.Contacts.Rules(r.Context(), uid)
	return list(w, l, err)
}

func (s *Server) createNotificationRule(w http.ResponseWriter, r *http.Request) error {
	uid, err := s.userID(r)
	if err != nil {
		return err
	}
	var in notify.NewRule
	if err := decode(r, &in); err != nil {
		return err
	}
	ru, err := s.Contacts.CreateRule(r.Context(), uid, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, ru)
}

func (s *Server) deleteNotificationRule(w http.ResponseWriter, r *http.Request) error {
	uid, err := s.userID(r)
	if err != nil {
		return err
	}
	rid, err := pathID(r, "rule_id")
	if err != nil {
		return err
	}
	if err := s.Contacts.DeleteRule(r.Context(), uid, rid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
