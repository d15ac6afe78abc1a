package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

type teamsData struct {
	Teams    []iam.Team
	Pager    pager
	Filtered bool
}

func (s *Server) teams(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.URL.Query())
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	l, err := s.IAM.ListTeams(r.Context(), f.Get("q"), p)
	if err != nil {
		return err
	}
	d := teamsData{Teams: l.Items, Pager: pagerOf(r, l.Next), Filtered: f.Get("q") != ""}
	return s.render(w, r, http.StatusOK, s.v.teams, view{Title: "Teams", Nav: "teams", Form: f, Data: d})
}

// teamFormData serves both the new-team and the edit-team page.
type teamFormData struct{ Team *iam.Team }

func (s *Server) showTeamForm(w http.ResponseWriter, r *http.Request, status int, t *iam.Team, f *form) error {
	title := "New team"
	if t != nil {
		title = "Edit " + t.Name
	}
	return s.render(w, r, status, s.v.teamForm, view{Title: title, Nav: "teams", Form: f, Data: teamFormData{Team: t}})
}

func (s *Server) newTeamPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	return s.showTeamForm(w, r, http.StatusOK, nil, newForm(nil))
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	t, err := s.IAM.CreateTeam(r.Context(), iam.NewTeam{Name: f.Get("name"), Description: f.Get("description")})
	if err != nil {
		return s.retry(w, r, err, f, nil, func(status int, f *form) error { return s.showTeamForm(w, r, status, nil, f) })
	}
	return s.done(w, r, "/teams/"+itoa(t.ID), "Created the team %s.", t.Name)
}

func (s *Server) editTeamPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.IAM.GetTeam(r.Context(), id)
	if err != nil {
		return err
	}
	f := newForm(nil).Set("name", t.Name).Set("description", t.Description).Set("version", itoa(t.Version))
	return s.showTeamForm(w, r, http.StatusOK, &t, f)
}

func (s *Server) updateTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	name, desc := f.Get("name"), f.Get("description")
	// The version the form was made from guards against overwriting someone
	// else's edit made in the meantime.
	version, err := strconv.ParseInt(f.Get("version"), 10, 64)
	if err != nil || version < 1 {
		return errs.Invalid("version", "is missing; reload the edit page")
	}
	t, err := s.IAM.UpdateTeam(r.Context(), id, iam.TeamPatch{Name: &name, Description: &desc}, version)
	if err != nil {
		return s.retry(w, r, err, f, nil, func(status int, f *form) error {
			cur, gerr := s.IAM.GetTeam(r.Context(), id)
			if gerr != nil {
				return gerr
			}
			if errs.Is(err, errs.KindPreconditionFailed) {
				// Saving again will overwrite the other change, knowingly.
				f.Message = "Someone changed this team while you were editing it. Its name is now “" + cur.Name +
					"”. Check your changes and save again to overwrite theirs."
				f.Set("version", itoa(cur.Version))
			}
			return s.showTeamForm(w, r, status, &cur, f)
		})
	}
	return s.done(w, r, "/teams/"+itoa(t.ID), "Saved the team %s.", t.Name)
}

func (s *Server) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.IAM.GetTeam(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.IAM.DeleteTeam(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, "/teams", "Deleted the team %s.", t.Name)
}

type teamData struct {
	Team      iam.Team
	Members   []iam.Member
	TeamRoles []option
	Users     []iam.User // suggestions for adding a member (managers only)
}

// suggestUsers is how many users the add-member field suggests.
const suggestUsers = 200

func (s *Server) showTeam(w http.ResponseWriter, r *http.Request, status int, id int64, f *form) error {
	ctx := r.Context()
	t, err := s.IAM.GetTeam(ctx, id)
	if err != nil {
		return err
	}
	d := teamData{Team: t, TeamRoles: []option{{Value: string(iam.TeamMember), Label: "Member"}, {Value: string(iam.TeamLead), Label: "Lead"}}}
	if d.Members, err = s.IAM.Members(ctx, id); err != nil {
		return err
	}
	if me(r).Role.AtLeast(iam.RoleManager) {
		l, err := s.IAM.ListUsers(ctx, iam.UserFilter{}, page.Request{Limit: suggestUsers})
		if err != nil {
			return err
		}
		in := map[int64]bool{}
		for _, m := range d.Members {
			in[m.UserID] = true
		}
		for _, u := range l.Items {
			if !in[u.ID] && !u.Disabled {
				d.Users = append(d.Users, u)
			}
		}
	}
	if f.Value("team_role") == "" {
		f.Set("team_role", string(iam.TeamMember))
	}
	return s.render(w, r, status, s.v.team, view{Title: t.Name, Nav: "teams", Form: f, Data: d})
}

func (s *Server) teamPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.showTeam(w, r, http.StatusOK, id, newForm(nil))
}

// userByEmail finds the user with exactly this email.
func (s *Server) userByEmail(r *http.Request, email string) (iam.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return iam.User{}, errs.Invalid("email", "is required")
	}
	l, err := s.IAM.ListUsers(r.Context(), iam.UserFilter{Query: email}, page.Request{Limit: page.MaxLimit})
	if err != nil {
		return iam.User{}, err
	}
	for _, u := range l.Items {
		if u.Email == email {
			return u, nil
		}
	}
	return iam.User{}, errs.Invalid("email", "names no user of Steady")
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showTeam(w, r, status, id, f) }
	u, err := s.userByEmail(r, f.Get("email"))
	if err == nil {
		_, err = s.IAM.SetMember(r.Context(), id, u.ID, iam.TeamRole(f.Get("team_role")))
	}
	if err != nil {
		return s.retry(w, r, err, f, map[string]string{"user_id": "email"}, show)
	}
	return s.done(w, r, "/teams/"+itoa(id), "Added %s to the team as %s.", u.Email, f.Get("team_role"))
}

func (s *Server) setMemberRole(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	uid, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	m, err := s.IAM.SetMember(r.Context(), id, uid, iam.TeamRole(r.PostForm.Get("team_role")))
	if err != nil {
		return err
	}
	what := "a member"
	if m.TeamRole == iam.TeamLead {
		what = "a lead"
	}
	return s.done(w, r, "/teams/"+itoa(id), "%s is now %s of this team.", m.Name, what)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	uid, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	u, err := s.IAM.GetUser(r.Context(), uid)
	if err != nil {
		return err
	}
	if err := s.IAM.RemoveMember(r.Context(), id, uid); err != nil {
		return err
	}
	return s.done(w, r, "/teams/"+itoa(id), "Removed %s from the team.", u.Name)
}
