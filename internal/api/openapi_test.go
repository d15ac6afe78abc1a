package api_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/api"
	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/calendar"
	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/heartbeat"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/oncall"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/service"
)

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPIDocument(t *testing.T) {
	sp := mustSpec(t)
	v, _ := sp.doc["openapi"].(string)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Fatalf("openapi is %q; want 3.1.x", v)
	}
	info, _ := sp.doc["info"].(map[string]any)
	if info["title"] == "" || info["version"] == "" {
		t.Fatalf("info %v", info)
	}
	schemes, _ := sp.ref("#/components/securitySchemes")["bearer"].(map[string]any)
	if schemes["type"] != "http" || schemes["scheme"] != "bearer" {
		t.Fatalf("bearer security scheme %v", schemes)
	}
	global, _ := sp.doc["security"].([]any)
	if len(global) != 1 || global[0].(map[string]any)["bearer"] == nil {
		t.Fatalf("the document's default security is %v; want bearer", global)
	}
	// Integration keys, for the event endpoints: a bearer header, X-Routing-Key or ?key=.
	ss := sp.ref("#/components/securitySchemes")
	if k, _ := ss["integrationKey"].(map[string]any); k["type"] != "http" || k["scheme"] != "bearer" {
		t.Errorf("integrationKey security scheme %v", k)
	}
	if k, _ := ss["integrationKeyHeader"].(map[string]any); k["type"] != "apiKey" || k["in"] != "header" || k["name"] != "X-Routing-Key" {
		t.Errorf("integrationKeyHeader security scheme %v", k)
	}
	if k, _ := ss["integrationKeyQuery"].(map[string]any); k["type"] != "apiKey" || k["in"] != "query" || k["name"] != "key" {
		t.Errorf("integrationKeyQuery security scheme %v", k)
	}
	// Every reference resolves.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok && sp.ref(ref) == nil {
				t.Errorf("%s: $ref %q names nothing", at, ref)
			}
			for k, e := range x {
				walk(e, at+"/"+k)
			}
		case []any:
			for _, e := range x {
				walk(e, at)
			}
		}
	}
	walk(sp.doc, "#")
}

// TestOpenAPIMatchesRoutes: no route without a spec entry, no spec entry
// without a route, and each operation complete and consistent with its route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	sp := mustSpec(t)
	routes := map[string]api.Route{}
	for _, rt := range (&api.Server{}).Routes() {
		key := strings.ToLower(rt.Method()) + " " + rt.Path()
		if _, dup := routes[key]; dup {
			t.Errorf("route %s is listed twice", rt.Pattern)
		}
		routes[key] = rt
	}
	paths, _ := sp.doc["paths"].(map[string]any)
	documented := map[string]bool{}
	opIDs := map[string]string{}
	for p, item := range paths {
		for m, o := range item.(map[string]any) {
			if !slices.Contains(methods, m) {
				continue
			}
			key := m + " " + p
			documented[key] = true
			rt, ok := routes[key]
			if !ok {
				t.Errorf("the document has %s %s, which is not a route", strings.ToUpper(m), p)
				continue
			}
			checkOperation(t, sp, rt, o.(map[string]any), opIDs)
		}
	}
	for key, rt := range routes {
		if !documented[key] {
			t.Errorf("route %s is missing from openapi.json", rt.Pattern)
		}
	}
}

func checkOperation(t *testing.T, sp *spec, rt api.Route, op map[string]any, opIDs map[string]string) {
	t.Helper()
	name := rt.Pattern
	opID, _ := op["operationId"].(string)
	if opID == "" {
		t.Errorf("%s: no operationId", name)
	} else if other, dup := opIDs[opID]; dup {
		t.Errorf("%s: operationId %q is used by %s too", name, opID, other)
	}
	opIDs[opID] = name
	for _, f := range []string{"summary", "description"} {
		if s, _ := op[f].(string); strings.TrimSpace(s) == "" {
			t.Errorf("%s: no %s", name, f)
		}
	}

	// Security: public routes say security: []; others inherit bearer (or
	// name it) and say their least role in x-steady-role. Routes that take
	// an integration key say x-steady-auth: integration-key and name only
	// the integration key schemes (or none, when the key is in the body).
	sec, hasSec := op["security"].([]any)
	public := hasSec && len(sec) == 0
	keyed := rt.Auth == api.AuthIntegrationKey
	if auth, _ := op["x-steady-auth"].(string); (auth == "integration-key") != keyed || (auth != "" && !keyed) {
		t.Errorf("%s: x-steady-auth %q; the route's auth is %v", name, auth, rt.Auth)
	}
	if keyed {
		if rt.Role != api.Public {
			t.Errorf("%s: takes an integration key but also needs the %s role", name, rt.Role)
		}
		if !hasSec {
			t.Errorf("%s: takes an integration key but inherits the API token scheme", name)
		}
		for _, alt := range sec {
			for scheme := range alt.(map[string]any) {
				if !strings.HasPrefix(scheme, "integrationKey") {
					t.Errorf("%s: takes an integration key but its security names %s", name, scheme)
				}
			}
		}
	} else if public != (rt.Role == api.Public) {
		t.Errorf("%s: route role %q but the document's security is %v", name, rt.Role, op["security"])
	}
	if role, _ := op["x-steady-role"].(string); role != string(rt.Role) {
		t.Errorf("%s: x-steady-role %q; the route needs %q", name, role, rt.Role)
	}

	// Parameters: every path wildcard is declared, nothing else is.
	wild := map[string]bool{}
	for _, m := range regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(rt.Path(), -1) {
		wild[m[1]] = true
	}
	params := map[string]map[string]any{}
	for _, p := range asList(op["parameters"]) {
		pm := sp.resolve(p)
		if pm == nil {
			t.Errorf("%s: a parameter does not resolve", name)
			continue
		}
		params[pm["in"].(string)+":"+pm["name"].(string)] = pm
		if pm["in"] == "path" {
			if !wild[pm["name"].(string)] {
				t.Errorf("%s: path parameter %q is not in the path", name, pm["name"])
			}
			if pm["required"] != true {
				t.Errorf("%s: path parameter %q is not required", name, pm["name"])
			}
		}
		if pm["schema"] == nil {
			t.Errorf("%s: parameter %q has no schema", name, pm["name"])
		}
	}
	for w := range wild {
		if params["path:"+w] == nil {
			t.Errorf("%s: path parameter {%s} is not declared", name, w)
		}
	}
	if rt.Method() == "POST" && rt.Role != api.Public && params["header:Idempotency-Key"] == nil {
		t.Errorf("%s: POST without the Idempotency-Key parameter", name)
	}
	if rt.Method() == "PATCH" && params["header:If-Match"] == nil {
		t.Errorf("%s: PATCH without the If-Match parameter", name)
	}

	// Responses: a success; problems for the errors; 401 and 403 where a token is needed.
	responses, _ := op["responses"].(map[string]any)
	success := false
	for code, r := range responses {
		rm := sp.resolve(r)
		if rm == nil || rm["description"] == nil {
			t.Errorf("%s: response %s does not resolve or has no description", name, code)
			continue
		}
		if code == "default" {
			t.Errorf("%s: a default response hides which statuses the operation answers", name)
			continue
		}
		if hs, _ := rm["headers"].(map[string]any); hs["X-Request-Id"] == nil {
			t.Errorf("%s: response %s does not list X-Request-Id", name, code)
		}
		if code[0] == '2' {
			success = true
			if lst := listSchema(sp, rm); lst != nil && (params["query:limit"] == nil || params["query:after"] == nil) &&
				!unpagedLists[rt.Path()] {
				t.Errorf("%s: a list without limit and after", name)
			}
			continue
		}
		content, _ := rm["content"].(map[string]any)
		if want, ok := foreignErrors[rt.Pattern]; ok {
			// A foreign protocol answers errors in its own shape.
			j, _ := content["application/json"].(map[string]any)
			if ref, _ := j["schema"].(map[string]any); ref["$ref"] != want {
				t.Errorf("%s: response %s is not application/json %s", name, code, want)
			}
			continue
		}
		pj, _ := content["application/problem+json"].(map[string]any)
		if pj == nil || sp.resolve(pj["schema"]) == nil || sp.resolve(pj["schema"])["properties"].(map[string]any)["request_id"] == nil {
			t.Errorf("%s: response %s is not an application/problem+json Problem", name, code)
		}
	}
	if !success {
		t.Errorf("%s: no 2xx response", name)
	}
	if keyed && len(sec) > 0 {
		if u := sp.resolve(responses["401"]); u == nil {
			t.Errorf("%s: takes an integration key but does not list 401", name)
		} else if hs, _ := u["headers"].(map[string]any); hs["WWW-Authenticate"] == nil {
			t.Errorf("%s: 401 without WWW-Authenticate", name)
		}
	}
	if rt.Role != api.Public {
		for _, code := range []string{"401", "403"} {
			if responses[code] == nil {
				t.Errorf("%s: needs a token but does not list %s", name, code)
			}
		}
		if u := sp.resolve(responses["401"]); u != nil {
			if hs, _ := u["headers"].(map[string]any); hs["WWW-Authenticate"] == nil {
				t.Errorf("%s: 401 without WWW-Authenticate", name)
			}
		}
	}
	if rt.Method() == "POST" || rt.Method() == "PATCH" {
		if rb, ok := op["requestBody"].(map[string]any); ok {
			for _, code := range []string{"400", "413"} {
				if responses[code] == nil {
					t.Errorf("%s: takes a body but does not list %s", name, code)
				}
			}
			c, _ := rb["content"].(map[string]any)
			if c["application/json"] == nil {
				t.Errorf("%s: request body is not application/json", name)
			}
		}
	}
	if rt.Method() == "PATCH" && responses["412"] == nil {
		t.Errorf("%s: PATCH without 412", name)
	}
}

// unpagedLists are {items, next} answers that always fit one page.
var unpagedLists = map[string]bool{
	"/api/v1/teams/{id}/members":             true,
	"/api/v1/services/{id}/integration-keys": true,
	"/api/v1/incidents/{id}/timeline":        true,
	"/api/v1/incidents/{id}/related":         true,
	"/api/v1/incidents/{id}/similar":         true,
	"/api/v1/incidents/{id}/slas":            true,
	"/api/v1/incidents/search":               true, // limit is its own, 1–100
	"/api/v1/sla-policies":                   true,
	"/api/v1/rules":                          true, // rules, silences, windows: small sets, listed whole
	"/api/v1/silences":                       true,
	"/api/v1/maintenance-windows":            true,
	"/api/v1/inhibit-rules":                  true,
	"/api/v1/oncall":                         true, // one entry per schedule, listed whole
	"/api/v1/users/{id}/shifts":              true, // bounded by its 90-day range
	"/api/v1/schedules/{id}/overrides":       true,
	"/api/v1/users/{id}/contact-methods":     true, // a user's few methods and rules, listed whole
	"/api/v1/users/{id}/notification-rules":  true,
	"/api/v1/notification-templates":         true, // one per message kind
	"/api/v1/cmdb/mapping-rules":             true, // at most 50 rules, listed whole
	"/api/v1/cis/{id}/relations":             true, // a CI's relations, listed whole
	"/api/v1/ci-classes":                     true, // a few dozen classes, listed whole
}

// foreignErrors are routes that speak another product's protocol and answer
// errors in its shape, not as problem documents.
var foreignErrors = map[string]string{
	"POST /v2/enqueue": "#/components/schemas/PagerDutyResponse",
}

func asList(v any) []any { l, _ := v.([]any); return l }

// listSchema returns the schema of a {items, next} answer, nil for others.
func listSchema(sp *spec, resp map[string]any) map[string]any {
	content, _ := resp["content"].(map[string]any)
	j, _ := content["application/json"].(map[string]any)
	s := sp.resolve(j["schema"])
	props, _ := s["properties"].(map[string]any)
	if props["items"] != nil && props["next"] != nil {
		return s
	}
	return nil
}

// TestOpenAPISchemasMatchGoTypes: each schema has exactly the JSON fields of
// its Go type, and an answer's schema requires exactly the fields that are
// always sent (those without omitempty).
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	sp := mustSpec(t)
	cases := []struct {
		schema   string
		typ      reflect.Type
		response bool
		// open: a request format of another product, whose unknown
		// fields are ignored rather than refused.
		open bool
	}{
		{"User", reflect.TypeFor[iam.User](), true, false},
		{"NewUser", reflect.TypeFor[iam.NewUser](), false, false},
		{"UserPatch", reflect.TypeFor[iam.UserPatch](), false, false},
		{"Team", reflect.TypeFor[iam.Team](), true, false},
		{"NewTeam", reflect.TypeFor[iam.NewTeam](), false, false},
		{"TeamPatch", reflect.TypeFor[iam.TeamPatch](), false, false},
		{"Member", reflect.TypeFor[iam.Member](), true, false},
		{"Token", reflect.TypeFor[iam.Token](), true, false},
		{"CreatedToken", reflect.TypeFor[iam.CreatedToken](), true, false},
		{"NewToken", reflect.TypeFor[iam.NewToken](), false, false},
		{"TOTPEnrollment", reflect.TypeFor[iam.TOTPEnrollment](), true, false},
		{"AuditEntry", reflect.TypeFor[audit.Entry](), true, false},
		{"Problem", reflect.TypeFor[httpx.Problem](), true, false},
		{"FieldError", reflect.TypeFor[errs.FieldError](), true, false},
		{"Service", reflect.TypeFor[service.Service](), true, false},
		{"NewService", reflect.TypeFor[service.Fields](), false, false},
		{"ServicePatch", reflect.TypeFor[service.Fields](), false, false},
		{"IntegrationKey", reflect.TypeFor[service.IntegrationKey](), true, false},
		{"NewIntegrationKey", reflect.TypeFor[api.NewIntegrationKey](), false, false},
		{"Alert", reflect.TypeFor[event.Alert](), true, false},
		{"OutboxItem", reflect.TypeFor[notify.Item](), true, false},
		{"OutboxAttempt", reflect.TypeFor[notify.Attempt](), true, false},
		{"Event", reflect.TypeFor[event.Event](), true, false},
		{"Link", reflect.TypeFor[event.Link](), true, false},
		{"Image", reflect.TypeFor[event.Image](), true, false},
		{"GenericEvent", reflect.TypeFor[event.GenericEvent](), false, false},
		{"PagerDutyEvent", reflect.TypeFor[event.PagerDutyEvent](), false, true},
		{"PagerDutyPayload", reflect.TypeFor[event.PagerDutyPayload](), false, true},
		{"AlertmanagerWebhook", reflect.TypeFor[event.AlertmanagerWebhook](), false, true},
		{"AlertmanagerAlert", reflect.TypeFor[event.AlertmanagerAlert](), false, true},
		{"RawEvent", reflect.TypeFor[event.Raw](), true, false},
		{"Incident", reflect.TypeFor[incident.Incident](), true, false},
		{"NewIncident", reflect.TypeFor[incident.NewIncident](), false, false},
		{"IncidentPatch", reflect.TypeFor[incident.Patch](), false, false},
		{"TimelineEntry", reflect.TypeFor[incident.Entry](), true, false},
		{"SearchHit", reflect.TypeFor[incident.Hit](), true, false},
		{"SLA", reflect.TypeFor[incident.SLA](), true, false},
		{"SLAPolicy", reflect.TypeFor[incident.Policy](), true, false},
		{"SLAPolicyInput", reflect.TypeFor[incident.Policy](), false, false},
		{"Calendar", reflect.TypeFor[calendar.Calendar](), true, false},
		{"CalendarRange", reflect.TypeFor[calendar.Range](), true, false},
		{"Holiday", reflect.TypeFor[calendar.Holiday](), false, false},
		{"Schedule", reflect.TypeFor[oncall.Schedule](), true, false},
		{"ScheduleInput", reflect.TypeFor[oncall.ScheduleInput](), false, false},
		{"ScheduleLayer", reflect.TypeFor[oncall.Layer](), true, false},
		{"ScheduleLayerInput", reflect.TypeFor[oncall.LayerInput](), false, false},
		{"ScheduleRestriction", reflect.TypeFor[oncall.Restriction](), true, false},
		{"ScheduleRestrictionInput", reflect.TypeFor[oncall.Restriction](), false, false},
		{"ScheduleOverride", reflect.TypeFor[oncall.Override](), true, false},
		{"ScheduleOverrideInput", reflect.TypeFor[oncall.OverrideInput](), false, false},
		{"ScheduleShift", reflect.TypeFor[oncall.Shift](), true, false},
		{"ScheduleLayerShifts", reflect.TypeFor[oncall.LayerShifts](), true, false},
		{"ScheduleTimeline", reflect.TypeFor[oncall.Timeline](), true, false},
		{"OnCall", reflect.TypeFor[oncall.OnCall](), true, false},
		{"OnCallUser", reflect.TypeFor[oncall.OnCallUser](), true, false},
		{"UserShift", reflect.TypeFor[oncall.UserShift](), true, false},
		{"CalendarFeed", reflect.TypeFor[oncall.Feed](), true, false},
		{"ContactMethod", reflect.TypeFor[notify.Method](), true, false},
		{"CreatedContactMethod", reflect.TypeFor[notify.CreatedMethod](), true, false},
		{"NewContactMethod", reflect.TypeFor[notify.NewMethod](), false, false},
		{"ContactMethodPatch", reflect.TypeFor[notify.MethodPatch](), false, false},
		{"NotificationRule", reflect.TypeFor[notify.Rule](), true, false},
		{"NewNotificationRule", reflect.TypeFor[notify.NewRule](), false, false},
		{"NotificationTemplate", reflect.TypeFor[notify.Template](), true, false},
		{"NotificationTemplateSource", reflect.TypeFor[notify.TemplateSource](), true, false},
		{"NotificationTemplateInput", reflect.TypeFor[notify.TemplateSource](), false, false},
		{"NotificationTemplatePreview", reflect.TypeFor[notify.Preview](), true, false},
		{"Heartbeat", reflect.TypeFor[heartbeat.Heartbeat](), true, false},
		{"CreatedHeartbeat", reflect.TypeFor[heartbeat.Created](), true, false},
		{"HeartbeatBeat", reflect.TypeFor[heartbeat.BeatResult](), true, false},
		{"NewHeartbeat", reflect.TypeFor[heartbeat.Fields](), false, false},
		{"HeartbeatPatch", reflect.TypeFor[heartbeat.Fields](), false, false},
		{"EscalationPolicy", reflect.TypeFor[oncall.Policy](), true, false},
		{"EscalationPolicyService", reflect.TypeFor[oncall.ServiceRef](), true, false},
		{"EscalationLevel", reflect.TypeFor[oncall.Level](), true, false},
		{"EscalationTarget", reflect.TypeFor[oncall.Target](), true, false},
		{"EscalationPolicyInput", reflect.TypeFor[oncall.PolicyInput](), false, false},
		{"EscalationLevelInput", reflect.TypeFor[oncall.LevelInput](), false, false},
		{"EscalationTargetInput", reflect.TypeFor[oncall.TargetInput](), false, false},
		{"MappingRule", reflect.TypeFor[cmdb.MappingRule](), true, false},
		{"MappingRuleInput", reflect.TypeFor[cmdb.MappingRuleInput](), false, false},
		{"MappingRuleSet", reflect.TypeFor[cmdb.MappingRuleSet](), false, false},
		{"IncidentTopology", reflect.TypeFor[incident.IncidentTopology](), true, false},
		{"TopologyCI", reflect.TypeFor[incident.TopologyCI](), true, false},
		{"RootCauseInput", reflect.TypeFor[incident.RootCauseInput](), false, false},
		{"CIClass", reflect.TypeFor[cmdb.ClassCount](), true, false},
		{"CIAttribute", reflect.TypeFor[cmdb.AttrDef](), true, false},
		{"CIAttributeInput", reflect.TypeFor[cmdb.AttrDef](), false, false},
		{"NewCIClass", reflect.TypeFor[api.NewCIClass](), false, false},
		{"CIClassInput", reflect.TypeFor[api.CIClassInput](), false, false},
		{"CI", reflect.TypeFor[cmdb.CI](), true, false},
		{"NewCI", reflect.TypeFor[cmdb.CIInput](), false, false},
		{"CIPatch", reflect.TypeFor[cmdb.CIPatch](), false, false},
		{"CIHistoryEntry", reflect.TypeFor[cmdb.HistoryEntry](), true, false},
		{"CIItem", reflect.TypeFor[cmdb.Item](), true, false},
		{"CIRelationItem", reflect.TypeFor[cmdb.RelationItem](), true, false},
		{"CIImportFile", reflect.TypeFor[cmdb.Document](), true, false},
		{"CIFieldChange", reflect.TypeFor[cmdb.Change](), true, false},
		{"CIImportError", reflect.TypeFor[cmdb.ImportError](), true, false},
		{"CIImportRow", reflect.TypeFor[cmdb.ImportRow](), true, false},
		{"CIImportRelation", reflect.TypeFor[cmdb.ImportRelation](), true, false},
		{"CIImportCounts", reflect.TypeFor[cmdb.ImportCounts](), true, false},
		{"CIImportResult", reflect.TypeFor[cmdb.ImportResult](), true, false},
		{"DiscoveryResult", reflect.TypeFor[cmdb.DiscoveryResult](), true, false},
		{"CIAuditFinding", reflect.TypeFor[cmdb.Finding](), true, false},
		{"CIAuditReport", reflect.TypeFor[cmdb.AuditReport](), true, false},
		{"Relation", reflect.TypeFor[cmdb.Relation](), true, false},
		{"NewRelation", reflect.TypeFor[api.RelationInput](), false, false},
		{"Redundancy", reflect.TypeFor[cmdb.Redundancy](), true, false},
		{"RedundancyInput", reflect.TypeFor[api.RedundancyInput](), false, false},
		{"Impact", reflect.TypeFor[cmdb.Impact](), true, false},
		{"ImpactCI", reflect.TypeFor[cmdb.ImpactCI](), true, false},
		{"ImpactHop", reflect.TypeFor[cmdb.ImpactHop](), true, false},
		{"ImpactPath", reflect.TypeFor[cmdb.ImpactPath](), true, false},
		{"ImpactPathStep", reflect.TypeFor[cmdb.PathStep](), true, false},
		{"ImpactRequest", reflect.TypeFor[cmdb.ImpactRequest](), false, false},
	}
	for _, c := range cases {
		s := sp.ref("#/components/schemas/" + c.schema)
		if s == nil {
			t.Errorf("no schema %s", c.schema)
			continue
		}
		fields := jsonFields(c.typ)
		props, _ := s["properties"].(map[string]any)
		var want, got []string
		for f := range fields {
			want = append(want, f)
		}
		for p := range props {
			got = append(got, p)
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("schema %s has fields %v; the Go type %s has %v", c.schema, got, c.typ, want)
		}
		required := map[string]bool{}
		for _, r := range asList(s["required"]) {
			required[r.(string)] = true
			if _, ok := fields[r.(string)]; !ok {
				t.Errorf("schema %s requires %q, which %s does not have", c.schema, r, c.typ)
			}
		}
		if c.response {
			for f, omitempty := range fields {
				if required[f] == omitempty {
					t.Errorf("schema %s: field %q required=%v, but omitempty=%v in %s", c.schema, f, required[f], omitempty, c.typ)
				}
			}
		} else if c.open {
			if s["additionalProperties"] == false {
				t.Errorf("request schema %s refuses unknown fields; its senders' newer fields must pass", c.schema)
			}
		} else if s["additionalProperties"] != false {
			t.Errorf("request schema %s must say additionalProperties: false (unknown fields are refused)", c.schema)
		}
	}

	var roles []any
	for _, r := range iam.Roles {
		roles = append(roles, string(r))
	}
	if got := sp.ref("#/components/schemas/Role")["enum"]; !reflect.DeepEqual(got, roles) {
		t.Errorf("Role enum %v; want %v", got, roles)
	}
	if got := sp.ref("#/components/schemas/TeamRole")["enum"]; !reflect.DeepEqual(got, []any{string(iam.TeamMember), string(iam.TeamLead)}) {
		t.Errorf("TeamRole enum %v", got)
	}
	if mx := sp.ref("#/components/parameters/Limit")["schema"].(map[string]any); mx["maximum"] != float64(1000) || mx["minimum"] != float64(1) || mx["default"] != float64(50) {
		t.Errorf("limit parameter %v", mx)
	}
}

// jsonFields lists the JSON names of a struct's fields (embedded structs
// flattened) and whether each is omitempty.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = strings.Contains(opts, "omitempty")
	}
	return out
}

// TestOpenAPIValidatorCatchesMistakes keeps the response checker honest.
func TestOpenAPIValidatorCatchesMistakes(t *testing.T) {
	sp := mustSpec(t)
	user := map[string]any{"id": 1, "email": "a@example.com", "name": "A", "role": "viewer", "has_password": false,
		"totp_enabled": false, "disabled": false, "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:05.123Z", "version": 1}
	ref := map[string]any{"$ref": "#/components/schemas/User"}
	roundTrip := func(v any) any {
		b, _ := json.Marshal(v)
		var out any
		_ = json.Unmarshal(b, &out)
		return out
	}
	if e := sp.validate(ref, roundTrip(user), "user", true); len(e) != 0 {
		t.Fatalf("a good user fails: %v", e)
	}
	for name, change := range map[string]func(m map[string]any){
		"missing field":    func(m map[string]any) { delete(m, "email") },
		"extra field":      func(m map[string]any) { m["password_hash"] = "x" },
		"wrong type":       func(m map[string]any) { m["id"] = "1" },
		"bad enum":         func(m map[string]any) { m["role"] = "root" },
		"bad date-time":    func(m map[string]any) { m["created_at"] = "yesterday" },
		"null not allowed": func(m map[string]any) { m["name"] = nil },
	} {
		m := roundTrip(user).(map[string]any)
		change(m)
		if e := sp.validate(ref, m, "user", true); len(e) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
	tok := map[string]any{"id": 1, "name": "t", "hint": "stdy_abc…", "user_id": nil, "role": "admin", "created_by": "system:steady",
		"created_at": "2026-01-02T03:04:05Z", "expires_at": nil, "last_used_at": nil, "revoked_at": nil}
	if e := sp.validate(map[string]any{"$ref": "#/components/schemas/Token"}, roundTrip(tok), "token", true); len(e) != 0 {
		t.Fatalf("a good token fails: %v", e)
	}
	tok["role"] = "root"
	if e := sp.validate(map[string]any{"$ref": "#/components/schemas/Token"}, roundTrip(tok), "token", true); len(e) == 0 {
		t.Fatal("a nullable enum accepts anything")
	}
}
