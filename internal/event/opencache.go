package event

import "errors"

// openCache remembers the open alerts the commit loop has written, so that
// a batch of repeats need not look its keys up again: with a steady set of
// firing alerts, that lookup was a quarter of the commit.
//
// It is a hint, never trusted: every write to an alert taken from it checks
// in SQL that the alert's status is still the one the cache says and that
// its stored chain of raw events still ends where the cache says (on
// SQLite, alert_epoch tells the commit loop when anything else changed an
// alert: deferred.go). An alert changed
// by anything else (an incident acknowledging or resolving its alerts,
// another replica, a deleted service) fails that check; the batch is then rolled back and worked out again from the
// database, with the cache emptied. Only the commit loop uses it.
type openCache struct {
	m map[stateKey]alertState
}

// openCacheMax bounds the cache; past it, it starts over.
const openCacheMax = 200_000

// errStale says a write found an alert other than the batch expected.
var errStale = errors.New("an alert changed outside this batch")

func (c *openCache) get(k stateKey) (*alertState, bool) {
	st, ok := c.m[k]
	if !ok {
		return nil, false
	}
	st.loaded = asLoaded(st.status, st.stored)
	return &st, true
}

// stored records that alert id (of key k) now has lastEvent as its newest
// raw event in the database: a flush of waiting repeats (deferred.go) wrote it.
func (c *openCache) stored(k stateKey, id, lastEvent int64) {
	if st, ok := c.m[k]; ok && st.id == id {
		st.stored = lastEvent
		c.m[k] = st
	}
}

func (c *openCache) clear() { c.m = nil }

// keep records the end state of a committed batch's keys: the alerts still
// open, and no entry for those it resolved.
func (c *openCache) keep(keys []stateKey, open map[stateKey]*alertState) {
	if c.m == nil || len(c.m)+len(keys) > openCacheMax {
		c.m = make(map[stateKey]alertState, len(keys))
	}
	for _, k := range keys {
		if st := open[k]; st != nil && st.id != 0 {
			c.m[k] = *st
		} else {
			delete(c.m, k)
		}
	}
}
