package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// tokenRow is a token as a list shows it.
type tokenRow struct {
	iam.Token
	Owner   string // the owner's email; empty for a token without a user
	OwnerID int64
	Status  string // Active, Expired or Revoked
}

func (t tokenRow) Active() bool { return t.Status == "Active" }

func (s *Server) tokenRows(r *http.Request, ts []iam.Token) ([]tokenRow, error) {
	now := s.Clock.Now()
	emails := map[int64]string{me(r).UserID: me(r).Email}
	out := make([]tokenRow, 0, len(ts))
	for _, t := range ts {
		row := tokenRow{Token: t, Status: "Active"}
		switch {
		case t.RevokedAt != nil:
			row.Status = "Revoked"
		case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
			row.Status = "Expired"
		}
		if t.UserID != nil {
			id := *t.UserID
			if _, ok := emails[id]; !ok {
				u, err := s.IAM.GetUser(r.Context(), id)
				if err != nil && !errs.Is(err, errs.KindNotFound) {
					return nil, err
				}
				emails[id] = u.Email
			}
			row.Owner, row.OwnerID = emails[id], id
		}
		out = append(out, row)
	}
	return out, nil
}

type tokensData struct {
	Tokens []tokenRow
	Pager  pager
	// Of is the user whose tokens an admin looks at; nil for everyone's.
	Of *iam.User
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	var d tokensData
	var of int64 // the service shows non-admins their own tokens whatever this says
	if v := r.URL.Query().Get("user"); v != "" && me(r).Role.AtLeast(iam.RoleAdmin) {
		of, _ = strconv.ParseInt(v, 10, 64)
		u, err := s.IAM.GetUser(r.Context(), of)
		if err != nil {
			return err
		}
		d.Of = &u
	}
	l, err := s.IAM.ListTokens(r.Context(), of, p)
	if err != nil {
		return err
	}
	if d.Tokens, err = s.tokenRows(r, l.Items); err != nil {
		return err
	}
	d.Pager = pagerOf(r, l.Next)
	return s.render(w, r, http.StatusOK, s.v.tokens, view{Title: "API tokens", Nav: "tokens", Data: d})
}

type newTokenData struct {
	Roles   []option
	Expires []option
	Owners  []option // admins only
}

func (s *Server) showNewToken(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	d := newTokenData{
		Roles: append([]option{{Value: "", Label: "Same as its user"}}, roleOptions(me(r).Role)...),
		Expires: []option{{"7", "In 7 days"}, {"30", "In 30 days"}, {"90", "In 90 days"},
			{"365", "In a year"}, {"never", "Never"}},
	}
	if me(r).Role.AtLeast(iam.RoleAdmin) {
		d.Owners = []option{{"me", "Me"}, {"user", "Another user (give their email)"}, {"none", "No user: a service token with its own role"}}
	}
	return s.render(w, r, status, s.v.tokenNew, view{Title: "New API token", Nav: "tokens", Form: f, Data: d})
}

func (s *Server) newTokenPage(w http.ResponseWriter, r *http.Request) error {
	return s.showNewToken(w, r, http.StatusOK, newForm(nil).Set("expires", "90").Set("owner", "me"))
}

type tokenCreatedData struct {
	Token  iam.CreatedToken
	Owner  string
	Header string // how to send it
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showNewToken(w, r, status, f) }
	rename := map[string]string{"email": "owner_email", "user_id": "owner_email", "expires_at": "expires"}
	n := iam.NewToken{Name: f.Get("name")}
	if v := f.Get("role"); v != "" {
		role := iam.Role(v)
		n.Role = &role
	}
	owner := me(r).Email
	switch f.Get("owner") {
	case "", "me":
		id := me(r).UserID
		n.UserID = &id
	case "user":
		u, err := s.userByEmail(r, f.Get("owner_email"))
		if err != nil {
			return s.retry(w, r, err, f, rename, show)
		}
		n.UserID, owner = &u.ID, u.Email
	case "none":
		owner = ""
		if n.Role == nil {
			f.Fail("role", "must be chosen for a token without a user")
		}
	default:
		f.Fail("owner", "must be me, another user or no user")
	}
	switch v := f.Get("expires"); v {
	case "never":
	default:
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 || days > 3650 {
			f.Fail("expires", "must be a number of days from 1 to 3650, or never")
			break
		}
		at := s.Clock.Now().UTC().Add(time.Duration(days) * 24 * time.Hour)
		n.ExpiresAt = &at
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	t, err := s.IAM.CreateToken(r.Context(), n)
	if err != nil {
		return s.retry(w, r, err, f, rename, show)
	}
	// The secret is shown on this answer and never again: no redirect could
	// carry it without storing it somewhere.
	d := tokenCreatedData{Token: t, Owner: owner, Header: "Authorization: Bearer " + t.Secret}
	return s.render(w, r, http.StatusCreated, s.v.tokenCreated, view{Title: "Your new API token", Nav: "tokens", Data: d})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.IAM.RevokeToken(r.Context(), id)
	if err != nil {
		return err
	}
	back := "/tokens"
	if b := r.PostForm.Get("back"); b != "" {
		back = safeNext(b)
	}
	return s.done(w, r, back, "Revoked the token %s; it no longer works.", t.Name)
}
