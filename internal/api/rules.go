package api

import (
	"net/http"
	"strconv"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/rules"
)

// RuleInput is an event rule as sent to create or replace one; enabled is
// true unless sent as false.
type RuleInput struct {
	Name      string        `json:"name"`
	ServiceID int64         `json:"service_id,omitempty"`
	Position  int           `json:"position,omitempty"`
	Condition string        `json:"condition"`
	Actions   rules.Actions `json:"actions"`
	Stop      bool          `json:"stop,omitempty"`
	Enabled   *bool         `json:"enabled,omitempty"`
}

func (in RuleInput) rule() rules.Rule {
	r := rules.Rule{Name: in.Name, ServiceID: in.ServiceID, Position: in.Position, Condition: in.Condition,
		Actions: in.Actions, Stop: in.Stop, Enabled: true}
	if in.Enabled != nil {
		r.Enabled = *in.Enabled
	}
	return r
}

// RuleTest is a condition and a sample event to try it on.
type RuleTest struct {
	Condition string             `json:"condition"`
	ServiceID int64              `json:"service_id,omitempty"`
	Event     event.GenericEvent `json:"event"`
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Rules.Rules(r.Context())
	return list(w, l, err)
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) error {
	var in RuleInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.Rules.CreateRule(r.Context(), in.rule())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/rules/"+itoa(out.ID))
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	out, err := s.Rules.GetRule(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in RuleInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.Rules.UpdateRule(r.Context(), id, in.rule())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) testRule(w http.ResponseWriter, r *http.Request) error {
	var in RuleTest
	if err := decode(r, &in); err != nil {
		return err
	}
	ev := event.Event{Source: event.SourceGeneric, Action: event.Action(in.Event.Action), DedupKey: in.Event.DedupKey,
		Summary: in.Event.Summary, Host: in.Event.Host, Component: in.Event.Component, Group: in.Event.Group, Class: in.Event.Class,
		Labels: in.Event.Labels, Details: in.Event.Details}
	if ev.Action == "" {
		ev.Action = event.Trigger
	}
	if in.Event.Severity != "" {
		sev, ok := event.ParseSeverity(in.Event.Severity)
		if !ok {
			return errs.Invalid("event.severity", "must be critical, error, warning or info")
		}
		ev.Severity = sev
	}
	matched, err := s.Rules.Test(r.Context(), rules.Rule{Condition: in.Condition, ServiceID: in.ServiceID}, ev)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"matched": matched})
}

func (s *Server) listSilences(w http.ResponseWriter, r *http.Request) error {
	expired := false
	if v := r.URL.Query().Get("expired"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errs.Invalid("expired", "must be true or false")
		}
		expired = b
	}
	l, err := s.Rules.Silences(r.Context(), expired)
	return list(w, l, err)
}

func (s *Server) createSilence(w http.ResponseWriter, r *http.Request) error {
	var in rules.Silence
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ID != 0 || in.CreatedBy != "" {
		return errs.Invalid("id", "id and created_by are set by the server")
	}
	out, err := s.Rules.CreateSilence(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/silences/"+itoa(out.ID))
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listWindows(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Rules.Windows(r.Context())
	return list(w, l, err)
}

func (s *Server) getWindow(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	out, err := s.Rules.GetWindow(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) saveWindow(create bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var id int64
		if !create {
			var err error
			if id, err = pathID(r, "id"); err != nil {
				return err
			}
		}
		var in rules.MaintenanceWindow
		if err := decode(r, &in); err != nil {
			return err
		}
		out, err := s.Rules.SaveWindow(r.Context(), id, in)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if create {
			status = http.StatusCreated
			w.Header().Set("Location", "/api/v1/maintenance-windows/"+itoa(out.ID))
		}
		return writeJSON(w, status, out)
	}
}

func (s *Server) listInhibitRules(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Rules.InhibitRules(r.Context())
	return list(w, l, err)
}

func (s *Server) createInhibitRule(w http.ResponseWriter, r *http.Request) error {
	var in rules.InhibitRule
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.Rules.CreateInhibitRule(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/inhibit-rules/"+itoa(out.ID))
	return writeJSON(w, http.StatusCreated, out)
}
