package api

import "github.com/steadyhq/steady/internal/iam"

// Routes lists every API route and the least role it needs. Finer rules (a
// user may change their own name; a token for someone else needs an admin)
// live in the capability's service. The OpenAPI test checks this list
// against openapi.json; the authorization test walks it with every role.
func (s *Server) Routes() []Route {
	const (
		viewer  = iam.RoleViewer
		manager = iam.RoleManager
		admin   = iam.RoleAdmin
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
	}
}
