package incident

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/steadyhq/steady/internal/platform/db"
)

// The open incidents' CIs in memory.
//
// Grouping by topology looks, for each batch of new alerts naming CIs, for
// the open incidents that hold those CIs or their upstream CIs, and reads
// what those incidents hold. Rather than query incident_cis each time, a
// Manager keeps a copy of the rows of the open incidents (affected,
// impacted and root-cause CIs), valid for a revision: incident_cis_revision
// changes in the same transaction as every change to incident_cis (written
// here, and by triggers: a CI deleted takes its rows with it) and every
// incident reopened (a trigger: the copy leaves resolved incidents out).
//
// A batch reads the revision, with the status, security flag and last
// alert of the incidents the copy names as candidates, in one statement.
// When the revision is the copy's, the copy holds what the database holds:
// the incidents are those that were open, and the statement says which
// still are (an incident resolved by any path is never joined; it leaves
// the copy). Otherwise the copy is read again, in one statement; or, while
// other writers keep changing incident_cis (several replicas ingesting on
// PostgreSQL), the batch queries the database as before, and the copy is
// read again after a growing number of batches.
//
// A transaction that changes incident_cis sets a new random revision, as
// its last statement and on condition that the revision is still the one
// it read; the copy then takes the transaction's changes under the new
// revision, before the commit. If the transaction rolls back, or another
// changed incident_cis in between, the database's revision is not the
// copy's and the copy is not used: it is never trusted for a revision that
// was not committed with exactly its rows.
type ciCache struct {
	mu        sync.Mutex
	rev       int64 // incident_cis_revision of the copy; 0: no copy
	incidents map[int64]*cachedIncident
	refs      ciRefs // CI → the incidents holding it as affected or root cause
	loaded    int    // incidents in the copy when it was read
	served    int    // batches served since it was read (the first included)
	misses    int    // copies in a row that went stale after serving one batch
	backoff   int    // batches to query the database for, after misses
	wait      int    // of those, the batches left
}

// cachedIncident is what an open incident holds.
type cachedIncident struct {
	affected map[int64]bool
	causes   map[int64]storedCause
	impacted map[int64]bool
}

// cachedRef is an incident holding a CI as affected, or as a root-cause
// candidate.
type cachedRef struct {
	incident int64
	cause    bool
}

// storedCause is a root-cause row: its rank and whether it was confirmed.
type storedCause struct {
	rank      int
	confirmed bool
}

// incidentState is what a batch reads of an incident the copy names.
type incidentState struct {
	lastAlert int64
	open      bool
	security  bool
}

// maxBackoff is the most batches that query the database between two
// reads of the copy, while other writers keep changing incident_cis.
const maxBackoff = 64

// newRevision returns a revision no writer has used (with overwhelming
// probability), small enough for a trigger to add one to.
func newRevision() int64 { return 1 + rand.Int64N(1<<62) }

// openCIs finds, through the copy, the open incidents (not security ones)
// holding any CI of cand, and reads their CIs into p. It reports false
// when the copy could not be used: the caller queries the database.
func (p *topoPlan) openCIs(ctx context.Context, tx *sql.Tx, cand []int64) (bool, error) {
	c := p.cache
	c.mu.Lock()
	// A copy that grew well past what it held when it was read (resolved
	// incidents leave it only when a batch meets them) is read again.
	usable := c.rev != 0 && len(c.incidents) <= 2*c.loaded+100
	if !usable && c.wait > 0 {
		c.wait--
		c.mu.Unlock()
		return false, nil
	}
	var refs []candRef
	var incs []int64
	rev := c.rev
	if usable {
		refs, incs = c.lookup(cand)
	}
	c.mu.Unlock()

	if usable {
		cur, states, err := readStates(ctx, p.d, tx, incs)
		if err != nil {
			return false, err
		}
		c.mu.Lock()
		if cur == rev && c.rev == rev {
			c.served++
			for _, id := range incs {
				if st, ok := states[id]; !ok || !st.open {
					c.remove(id) // resolved: it comes back only reopened, which changes the revision
				}
			}
			p.copyRev = rev
			p.fromCopy(refs, states)
			c.mu.Unlock()
			return true, nil
		}
		// Stale: read it again at once, unless copies keep going stale
		// after one batch (other writers change incident_cis all the
		// time): then query the database for a growing number of batches.
		if c.rev == rev {
			if c.served <= 1 {
				c.misses++
			} else {
				c.misses = 0
			}
			if c.misses >= 2 {
				c.backoff = min(max(1, 2*c.backoff), maxBackoff)
			} else {
				c.backoff = 0
			}
			c.wait = c.backoff
			c.clear()
		}
		wait := c.wait > 0
		if wait {
			c.wait--
		}
		c.mu.Unlock()
		if wait {
			return false, nil
		}
	}

	// Read the copy again, with what this batch needs of its incidents.
	rev, states, err := c.load(ctx, p.d, tx)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rev != rev {
		return false, nil // another batch read a newer one meanwhile
	}
	refs, _ = c.lookup(cand)
	c.served++
	p.copyRev = rev
	p.fromCopy(refs, states)
	return true, nil
}

// candRef is a row of incident_cis the copy holds for a CI of a batch.
type candRef struct {
	ci int64
	cachedRef
}

// lookup returns the copy's rows for the CIs of cand (as affected or root
// cause) and their incidents, in CI order. c.mu is held.
func (c *ciCache) lookup(cand []int64) ([]candRef, []int64) {
	var refs []candRef
	var incs []int64
	seen := map[int64]bool{}
	for _, ci := range cand {
		c.refs.each(ci, func(r cachedRef) {
			refs = append(refs, candRef{ci, r})
			if !seen[r.incident] {
				seen[r.incident] = true
				incs = append(incs, r.incident)
			}
		})
	}
	return refs, incs
}

// readStates reads the revision and the state of incidents, in one
// statement (per 500 incidents).
func readStates(ctx context.Context, d db.Dialect, tx *sql.Tx, incidents []int64) (int64, map[int64]incidentState, error) {
	var rev int64
	states := make(map[int64]incidentState, len(incidents))
	for i := 0; i == 0 || i < len(incidents); i += 500 {
		part := incidents[i:min(i+500, len(incidents))]
		var q strings.Builder
		args := make([]any, 0, len(part))
		if i == 0 {
			q.WriteString("SELECT 0, revision, '', FALSE FROM incident_cis_revision WHERE id = 1")
			if len(part) > 0 {
				q.WriteString(" UNION ALL ")
			}
		}
		if len(part) > 0 {
			q.WriteString("SELECT id, last_alert_at, status, security FROM incidents WHERE id IN (" + d.Params(1, len(part)) + ")")
			for _, id := range part {
				args = append(args, id)
			}
		}
		rows, err := tx.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return rev, nil, err
		}
		for rows.Next() {
			var id, a int64
			var status string
			var security bool
			if err := rows.Scan(&id, &a, &status, &security); err != nil {
				rows.Close()
				return rev, nil, err
			}
			if id == 0 {
				rev = a
				continue
			}
			states[id] = incidentState{lastAlert: a, open: Status(status).Open(), security: security}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return rev, nil, err
		}
	}
	return rev, states, nil
}

// load reads the copy: the revision and the rows of the open incidents,
// in one statement, and returns the state of those incidents.
func (c *ciCache) load(ctx context.Context, d db.Dialect, tx *sql.Tx) (int64, map[int64]incidentState, error) {
	rows, err := tx.QueryContext(ctx, `SELECT 0, revision, 0, '', 0, FALSE, FALSE FROM incident_cis_revision WHERE id = 1
		UNION ALL
		SELECT ic.incident_id, ic.ci_id, i.last_alert_at, ic.role, ic.rank, ic.confirmed, i.security
			FROM incident_cis ic JOIN incidents i ON i.id = ic.incident_id WHERE i.status IN `+openStatuses)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var rev int64
	states := map[int64]incidentState{}
	incidents := map[int64]*cachedIncident{}
	var refs ciRefs
	for rows.Next() {
		var inc, a, b int64
		var role string
		var rank int
		var confirmed, security bool
		if err := rows.Scan(&inc, &a, &b, &role, &rank, &confirmed, &security); err != nil {
			return rev, nil, err
		}
		if inc == 0 {
			rev = a
			continue
		}
		ci := a
		x := incidents[inc]
		if x == nil {
			x = &cachedIncident{}
			incidents[inc] = x
			states[inc] = incidentState{lastAlert: b, open: true, security: security}
		}
		x.set(ci, role, storedCause{rank, confirmed})
		if role != RoleImpacted {
			refs.add(ci, cachedRef{inc, role == RoleRootCause})
		}
	}
	if err := rows.Err(); err != nil {
		return rev, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rev, c.incidents, c.refs = rev, incidents, refs
	c.loaded, c.served = len(incidents), 0
	return rev, states, nil
}

// set records a row of x.
func (x *cachedIncident) set(ci int64, role string, sc storedCause) {
	switch role {
	case RoleAffected:
		if x.affected == nil {
			x.affected = map[int64]bool{}
		}
		x.affected[ci] = true
	case RoleImpacted:
		if x.impacted == nil {
			x.impacted = map[int64]bool{}
		}
		x.impacted[ci] = true
	case RoleRootCause:
		if x.causes == nil {
			x.causes = map[int64]storedCause{}
		}
		x.causes[ci] = sc
	}
}

// clear drops the copy. c.mu is held.
func (c *ciCache) clear() {
	c.rev, c.incidents, c.refs = 0, nil, ciRefs{}
}

// remove drops an incident from the copy. c.mu is held.
func (c *ciCache) remove(id int64) {
	x := c.incidents[id]
	if x == nil {
		return
	}
	delete(c.incidents, id)
	for ci := range x.affected {
		c.refs.remove(ci, cachedRef{id, false})
	}
	for ci := range x.causes {
		c.refs.remove(ci, cachedRef{id, true})
	}
}

// ciRefs is, per CI, the incidents holding it: the first in a map without
// pointers (which the garbage collector need not scan), the others apart.
type ciRefs struct {
	one  map[int64]cachedRef
	more map[int64][]cachedRef
}

func (c *ciRefs) add(ci int64, r cachedRef) {
	if c.one == nil {
		c.one, c.more = map[int64]cachedRef{}, map[int64][]cachedRef{}
	}
	if _, ok := c.one[ci]; !ok {
		c.one[ci] = r
		return
	}
	c.more[ci] = append(c.more[ci], r)
}

func (c *ciRefs) each(ci int64, fn func(cachedRef)) {
	r, ok := c.one[ci]
	if !ok {
		return
	}
	fn(r)
	for _, r := range c.more[ci] {
		fn(r)
	}
}

func (c *ciRefs) remove(ci int64, r cachedRef) {
	more := c.more[ci]
	if c.one[ci] == r {
		if len(more) == 0 {
			delete(c.one, ci)
			return
		}
		c.one[ci], more = more[0], more[1:]
	} else if i := slices.Index(more, r); i >= 0 {
		more = slices.Delete(more, i, i+1)
	}
	if len(more) == 0 {
		delete(c.more, ci)
	} else {
		c.more[ci] = more
	}
}

// fromCopy fills p from the copy's rows for the batch's CIs: the open
// incidents that are not security incidents, and what they hold. c.mu is
// held.
func (p *topoPlan) fromCopy(refs []candRef, states map[int64]incidentState) {
	var found []int64
	for _, r := range refs {
		st, ok := states[r.incident]
		if !ok || !st.open || st.security {
			continue
		}
		g, seen := p.existing[r.incident]
		if !seen {
			g = p.group(r.incident)
			g.lastAlert = st.lastAlert
			found = append(found, r.incident)
		}
		p.reach(g, r.ci)
		if !r.cause {
			p.add(g, r.ci)
		}
	}
	p.order(found)
	for _, id := range found {
		p.fromCopyCIs(p.existing[id])
	}
}

// fromCopyCIs reads what an incident holds from the copy, as loadCIs reads
// it from the database: all its affected CIs unless it has more than
// maxTopologyCIs (then only those the batch found), its root-cause
// candidates and impacted services. An incident the copy does not hold
// holds nothing. c.mu is held.
func (p *topoPlan) fromCopyCIs(g *topoGroup) {
	x := p.cache.incidents[g.incident]
	g.loaded, g.stored = true, true
	g.causes, g.impacted = map[int64]storedCause{}, map[int64]bool{}
	if x == nil {
		return
	}
	if len(x.affected) > maxTopologyCIs {
		g.big = true
	} else {
		cis := make([]int64, 0, len(x.affected))
		for ci := range x.affected {
			cis = append(cis, ci)
		}
		slices.Sort(cis)
		for _, ci := range cis {
			p.add(g, ci)
		}
	}
	for ci, sc := range x.causes {
		g.causes[ci] = sc
		if sc.confirmed {
			g.confirmed = ci
		}
		if sc.rank == 1 {
			g.top = ci
		}
	}
	for ci := range x.impacted {
		g.impacted[ci] = true
	}
}

// copyCIs reads the incidents not read yet from the copy, if it is still
// valid: on PostgreSQL another transaction may have changed incident_cis
// since the batch began (the incidents it touches are locked now, so
// nothing changes them until the commit). It reports false when the copy
// is not valid any more: the caller reads the database.
func (p *topoPlan) copyCIs(ctx context.Context, tx *sql.Tx, incidents []int64) (bool, error) {
	if p.d != db.SQLite { // SQLite has one writer: nothing changed
		cur, _, err := readStates(ctx, p.d, tx, nil)
		if err != nil {
			return false, err
		}
		if cur != p.copyRev {
			p.copyRev = 0
			return false, nil
		}
	}
	c := p.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rev != p.copyRev {
		p.copyRev = 0
		return false, nil
	}
	for _, id := range incidents {
		p.fromCopyCIs(p.group(id))
	}
	return true, nil
}

// ciDelta is what a transaction changed of an incident's rows.
type ciDelta struct {
	incident int64
	affected []int64               // added
	causes   map[int64]storedCause // all of them, when recomputed
	impacted map[int64]bool        // all of them
}

// finishTopology marks the change of incident_cis by the transaction, as
// its last statement: a new revision, taken by the copy when it is the
// successor of the one the batch read.
func (m *Manager) finishTopology(ctx context.Context, tx *sql.Tx, p *topoPlan) error {
	if p == nil || !p.wrote {
		return nil
	}
	next := newRevision()
	if p.copyRev != 0 && p.complete {
		res, err := tx.ExecContext(ctx, "UPDATE incident_cis_revision SET revision = $1 WHERE id = 1 AND revision = $2", next, p.copyRev)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			m.cis.apply(p.copyRev, next, p.deltas)
			return nil
		}
	}
	_, err := tx.ExecContext(ctx, "UPDATE incident_cis_revision SET revision = $1 WHERE id = 1", next)
	return err
}

// apply takes a transaction's changes into the copy, under revision next,
// if the copy is still the one the transaction read.
func (c *ciCache) apply(rev, next int64, deltas []ciDelta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rev != rev {
		return
	}
	for _, d := range deltas {
		x := c.incidents[d.incident]
		if x == nil {
			x = &cachedIncident{}
			c.incidents[d.incident] = x
		}
		for _, ci := range d.affected {
			if !x.affected[ci] {
				x.set(ci, RoleAffected, storedCause{})
				c.refs.add(ci, cachedRef{d.incident, false})
			}
		}
		if d.causes != nil {
			for ci := range x.causes {
				if _, ok := d.causes[ci]; !ok {
					c.refs.remove(ci, cachedRef{d.incident, true})
				}
			}
			for ci := range d.causes {
				if _, ok := x.causes[ci]; !ok {
					c.refs.add(ci, cachedRef{d.incident, true})
				}
			}
			x.causes = d.causes
		}
		if d.impacted != nil {
			x.impacted = d.impacted
		}
	}
	c.rev = next
}
