package web

import (
	"net/http"

	"github.com/steadyhq/steady/internal/incident"
)

// access says who may reach a route.
type access int

const (
	public   access = iota // anyone; the handler checks what it needs
	optional               // anyone; a signed-in user gets their navigation
	signedIn               // a signed-in session; POSTs must carry its CSRF token
)

// route is one UI endpoint. Handlers return an error, which wrap turns into
// an error page (or a redirect to the sign-in page).
type route struct {
	pattern string
	access  access
	handler func(http.ResponseWriter, *http.Request) error
}

// routes lists every UI route. The patterns name their method so that they
// never collide with the API's /api/, /healthz, /readyz and /metrics.
func (s *Server) routes() []route {
	return []route{
		// Sign-in
		{"GET /login", public, s.loginPage},
		{"POST /login", public, s.login},
		{"GET /login/mfa", public, s.mfaPage},
		{"POST /login/mfa", public, s.mfa},
		{"POST /logout", signedIn, s.logout},

		// Dashboard
		{"GET /{$}", signedIn, s.home},

		// Incidents
		{"GET /incidents", signedIn, s.incidents},
		{"GET /incidents/new", signedIn, s.newIncidentPage},
		{"POST /incidents", signedIn, s.createIncident},
		{"GET /incidents/{id}", signedIn, s.incidentPage},
		{"GET /incidents/{id}/report", signedIn, s.reportHTML},
		{"GET /incidents/{id}/report.md", signedIn, s.reportMarkdown},
		{"POST /incidents/{id}/acknowledge", signedIn, s.moveIncident(incident.Acknowledged, "")},
		{"POST /incidents/{id}/investigate", signedIn, s.moveIncident(incident.Investigating, "")},
		{"POST /incidents/{id}/hold", signedIn, s.moveIncident(incident.OnHold, "hold_note")},
		{"POST /incidents/{id}/resolve", signedIn, s.moveIncident(incident.Resolved, "resolution")},
		{"POST /incidents/{id}/close", signedIn, s.moveIncident(incident.Closed, "")},
		{"POST /incidents/{id}/reopen", signedIn, s.moveIncident(incident.Triggered, "reopen_note")},
		{"POST /incidents/{id}/assign", signedIn, s.assignIncident},
		{"POST /incidents/{id}/notes", signedIn, s.addIncidentNote},
		{"POST /incidents/{id}/edit", signedIn, s.updateIncident},
		{"POST /incidents/{id}/links", signedIn, s.linkIncident},
		{"POST /incidents/{id}/root-cause", signedIn, s.confirmRootCause},

		// Alerts
		{"GET /alerts", signedIn, s.alerts},
		{"GET /alerts/{id}", signedIn, s.alertPage},

		// Services and their integration keys
		{"GET /services", signedIn, s.services},
		{"GET /services/new", signedIn, s.newServicePage},
		{"POST /services", signedIn, s.createService},
		{"GET /services/{id}", signedIn, s.servicePage},
		{"GET /services/{id}/edit", signedIn, s.editServicePage},
		{"POST /services/{id}/edit", signedIn, s.updateService},
		{"POST /services/{id}/delete", signedIn, s.deleteService},
		{"POST /services/{id}/keys", signedIn, s.createKey},
		{"POST /services/{id}/keys/{key_id}/revoke", signedIn, s.revokeKey},

		// Event rules, silences, maintenance windows and inhibit rules
		{"GET /rules", signedIn, s.rulesPage},
		{"GET /rules/new", signedIn, s.newRulePage},
		{"POST /rules", signedIn, s.createRule},
		{"POST /rules/try", signedIn, s.tryRule},
		{"GET /rules/{id}", signedIn, s.rulePage},
		{"POST /rules/{id}/edit", signedIn, s.updateRule},
		{"POST /rules/{id}/try", signedIn, s.tryRule},
		{"POST /rules/{id}/delete", signedIn, s.deleteRule},
		{"GET /silences", signedIn, s.silencesPage},
		{"GET /silences/new", signedIn, s.newSilencePage},
		{"POST /silences", signedIn, s.createSilence},
		{"POST /silences/{id}/expire", signedIn, s.expireSilence},
		{"GET /maintenance", signedIn, s.maintenancePage},
		{"GET /maintenance/new", signedIn, s.newMaintenancePage},
		{"POST /maintenance", signedIn, s.createMaintenance},
		{"GET /maintenance/{id}", signedIn, s.editMaintenancePage},
		{"POST /maintenance/{id}/edit", signedIn, s.updateMaintenance},
		{"POST /maintenance/{id}/delete", signedIn, s.deleteMaintenance},
		{"GET /inhibit-rules", signedIn, s.inhibitRulesPage},
		{"POST /inhibit-rules", signedIn, s.createInhibitRule},
		{"POST /inhibit-rules/{id}/delete", signedIn, s.deleteInhibitRule},

		// SLA policies
		{"GET /sla", signedIn, s.slaPage},
		{"GET /sla/{priority}", signedIn, s.slaEditPage},
		{"POST /sla/{priority}", signedIn, s.updateSLA},

		// Users
		{"GET /users", signedIn, s.users},
		{"GET /users/new", signedIn, s.newUserPage},
		{"POST /users", signedIn, s.createUser},
		{"GET /users/{id}", signedIn, s.userPage},
		{"POST /users/{id}/role", signedIn, s.setUserRole},
		{"POST /users/{id}/disable", signedIn, s.disableUser},
		{"POST /users/{id}/enable", signedIn, s.enableUser},
		{"POST /users/{id}/password", signedIn, s.resetPassword},
		{"POST /users/{id}/totp/disable", signedIn, s.disableUserTOTP},
		{"POST /users/{id}/delete", signedIn, s.deleteUser},

		// Teams
		{"GET /teams", signedIn, s.teams},
		{"GET /teams/new", signedIn, s.newTeamPage},
		{"POST /teams", signedIn, s.createTeam},
		{"GET /teams/{id}", signedIn, s.teamPage},
		{"GET /teams/{id}/edit", signedIn, s.editTeamPage},
		{"POST /teams/{id}/edit", signedIn, s.updateTeam},
		{"POST /teams/{id}/delete", signedIn, s.deleteTeam},
		{"POST /teams/{id}/members", signedIn, s.addMember},
		{"POST /teams/{id}/members/{user_id}", signedIn, s.setMemberRole},
		{"POST /teams/{id}/members/{user_id}/remove", signedIn, s.removeMember},

		// API tokens
		{"GET /tokens", signedIn, s.tokens},
		{"GET /tokens/new", signedIn, s.newTokenPage},
		{"POST /tokens", signedIn, s.createToken},
		{"POST /tokens/{id}/revoke", signedIn, s.revokeToken},

		// Audit trail
		{"GET /audit", signedIn, s.auditPage},
		{"POST /audit/verify", signedIn, s.verifyAudit},

		// On-call schedules and overrides (oncall)
		{"GET /schedules", signedIn, s.schedulesPage},
		{"GET /schedules/new", signedIn, s.newSchedulePage},
		{"POST /schedules", signedIn, s.saveSchedule},
		{"POST /schedules/feed", signedIn, s.rotateMyFeed},
		{"GET /schedules/{id}", signedIn, s.schedulePage},
		{"GET /schedules/{id}/edit", signedIn, s.editSchedulePage},
		{"POST /schedules/{id}/edit", signedIn, s.saveSchedule},
		{"POST /schedules/{id}/delete", signedIn, s.deleteSchedule},
		{"POST /schedules/{id}/overrides", signedIn, s.createOverride},
		{"POST /schedules/{id}/overrides/{override_id}/delete", signedIn, s.deleteOverride},
		{"POST /schedules/{id}/feed", signedIn, s.rotateScheduleFeed},
		{"GET /feeds/{file}", public, s.calendarFeed},

		// Escalation policies (oncall)
		{"GET /escalation-policies", signedIn, s.policiesPage},
		{"GET /escalation-policies/new", signedIn, s.newPolicyPage},
		{"POST /escalation-policies", signedIn, s.createPolicy},
		{"GET /escalation-policies/{id}", signedIn, s.policyPage},
		{"GET /escalation-policies/{id}/edit", signedIn, s.editPolicyPage},
		{"POST /escalation-policies/{id}/edit", signedIn, s.updatePolicy},
		{"POST /escalation-policies/{id}/delete", signedIn, s.deletePolicy},

		// Contact methods and notification rules (notify)
		{"GET /account/notifications", signedIn, s.contactsPage},
		{"POST /account/notifications/methods", signedIn, s.addContactMethodForm},
		{"POST /account/notifications/methods/{method_id}/delete", signedIn, s.deleteContactMethodForm},
		{"POST /account/notifications/methods/{method_id}/test", signedIn, s.testContactMethodForm},
		{"POST /account/notifications/methods/{method_id}/rotate-secret", signedIn, s.rotateContactSecretForm},
		{"POST /account/notifications/rules", signedIn, s.addNotificationRuleForm},
		{"POST /account/notifications/rules/{rule_id}/delete", signedIn, s.deleteNotificationRuleForm},
		{"GET /users/{id}/notifications", signedIn, s.contactsPage},
		{"POST /users/{id}/notifications/methods", signedIn, s.addContactMethodForm},
		{"POST /users/{id}/notifications/methods/{method_id}/delete", signedIn, s.deleteContactMethodForm},
		{"POST /users/{id}/notifications/methods/{method_id}/test", signedIn, s.testContactMethodForm},
		{"POST /users/{id}/notifications/methods/{method_id}/rotate-secret", signedIn, s.rotateContactSecretForm},
		{"POST /users/{id}/notifications/rules", signedIn, s.addNotificationRuleForm},
		{"POST /users/{id}/notifications/rules/{rule_id}/delete", signedIn, s.deleteNotificationRuleForm},

		// Message templates (notify)
		{"GET /notification-templates", signedIn, s.messageTemplatesPage},
		{"GET /notification-templates/{kind}", signedIn, s.messageTemplatePage},
		{"POST /notification-templates/{kind}", signedIn, s.saveMessageTemplate},
		{"POST /notification-templates/{kind}/preview", signedIn, s.previewMessageTemplate},
		{"POST /notification-templates/{kind}/preview.html", signedIn, s.previewMessageTemplateHTML},
		{"POST /notification-templates/{kind}/reset", signedIn, s.resetMessageTemplate},

		// Outbox, dead letters and one-click links (notify)
		{"GET /outbox", signedIn, s.outboxPage},
		{"GET /outbox/{id}", signedIn, s.outboxItemPage},
		{"POST /outbox/{id}/retry", signedIn, s.retryOutboxItem},
		{"GET /l/{token}", public, s.linkPage},
		{"POST /l/{token}", public, s.useLink},

		// Heartbeats
		{"GET /heartbeats", signedIn, s.heartbeatsPage},
		{"GET /heartbeats/new", signedIn, s.newHeartbeatPage},
		{"POST /heartbeats", signedIn, s.createHeartbeat},
		{"GET /heartbeats/{id}", signedIn, s.heartbeatPage},
		{"POST /heartbeats/{id}/edit", signedIn, s.updateHeartbeat},
		{"POST /heartbeats/{id}/pause", signedIn, s.pauseHeartbeat},
		{"POST /heartbeats/{id}/resume", signedIn, s.resumeHeartbeat},
		{"POST /heartbeats/{id}/rotate-key", signedIn, s.rotateHeartbeatKey},
		{"POST /heartbeats/{id}/delete", signedIn, s.deleteHeartbeat},

		// CMDB: classes and CIs
		{"GET /cmdb", signedIn, s.cmdbPage},
		{"GET /cmdb/cis/new", signedIn, s.newCIPage},
		{"POST /cmdb/cis", signedIn, s.createCI},
		{"GET /cmdb/cis/{id}", signedIn, s.ciPage},
		{"GET /cmdb/cis/{id}/edit", signedIn, s.editCIPage},
		{"POST /cmdb/cis/{id}/edit", signedIn, s.updateCI},
		{"POST /cmdb/cis/{id}/lifecycle", signedIn, s.setCILifecycle},
		{"POST /cmdb/cis/{id}/delete", signedIn, s.deleteCI},
		{"GET /cmdb/classes", signedIn, s.ciClassesPage},
		{"GET /cmdb/classes/new", signedIn, s.newClassPage},
		{"POST /cmdb/classes", signedIn, s.createClass},
		{"GET /cmdb/classes/{key}", signedIn, s.ciClassPage},
		{"GET /cmdb/classes/{key}/edit", signedIn, s.editClassPage},
		{"POST /cmdb/classes/{key}/edit", signedIn, s.updateClass},
		{"POST /cmdb/classes/{key}/delete", signedIn, s.deleteClass},

		// CMDB: relationships, impact and the service map
		{"GET /cmdb/cis/{id}/impact", signedIn, s.impactPage},
		{"POST /cmdb/cis/{id}/relations", signedIn, s.addRelation},
		{"POST /cmdb/cis/{id}/relations/{rel_id}/delete", signedIn, s.removeRelation},
		{"POST /cmdb/cis/{id}/redundancy", signedIn, s.setRedundancy},
		{"POST /cmdb/cis/{id}/redundancy/delete", signedIn, s.clearRedundancy},
		{"GET /cmdb/map", signedIn, s.mapPage},

		// CMDB: import, export and the configuration audit
		{"GET /cmdb/import", signedIn, s.importPage},
		{"POST /cmdb/import", signedIn, s.importCIs},
		{"GET /cmdb/audit", signedIn, s.cmdbAuditPage},

		// Own account
		{"GET /account", signedIn, s.accountPage},
		{"POST /account/profile", signedIn, s.updateProfile},
		{"GET /account/password", signedIn, s.passwordPage},
		{"POST /account/password", signedIn, s.changePassword},
		{"GET /account/totp", signedIn, s.totpPage},
		{"POST /account/totp", signedIn, s.startTOTP},
		{"POST /account/totp/confirm", signedIn, s.confirmTOTP},
		{"POST /account/totp/disable", signedIn, s.disableTOTP},

		// Assets, and an HTML "not found" for every other path outside the API
		// (the API's own "/api/" pattern is more specific and wins there).
		{"GET /static/", public, s.static},
		{"/", optional, s.notFound},
	}
}
