package web

import (
	"net/http"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/page"
)

type usersData struct {
	Users    []iam.User
	Roles    []option // the role filter's choices
	Pager    pager
	Filtered bool
}

func (s *Server) users(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.URL.Query())
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	d := usersData{Roles: append([]option{{Value: "", Label: "Any role"}}, roleOptions(iam.RoleAdmin)...)}
	show := func(status int, f *form) error {
		return s.render(w, r, status, s.v.users, view{Title: "Users", Nav: "users", Form: f, Data: d})
	}
	filter := iam.UserFilter{Query: f.Get("q"), Role: iam.Role(f.Get("role"))}
	if filter.Role != "" && !filter.Role.Valid() {
		f.Fail("role", "must be one of viewer, responder, manager, admin")
		return invalid(f, show)
	}
	l, err := s.IAM.ListUsers(r.Context(), filter, p)
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	d.Users, d.Pager, d.Filtered = l.Items, pagerOf(r, l.Next), filter != (iam.UserFilter{})
	return show(http.StatusOK, f)
}

type newUserData struct{ Roles []option }

func (s *Server) showNewUser(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	return s.render(w, r, status, s.v.userNew, view{Title: "New user", Nav: "users", Form: f,
		Data: newUserData{Roles: roleOptions(iam.RoleAdmin)}})
}

func (s *Server) newUserPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleAdmin); err != nil {
		return err
	}
	return s.showNewUser(w, r, http.StatusOK, newForm(nil).Set("role", string(iam.RoleViewer)))
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	u, err := s.IAM.CreateUser(r.Context(), iam.NewUser{Email: f.Get("email"), Name: f.Get("name"),
		Role: iam.Role(f.Get("role")), Password: f.Value("password")})
	if err != nil {
		return s.retry(w, r, err, f, nil, func(status int, f *form) error { return s.showNewUser(w, r, status, f) })
	}
	return s.done(w, r, "/users/"+itoa(u.ID), "Created the user %s.", u.Email)
}

type userData struct {
	User   iam.User
	Teams  []iam.Membership
	Tokens []tokenRow // shown to admins
	Roles  []option
	IsSelf bool
}

func (s *Server) showUser(w http.ResponseWriter, r *http.Request, status int, id int64, f *form) error {
	ctx := r.Context()
	u, err := s.IAM.GetUser(ctx, id)
	if err != nil {
		return err
	}
	d := userData{User: u, Roles: roleOptions(iam.RoleAdmin), IsSelf: u.ID == me(r).UserID}
	if d.Teams, err = s.IAM.TeamsOf(ctx, id); err != nil {
		return err
	}
	if me(r).Role.AtLeast(iam.RoleAdmin) {
		l, err := s.IAM.ListTokens(ctx, id, page.Request{Limit: page.DefaultLimit})
		if err != nil {
			return err
		}
		if d.Tokens, err = s.tokenRows(r, l.Items); err != nil {
			return err
		}
	}
	if f.Value("role") == "" {
		f.Set("role", string(u.Role))
	}
	return s.render(w, r, status, s.v.user, view{Title: u.Name, Nav: "users", Form: f, Data: d})
}

func (s *Server) userPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.showUser(w, r, http.StatusOK, id, newForm(nil))
}

// updateUser applies a change from the user page and reports it there.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, p iam.UserPatch, said func(iam.User) string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	u, err := s.IAM.UpdateUser(r.Context(), id, p, 0)
	if err != nil {
		return s.retry(w, r, err, f, nil, func(status int, f *form) error { return s.showUser(w, r, status, id, f) })
	}
	return s.done(w, r, "/users/"+itoa(id), "%s", said(u))
}

func (s *Server) setUserRole(w http.ResponseWriter, r *http.Request) error {
	role := iam.Role(r.PostForm.Get("role"))
	return s.updateUser(w, r, iam.UserPatch{Role: &role}, func(u iam.User) string {
		return u.Email + " now has the " + string(u.Role) + " role."
	})
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) error {
	yes := true
	return s.updateUser(w, r, iam.UserPatch{Disabled: &yes}, func(u iam.User) string {
		return u.Email + " is disabled and signed out everywhere."
	})
}

func (s *Server) enableUser(w http.ResponseWriter, r *http.Request) error {
	no := false
	return s.updateUser(w, r, iam.UserPatch{Disabled: &no}, func(u iam.User) string {
		return u.Email + " is enabled again."
	})
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	pw := r.PostForm.Get("password")
	return s.updateUser(w, r, iam.UserPatch{Password: &pw}, func(u iam.User) string {
		return "Set a new password for " + u.Email + "."
	})
}

func (s *Server) disableUserTOTP(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.IAM.DisableTOTP(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, "/users/"+itoa(id), "Turned off the second factor of this user.")
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := s.IAM.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.IAM.DeleteUser(r.Context(), id); err != nil {
		return s.retry(w, r, err, newForm(r.PostForm), nil, func(status int, f *form) error { return s.showUser(w, r, status, id, f) })
	}
	return s.done(w, r, "/users", "Deleted the user %s.", u.Email)
}
