package api

import (
	"net/http"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/incident"
)

// How events name CIs (mapping rules), and the topology of incidents:
// affected CIs, impacted business services, the probable root cause and
// its confirmation.

func (s *Server) listMappingRules(w http.ResponseWriter, r *http.Request) error {
	l, err := s.CMDB.MappingRules(r.Context())
	return list(w, l, err)
}

// setMappingRules replaces the ordered list of mapping rules.
func (s *Server) setMappingRules(w http.ResponseWriter, r *http.Request) error {
	var in cmdb.MappingRuleSet
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.CMDB.SetMappingRules(r.Context(), in)
	return list(w, l, err)
}

func (s *Server) incidentTopology(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	out, err := s.Incidents.TopologyOf(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// confirmRootCause confirms the probable root cause of an incident, or
// corrects it with another CI.
func (s *Server) confirmRootCause(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var in incident.RootCauseInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := s.Incidents.ConfirmRootCause(r.Context(), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
