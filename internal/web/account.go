package web

import (
	"net/http"

	"github.com/steadyhq/steady/internal/iam"
)

type accountData struct {
	User  iam.User
	Teams []iam.Membership
}

func (s *Server) showAccount(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	u, err := s.IAM.GetUser(r.Context(), me(r).UserID)
	if err != nil {
		return err
	}
	teams, err := s.IAM.TeamsOf(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if !f.Values.Has("name") {
		f.Set("name", u.Name)
	}
	return s.render(w, r, status, s.v.account, view{Title: "Your account", Nav: "account", Form: f,
		Data: accountData{User: u, Teams: teams}})
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) error {
	return s.showAccount(w, r, http.StatusOK, newForm(nil))
}

func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	name := f.Get("name")
	if _, err := s.IAM.UpdateUser(r.Context(), me(r).UserID, iam.UserPatch{Name: &name}, 0); err != nil {
		return s.retry(w, r, err, f, nil, func(status int, f *form) error { return s.showAccount(w, r, status, f) })
	}
	return s.done(w, r, "/account", "Saved your name.")
}

func (s *Server) showPassword(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	return s.render(w, r, status, s.v.accountPassword, view{Title: "Change your password", Nav: "account", Form: f,
		Data: iam.MinPasswordLength})
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request) error {
	return s.showPassword(w, r, http.StatusOK, newForm(nil))
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showPassword(w, r, status, f) }
	pw := f.Value("password")
	if pw != f.Value("password_confirm") {
		f.Fail("password_confirm", "does not match the new password")
		return invalid(f, show)
	}
	id := me(r).UserID
	if err := s.IAM.ConfirmPassword(r.Context(), id, f.Value("current_password")); err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	if _, err := s.IAM.UpdateUser(r.Context(), id, iam.UserPatch{Password: &pw, KeepSession: cookieValue(r, sessionCookie)}, 0); err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	return s.done(w, r, "/account", "Changed your password.")
}

type totpData struct {
	User iam.User
	// Enrollment is set between starting and confirming the set-up.
	Enrollment *iam.TOTPEnrollment
}

func (s *Server) showTOTP(w http.ResponseWriter, r *http.Request, status int, f *form, e *iam.TOTPEnrollment) error {
	u, err := s.IAM.GetUser(r.Context(), me(r).UserID)
	if err != nil {
		return err
	}
	return s.render(w, r, status, s.v.accountTOTP, view{Title: "Second factor", Nav: "account", Form: f,
		Data: totpData{User: u, Enrollment: e}})
}

func (s *Server) totpPage(w http.ResponseWriter, r *http.Request) error {
	return s.showTOTP(w, r, http.StatusOK, newForm(nil), nil)
}

func (s *Server) startTOTP(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	e, err := s.IAM.StartTOTP(r.Context(), me(r).UserID)
	if err != nil {
		return s.retry(w, r, err, f, nil, func(status int, f *form) error { return s.showTOTP(w, r, status, f, nil) })
	}
	return s.showTOTP(w, r, http.StatusOK, newForm(nil), &e)
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	if err := s.IAM.ConfirmTOTP(r.Context(), me(r).UserID, f.Get("code")); err != nil {
		// The secret came back in hidden fields only to show it again; the
		// service checks the code against the secret it stored.
		e := &iam.TOTPEnrollment{Secret: f.Get("secret"), URI: f.Get("uri")}
		if e.Secret == "" {
			e = nil
		}
		return s.retry(w, r, err, f, nil, func(status int, f *form) error { return s.showTOTP(w, r, status, f, e) })
	}
	return s.done(w, r, "/account", "Your second factor is on: from now on, signing in asks for a code from your app.")
}

func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showTOTP(w, r, status, f, nil) }
	id := me(r).UserID
	if err := s.IAM.ConfirmPassword(r.Context(), id, f.Value("current_password")); err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	if err := s.IAM.DisableTOTP(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, "/account", "Your second factor is off: signing in asks only for your password.")
}
