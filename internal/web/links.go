package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// One-click links: every page message carries signed, expiring links to
// acknowledge or resolve its incident without signing in. Opening a link
// shows what it will do, and a single button does it: mail scanners and
// link previews fetch links with GET, and must not acknowledge anything.
// Each use, and each refused link, is in the audit trail.

type linkData struct {
	Token    string
	Action   string // acknowledge or resolve
	Incident incident.Incident
	User     iam.User
	Done     bool   // the action has been taken
	Refused  string // why the link does not work
}

// linkAs checks a token and returns its link, the user it acts as and a
// context that acts as that user. A refused link is audited.
func (s *Server) linkAs(r *http.Request) (notify.Link, iam.User, context.Context, error) {
	ctx := r.Context()
	token := r.PathValue("token")
	l, err := s.Links.Verify(token, s.Clock.Now())
	if err != nil {
		if ok, wait := s.refusals.Allow("link:" + httpx.ClientIP(r)); !ok {
			return l, iam.User{}, ctx, errs.RateLimited(wait, "too many links that do not work from this address; try again in %d seconds", wait)
		}
		why, status := "the link is not valid", errs.Forbidden("this link is not valid: it may have been altered or cut short")
		if errors.Is(err, notify.ErrLinkExpired) {
			why, status = "the link has expired", errs.Forbidden("this link has expired: open the incident in Steady instead")
		}
		s.refuseLink(ctx, l, why)
		return l, iam.User{}, ctx, status
	}
	u, err := s.IAM.GetUser(ctx, l.UserID)
	if err != nil || u.Disabled || !u.Role.AtLeast(iam.RoleResponder) {
		s.refuseLink(ctx, l, "its user may no longer act on incidents")
		return l, u, ctx, errs.Forbidden("this link's user can no longer act on incidents")
	}
	ctx = iam.WithPrincipal(ctx, iam.Principal{UserID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role})
	ctx = reqctx.WithActor(ctx, reqctx.Actor{Type: "user", ID: itoa(u.ID), Name: u.Email + " (one-click link)"})
	return l, u, ctx, nil
}

func (s *Server) refuseLink(ctx context.Context, l notify.Link, why string) {
	err := s.Audit.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.Audit.Record(ctx, tx, audit.Event{Action: "link.refused", ObjectType: "incident", ObjectID: l.IncidentID,
			Summary: "refused a one-click link: " + why})
	})
	if err != nil {
		s.Log.WarnContext(ctx, "audit a refused link", "error", err)
	}
}

func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) error {
	httpx.SecretPath(w) // the path holds the key
	l, u, ctx, err := s.linkAs(r)
	if err != nil {
		return err
	}
	in, err := s.Incidents.Get(ctx, l.IncidentID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, s.v.link, view{Title: sentenceCase(l.Action) + " " + in.Number,
		Data: linkData{Token: r.PathValue("token"), Action: l.Action, Incident: in, User: u}})
}

func (s *Server) useLink(w http.ResponseWriter, r *http.Request) error {
	httpx.SecretPath(w) // the path holds the key
	l, u, ctx, err := s.linkAs(r)
	if err != nil {
		return err
	}
	to := incident.Acknowledged
	if l.Action == notify.ActionResolve {
		to = incident.Resolved
	}
	note := ""
	if to == incident.Resolved {
		note = "resolved from a notification"
	}
	in, err := s.Incidents.SetStatus(ctx, l.IncidentID, to, note, 0)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, s.v.link, view{Title: in.Number + " " + string(in.Status),
		Data: linkData{Action: l.Action, Incident: in, User: u, Done: true}})
}
