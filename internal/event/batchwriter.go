package event

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/platform/db"
)

// The statements of one commit (Ingester.writeOnce works out in memory what
// they write): the open alerts of the batch's keys, the ids of its raw
// events and new alerts, the updates of existing alerts, the new alerts and
// the raw events, for SQLite and for PostgreSQL.

// batchWriter is one commit's transaction.
type batchWriter struct {
	ctx context.Context
	tx  *sql.Tx
	d   db.Dialect

	// SQLite: what the commit's first statement read (start).
	epoch                int64 // ingest_state.alert_epoch (deferred.go)
	lastEvent, lastAlert int64 // the highest ids of events and alerts
}

// start reads, on SQLite, in one statement at the commit's start, what the
// commit needs to know of the database besides the alerts: the alert epoch
// (deferred.go) and the highest ids, after which ids numbers the new rows
// (the transaction holds the write lock, so they stay the highest).
func (bw *batchWriter) start() error {
	if bw.d != db.SQLite {
		return nil
	}
	err := bw.tx.QueryRowContext(bw.ctx, `SELECT alert_epoch, (SELECT COALESCE(MAX(id), 0) FROM events),
		(SELECT COALESCE(MAX(id), 0) FROM alerts) FROM ingest_state WHERE id = 1`).Scan(&bw.epoch, &bw.lastEvent, &bw.lastAlert)
	if err != nil {
		return fmt.Errorf("read the alert epoch and the last ids: %w", err)
	}
	return nil
}

// SQLite statements. A batch is cut into chunks of at most maxChunk rows:
// full chunks, then one of the exact remainder, so a bounded set of texts
// (which the driver keeps prepared) covers every batch, and a small batch
// is one statement per step. SQLite binds ? by position, which stays cheap
// with many parameters.
const (
	lookupChunk     = 64
	alertChunk      = 32
	rawChunk        = 64
	touchChunk      = 32
	touchPer        = 10
	alertInsertPer  = 19
	rawInsertPer    = 9
	alertInsertCols = `INSERT INTO alerts (id, service_id, dedup_key, status, severity, summary, host, source, labels, count,
		first_seen, last_seen, acknowledged_at, resolved_at, last_event_id, trigger_event_id, suppressed, incident_id, ci_id) `
	// alertCI is the last value of an alert row, its CI: the id only if the
	// CI still exists (the mapping may have used a copy of the CMDB from a
	// moment ago), so that a CI deleted meanwhile leaves the alert without
	// one instead of failing the batch.
	alertCI       = "(SELECT id FROM cis WHERE id = ?)"
	rawInsertCols = "INSERT INTO events (id, received_at, service_id, alert_id, source, action, dedup_key, body, prev_id) VALUES "
	// alertUpdate changes an alert's status (acknowledge, resolve), with
	// whatever else the batch did to it.
	alertUpdate = `UPDATE alerts SET status = ?, count = count + ?,
		last_seen = CASE WHEN ? > last_seen THEN ? ELSE last_seen END,
		severity = COALESCE(?, severity), summary = COALESCE(?, summary), host = COALESCE(?, host),
		labels = COALESCE(?, labels), last_event_id = ?, trigger_event_id = COALESCE(?, trigger_event_id),
		acknowledged_at = COALESCE(acknowledged_at, ?), resolved_at = COALESCE(?, resolved_at)
		WHERE id = ? AND ` + stillAsLoaded + ` = ?`
)

// The SQLite statements for each chunk size, made once.
var (
	lookupSQL = sqlBySize(lookupChunk, func(n int) string {
		return "SELECT id, service_id, dedup_key, status, suppressed, COALESCE(last_event_id, 0) FROM alerts WHERE dedup_key IN (" + db.SQLite.Params(1, n) +
			") AND status <> 'resolved'"
	})
	alertInsertSQL = sqlBySize(alertChunk, func(n int) string {
		return rowsOf(alertInsertCols+"VALUES ", "("+db.SQLite.Params(1, alertInsertPer-1)+","+alertCI+")", n, "")
	})
	rawInsertSQL = sqlBySize(rawChunk, func(n int) string { return rowsSQL(rawInsertCols, rawInsertPer, n, "") })
	// touchSQL repeats triggers on open alerts, many rows in one statement.
	// It leaves status alone: status is in the WHERE of the dedup index, so
	// setting it (even to the same value) makes SQLite rewrite that entry.
	touchSQL = touchStatements(touchPer, " AND "+stillAsLoaded+" = v.column10")
)

// stillAsLoaded, compared with asLoaded of the alert as the batch found it,
// is true only if nothing else changed its status (an incident acknowledging
// or resolving it) or added an event to it: the writes of an alert check
// it, so that one taken from the cache is never written over a change made
// elsewhere.
const stillAsLoaded = "alerts.status || ':' || COALESCE(alerts.last_event_id, 0)"

// asLoaded is what stillAsLoaded gives for an alert of this status and
// newest raw event.
func asLoaded(status string, lastEvent int64) string {
	return status + ":" + strconv.FormatInt(lastEvent, 10)
}

// pgSmallBatch is the most rows a PostgreSQL write takes as a VALUES list;
// past it, the rows go as arrays through unnest. Small batches (single
// events from a few dozen senders) measured faster as VALUES lists, big ones
// as arrays (one statement whatever the size).
const pgSmallBatch = 64

// sqlBySize makes the statement for each chunk size 1..maxChunk (index n).
func sqlBySize(maxChunk int, build func(n int) string) []string {
	out := make([]string, maxChunk+1)
	for n := 1; n <= maxChunk; n++ {
		out[n] = build(n)
	}
	return out
}

// touchArgs appends the values of one touch row (touchStatements) but its
// check: the alert, the triggers to add, the newest of them, its payload
// and the alert's newest raw event.
func touchArgs(args []any, id int64, count int, lastSeen int64, t lastTrigger, lastEvent int64) []any {
	return append(args, id, count, lastSeen, t.severity, t.summary, t.host, t.labels, lastEvent, t.rawID)
}

// touchStatements repeat triggers on open alerts, many rows in one
// statement, each row (alert id, count to add, last seen, severity,
// summary, host, labels, newest raw event, newest trigger, …) matched by
// alerts.id and the condition where.
func touchStatements(per int, where string) []string {
	return sqlBySize(touchChunk, func(n int) string {
		return rowsSQL(`UPDATE alerts SET count = count + v.column2, last_seen = max(last_seen, v.column3),
			severity = v.column4, summary = v.column5, host = v.column6, labels = v.column7, last_event_id = v.column8,
			trigger_event_id = v.column9
			FROM (VALUES `, per, n, `) AS v WHERE alerts.id = v.column1`+where)
	})
}

func rowsSQL(head string, per, n int, tail string) string {
	return rowsOf(head, "("+db.SQLite.Params(1, per)+")", n, tail)
}

// rowsOf repeats row n times between head and tail.
func rowsOf(head, row string, n int, tail string) string {
	var b strings.Builder
	b.Grow(len(head) + n*(len(row)+1) + len(tail))
	b.WriteString(head)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	return b.String()
}

// inChunks runs a statement over rows 0 … total-1 in full chunks of
// maxChunk rows and one of the remainder: run gets each chunk's size and
// the arguments add appended for its rows.
func inChunks(total, maxChunk int, add func(args []any, row int) []any, run func(n int, args []any) error) error {
	var args []any
	for i := 0; i < total; i += maxChunk {
		n := min(maxChunk, total-i)
		args = args[:0]
		for j := i; j < i+n; j++ {
			args = add(args, j)
		}
		if err := run(n, args); err != nil {
			return err
		}
	}
	return nil
}

func (bw *batchWriter) exec(q string, args ...any) error {
	_, err := bw.tx.ExecContext(bw.ctx, q, args...)
	return err
}

// execAll runs an update of n alerts (what it does, for its errors), each
// checked with stillAsLoaded: if fewer rows change, one of them changed
// elsewhere (errStale).
func (bw *batchWriter) execAll(what string, n int, q string, args ...any) error {
	res, err := bw.tx.ExecContext(bw.ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if got, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	} else if got != int64(n) {
		return errStale
	}
	return nil
}

func (bw *batchWriter) query(q string, args ...any) (*sql.Rows, error) {
	return bw.tx.QueryContext(bw.ctx, q, args...)
}

// loadOpen finds the open alerts of the batch's keys (service, dedup key),
// which it returns too: from the cache, and for the keys not in it from the
// database (lock: locking their rows on PostgreSQL, in key order).
func (bw *batchWriter) loadOpen(batch []*request, cache *openCache, lock bool) (map[stateKey]*alertState, []stateKey, error) {
	open := make(map[stateKey]*alertState)
	var all []stateKey
	seen := map[string]struct{}{}
	var keys []string // dedup keys to look up
	for _, r := range batch {
		for i := range r.items {
			sk := stateKey{r.items[i].ServiceID, r.items[i].Event.DedupKey}
			if _, ok := open[sk]; ok {
				continue
			}
			if st, ok := cache.get(sk); ok {
				open[sk] = st
				all = append(all, sk)
				continue
			}
			open[sk] = nil
			all = append(all, sk)
			if _, ok := seen[sk.key]; !ok {
				seen[sk.key] = struct{}{}
				keys = append(keys, sk.key)
			}
		}
	}
	scan := func(rows *sql.Rows) error {
		defer rows.Close()
		for rows.Next() {
			st := &alertState{}
			if err := rows.Scan(&st.id, &st.serviceID, &st.key, &st.status, &st.suppressed, &st.lastEvent); err != nil {
				return err
			}
			st.stored = st.lastEvent
			st.loaded = asLoaded(st.status, st.stored)
			open[stateKey{st.serviceID, st.key}] = st
		}
		return rows.Err()
	}
	if lock {
		slices.Sort(keys)
	}
	err := bw.lookupOpen(keys, lock, scan)
	for k, st := range open {
		if st == nil {
			delete(open, k)
		}
	}
	return open, all, err
}

// lookupOpen reads the open alerts of dedup keys.
func (bw *batchWriter) lookupOpen(keys []string, lock bool, scan func(*sql.Rows) error) error {
	if bw.d == db.Postgres {
		// An IN list of parameters, as before this loop was reworked: the
		// array forms (= ANY($1), a join with unnest($1)) measured no
		// better here, and at times worse while the table's statistics
		// lagged behind its growth.
		const chunk = 500
		forUpdate := ""
		if lock {
			forUpdate = " ORDER BY dedup_key, service_id FOR UPDATE"
		}
		for i := 0; i < len(keys); i += chunk {
			part := keys[i:min(i+chunk, len(keys))]
			args := make([]any, len(part))
			for j, k := range part {
				args[j] = k
			}
			rows, err := bw.query("SELECT id, service_id, dedup_key, status, suppressed, COALESCE(last_event_id, 0) FROM alerts WHERE dedup_key IN ("+
				db.Postgres.Params(1, len(part))+") AND status <> 'resolved'"+forUpdate, args...)
			if err != nil {
				return err
			}
			if err := scan(rows); err != nil {
				return err
			}
		}
		return nil
	}
	return inChunks(len(keys), lookupChunk, func(args []any, i int) []any { return append(args, keys[i]) },
		func(n int, args []any) error {
			rows, err := bw.query(lookupSQL[n], args...)
			if err != nil {
				return err
			}
			return scan(rows)
		})
}

// stored returns the JSON of an item, encoding it if Submit did not.
func (r *Routed) stored() (body, labels string) {
	if r.body == "" {
		r.encode()
	}
	return r.body, r.labels
}

// orNull is an optional id as a parameter: NULL for 0 (none).
func orNull(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// insertAlerts writes the alerts this batch creates, with the ids ids
// reserved and the incident the hook chose.
func (bw *batchWriter) insertAlerts(ws []*alertWrite) error {
	if len(ws) == 0 {
		return nil
	}
	row := func(w *alertWrite) []any {
		ev := &w.it.Event
		_, l := w.it.stored()
		return []any{w.state.id, w.state.serviceID, w.state.key, w.state.status, string(ev.Severity), ev.Summary, ev.Host,
			string(ev.Source), l, w.count, w.firstSeen, w.lastSeen, db.IDOrNil(w.acknowledgedAt), db.IDOrNil(w.resolvedAt),
			w.state.lastEvent, w.it.rawID, w.state.suppressed, orNull(w.incident), orNull(w.it.CIID)}
	}
	if bw.d == db.Postgres && len(ws) <= pgSmallBatch {
		args := make([]any, 0, len(ws)*alertInsertPer)
		var b strings.Builder
		b.WriteString(alertInsertCols + "VALUES ")
		for i, w := range ws {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + db.Postgres.Params(len(args)+1, alertInsertPer-1) +
				", (SELECT id FROM cis WHERE id = $" + strconv.Itoa(len(args)+alertInsertPer) + "))")
			args = append(args, row(w)...)
		}
		if err := bw.exec(b.String(), args...); err != nil {
			return fmt.Errorf("insert alerts: %w", err)
		}
		return nil
	}
	if bw.d == db.Postgres {
		n := len(ws)
		id, svc, ack, res := make([]int64, n), make([]int64, n), make([]*int64, n), make([]*int64, n)
		count, first, last := make([]int64, n), make([]int64, n), make([]int64, n)
		key, status, sev, sum, host, src, labels, supp := make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		cis, incident, lastEvent, trigger := make([]*int64, n), make([]*int64, n), make([]int64, n), make([]int64, n)
		for i, w := range ws {
			if w.it.CIID != 0 {
				cis[i] = &w.it.CIID
			}
			if w.incident != 0 {
				incident[i] = &w.incident
			}
			ev := &w.it.Event
			_, l := w.it.stored()
			id[i], svc[i], key[i], status[i], sev[i], sum[i], host[i], src[i], labels[i] = w.state.id, w.state.serviceID, w.state.key,
				w.state.status, string(ev.Severity), ev.Summary, ev.Host, string(ev.Source), l
			count[i], first[i], last[i], ack[i], res[i], lastEvent[i] = int64(w.count), w.firstSeen, w.lastSeen, w.acknowledgedAt,
				w.resolvedAt, w.state.lastEvent
			trigger[i], supp[i] = w.it.rawID, w.state.suppressed
		}
		_, err := bw.tx.ExecContext(bw.ctx, alertInsertCols+`
			SELECT u.id, u.s, u.k, u.st, u.sev, u.sum, u.h, u.src, u.l, u.n, u.f, u.la, u.ack, u.res, u.ev, u.tr, u.sup, u.inc,
				(SELECT c.id FROM cis c WHERE c.id = u.ci)
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[],
				$17::text[], $18::bigint[], $19::bigint[])
				AS u(id, s, k, st, sev, sum, h, src, l, n, f, la, ack, res, ev, tr, sup, inc, ci)`,
			id, svc, key, status, sev, sum, host, src, labels, count, first, last, ack, res, lastEvent, trigger, supp, incident, cis)
		if err != nil {
			return fmt.Errorf("insert alerts: %w", err)
		}
		return nil
	}
	return inChunks(len(ws), alertChunk, func(args []any, i int) []any { return append(args, row(ws[i])...) },
		func(n int, args []any) error {
			if err := bw.exec(alertInsertSQL[n], args...); err != nil {
				return fmt.Errorf("insert alerts: %w", err)
			}
			return nil
		})
}

// updateAlerts writes the new state of existing alerts: on PostgreSQL one
// statement per batch (a VALUES list or arrays), which also inserts raws,
// the batch's raw events, if it is given them; on SQLite UPDATE … FROM
// (VALUES …) in chunks for repeated triggers (unless deferred.go writes
// them), and a statement per row for the rarer status changes.
func (bw *batchWriter) updateAlerts(changed []*alertWrite, raws []rawEvent) error {
	if len(changed) == 0 {
		return nil
	}
	if bw.d == db.Postgres {
		rows, args := pgAlertRows(changed)
		with, what := "WITH "+rows, "update alerts"
		if len(raws) > 0 {
			q, rawArgs := pgRawArrays(raws, len(args)+1)
			with, what, args = "WITH r AS ("+q+"), "+rows, withRaws, append(args, rawArgs...)
		}
		return bw.execAll(what, len(changed), with+` UPDATE alerts SET status = v.status, count = alerts.count + v.n,
			last_seen = GREATEST(v.last_seen, alerts.last_seen),
			severity = COALESCE(v.severity, alerts.severity), summary = COALESCE(v.summary, alerts.summary),
			host = COALESCE(v.host, alerts.host), labels = COALESCE(v.labels, alerts.labels),
			last_event_id = v.last_event_id, trigger_event_id = COALESCE(v.trigger_event_id, alerts.trigger_event_id),
			acknowledged_at = COALESCE(alerts.acknowledged_at, v.ack), resolved_at = COALESCE(v.res, alerts.resolved_at)
			FROM v WHERE alerts.id = v.id AND `+stillAsLoaded+` = v.loaded`, args...)
	}
	// Repeated triggers, the common case, many rows per statement; status
	// changes row by row.
	var touch []*alertWrite
	for _, w := range changed {
		if w.repeat() {
			touch = append(touch, w)
			continue
		}
		var sev, sum, host, labels, trigger any
		if t, ok := w.payload(); ok {
			sev, sum, host, labels, trigger = t.severity, t.summary, t.host, t.labels, t.rawID
		}
		if err := bw.execAll("update alerts", 1, alertUpdate, w.state.status, w.count, w.lastSeen, w.lastSeen, sev, sum, host, labels, w.state.lastEvent, trigger,
			db.IDOrNil(w.acknowledgedAt), db.IDOrNil(w.resolvedAt), w.state.id, w.state.loaded); err != nil {
			return err
		}
	}
	return inChunks(len(touch), touchChunk, func(args []any, i int) []any {
		w := touch[i]
		return append(touchArgs(args, w.state.id, w.count, w.lastSeen, w.it.lastTrigger(), w.state.lastEvent), w.state.loaded)
	}, func(n int, args []any) error { return bw.execAll("update alerts", n, touchSQL[n], args...) })
}

// pgAlertRows is the common table v of a PostgreSQL alert update, one row
// per changed alert (id, status, triggers to add, last seen, payload,
// newest raw event, acknowledged and resolved times, newest trigger, and
// what it was loaded as), with its parameters from $1: a VALUES list for a
// few alerts, arrays through unnest for many (one text whatever their
// number).
func pgAlertRows(changed []*alertWrite) (string, []any) {
	const cols = "v(id, status, n, last_seen, severity, summary, host, labels, last_event_id, ack, res, trigger_event_id, loaded)"
	if len(changed) <= pgSmallBatch {
		const per = 13
		types := [per]string{"BIGINT", "TEXT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT"}
		var b strings.Builder
		b.WriteString(cols + " AS (VALUES ")
		args := make([]any, 0, len(changed)*per+rawInsertPer)
		for j, w := range changed {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for k := range per {
				if k > 0 {
					b.WriteByte(',')
				}
				b.WriteString("CAST($" + strconv.Itoa(len(args)+k+1) + " AS " + types[k] + ")")
			}
			b.WriteByte(')')
			var sev, sum, host, labels, trigger any
			if t, ok := w.payload(); ok {
				sev, sum, host, labels, trigger = t.severity, t.summary, t.host, t.labels, t.rawID
			}
			args = append(args, w.state.id, w.state.status, w.count, w.lastSeen, sev, sum, host, labels, w.state.lastEvent,
				db.IDOrNil(w.acknowledgedAt), db.IDOrNil(w.resolvedAt), trigger, w.state.loaded)
		}
		b.WriteByte(')')
		return b.String(), args
	}
	n := len(changed)
	id, cnt, last, ack, res := make([]int64, n), make([]int64, n), make([]int64, n), make([]*int64, n), make([]*int64, n)
	status, sev, sum, host, labels := make([]string, n), make([]*string, n), make([]*string, n), make([]*string, n),
		make([]*string, n)
	lastEvent, trigger, loaded := make([]int64, n), make([]*int64, n), make([]string, n)
	for i, w := range changed {
		id[i], status[i], cnt[i], last[i], ack[i], res[i] = w.state.id, w.state.status, int64(w.count), w.lastSeen, w.acknowledgedAt, w.resolvedAt
		lastEvent[i], loaded[i] = w.state.lastEvent, w.state.loaded
		if t, ok := w.payload(); ok {
			sev[i], sum[i], host[i], labels[i], trigger[i] = &t.severity, &t.summary, &t.host, &t.labels, &t.rawID
		}
	}
	return `v AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[],
		$8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[]) AS ` + cols + `)`,
		[]any{id, status, cnt, last, sev, sum, host, labels, lastEvent, ack, res, trigger, loaded}
}

// rawEvent is one event as the events table stores it: numbered before it
// is written, and chained to the alert's event before it.
type rawEvent struct {
	id      int64
	prevID  int64 // 0: the alert's first event (or no alert)
	alertID int64
	it      *Routed
}

// ids reserves the ids of a batch's raw events and new alerts, ascending,
// in batch order. On SQLite the single writer numbers them after the
// highest stored (which is what SQLite's own rowids would be); on
// PostgreSQL they come from the columns' sequences, in one round trip, so
// that replicas ingesting at once never collide.
func (bw *batchWriter) ids(events, alerts int) (eventIDs, alertIDs []int64, err error) {
	if bw.d == db.Postgres && events+alerts > 0 {
		return bw.sequenceIDs(events, alerts)
	}
	eventIDs, alertIDs = make([]int64, 0, events), make([]int64, 0, alerts)
	for i := range events {
		eventIDs = append(eventIDs, bw.lastEvent+1+int64(i))
	}
	for i := range alerts {
		alertIDs = append(alertIDs, bw.lastAlert+1+int64(i))
	}
	return eventIDs, alertIDs, nil
}

// nextIDsSQL takes the ids of a commit's raw events and new alerts from
// their sequences, in one round trip. The sequences are looked up once (a
// lookup per row was most of the statement's time), and each kind answers
// its first and last id and how many it took: the ids are that range unless
// another writer took some in between, in which case (only then) it lists
// them too.
const nextIDsSQL = `WITH s AS (SELECT pg_get_serial_sequence('events', 'id')::regclass AS e,
		pg_get_serial_sequence('alerts', 'id')::regclass AS a),
	e AS (SELECT nextval(s.e) AS v FROM s, generate_series(1, $1)),
	a AS (SELECT nextval(s.a) AS v FROM s, generate_series(1, $2))
	SELECT k, first, last, n, CASE WHEN last - first + 1 <> n THEN (SELECT string_agg(v::text, ',') FROM e) END
	FROM (SELECT 0 AS k, min(v) AS first, max(v) AS last, count(*) AS n FROM e) AS x
	UNION ALL
	SELECT k, first, last, n, CASE WHEN last - first + 1 <> n THEN (SELECT string_agg(v::text, ',') FROM a) END
	FROM (SELECT 1 AS k, min(v) AS first, max(v) AS last, count(*) AS n FROM a) AS y`

// sequenceIDs takes, on PostgreSQL, the ids of a commit's raw events and
// new alerts (as many as asked of each), each list in ascending order.
func (bw *batchWriter) sequenceIDs(events, alerts int) (eventIDs, alertIDs []int64, err error) {
	rows, err := bw.query(nextIDsSQL, events, alerts)
	if err != nil {
		return nil, nil, fmt.Errorf("reserve ids: %w", err)
	}
	defer rows.Close()
	var out [2][]int64
	for rows.Next() {
		var k, n int
		var first, last sql.NullInt64
		var list sql.NullString
		if err := rows.Scan(&k, &first, &last, &n, &list); err != nil {
			return nil, nil, err
		}
		if k < 0 || k > 1 || n != [2]int{events, alerts}[k] || (n > 0 && (!first.Valid || !last.Valid)) {
			return nil, nil, fmt.Errorf("reserve ids: the sequences gave %d ids (%v to %v) for %d events and %d alerts",
				n, first.Int64, last.Int64, events, alerts)
		}
		ids := make([]int64, 0, n)
		if list.Valid {
			for _, f := range strings.Split(list.String, ",") {
				id, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					return nil, nil, fmt.Errorf("reserve ids: %w", err)
				}
				ids = append(ids, id)
			}
			slices.Sort(ids)
		} else {
			for id := first.Int64; n > 0 && id <= last.Int64; id++ {
				ids = append(ids, id)
			}
		}
		out[k] = ids
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(out[0]) != events || len(out[1]) != alerts {
		return nil, nil, fmt.Errorf("reserve ids: %d and %d ids for %d events and %d alerts", len(out[0]), len(out[1]), events, alerts)
	}
	return out[0], out[1], nil
}

func (bw *batchWriter) insertRaw(raws []rawEvent) error {
	if len(raws) == 0 {
		return nil
	}
	if bw.d == db.Postgres {
		q, args := pgRawInsert(raws)
		if err := bw.exec(q, args...); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		return nil
	}
	return inChunks(len(raws), rawChunk, func(args []any, i int) []any { return raws[i].row(args) },
		func(n int, args []any) error {
			if err := bw.exec(rawInsertSQL[n], args...); err != nil {
				return fmt.Errorf("insert events: %w", err)
			}
			return nil
		})
}

// row appends the values of a raw event's row (rawInsertCols).
func (r *rawEvent) row(args []any) []any {
	ev := &r.it.Event
	body, _ := r.it.stored()
	return append(args, r.id, ev.ReceivedAt.UnixMilli(), r.it.ServiceID, orNull(r.alertID), string(ev.Source), string(ev.Action),
		ev.DedupKey, body, orNull(r.prevID))
}

// withRaws names, in errors, an update of alerts that also inserts the raw
// events.
const withRaws = "update alerts and insert their raw events"

// pgRawInsert is the PostgreSQL statement that inserts raws: a VALUES list
// for a few rows, arrays through unnest for many.
func pgRawInsert(raws []rawEvent) (string, []any) {
	if len(raws) > pgSmallBatch {
		return pgRawArrays(raws, 1)
	}
	var b strings.Builder
	b.WriteString(rawInsertCols)
	args := make([]any, 0, len(raws)*rawInsertPer)
	for i := range raws {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(" + db.Postgres.Params(len(args)+1, rawInsertPer) + ")")
		args = raws[i].row(args)
	}
	return b.String(), args
}

// pgRawArrays inserts raws as arrays through unnest, with its parameters
// numbered from first: one text whatever their number, so that it can go
// inside another statement without multiplying that statement's texts
// (each is prepared once per connection).
func pgRawArrays(raws []rawEvent, first int) (string, []any) {
	n := len(raws)
	id, at, svc, alert, prev := make([]int64, n), make([]int64, n), make([]int64, n), make([]*int64, n), make([]*int64, n)
	src, action, key, body := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i := range raws {
		r := &raws[i]
		ev := &r.it.Event
		b, _ := r.it.stored()
		id[i], at[i], svc[i], src[i], action[i], key[i], body[i] = r.id, ev.ReceivedAt.UnixMilli(), r.it.ServiceID,
			string(ev.Source), string(ev.Action), ev.DedupKey, b
		if r.alertID != 0 {
			alert[i] = &r.alertID
		}
		if r.prevID != 0 {
			prev[i] = &r.prevID
		}
	}
	types := []string{"bigint", "bigint", "bigint", "bigint", "text", "text", "text", "text", "bigint"}
	arrays := make([]string, len(types))
	for i, t := range types {
		arrays[i] = "$" + strconv.Itoa(first+i) + "::" + t + "[]"
	}
	return strings.TrimSuffix(rawInsertCols, "VALUES ") + "SELECT * FROM unnest(" +
		strings.Join(arrays, ", ") + ")", []any{id, at, svc, alert, src, action, key, body, prev}
}
