package incident

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Topology is what topology-aware grouping needs of the CMDB: an in-memory
// copy of its graph (cmdb.Topology implements it). No method touches the
// database.
type Topology interface {
	// Upstream returns what ci depends on (relations whose failure
	// propagates) to depth, without business services, as CI → depth (1:
	// a direct dependency). The caller must not change the map. It is
	// computed once per CI and depth (see PrepareCI).
	Upstream(ci int64, depth int) map[int64]int
	// Impacted returns the business services affected if cis fail.
	Impacted(cis []int64) []int64
	// Name returns a CI's name.
	Name(ci int64) string
	// FanIn returns how many CIs depend directly on ci.
	FanIn(ci int64) int
	// Redundancy returns a group's redundancy rule (the members that must
	// be up; 0 for none) and its members.
	Redundancy(ci int64) (minUp int, members []int64)
}

// Roles of a CI in an incident (incident_cis.role).
const (
	RoleAffected  = "affected"   // an alert of the incident names it
	RoleImpacted  = "impacted"   // a business service downstream of the affected CIs
	RoleRootCause = "root_cause" // a candidate for the cause, ranked (1: the most probable)
)

const (
	// topoDepth is how far up a shared upstream CI is looked for.
	topoDepth = 3
	// maxRootCauses caps the ranked candidates kept per incident.
	maxRootCauses = 20
	// maxFanIn is the most CIs that may depend directly on a shared CI for
	// it to group alerts without alerting itself: above it, the CI is a hub
	// (a shared DNS, a cluster, a load-balancer pool) that unrelated
	// applications across services and teams have in common.
	maxFanIn = 50
)

// TopologyCI is a CI in an incident's topology.
type TopologyCI struct {
	CIID  int64  `json:"ci_id"`
	Name  string `json:"name"`
	Class string `json:"class"`
	// ServiceID is the service a business service CI is.
	ServiceID *int64 `json:"service_id"`
	// Rank orders root-cause candidates (1: the most probable); 0 otherwise.
	Rank int `json:"rank"`
	// Confirmed: an operator confirmed (or chose) this CI as the root cause.
	Confirmed bool `json:"confirmed"`
}

// IncidentTopology is what an incident affects and what probably caused it.
type IncidentTopology struct {
	IncidentID int64        `json:"incident_id"`
	Affected   []TopologyCI `json:"affected"`
	Impacted   []TopologyCI `json:"impacted"`
	RootCauses []TopologyCI `json:"root_causes"`
}

// CIIncident is an open incident that names a CI, and the CI's role in it.
type CIIncident struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Status    string    `json:"status"`
	Priority  string    `json:"priority"`
	Role      string    `json:"role"` // affected, impacted, root_cause
	CreatedAt time.Time `json:"created_at"`
}

// OpenIncidentsOfCI lists the open incidents that name a CI (as affected,
// impacted or a root-cause candidate), newest first, at most 100 rows: those
// the caller may read, as the incident list shows them (a security
// incident only to admins and its team).
func (m *Manager) OpenIncidentsOfCI(ctx context.Context, ciID int64) ([]CIIncident, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	q := `SELECT i.id, i.title, i.status, i.priority, ic.role, i.created_at FROM incident_cis ic JOIN incidents i ON i.id = ic.incident_id
		WHERE ic.ci_id = $1 AND i.status IN ` + openStatuses
	args := []any{ciID}
	if cond, vargs := visibility(ctx, 2); cond != "" {
		q += " AND " + cond
		args = append(args, vargs...)
	}
	out, err := db.All(ctx, m.DB.R, func(r db.Scanner) (CIIncident, error) {
		var x CIIncident
		var at int64
		err := r.Scan(&x.ID, &x.Title, &x.Status, &x.Priority, &x.Role, &at)
		x.CreatedAt = clock.FromMillis(at)
		return x, err
	}, q+" ORDER BY i.id DESC, ic.role LIMIT 100", args...)
	if out == nil {
		out = []CIIncident{}
	}
	return out, err
}

// RootCauseInput names the CI an operator confirms as an incident's root cause.
type RootCauseInput struct {
	CIID int64 `json:"ci_id"`
}

// TopologyOf returns an incident's affected CIs, impacted business services
// and ranked root-cause candidates.
func (m *Manager) TopologyOf(ctx context.Context, id int64) (IncidentTopology, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return IncidentTopology{}, err
	}
	if _, err := m.visible(ctx, m.DB.R, id); err != nil {
		return IncidentTopology{}, err
	}
	return topologyOf(ctx, m.DB.R, id)
}

func topologyOf(ctx context.Context, q db.Querier, id int64) (IncidentTopology, error) {
	out := IncidentTopology{IncidentID: id, Affected: []TopologyCI{}, Impacted: []TopologyCI{}, RootCauses: []TopologyCI{}}
	rows, err := q.QueryContext(ctx, `SELECT ic.ci_id, ic.role, ic.rank, ic.confirmed, c.name, k.key, s.id
		FROM incident_cis ic JOIN cis c ON c.id = ic.ci_id JOIN ci_classes k ON k.id = c.class_id
		LEFT JOIN services s ON s.ci_id = c.id
		WHERE ic.incident_id = $1 ORDER BY ic.rank, c.name_key, c.id`, id)
	if err != nil {
		return out, db.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c TopologyCI
		var role string
		var svc sql.NullInt64
		if err := rows.Scan(&c.CIID, &role, &c.Rank, &c.Confirmed, &c.Name, &c.Class, &svc); err != nil {
			return out, db.Classify(err)
		}
		c.ServiceID = db.IDPtr(svc)
		switch role {
		case RoleAffected:
			out.Affected = append(out.Affected, c)
		case RoleImpacted:
			out.Impacted = append(out.Impacted, c)
		case RoleRootCause:
			out.RootCauses = append(out.RootCauses, c)
		}
	}
	return out, db.Classify(rows.Err())
}

// ConfirmRootCause sets the root cause of an incident: the CI becomes its
// confirmed root cause (rank 1) and the other candidates move down. It
// confirms the probable root cause, or corrects it with any CI.
func (m *Manager) ConfirmRootCause(ctx context.Context, id int64, in RootCauseInput) (IncidentTopology, error) {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return IncidentTopology{}, err
	}
	if in.CIID <= 0 {
		return IncidentTopology{}, errs.Invalid("ci_id", "is required: the id of a CI")
	}
	var out IncidentTopology
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		inc, err := m.visible(ctx, tx, id)
		if err != nil {
			return err
		}
		var name string
		if err := tx.QueryRowContext(ctx, "SELECT name FROM cis WHERE id = $1", in.CIID).Scan(&name); err != nil {
			if err == sql.ErrNoRows {
				return errs.Invalid("ci_id", "names no CI")
			}
			return err
		}
		cur, err := topologyOf(ctx, tx, id)
		if err != nil {
			return err
		}
		var top *TopologyCI
		if len(cur.RootCauses) > 0 {
			top = &cur.RootCauses[0]
		}
		if top != nil && top.CIID == in.CIID && top.Confirmed {
			out = cur // already so
			return nil
		}
		// The incident before its CIs, as ingest locks them.
		now := m.Clock.Now().UnixMilli()
		if _, err := tx.ExecContext(ctx, "UPDATE incidents SET updated_at = $1 WHERE id = $2", now, id); err != nil {
			return err
		}
		// The chosen CI first, the others in their order.
		order := []int64{in.CIID}
		for _, c := range cur.RootCauses {
			if c.CIID != in.CIID {
				order = append(order, c.CIID)
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM incident_cis WHERE incident_id = $1 AND role = $2", id, RoleRootCause); err != nil {
			return err
		}
		rs := make([]ciRow, len(order))
		for i, ci := range order {
			rs[i] = ciRow{incident: id, ci: ci, role: RoleRootCause, rank: i + 1, confirmed: i == 0}
		}
		if _, err := writeCIRows(ctx, m.DB.Dialect, tx, rs); err != nil {
			return err
		}
		body, data := "root cause confirmed: "+name, map[string]any{"ci_id": in.CIID}
		if top != nil && top.CIID != in.CIID {
			body = fmt.Sprintf("root cause corrected: %s (was %s)", name, top.Name)
			data["previous_ci_id"] = top.CIID
		}
		if err := m.note(ctx, tx, id, "root_cause_confirmed", body, data); err != nil {
			return err
		}
		if err := m.Audit.Record(ctx, tx, audit.Event{Action: "incident.root_cause", ObjectType: "incident", ObjectID: id,
			Summary: "root cause of " + inc.Number + " set to " + name, Changes: map[string]any{"root_cause_ci_id": in.CIID}}); err != nil {
			return err
		}
		if out, err = topologyOf(ctx, tx, id); err != nil {
			return err
		}
		// Last, as ingest does: the copies of incident_cis are stale.
		_, err = tx.ExecContext(ctx, "UPDATE incident_cis_revision SET revision = $1 WHERE id = 1", newRevision())
		return err
	})
	return out, err
}

// Grouping by topology.
//
// For each new alert that names a CI (A), its upstream to topoDepth plus
// A itself is compared with what open incidents hold (their affected CIs
// and root-cause candidates, which are upstream of the affected ones) and
// with the groups of alerts this batch has already formed. They share a CI
// U; U counts when it is failing (see failing): it has an open alert itself
// (it is an affected CI, or A), or at least two alerting CIs depend on it
// (A, and an affected CI of the incident, counted), it is not a hub (at
// most maxFanIn CIs depend on it), and, for a group with a redundancy rule,
// fewer than its min_up members are up. The best match (U alerting itself
// first, then the nearest U, then the most recent incident) wins; an open
// incident must have seen an alert within A's service's grouping window,
// and a security incident is never joined by topology. A match joins its
// incident; an alert without one is grouped as usual (by service and group
// key) and leads a group that the next alerts of the batch may join.
//
// Cost: nothing for a batch without alerts naming CIs. Otherwise the open
// incidents holding any of the batch's CIs or their upstream CIs, and what
// they hold, come from the in-memory copy of incident_cis (see
// topology_cache.go): one statement reads its revision with the state of
// those incidents. (Without a valid copy, one query finds them by the index
// of incident_cis on ci_id and one reads their CIs.) What a batch changes
// is written as a difference with what the incidents hold: their new
// affected CIs, and the impacted services and ranked candidates that
// changed, if any; then one statement sets the revision. An incident of
// more than maxTopologyCIs affected CIs (an alert storm) keeps its
// root-cause candidates; its new affected CIs and the business services
// they impact are added, so a batch's work does not grow with the incident.

// maxTopologyCIs is the most affected CIs of an incident whose root-cause
// candidates and impacted services are recomputed as alerts join.
const maxTopologyCIs = 200

// bigIncidents remembers the incidents known to have more than
// maxTopologyCIs affected CIs (they never shrink), so that a storm's later
// batches do not read their CIs again. Only rows read from the database
// mark one, never what a batch is about to write.
type bigIncidents struct {
	mu  sync.Mutex
	ids map[int64]bool
}

func (b *bigIncidents) has(id int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ids[id]
}

func (b *bigIncidents) add(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ids == nil || len(b.ids) >= 10000 {
		b.ids = map[int64]bool{}
	}
	b.ids[id] = true
}

// topoGroup is an open incident, or the alerts of this batch led by one.
type topoGroup struct {
	incident  int64 // 0 for a group of this batch, until its leader is grouped
	leader    int64 // the alert leading a group of this batch
	order     int   // on a tie the lowest wins: 0 for groups of this batch, then open incidents newest first
	lastAlert int64
	affected  []int64 // its affected CIs (some of them when big)
	has       ciSet   // the same, as a set
	reach     ciSet   // CIs an alert can share with it: affected, their upstream, stored candidates
	big       bool    // more than maxTopologyCIs affected CIs: affected is partial
	confirmed int64   // the confirmed root cause, 0 if none
	top       int64   // the rank-1 candidate as stored
	loaded    bool    // its CIs were read
	// stored: causes and impacted are its rows as stored (an incident
	// read whole; a big one read from the copy).
	stored   bool
	causes   map[int64]storedCause
	impacted map[int64]bool
	joined   []int64
	severity string
	reasons  []string
	newCIs   []int64
}

// ciSet is a set of CIs: a slice while it is small (most groups of a
// batch hold one CI and its few upstream CIs), a map beyond.
type ciSet struct {
	few  []int64
	many map[int64]bool
}

func (s *ciSet) has(ci int64) bool {
	if s.many != nil {
		return s.many[ci]
	}
	return slices.Contains(s.few, ci)
}

// add adds ci and reports whether it is new.
func (s *ciSet) add(ci int64) bool {
	if s.has(ci) {
		return false
	}
	if s.many == nil && len(s.few) < 16 {
		if s.few == nil {
			s.few = make([]int64, 0, 4)
		}
		s.few = append(s.few, ci)
		return true
	}
	if s.many == nil {
		s.many = make(map[int64]bool, 2*len(s.few))
		for _, x := range s.few {
			s.many[x] = true
		}
		s.few = nil
	}
	s.many[ci] = true
	return true
}

// add records an affected CI of g.
func (p *topoPlan) add(g *topoGroup, ci int64) {
	if !g.has.add(ci) {
		return
	}
	g.affected = append(g.affected, ci)
	p.reach(g, ci)
	for u := range p.upstream(ci) {
		p.reach(g, u)
	}
}

// reach records that an alert on (or depending on) ci may share it with g.
func (p *topoPlan) reach(g *topoGroup, ci int64) {
	if g.reach.add(ci) {
		p.byReach[ci] = append(p.byReach[ci], g)
	}
}

// topoPlan is what topology decided for a batch, before the usual grouping.
type topoPlan struct {
	t        Topology
	d        db.Dialect
	big      *bigIncidents
	cache    *ciCache
	copyRev  int64                // the revision of the copy of incident_cis the batch reads; 0: it reads the database
	groups   []*topoGroup         // open incidents, then groups of this batch
	joining  map[int64]*topoGroup // alert → the group it joins by topology
	existing map[int64]*topoGroup // open incident → its group
	byReach  map[int64][]*topoGroup
	red      map[int64]redundancy    // the redundancy rules met so far
	guarded  map[int64]bool          // CI → its upstream holds a group with a redundancy rule
	up       map[int64]map[int64]int // CI → its upstream to topoDepth
	hubs     map[int64]bool          // CI → more than maxFanIn CIs depend on it
	wrote    bool                    // the batch changed incident_cis
	complete bool                    // every row the copy takes was written as planned
	deltas   []ciDelta               // the changes, for the copy
}

// redundancy is a group's rule: at least minUp of members must be up.
type redundancy struct {
	minUp   int
	members []int64
}

// joins reports whether an alert joins an incident by topology (the usual
// grouping leaves it alone).
func (p *topoPlan) joins(alert int64) bool {
	if p == nil {
		return false
	}
	_, ok := p.joining[alert]
	return ok
}

func (p *topoPlan) group(incident int64) *topoGroup {
	g := p.existing[incident]
	if g == nil {
		g = &topoGroup{incident: incident}
		p.existing[incident] = g
	}
	return g
}

// upstream returns what ci depends on, to topoDepth.
func (p *topoPlan) upstream(ci int64) map[int64]int {
	up, ok := p.up[ci]
	if !ok {
		up = p.t.Upstream(ci, topoDepth)
		p.up[ci] = up
	}
	return up
}

// hub reports whether more than maxFanIn CIs depend directly on ci.
func (p *topoPlan) hub(ci int64) bool {
	h, ok := p.hubs[ci]
	if !ok {
		h = p.t.FanIn(ci) > maxFanIn
		p.hubs[ci] = h
	}
	return h
}

// PrepareCI computes what grouping by topology needs of a CI that an event
// names (what it depends on), in the caller's goroutine, so that the
// ingest commit (the one serial part of ingest) finds it ready: the
// topology keeps it. It returns ci.
func (m *Manager) PrepareCI(ci int64) int64 {
	if ci != 0 && m.Topology != nil {
		m.Topology.Upstream(ci, topoDepth)
	}
	return ci
}

func (m *Manager) planTopology(ctx context.Context, tx *sql.Tx, changes []event.AlertChange, services map[int64]serviceConf,
	now int64) (*topoPlan, error) {
	if m.Topology == nil {
		return nil, nil
	}
	var alerts []*event.AlertChange
	for i := range changes {
		c := &changes[i]
		if c.CIID == 0 || (c.Change != "created" && c.Change != "unsuppressed") || c.Event == nil || c.Suppressed {
			continue
		}
		if _, ok := services[c.ServiceID]; ok {
			alerts = append(alerts, c)
		}
	}
	if len(alerts) == 0 {
		return nil, nil
	}
	p := &topoPlan{t: m.Topology, d: m.DB.Dialect, big: &m.big, cache: &m.cis, joining: map[int64]*topoGroup{},
		existing: map[int64]*topoGroup{}, byReach: make(map[int64][]*topoGroup, 2*len(alerts)),
		up: make(map[int64]map[int64]int, len(alerts)), hubs: map[int64]bool{}}
	// The CIs of the batch and their upstream CIs: an open incident holding
	// any of them may share one.
	seen := make(map[int64]bool, 2*len(alerts))
	cand := make([]int64, 0, 2*len(alerts))
	for _, c := range alerts {
		if !seen[c.CIID] {
			seen[c.CIID] = true
			cand = append(cand, c.CIID)
		}
		for u := range p.upstream(c.CIID) {
			if !seen[u] {
				seen[u] = true
				cand = append(cand, u)
			}
		}
	}
	slices.Sort(cand)
	ok, err := p.openCIs(ctx, tx, cand)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := p.loadOpen(ctx, tx, cand); err != nil {
			return nil, err
		}
	}
	for _, c := range alerts {
		best, shared := p.match(c.CIID, services[c.ServiceID].window, now)
		if best == nil {
			g := &topoGroup{leader: c.AlertID}
			p.add(g, c.CIID)
			p.groups = append(p.groups, g)
			continue
		}
		p.joining[c.AlertID] = best
		best.joined = append(best.joined, c.AlertID)
		if len(best.reasons) < maxReasons {
			best.reasons = append(best.reasons, p.reason(best, c.CIID, shared))
		}
		if severityRank(string(c.Event.Severity)) > severityRank(best.severity) {
			best.severity = string(c.Event.Severity)
		}
		if !best.has.has(c.CIID) {
			best.newCIs = append(best.newCIs, c.CIID)
		}
		p.add(best, c.CIID)
	}
	return p, nil
}

// loadOpen finds the open incidents holding any CI of cand (as an affected
// CI or a root-cause candidate), and reads their CIs, from the database.
// Security incidents are left out: their alerts and CIs are for their
// team, and an ordinary alert never joins one by topology.
func (p *topoPlan) loadOpen(ctx context.Context, tx *sql.Tx, ids []int64) error {
	var found []int64
	const chunk = 1000
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		args := make([]any, 0, len(part)+1)
		args = append(args, RoleImpacted)
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := tx.QueryContext(ctx, `SELECT ic.incident_id, ic.ci_id, ic.role, i.last_alert_at
			FROM incident_cis ic JOIN incidents i ON i.id = ic.incident_id
			WHERE ic.role <> $1 AND ic.ci_id IN (`+p.d.Params(2, len(part))+`) AND i.status IN `+openStatuses+` AND NOT i.security`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var inc, ci, last int64
			var role string
			if err := rows.Scan(&inc, &ci, &role, &last); err != nil {
				rows.Close()
				return err
			}
			g, seen := p.existing[inc]
			if !seen {
				g = p.group(inc)
				g.lastAlert = last
				found = append(found, inc)
			}
			p.reach(g, ci)
			if role == RoleAffected {
				p.add(g, ci)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	p.order(found)
	return p.loadCIs(ctx, tx, found)
}

// order adds the open incidents found to the groups, newest first: on a
// tie, the most recent incident wins (and a group of this batch, order 0,
// before any).
func (p *topoPlan) order(found []int64) {
	sort.Slice(found, func(a, b int) bool { return found[a] > found[b] })
	for i, inc := range found {
		g := p.existing[inc]
		g.order = i + 1
		p.groups = append(p.groups, g)
	}
}

// loadCIs reads from the database the affected CIs (at most
// maxTopologyCIs+1 each: more marks an incident as big), the root-cause
// candidates and the impacted services of incidents, in one statement per
// 100 incidents.
func (p *topoPlan) loadCIs(ctx context.Context, tx *sql.Tx, all []int64) error {
	incidents := make([]int64, 0, len(all))
	for _, inc := range all {
		if p.big.has(inc) {
			g := p.group(inc)
			g.loaded, g.big = true, true
			continue
		}
		incidents = append(incidents, inc)
	}
	const chunk = 100
	for i := 0; i < len(incidents); i += chunk {
		part := incidents[i:min(i+chunk, len(incidents))]
		var b strings.Builder
		var args []any
		for j, inc := range part {
			g := p.group(inc)
			g.loaded, g.stored, g.causes, g.impacted = true, true, map[int64]storedCause{}, map[int64]bool{}
			fmt.Fprintf(&b, `SELECT * FROM (SELECT incident_id, ci_id, role, rank, confirmed FROM incident_cis
				WHERE incident_id = %s AND role = '%s' ORDER BY ci_id LIMIT %d) AS a%d UNION ALL `,
				p.d.Params(len(args)+1, 1), RoleAffected, maxTopologyCIs+1, j)
			args = append(args, inc)
		}
		b.WriteString(`SELECT incident_id, ci_id, role, rank, confirmed FROM incident_cis
			WHERE role <> '` + RoleAffected + `' AND incident_id IN (` + p.d.Params(len(args)+1, len(part)) + `)`)
		for _, inc := range part {
			args = append(args, inc)
		}
		rows, err := tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return err
		}
		counts := map[int64]int{}
		for rows.Next() {
			var inc, ci int64
			var role string
			var rank int
			var confirmed bool
			if err := rows.Scan(&inc, &ci, &role, &rank, &confirmed); err != nil {
				rows.Close()
				return err
			}
			g := p.group(inc)
			switch role {
			case RoleAffected:
				counts[inc]++
				if counts[inc] > maxTopologyCIs {
					g.big = true // its candidates and impacted services are read whole all the same
					p.big.add(inc)
				} else {
					p.add(g, ci)
				}
			default:
				g.keepStored(ci, role, rank, confirmed)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// keepStored takes in one stored row of an incident's topology that is not
// an affected CI: an impacted service or a root-cause candidate.
func (g *topoGroup) keepStored(ci int64, role string, rank int, confirmed bool) {
	switch role {
	case RoleImpacted:
		g.impacted[ci] = true
	case RoleRootCause:
		g.causes[ci] = storedCause{rank, confirmed}
		if confirmed {
			g.confirmed = ci
		}
		if rank == 1 {
			g.top = ci
		}
	}
}

// loadStored reads again the root-cause candidates and impacted services
// of incidents, from the database.
func (p *topoPlan) loadStored(ctx context.Context, tx *sql.Tx, incidents []int64) error {
	const chunk = 500
	for i := 0; i < len(incidents); i += chunk {
		part := incidents[i:min(i+chunk, len(incidents))]
		args := make([]any, len(part))
		for j, inc := range part {
			args[j] = inc
			g := p.group(inc)
			g.stored, g.causes, g.impacted, g.confirmed, g.top = true, map[int64]storedCause{}, map[int64]bool{}, 0, 0
		}
		rows, err := tx.QueryContext(ctx, `SELECT incident_id, ci_id, role, rank, confirmed FROM incident_cis
			WHERE role <> '`+RoleAffected+`' AND incident_id IN (`+p.d.Params(1, len(part))+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var inc, ci int64
			var role string
			var rank int
			var confirmed bool
			if err := rows.Scan(&inc, &ci, &role, &rank, &confirmed); err != nil {
				rows.Close()
				return err
			}
			p.group(inc).keepStored(ci, role, rank, confirmed)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// maxReasons is how many joins a timeline entry explains.
const maxReasons = 3

// match finds the group a new alert on ci joins, and the CI they share.
func (p *topoPlan) match(ci int64, window, now int64) (*topoGroup, int64) {
	mine := p.upstream(ci)
	var best *topoGroup
	var bestU int64
	var bestScore [3]int
	try := func(u int64, depth int) {
		gs := p.byReach[u]
		if len(gs) == 0 {
			return
		}
		hub := u != ci && p.hub(u)
		for _, g := range gs {
			if g.leader == 0 && window > 0 && now-g.lastAlert > window {
				continue // an open incident outside the grouping window
			}
			alerts := g.has.has(u)
			own := u == ci || alerts
			switch {
			case alerts: // u alerts in g: ci must depend on it
				if u != ci && !p.dependsOn(g, ci, u, ci) {
					continue
				}
			case u == ci: // ci alerts, and g's CIs depend on it
				if !p.explains(g, ci, ci) {
					continue
				}
			default:
				if hub && u != g.confirmed {
					continue // not failing (see failing), whatever depends on it
				}
				if !p.dependsOn(g, ci, u, ci) || !p.failing(g, u, ci) {
					continue
				}
			}
			o := 1
			if own {
				o = 0
			}
			score := [3]int{o, depth, g.order}
			if best == nil || lessScore(score, bestScore) || (score == bestScore && u < bestU) {
				best, bestU, bestScore = g, u, score
			}
		}
	}
	try(ci, 0)
	for u, d := range mine {
		try(u, d)
	}
	return best, bestU
}

// failing reports whether u, which the alert on ci depends on and which
// group g reaches, is failing without alerting itself:
//   - the group's confirmed root cause is: an operator said so;
//   - a hub is not (more than maxFanIn CIs depend on it directly): such
//     CIs never group alerts by themselves;
//   - a group with a redundancy rule is not while at least min_up of its
//     members are up (members affected by g, or ci, count as down);
//   - otherwise it is when g explains it: an affected CI of g other than
//     ci depends on it (with ci, two alerting CIs do).
func (p *topoPlan) failing(g *topoGroup, u, ci int64) bool {
	if u == g.confirmed {
		return true
	}
	if p.hub(u) {
		return false
	}
	if r := p.redundancy(u); r.minUp > 0 && !p.down(g, r, ci) {
		return false
	}
	return p.explains(g, u, ci)
}

// explains reports whether an affected CI of g other than ci depends on u,
// or, for an incident too big to have all its affected CIs read, u is its
// confirmed or probable root cause (ranked from them).
func (p *topoPlan) explains(g *topoGroup, u, ci int64) bool {
	for _, x := range g.affected {
		if x != ci && p.dependsOn(g, x, u, ci) {
			return true
		}
	}
	return u == g.confirmed || (g.big && u == g.top)
}

// redundancy returns a CI's redundancy rule (minUp 0: none).
func (p *topoPlan) redundancy(ci int64) redundancy {
	r, ok := p.red[ci]
	if !ok {
		r.minUp, r.members = p.t.Redundancy(ci)
		if p.red == nil {
			p.red = map[int64]redundancy{}
		}
		p.red[ci] = r
	}
	return r
}

// down reports whether a group with rule r is down for g: fewer than its
// min_up members are up, the members affected by g, and extra, counting as
// down.
func (p *topoPlan) down(g *topoGroup, r redundancy, extra int64) bool {
	n := 0
	for _, m := range r.members {
		if m == extra || g.has.has(m) {
			n++
		}
	}
	return len(r.members)-n < r.minUp
}

// dependsOn reports whether from depends on u (to topoDepth) as g sees it:
// not only through the members of a group that its redundancy rule keeps up
// (a member's failure does not reach past such a group). extra is an
// alerting CI g does not hold yet.
func (p *topoPlan) dependsOn(g *topoGroup, from, u, extra int64) bool {
	up := p.upstream(from)
	if _, ok := up[u]; !ok {
		return false
	}
	guarded, ok := p.guarded[from]
	if !ok {
		for x := range up {
			if p.redundancy(x).minUp > 0 {
				guarded = true
				break
			}
		}
		if p.guarded == nil {
			p.guarded = map[int64]bool{}
		}
		p.guarded[from] = guarded
	}
	if !guarded && p.redundancy(from).minUp == 0 {
		return true
	}
	// Walk up again, one level at a time, stopping at the members of
	// groups that are up.
	seen := map[int64]bool{from: true}
	frontier := []int64{from}
	for d := 1; d <= topoDepth && len(frontier) > 0; d++ {
		var next []int64
		for _, x := range frontier {
			r := p.redundancy(x)
			intact := r.minUp > 0 && !p.down(g, r, extra)
			for y := range p.t.Upstream(x, 1) {
				if seen[y] || (intact && slices.Contains(r.members, y)) {
					continue
				}
				if y == u {
					return true
				}
				seen[y] = true
				next = append(next, y)
			}
		}
		frontier = next
	}
	return false
}

// reason says why the alert on ci joins group best, with which it shares bestU.
func (p *topoPlan) reason(best *topoGroup, ci, bestU int64) string {
	a, u := p.t.Name(ci), p.t.Name(bestU)
	switch {
	case bestU == ci && best.has.has(ci):
		return a + " alerts again"
	case bestU != ci && best.has.has(bestU):
		return a + " depends on " + u + ", which alerts"
	}
	// An affected CI of the group that depends on bestU.
	for _, x := range best.affected {
		if _, ok := p.upstream(x)[bestU]; ok {
			if bestU == ci {
				return p.t.Name(x) + " depends on " + a
			}
			return a + " shares " + u + " with " + p.t.Name(x)
		}
	}
	return a + " shares " + u + " with the incident's CIs"
}

func lessScore(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// applyTopology joins the alerts that matched by topology to their
// incidents and records the CIs of every incident that got an alert naming
// one: its affected CIs, the business services they impact and the ranked
// root-cause candidates. Only what changed is written.
func (m *Manager) applyTopology(ctx context.Context, tx *sql.Tx, p *topoPlan, joins *batchJoins, now int64) error {
	if p == nil {
		return nil
	}
	incidentOf := joins.incidentOf
	// Each group's incident; groups of this batch merge into theirs.
	byIncident := map[int64]*topoGroup{}
	var touched, unread []int64
	pending := map[int64][]int64{} // incident not read yet → the CIs this batch adds
	for _, g := range p.groups {
		id := g.incident
		if g.leader != 0 {
			id = incidentOf[g.leader]
		}
		if id == 0 || (g.leader == 0 && len(g.joined) == 0) {
			continue // an open incident nothing joined
		}
		t := byIncident[id]
		if t == nil {
			t = p.group(id)
			byIncident[id] = t
			touched = append(touched, id)
			if !t.loaded {
				unread = append(unread, id)
			}
		}
		if t == g {
			continue
		}
		pending[id] = append(pending[id], g.affected...)
		t.joined = append(t.joined, g.joined...)
		t.reasons = append(t.reasons, g.reasons...)
		if severityRank(g.severity) > severityRank(t.severity) {
			t.severity = g.severity
		}
	}
	if len(touched) == 0 {
		return nil
	}
	sort.Slice(touched, func(a, b int) bool { return touched[a] < touched[b] })

	// The alerts that joined by topology.
	for _, id := range touched {
		g := byIncident[id]
		if len(g.joined) == 0 {
			continue
		}
		var sev string
		var impact, urgency int
		if err := tx.QueryRowContext(ctx, "SELECT severity, impact, urgency FROM incidents WHERE id = $1", id).Scan(&sev, &impact, &urgency); err != nil {
			return err
		}
		reasons := g.reasons
		if len(reasons) > maxReasons {
			reasons = reasons[:maxReasons:maxReasons]
		}
		if more := len(g.joined) - len(reasons); more > 0 {
			reasons = append(reasons, fmt.Sprintf("and %d more", more))
		}
		body := fmt.Sprintf("%d new alert(s) joined by topology: %s", len(g.joined), strings.Join(reasons, "; "))
		if err := m.addAlerts(ctx, tx, id, sev, impact, urgency, g.severity, len(g.joined), now, body,
			map[string]any{"alerts": len(g.joined), "topology": true}); err != nil {
			return err
		}
		if err := joins.set(ctx, m.DB.Dialect, tx, id, g.joined); err != nil {
			return err
		}
	}

	// What the incidents hold (those the usual grouping chose are read
	// now), then what this batch adds to every incident.
	if err := p.settle(ctx, tx, touched, unread); err != nil {
		return err
	}
	for _, id := range touched {
		g := byIncident[id]
		for _, ci := range pending[id] {
			if g.has.add(ci) { // no more matching: what it reaches does not matter
				g.newCIs = append(g.newCIs, ci)
				g.affected = append(g.affected, ci)
			}
		}
	}
	p.dropHeld(byIncident, touched)

	// Recompute each incident, and write the difference.
	var rows, gone []ciRow
	for _, id := range touched {
		g := byIncident[id]
		d := ciDelta{incident: id, affected: g.newCIs}
		for _, ci := range g.newCIs {
			rows = append(rows, ciRow{incident: id, ci: ci, role: RoleAffected})
		}
		if g.big || !g.stored || len(g.affected) > maxTopologyCIs {
			// (Not marked big here: this transaction may still roll back,
			// and on SQLite the incident's id be given to another. The next
			// batch reads that it is, from what committed.)
			//
			// An alert storm (one whose stored rows were not read): add
			// the services the new CIs impact, keep the candidates.
			if g.stored {
				d.impacted = maps.Clone(g.impacted)
			}
			for _, ci := range p.t.Impacted(g.newCIs) {
				if !g.stored || !g.impacted[ci] {
					rows = append(rows, ciRow{incident: id, ci: ci, role: RoleImpacted, checked: g.stored})
					if g.stored {
						d.impacted[ci] = true
					}
				}
			}
			p.deltas = append(p.deltas, d)
			continue
		}
		d.impacted = map[int64]bool{}
		for _, ci := range p.t.Impacted(g.affected) {
			d.impacted[ci] = true
			if !g.impacted[ci] {
				rows = append(rows, ciRow{incident: id, ci: ci, role: RoleImpacted, checked: true})
			}
		}
		for ci := range g.impacted {
			if !d.impacted[ci] {
				gone = append(gone, ciRow{incident: id, ci: ci, role: RoleImpacted})
			}
		}
		causes := rankCauses(p.t, g.affected)
		var ranked []ciRow
		if g.confirmed != 0 {
			ranked = append(ranked, ciRow{incident: id, ci: g.confirmed, role: RoleRootCause, rank: 1, confirmed: true})
		}
		for _, c := range causes {
			if len(ranked) == maxRootCauses {
				break
			}
			if c.ci != g.confirmed {
				ranked = append(ranked, ciRow{incident: id, ci: c.ci, role: RoleRootCause, rank: len(ranked) + 1})
			}
		}
		d.causes = map[int64]storedCause{}
		for _, r := range ranked {
			sc := storedCause{r.rank, r.confirmed}
			d.causes[r.ci] = sc
			if old, ok := g.causes[r.ci]; !ok || old != sc {
				rows = append(rows, r)
			}
		}
		for ci, sc := range g.causes {
			if _, ok := d.causes[ci]; ok {
				continue
			}
			if sc.confirmed {
				d.causes[ci] = sc // a confirmed row stays
			} else {
				gone = append(gone, ciRow{incident: id, ci: ci, role: RoleRootCause})
			}
		}
		p.deltas = append(p.deltas, d)
		if g.confirmed == 0 && len(causes) > 0 && causes[0].ci != g.top {
			c := causes[0]
			body := "probable root cause: " + p.t.Name(c.ci)
			switch {
			case c.own && c.deps > 0:
				body += fmt.Sprintf(" (it alerts, and %d affected CI(s) depend on it)", c.deps)
			case c.own:
				body += " (it alerts)"
			default:
				body += fmt.Sprintf(" (%d affected CI(s) depend on it)", c.deps)
			}
			if err := m.note(ctx, tx, id, "root_cause", body, map[string]any{"ci_id": c.ci}); err != nil {
				return err
			}
		}
	}
	if len(gone) > 0 {
		p.wrote = true
		n, err := deleteCIRows(ctx, m.DB.Dialect, tx, gone)
		if err != nil {
			return err
		}
		if n != len(gone) {
			p.complete = false
		}
	}
	if len(rows) > 0 {
		p.wrote = true
		ok, err := writeCIRows(ctx, m.DB.Dialect, tx, rows)
		if err != nil {
			return err
		}
		if !ok {
			p.complete = false
		}
	}
	return nil
}

// settle reads what the touched incidents hold that the batch has not
// read: the incidents the usual grouping chose. On PostgreSQL another
// transaction may have changed incident_cis since the batch read it; the
// incidents are locked now (by the joins and the usual grouping), so what
// is read from here on stays so until the commit: the candidates and
// impacted services of those read before are read again, unless the copy
// of incident_cis is still valid.
func (p *topoPlan) settle(ctx context.Context, tx *sql.Tx, touched, unread []int64) error {
	p.complete = p.copyRev != 0
	if p.copyRev != 0 {
		ok, err := p.copyCIs(ctx, tx, unread)
		if err != nil || ok {
			return err
		}
		p.complete = false
	}
	if err := p.loadCIs(ctx, tx, unread); err != nil {
		return err
	}
	if p.d == db.SQLite {
		return nil // one writer: what was read is so
	}
	var again []int64
	for _, id := range touched {
		if !slices.Contains(unread, id) {
			again = append(again, id)
		}
	}
	return p.loadStored(ctx, tx, again)
}

// dropHeld leaves out of the new CIs of big incidents those they hold
// already (their affected CIs were not all read), as the copy of
// incident_cis says if the batch reads it.
func (p *topoPlan) dropHeld(byIncident map[int64]*topoGroup, touched []int64) {
	if p.copyRev == 0 {
		return
	}
	c := p.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rev != p.copyRev {
		p.copyRev, p.complete = 0, false
		return
	}
	for _, id := range touched {
		g := byIncident[id]
		x := c.incidents[id]
		if !g.big || x == nil {
			continue
		}
		g.newCIs = slices.DeleteFunc(g.newCIs, func(ci int64) bool { return x.affected[ci] })
	}
}

// cause is a root-cause candidate of an incident.
type cause struct {
	ci    int64
	own   bool // it is an affected CI: it alerts itself
	deps  int  // how many other affected CIs depend on it
	depth int  // its nearest depth from them (0: none depends on it)
}

// rankCauses ranks the candidates for the cause of an incident whose
// affected CIs are affected. First the common upstream: a CI that explains
// every affected CI (each is it, or depends on it) — one that alerts itself
// before one that does not, the nearest first. Then the others, by how many
// affected CIs they explain, one that alerts first, the nearest first. On a
// tie, a hub (more than maxFanIn CIs depend on it) comes after the others.
// An incident of one affected CI has it as its first candidate.
func rankCauses(t Topology, affected []int64) []cause {
	by := map[int64]*cause{}
	get := func(ci int64) *cause {
		c := by[ci]
		if c == nil {
			c = &cause{ci: ci}
			by[ci] = c
		}
		return c
	}
	for _, x := range affected {
		get(x).own = true
	}
	for _, x := range affected {
		for u, d := range t.Upstream(x, topoDepth) {
			c := get(u)
			c.deps++
			if c.depth == 0 || d < c.depth {
				c.depth = d
			}
		}
	}
	out := make([]cause, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	explains := func(c cause) int {
		if c.own {
			return c.deps + 1
		}
		return c.deps
	}
	all := func(c cause) bool { return explains(c) >= len(affected) }
	hubs := map[int64]bool{}
	hub := func(ci int64) bool {
		h, ok := hubs[ci]
		if !ok {
			h = t.FanIn(ci) > maxFanIn
			hubs[ci] = h
		}
		return h
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if ax, ay := all(x), all(y); ax != ay {
			return ax
		}
		if ex, ey := explains(x), explains(y); ex != ey {
			return ex > ey
		}
		if x.own != y.own {
			return x.own
		}
		if x.depth != y.depth {
			return x.depth < y.depth
		}
		if hx, hy := hub(x.ci), hub(y.ci); hx != hy {
			return hy // a host before the DNS server everything uses
		}
		return x.ci < y.ci
	})
	return out
}

// ciRow is one incident_cis row.
type ciRow struct {
	incident, ci int64
	role         string
	rank         int
	confirmed    bool
	// checked: the incident is not known to hold the row (only rank 0,
	// unconfirmed rows: affected and impacted ones); writeCIRows reports
	// whether it was added.
	checked bool
}

// writeCIRows adds rows, and sets the rank of candidates, skipping CIs
// deleted meanwhile (the topology is a copy of a moment ago). It reports
// whether every row was written: no CI was deleted, and no affected or
// checked impacted row was held already.
func writeCIRows(ctx context.Context, d db.Dialect, tx *sql.Tx, rows []ciRow) (bool, error) {
	complete := true
	// Plain rows (rank 0, not confirmed: affected and impacted CIs) are
	// written per incident and role as a list of CIs, a fifth of the
	// parameters.
	type plainKey struct {
		incident int64
		role     string
	}
	var plain map[plainKey][]int64
	var plainOrder []plainKey
	var rest []ciRow
	for _, r := range rows {
		if r.rank != 0 || r.confirmed {
			rest = append(rest, r)
			continue
		}
		if r.role == RoleImpacted && !r.checked {
			complete = false // a row the incident may hold: not counted
		}
		k := plainKey{r.incident, r.role}
		if plain == nil {
			plain = map[plainKey][]int64{}
		}
		if _, ok := plain[k]; !ok {
			plainOrder = append(plainOrder, k)
		}
		plain[k] = append(plain[k], r.ci)
	}
	for _, k := range plainOrder {
		cis := plain[k]
		const chunk = 900
		for i := 0; i < len(cis); i += chunk {
			part := cis[i:min(i+chunk, len(cis))]
			args := make([]any, 0, len(part)+2)
			args = append(args, k.incident, k.role)
			for _, ci := range part {
				args = append(args, ci)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO incident_cis (incident_id, ci_id, role, rank, confirmed)
				SELECT CAST(`+d.Params(1, 1)+` AS BIGINT), id, CAST(`+d.Params(2, 1)+` AS TEXT), 0, FALSE FROM cis WHERE id IN (`+d.Params(3, len(part))+`)
				ON CONFLICT (incident_id, ci_id, role) DO NOTHING`, args...)
			if err != nil {
				return false, fmt.Errorf("incident CIs: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != int64(len(part)) {
				complete = false
			}
		}
	}
	rows = rest
	const chunk = 200
	for i := 0; i < len(rows); i += chunk {
		part := rows[i:min(i+chunk, len(rows))]
		var b strings.Builder
		b.WriteString("INSERT INTO incident_cis (incident_id, ci_id, role, rank, confirmed) SELECT v.column1, v.column2, v.column3, v.column4, v.column5 FROM (VALUES ")
		args := make([]any, 0, len(part)*5)
		for j, r := range part {
			if j > 0 {
				b.WriteByte(',')
			}
			n := len(args)
			p := func(k int) string { return d.Params(n+k, 1) }
			b.WriteString("(CAST(" + p(1) + " AS BIGINT), CAST(" + p(2) + " AS BIGINT), CAST(" + p(3) + " AS TEXT), CAST(" +
				p(4) + " AS INTEGER), CAST(" + p(5) + " AS BOOLEAN))")
			args = append(args, r.incident, r.ci, r.role, r.rank, r.confirmed)
		}
		b.WriteString(`) AS v WHERE EXISTS (SELECT 1 FROM cis WHERE cis.id = v.column2)
			ON CONFLICT (incident_id, ci_id, role) DO UPDATE SET rank = excluded.rank, confirmed = excluded.confirmed`)
		res, err := tx.ExecContext(ctx, b.String(), args...)
		if err != nil {
			return false, fmt.Errorf("incident CIs: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(part)) {
			complete = false
		}
	}
	return complete, nil
}

// deleteCIRows deletes rows, per incident and role, and returns how many
// it deleted.
func deleteCIRows(ctx context.Context, d db.Dialect, tx *sql.Tx, rows []ciRow) (int, error) {
	type key struct {
		incident int64
		role     string
	}
	by := map[key][]any{}
	var order []key
	for _, r := range rows {
		k := key{r.incident, r.role}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], r.ci)
	}
	total := 0
	for _, k := range order {
		cis := by[k]
		const chunk = 900
		for i := 0; i < len(cis); i += chunk {
			part := cis[i:min(i+chunk, len(cis))]
			args := append([]any{k.incident, k.role}, part...)
			res, err := tx.ExecContext(ctx, "DELETE FROM incident_cis WHERE incident_id = $1 AND role = $2 AND ci_id IN ("+d.Params(3, len(part))+")", args...)
			if err != nil {
				return total, fmt.Errorf("incident CIs: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, err
			}
			total += int(n)
		}
	}
	return total, nil
}
