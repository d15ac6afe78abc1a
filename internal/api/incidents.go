package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// incidentID reads {id} as a number or an incident number ("INC-42").
func incidentID(r *http.Request) (int64, error) {
	id, ok := incident.ParseNumber(r.PathValue("id"))
	if !ok {
		return 0, errs.NotFound("no incident %q", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var f incident.Filter
	var fe errs.Fields
	for name, dst := range map[string]*int64{"service": &f.ServiceID, "team": &f.TeamID, "assignee": &f.AssigneeID} {
		if v, err := queryID(r, name); err != nil {
			fe.Add(name, "must be a positive whole number")
		} else {
			*dst = v
		}
	}
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				f.Statuses = append(f.Statuses, incident.Status(st))
			}
		}
	}
	f.Priority, f.Tag = strings.ToUpper(q.Get("priority")), q.Get("tag")
	if v := q.Get("major"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fe.Add("major", "must be true or false")
		}
		f.Major = &b
	}
	if err := fe.Err(); err != nil {
		return err
	}
	l, err := s.Incidents.List(r.Context(), f, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	out, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, out.Version, out)
}

func (s *Server) updateIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	var p incident.Patch
	if err := decode(r, &p); err != nil {
		return err
	}
	out, err := s.Incidents.Update(r.Context(), id, p, ver)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, out.Version, out)
}

// transition is a handler that moves an incident to one state; the body,
// when there is one, may carry a note (the resolution, when resolving).
func (s *Server) transition(to incident.Status) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := incidentID(r)
		if err != nil {
			return err
		}
		ver, err := ifMatch(r)
		if err != nil {
			return err
		}
		var in struct {
			Note string `json:"note"`
		}
		if err := decodeOptional(r, &in); err != nil {
			return err
		}
		out, err := s.Incidents.SetStatus(r.Context(), id, to, strings.TrimSpace(in.Note), ver)
		if err != nil {
			return err
		}
		return writeVersioned(w, http.StatusOK, out.Version, out)
	}
}

func (s *Server) assignIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var in struct {
		AssigneeID *int64 `json:"assignee_id"`
		TeamID     *int64 `json:"team_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.AssigneeID == nil && in.TeamID == nil {
		return errs.Invalid("assignee_id", "give assignee_id, team_id or both (0 clears one)")
	}
	out, err := s.Incidents.Assign(r.Context(), id, in.AssigneeID, in.TeamID)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, out.Version, out)
}

func (s *Server) addIncidentNote(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	e, err := s.Incidents.AddNote(r.Context(), id, in.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (s *Server) linkIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var in struct {
		RelatedID int64 `json:"related_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Incidents.Link(r.Context(), id, in.RelatedID); err != nil {
		return err
	}
	l, err := s.Incidents.Related(r.Context(), id)
	return list(w, l, err)
}

func (s *Server) searchIncidents(w http.ResponseWriter, r *http.Request) error {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errs.Invalid("limit", "must be a whole number from 1 to 100")
		}
		limit = n
	}
	hits, err := s.Incidents.Search(r.Context(), r.URL.Query().Get("q"), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": hits, "next": ""})
}

// incidentReport answers the post-incident review as Markdown (the default)
// or HTML (?format=html, or Accept: text/html).
func (s *Server) incidentReport(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "text/html") {
		format = "html"
	}
	if format != "" && format != "markdown" && format != "html" {
		return errs.Invalid("format", "must be markdown or html")
	}
	rep, err := s.Incidents.Report(r.Context(), id)
	if err != nil {
		return err
	}
	if format == "html" {
		page, err := rep.HTML()
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, err = w.Write([]byte(page))
		return err
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+rep.Incident.Number+`-review.md"`)
	_, err = w.Write([]byte(rep.Markdown()))
	return err
}

func (s *Server) listSLAPolicies(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.Incidents.Policies(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": ps, "next": ""})
}

func (s *Server) setSLAPolicy(w http.ResponseWriter, r *http.Request) error {
	var p incident.Policy
	if err := decode(r, &p); err != nil {
		return err
	}
	pr := strings.ToUpper(r.PathValue("priority"))
	if !incident.ValidPriority(pr) {
		return errs.NotFound("no SLA policy %q", r.PathValue("priority"))
	}
	if p.Priority != "" && p.Priority != pr {
		return errs.Invalid("priority", "must match the path, or be left out")
	}
	p.Priority = pr
	out, err := s.Incidents.SetPolicy(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// ofIncident answers GET /api/v1/incidents/{id}/… with the whole list that
// get returns for the incident ({"items": …, "next": ""}).
func ofIncident[T any](get func(context.Context, int64) ([]T, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := incidentID(r)
		if err != nil {
			return err
		}
		l, err := get(r.Context(), id)
		return list(w, l, err)
	}
}

// pagedOfIncident is ofIncident for lists that take ?limit= and ?after=.
func pagedOfIncident[T any](get func(context.Context, int64, page.Request) (page.List[T], error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := incidentID(r)
		if err != nil {
			return err
		}
		p, err := pageOf(r)
		if err != nil {
			return err
		}
		l, err := get(r.Context(), id, p)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, l)
	}
}

// similar lists the five past incidents most like one.
func (s *Server) similar(ctx context.Context, id int64) ([]incident.Hit, error) {
	return s.Incidents.Similar(ctx, id, 5)
}

func incidentRef(x incident.Incident) (id, version int64) { return x.ID, x.Version }
