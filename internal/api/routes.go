package api

import (
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
)

// Routes lists every API route and the least role it needs. Finer rules (a
// user may change their own name; a token for someone else needs an admin)
// live in the capability's service. The OpenAPI test checks this list
// against openapi.json; the authorization test walks it with every role.
// The event endpoints take a service's integration key instead of a token.
func (s *Server) Routes() []Route {
	const (
		viewer    = iam.RoleViewer
		responder = iam.RoleResponder
		manager   = iam.RoleManager
		admin     = iam.RoleAdmin
	)
	return []Route{
		// System
		{Pattern: "GET /healthz", Role: Public, Handler: s.healthz},
		{Pattern: "GET /readyz", Role: Public, Handler: s.readyz},
		{Pattern: "GET /metrics", Role: Public, Handler: s.metrics},
		{Pattern: "GET /api/v1/version", Role: Public, Handler: s.version},
		{Pattern: "GET /api/v1/openapi.json", Role: Public, Handler: s.openapi},

		// Users
		{Pattern: "GET /api/v1/users", Role: viewer, Handler: s.listUsers},
		{Pattern: "POST /api/v1/users", Role: admin, Handler: s.createUser},
		{Pattern: "GET /api/v1/users/{id}", Role: viewer, Handler: s.getUser},
		{Pattern: "PATCH /api/v1/users/{id}", Role: viewer, Handler: s.updateUser},
		{Pattern: "DELETE /api/v1/users/{id}", Role: admin, Handler: s.deleteUser},
		{Pattern: "POST /api/v1/users/{id}/totp", Role: viewer, Handler: s.startTOTP},
		{Pattern: "POST /api/v1/users/{id}/totp/confirm", Role: viewer, Handler: s.confirmTOTP},
		{Pattern: "DELETE /api/v1/users/{id}/totp", Role: viewer, Handler: s.disableTOTP},

		// Teams
		{Pattern: "GET /api/v1/teams", Role: viewer, Handler: s.listTeams},
		{Pattern: "POST /api/v1/teams", Role: manager, Handler: s.createTeam},
		{Pattern: "GET /api/v1/teams/{id}", Role: viewer, Handler: s.getTeam},
		{Pattern: "PATCH /api/v1/teams/{id}", Role: manager, Handler: s.updateTeam},
		{Pattern: "DELETE /api/v1/teams/{id}", Role: manager, Handler: s.deleteTeam},
		{Pattern: "GET /api/v1/teams/{id}/members", Role: viewer, Handler: s.listMembers},
		{Pattern: "POST /api/v1/teams/{id}/members", Role: manager, Handler: s.addMember},
		{Pattern: "DELETE /api/v1/teams/{id}/members/{user_id}", Role: manager, Handler: s.removeMember},

		// API tokens
		{Pattern: "GET /api/v1/tokens", Role: viewer, Handler: s.listTokens},
		{Pattern: "POST /api/v1/tokens", Role: viewer, Handler: s.createToken},
		{Pattern: "GET /api/v1/tokens/{id}", Role: viewer, Handler: s.getToken},
		{Pattern: "DELETE /api/v1/tokens/{id}", Role: viewer, Handler: s.revokeToken},

		// Audit trail
		{Pattern: "GET /api/v1/audit", Role: manager, Handler: s.listAudit},
		{Pattern: "GET /api/v1/audit/verify", Role: admin, Handler: s.verifyAudit},

		// Services and their integration keys
		{Pattern: "GET /api/v1/services", Role: viewer, Handler: s.listServices},
		{Pattern: "POST /api/v1/services", Role: manager, Handler: s.createService},
		{Pattern: "GET /api/v1/services/{id}", Role: viewer, Handler: s.getService},
		{Pattern: "PATCH /api/v1/services/{id}", Role: manager, Handler: s.updateService},
		{Pattern: "DELETE /api/v1/services/{id}", Role: manager, Handler: s.deleteService},
		{Pattern: "GET /api/v1/services/{id}/integration-keys", Role: manager, Handler: s.listIntegrationKeys},
		{Pattern: "POST /api/v1/services/{id}/integration-keys", Role: manager, Handler: s.createIntegrationKey},
		{Pattern: "DELETE /api/v1/services/{id}/integration-keys/{key_id}", Role: manager, Handler: s.revokeIntegrationKey},

		// Alerts
		{Pattern: "GET /api/v1/alerts", Role: viewer, Handler: s.listAlerts},
		{Pattern: "GET /api/v1/alerts/{id}", Role: viewer, Handler: s.getAlert},

		// Incidents
		{Pattern: "GET /api/v1/incidents", Role: viewer, Handler: s.listIncidents},
		{Pattern: "POST /api/v1/incidents", Role: responder, Handler: s.createIncident},
		{Pattern: "GET /api/v1/incidents/search", Role: viewer, Handler: s.searchIncidents},
		{Pattern: "GET /api/v1/incidents/{id}", Role: viewer, Handler: s.getIncident},
		{Pattern: "PATCH /api/v1/incidents/{id}", Role: responder, Handler: s.updateIncident},
		{Pattern: "POST /api/v1/incidents/{id}/acknowledge", Role: responder, Handler: s.transition(incident.Acknowledged)},
		{Pattern: "POST /api/v1/incidents/{id}/investigate", Role: responder, Handler: s.transition(incident.Investigating)},
		{Pattern: "POST /api/v1/incidents/{id}/hold", Role: responder, Handler: s.transition(incident.OnHold)},
		{Pattern: "POST /api/v1/incidents/{id}/resolve", Role: responder, Handler: s.transition(incident.Resolved)},
		{Pattern: "POST /api/v1/incidents/{id}/close", Role: responder, Handler: s.transition(incident.Closed)},
		{Pattern: "POST /api/v1/incidents/{id}/reopen", Role: responder, Handler: s.transition(incident.Triggered)},
		{Pattern: "POST /api/v1/incidents/{id}/assign", Role: responder, Handler: s.assignIncident},
		{Pattern: "GET /api/v1/incidents/{id}/timeline", Role: viewer, Handler: ofIncident(s.Incidents.Timeline)},
		{Pattern: "POST /api/v1/incidents/{id}/notes", Role: responder, Handler: s.addIncidentNote},
		{Pattern: "GET /api/v1/incidents/{id}/alerts", Role: viewer, Handler: pagedOfIncident(s.Incidents.Alerts)},
		{Pattern: "GET /api/v1/incidents/{id}/events", Role: viewer, Handler: pagedOfIncident(s.Incidents.Events)},
		{Pattern: "GET /api/v1/incidents/{id}/related", Role: viewer, Handler: ofIncident(s.Incidents.Related)},
		{Pattern: "POST /api/v1/incidents/{id}/related", Role: responder, Handler: s.linkIncident},
		{Pattern: "GET /api/v1/incidents/{id}/similar", Role: viewer, Handler: ofIncident(s.similar)},
		{Pattern: "GET /api/v1/incidents/{id}/slas", Role: viewer, Handler: ofIncident(s.Incidents.SLAs)},
		{Pattern: "GET /api/v1/incidents/{id}/report", Role: viewer, Handler: s.incidentReport},
		{Pattern: "GET /api/v1/sla-policies", Role: viewer, Handler: s.listSLAPolicies},
		{Pattern: "PUT /api/v1/sla-policies/{priority}", Role: admin, Handler: s.setSLAPolicy},

		// Event rules, silences, maintenance windows, inhibition
		{Pattern: "GET /api/v1/rules", Role: viewer, Handler: s.listRules},
		{Pattern: "POST /api/v1/rules", Role: manager, Handler: s.createRule},
		{Pattern: "POST /api/v1/rules/test", Role: viewer, Handler: s.testRule},
		{Pattern: "GET /api/v1/rules/{id}", Role: viewer, Handler: s.getRule},
		{Pattern: "PUT /api/v1/rules/{id}", Role: manager, Handler: s.updateRule},
		{Pattern: "DELETE /api/v1/rules/{id}", Role: manager, Handler: s.deleteRule},
		{Pattern: "GET /api/v1/silences", Role: viewer, Handler: s.listSilences},
		{Pattern: "POST /api/v1/silences", Role: responder, Handler: s.createSilence},
		{Pattern: "DELETE /api/v1/silences/{id}", Role: responder, Handler: s.expireSilence},
		{Pattern: "GET /api/v1/maintenance-windows", Role: viewer, Handler: s.listWindows},
		{Pattern: "POST /api/v1/maintenance-windows", Role: manager, Handler: s.saveWindow(true)},
		{Pattern: "GET /api/v1/maintenance-windows/{id}", Role: viewer, Handler: s.getWindow},
		{Pattern: "PUT /api/v1/maintenance-windows/{id}", Role: manager, Handler: s.saveWindow(false)},
		{Pattern: "DELETE /api/v1/maintenance-windows/{id}", Role: manager, Handler: s.deleteWindow},
		{Pattern: "GET /api/v1/inhibit-rules", Role: viewer, Handler: s.listInhibitRules},
		{Pattern: "POST /api/v1/inhibit-rules", Role: manager, Handler: s.createInhibitRule},
		{Pattern: "DELETE /api/v1/inhibit-rules/{id}", Role: manager, Handler: s.deleteInhibitRule},

		// On-call schedules, overrides and iCalendar feeds

		// Escalation policies

		// Contact methods and notification rules

		// Message templates

		// Outbox and dead letters

		// Heartbeats

		// Events in, with an integration key
		{Pattern: "POST /v2/enqueue", Role: Public, Auth: AuthIntegrationKey, BodyLimit: PagerDutyBodyLimit,
			Handler: s.enqueuePagerDuty, WriteError: s.pagerDutyError},
		{Pattern: "POST /api/v1/integrations/alertmanager", Role: Public, Auth: AuthIntegrationKey, BodyLimit: EventsBodyLimit,
			Handler: s.receiveAlertmanager, WriteError: s.ingestError(event.SourceAlertmanager)},
		{Pattern: "POST /api/v1/events", Role: Public, Auth: AuthIntegrationKey, BodyLimit: EventsBodyLimit,
			Handler: s.receiveEvents, WriteError: s.ingestError(event.SourceGeneric)},
	}
}
