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
		{Pattern: "POST /api/v1/users", Role: admin, Handler: create(s.IAM.CreateUser, "/api/v1/users/", userRef)},
		{Pattern: "GET /api/v1/users/{id}", Role: viewer, Handler: s.getUser},
		{Pattern: "PATCH /api/v1/users/{id}", Role: viewer, Handler: s.updateUser},
		{Pattern: "DELETE /api/v1/users/{id}", Role: admin, Handler: deleteByID(s.IAM.DeleteUser)},
		{Pattern: "POST /api/v1/users/{id}/totp", Role: viewer, Handler: s.startTOTP},
		{Pattern: "POST /api/v1/users/{id}/totp/confirm", Role: viewer, Handler: s.confirmTOTP},
		{Pattern: "DELETE /api/v1/users/{id}/totp", Role: viewer, Handler: s.disableTOTP},

		// Teams
		{Pattern: "GET /api/v1/teams", Role: viewer, Handler: s.listTeams},
		{Pattern: "POST /api/v1/teams", Role: manager, Handler: create(s.IAM.CreateTeam, "/api/v1/teams/", teamRef)},
		{Pattern: "GET /api/v1/teams/{id}", Role: viewer, Handler: getByID(s.IAM.GetTeam, teamRef)},
		{Pattern: "PATCH /api/v1/teams/{id}", Role: manager, Handler: changeByID(s.IAM.UpdateTeam, teamRef)},
		{Pattern: "DELETE /api/v1/teams/{id}", Role: manager, Handler: deleteByID(s.IAM.DeleteTeam)},
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
		{Pattern: "POST /api/v1/services", Role: manager, Handler: create(s.Services.Create, "/api/v1/services/", serviceRef)},
		{Pattern: "GET /api/v1/services/{id}", Role: viewer, Handler: getByID(s.Services.Get, serviceRef)},
		{Pattern: "PATCH /api/v1/services/{id}", Role: manager, Handler: changeByID(s.Services.Update, serviceRef)},
		{Pattern: "DELETE /api/v1/services/{id}", Role: manager, Handler: deleteByID(s.Services.Delete)},
		{Pattern: "GET /api/v1/services/{id}/integration-keys", Role: manager, Handler: s.listIntegrationKeys},
		{Pattern: "POST /api/v1/services/{id}/integration-keys", Role: manager, Handler: s.createIntegrationKey},
		{Pattern: "DELETE /api/v1/services/{id}/integration-keys/{key_id}", Role: manager, Handler: s.revokeIntegrationKey},

		// Alerts
		{Pattern: "GET /api/v1/alerts", Role: viewer, Handler: s.listAlerts},
		{Pattern: "GET /api/v1/alerts/{id}", Role: viewer, Handler: s.getAlert},

		// Incidents
		{Pattern: "GET /api/v1/incidents", Role: viewer, Handler: s.listIncidents},
		{Pattern: "POST /api/v1/incidents", Role: responder, Handler: create(s.Incidents.Create, "/api/v1/incidents/", incidentRef)},
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
		{Pattern: "DELETE /api/v1/rules/{id}", Role: manager, Handler: deleteByID(s.Rules.DeleteRule)},
		{Pattern: "GET /api/v1/silences", Role: viewer, Handler: s.listSilences},
		{Pattern: "POST /api/v1/silences", Role: responder, Handler: s.createSilence},
		{Pattern: "DELETE /api/v1/silences/{id}", Role: responder, Handler: deleteByID(s.Rules.ExpireSilence)},
		{Pattern: "GET /api/v1/maintenance-windows", Role: viewer, Handler: s.listWindows},
		{Pattern: "POST /api/v1/maintenance-windows", Role: manager, Handler: s.saveWindow(true)},
		{Pattern: "GET /api/v1/maintenance-windows/{id}", Role: viewer, Handler: s.getWindow},
		{Pattern: "PUT /api/v1/maintenance-windows/{id}", Role: manager, Handler: s.saveWindow(false)},
		{Pattern: "DELETE /api/v1/maintenance-windows/{id}", Role: manager, Handler: deleteByID(s.Rules.DeleteWindow)},
		{Pattern: "GET /api/v1/inhibit-rules", Role: viewer, Handler: s.listInhibitRules},
		{Pattern: "POST /api/v1/inhibit-rules", Role: manager, Handler: s.createInhibitRule},
		{Pattern: "DELETE /api/v1/inhibit-rules/{id}", Role: manager, Handler: deleteByID(s.Rules.DeleteInhibitRule)},

		// On-call schedules, overrides and iCalendar feeds
		{Pattern: "GET /api/v1/schedules", Role: viewer, Handler: s.listSchedules},
		{Pattern: "POST /api/v1/schedules", Role: manager, Handler: create(s.Schedules.Create, "/api/v1/schedules/", scheduleRef)},
		{Pattern: "GET /api/v1/schedules/{id}", Role: viewer, Handler: getByID(s.Schedules.Get, scheduleRef)},
		{Pattern: "PUT /api/v1/schedules/{id}", Role: manager, Handler: changeByID(s.Schedules.Replace, scheduleRef)},
		{Pattern: "DELETE /api/v1/schedules/{id}", Role: manager, Handler: deleteByID(s.Schedules.Delete)},
		{Pattern: "GET /api/v1/schedules/{id}/shifts", Role: viewer, Handler: s.scheduleShifts},
		{Pattern: "GET /api/v1/schedules/{id}/oncall", Role: viewer, Handler: s.scheduleOnCall},
		{Pattern: "GET /api/v1/schedules/{id}/overrides", Role: viewer, Handler: s.listOverrides},
		{Pattern: "POST /api/v1/schedules/{id}/overrides", Role: responder, Handler: s.createOverride},
		{Pattern: "DELETE /api/v1/schedules/{id}/overrides/{override_id}", Role: responder, Handler: s.deleteOverride},
		{Pattern: "GET /api/v1/schedules/{id}/feed", Role: viewer, Handler: s.scheduleFeedInfo},
		{Pattern: "POST /api/v1/schedules/{id}/feed", Role: responder, Handler: s.rotateScheduleFeed},
		{Pattern: "DELETE /api/v1/schedules/{id}/feed", Role: responder, Handler: s.revokeScheduleFeed},
		{Pattern: "GET /api/v1/oncall", Role: viewer, Handler: s.onCallNow},
		{Pattern: "GET /api/v1/users/{id}/shifts", Role: viewer, Handler: s.userShifts},
		{Pattern: "GET /api/v1/users/{id}/feed", Role: viewer, Handler: s.userFeedInfo},
		{Pattern: "POST /api/v1/users/{id}/feed", Role: viewer, Handler: s.rotateUserFeed},
		{Pattern: "DELETE /api/v1/users/{id}/feed", Role: viewer, Handler: s.revokeUserFeed},

		// Escalation policies
		{Pattern: "GET /api/v1/escalation-policies", Role: viewer, Handler: s.listPolicies},
		{Pattern: "POST /api/v1/escalation-policies", Role: manager, Handler: create(s.Policies.Create, "/api/v1/escalation-policies/", policyRef)},
		{Pattern: "GET /api/v1/escalation-policies/{id}", Role: viewer, Handler: getByID(s.Policies.Get, policyRef)},
		{Pattern: "PUT /api/v1/escalation-policies/{id}", Role: manager, Handler: changeByID(s.Policies.Replace, policyRef)},
		{Pattern: "DELETE /api/v1/escalation-policies/{id}", Role: manager, Handler: deleteByID(s.Policies.Delete)},

		// Contact methods and notification rules
		{Pattern: "GET /api/v1/users/{id}/contact-methods", Role: viewer, Handler: s.listContactMethods},
		{Pattern: "POST /api/v1/users/{id}/contact-methods", Role: viewer, Handler: s.createContactMethod},
		{Pattern: "GET /api/v1/users/{id}/contact-methods/{method_id}", Role: viewer, Handler: s.getContactMethod},
		{Pattern: "PATCH /api/v1/users/{id}/contact-methods/{method_id}", Role: viewer, Handler: s.updateContactMethod},
		{Pattern: "DELETE /api/v1/users/{id}/contact-methods/{method_id}", Role: viewer, Handler: s.deleteContactMethod},
		{Pattern: "POST /api/v1/users/{id}/contact-methods/{method_id}/rotate-secret", Role: viewer, Handler: s.rotateContactSecret},
		{Pattern: "POST /api/v1/users/{id}/contact-methods/{method_id}/test", Role: viewer, Handler: s.testContactMethod},
		{Pattern: "GET /api/v1/users/{id}/notification-rules", Role: viewer, Handler: s.listNotificationRules},
		{Pattern: "POST /api/v1/users/{id}/notification-rules", Role: viewer, Handler: s.createNotificationRule},
		{Pattern: "DELETE /api/v1/users/{id}/notification-rules/{rule_id}", Role: viewer, Handler: s.deleteNotificationRule},

		// Message templates
		{Pattern: "GET /api/v1/notification-templates", Role: viewer, Handler: s.listTemplates},
		{Pattern: "GET /api/v1/notification-templates/{kind}", Role: viewer, Handler: s.getTemplate},
		{Pattern: "PUT /api/v1/notification-templates/{kind}", Role: admin, Handler: s.putTemplate},
		{Pattern: "DELETE /api/v1/notification-templates/{kind}", Role: admin, Handler: s.resetTemplate},
		{Pattern: "POST /api/v1/notification-templates/{kind}/preview", Role: viewer, Handler: s.previewTemplate},

		// Outbox and dead letters
		{Pattern: "GET /api/v1/outbox", Role: viewer, Handler: s.listOutbox},
		{Pattern: "GET /api/v1/outbox/{id}", Role: viewer, Handler: s.getOutboxItem},
		{Pattern: "POST /api/v1/outbox/{id}/retry", Role: manager, Handler: s.retryOutboxItem},

		// Heartbeats. A beat is POST /api/v1/heartbeats/{id} with the
		// heartbeat's secret key in place of the id (see beatHeartbeat).
		{Pattern: "GET /api/v1/heartbeats", Role: viewer, Handler: s.listHeartbeats},
		{Pattern: "POST /api/v1/heartbeats", Role: manager, Handler: s.createHeartbeat},
		{Pattern: "GET /api/v1/heartbeats/{id}", Role: viewer, Handler: getByID(s.Heartbeats.Get, heartbeatRef)},
		{Pattern: "PATCH /api/v1/heartbeats/{id}", Role: manager, Handler: changeByID(s.Heartbeats.Update, heartbeatRef)},
		{Pattern: "DELETE /api/v1/heartbeats/{id}", Role: manager, Handler: deleteByID(s.Heartbeats.Delete)},
		{Pattern: "POST /api/v1/heartbeats/{id}/rotate-key", Role: manager, Handler: s.rotateHeartbeatKey},
		{Pattern: "POST /api/v1/heartbeats/{id}/pause", Role: manager, Handler: s.heartbeatState(true)},
		{Pattern: "POST /api/v1/heartbeats/{id}/resume", Role: manager, Handler: s.heartbeatState(false)},
		{Pattern: "POST /api/v1/heartbeats/{id}", Role: Public, BodyLimit: BeatBodyLimit, Handler: s.beatHeartbeat},

		// CMDB: classes and CIs
		{Pattern: "GET /api/v1/ci-classes", Role: viewer, Handler: s.listCIClasses},
		{Pattern: "POST /api/v1/ci-classes", Role: admin, Handler: s.createCIClass},
		{Pattern: "GET /api/v1/ci-classes/{key}", Role: viewer, Handler: s.getCIClass},
		{Pattern: "PUT /api/v1/ci-classes/{key}", Role: admin, Handler: s.updateCIClass},
		{Pattern: "DELETE /api/v1/ci-classes/{key}", Role: admin, Handler: s.deleteCIClass},
		{Pattern: "GET /api/v1/cis", Role: viewer, Handler: s.listCIs},
		{Pattern: "POST /api/v1/cis", Role: manager, Handler: create(s.CMDB.CreateCI, "/api/v1/cis/", ciRef)},
		{Pattern: "GET /api/v1/cis/{id}", Role: viewer, Handler: getByID(s.CMDB.GetCI, ciRef)},
		{Pattern: "PATCH /api/v1/cis/{id}", Role: manager, Handler: changeByID(s.CMDB.UpdateCI, ciRef)},
		{Pattern: "DELETE /api/v1/cis/{id}", Role: manager, Handler: deleteByID(s.CMDB.DeleteCI)},
		{Pattern: "GET /api/v1/cis/{id}/history", Role: viewer, Handler: s.ciHistory},

		// CMDB: relationships, impact analysis and the service map
		{Pattern: "GET /api/v1/cis/{id}/relations", Role: viewer, Handler: s.listCIRelations},
		{Pattern: "POST /api/v1/relations", Role: manager, Handler: s.createRelation},
		{Pattern: "GET /api/v1/relations/{id}", Role: viewer, Handler: s.getRelation},
		{Pattern: "DELETE /api/v1/relations/{id}", Role: manager, Handler: s.deleteRelation},
		{Pattern: "GET /api/v1/cis/{id}/redundancy", Role: viewer, Handler: s.getRedundancy},
		{Pattern: "PUT /api/v1/cis/{id}/redundancy", Role: manager, Handler: s.setRedundancy},
		{Pattern: "DELETE /api/v1/cis/{id}/redundancy", Role: manager, Handler: deleteByID(s.CMDB.ClearRedundancy)},
		{Pattern: "GET /api/v1/cis/{id}/impact", Role: viewer, Handler: s.ciImpact},
		{Pattern: "POST /api/v1/impact", Role: viewer, Handler: s.analyseImpact},

		// CMDB: import, export, discovery and the configuration audit
		{Pattern: "POST /api/v1/cis/import", Role: manager, BodyLimit: CMDBFileLimit, Handler: s.importCIs},
		{Pattern: "GET /api/v1/cis/export", Role: viewer, Handler: s.exportCIs},
		{Pattern: "POST /api/v1/discovery/{source}", Role: manager, BodyLimit: CMDBFileLimit, Handler: s.discover},
		{Pattern: "GET /api/v1/cmdb/audit", Role: viewer, Handler: s.configurationAudit},

		// CMDB: how events name CIs, and the topology of incidents
		{Pattern: "GET /api/v1/cmdb/mapping-rules", Role: viewer, Handler: s.listMappingRules},
		{Pattern: "PUT /api/v1/cmdb/mapping-rules", Role: admin, Handler: s.setMappingRules},
		{Pattern: "GET /api/v1/incidents/{id}/topology", Role: viewer, Handler: s.incidentTopology},
		{Pattern: "POST /api/v1/incidents/{id}/root-cause", Role: responder, Handler: s.confirmRootCause},

		// Events in, with an integration key
		{Pattern: "POST /v2/enqueue", Role: Public, Auth: AuthIntegrationKey, BodyLimit: PagerDutyBodyLimit,
			Handler: s.enqueuePagerDuty, WriteError: s.pagerDutyError},
		{Pattern: "POST /api/v1/integrations/alertmanager", Role: Public, Auth: AuthIntegrationKey, BodyLimit: EventsBodyLimit,
			Handler: s.receiveAlertmanager, WriteError: s.ingestError(event.SourceAlertmanager)},
		{Pattern: "POST /api/v1/events", Role: Public, Auth: AuthIntegrationKey, BodyLimit: EventsBodyLimit,
			Handler: s.receiveEvents, WriteError: s.ingestError(event.SourceGeneric)},
	}
}
