package incident

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// serviceConf is what grouping needs to know of a service.
type serviceConf struct {
	name        string
	criticality string
	teamID      sql.NullInt64
	groupBy     []string
	window      int64 // milliseconds; 0 joins any open incident of the group
	autoResolve bool
}

// OnAlerts is the ingest hook: it runs in the ingest transaction, so an
// event, its alert and its incident commit together (the batch's new alerts
// are inserted after it, with the incident it chose: batchJoins). New alerts
// join the open incident of their service and group (the values of the
// service's group_by labels) if it saw an alert within the group window, or
// open a new one; an incident whose alerts have all resolved
// resolves itself when its service says so; an acknowledge event acknowledges
// the incident. One timeline entry is written per incident and batch, so an
// alert storm gives one incident with one growing count, not a flood.
func (m *Manager) OnAlerts(ctx context.Context, tx *sql.Tx, changes []event.AlertChange) error {
	ctx = reqctx.WithActor(ctx, reqctx.Actor{Type: "system", ID: "ingest", Name: "event ingest"})
	services, err := loadServices(ctx, m.DB.Dialect, tx, changes)
	if err != nil {
		return err
	}
	now := m.Clock.Now().UnixMilli()
	// Alerts naming CIs first look for an open incident sharing a failing
	// upstream CI with them (nil: none name a CI, nothing to do).
	topo, err := m.planTopology(ctx, tx, changes, services, now)
	if err != nil {
		return err
	}

	// 1. New alerts, grouped.
	type group struct {
		serviceID int64
		key       string
		alerts    []int64
		first     *event.Event
		severity  string
		priority  string // set by an event rule
	}
	groups := map[string]*group{}
	var order []string
	joins := newJoins(changes)
	incidentOf := joins.incidentOf
	for _, c := range changes {
		// New alerts, and alerts whose suppression just ended, join or open
		// an incident; suppressed ones (silence, maintenance, inhibition,
		// a rule) page nobody and open none.
		if (c.Change != "created" && c.Change != "unsuppressed") || c.Event == nil || c.Suppressed {
			continue
		}
		conf, ok := services[c.ServiceID]
		if !ok || topo.joins(c.AlertID) {
			continue
		}
		key := groupKey(conf.groupBy, c.Event)
		gk := fmt.Sprintf("%d\x00%s", c.ServiceID, key)
		g := groups[gk]
		if g == nil {
			g = &group{serviceID: c.ServiceID, key: key, first: c.Event, severity: string(c.Event.Severity)}
			groups[gk] = g
			order = append(order, gk)
		}
		g.alerts = append(g.alerts, c.AlertID)
		if g.priority == "" && ValidPriority(c.Priority) {
			g.priority = c.Priority
		}
		if severityRank(string(c.Event.Severity)) > severityRank(g.severity) {
			g.severity = string(c.Event.Severity)
		}
	}
	if err := lockGroups(ctx, m.DB.Dialect, tx, order); err != nil {
		return err
	}
	for _, gk := range order {
		g := groups[gk]
		conf := services[g.serviceID]
		id, err := m.joinOrOpen(ctx, tx, g.serviceID, g.key, conf, g.first, g.severity, g.priority, len(g.alerts), now)
		if err != nil {
			return err
		}
		if err := joins.set(ctx, m.DB.Dialect, tx, id, g.alerts); err != nil {
			return err
		}
	}
	if err := m.applyTopology(ctx, tx, topo, joins, now); err != nil {
		return err
	}

	// 2. Resolved and acknowledged alerts move their incidents.
	var ids []int64
	for _, c := range changes {
		if (c.Change == "resolved" || c.Change == "acknowledged") && incidentOf[c.AlertID] == 0 {
			ids = append(ids, c.AlertID)
		}
	}
	if len(ids) > 0 {
		known, err := incidentsOfAlerts(ctx, m.DB.Dialect, tx, ids)
		if err != nil {
			return err
		}
		for a, i := range known {
			incidentOf[a] = i
		}
	}
	resolvedIn := map[int64]int{}
	acked := map[int64]bool{}
	var touched []int64
	for _, c := range changes {
		i := incidentOf[c.AlertID]
		if i == 0 {
			continue
		}
		switch c.Change {
		case "resolved":
			if resolvedIn[i] == 0 && !acked[i] {
				touched = append(touched, i)
			}
			resolvedIn[i]++
		case "acknowledged":
			if resolvedIn[i] == 0 && !acked[i] {
				touched = append(touched, i)
			}
			acked[i] = true
		}
	}
	sort.Slice(touched, func(a, b int) bool { return touched[a] < touched[b] })
	for _, i := range touched {
		if err := m.alertsMoved(ctx, tx, i, resolvedIn[i], acked[i], services, now); err != nil {
			return err
		}
	}
	// Last, once every incident is locked: the topology's revision.
	return m.finishTopology(ctx, tx, topo)
}

// lockGroups takes, on PostgreSQL, a lock on each group for the rest of the
// transaction, in one order, before the groups' open incidents are looked
// up: otherwise two servers sharing the database, each committing new
// alerts of one group, would each find no open incident and open one each.
// Groups share groupLockBuckets locks, so that a storm of many groups takes
// few of PostgreSQL's lock slots: two groups of one bucket only wait for
// each other. It covers label groups; topology grouping (topology.go)
// works from its in-memory copy and may still split related alerts
// between two servers. SQLite has one writer.
func lockGroups(ctx context.Context, d db.Dialect, tx *sql.Tx, groups []string) error {
	if d != db.Postgres || len(groups) == 0 {
		return nil
	}
	buckets := make([]int32, 0, len(groups))
	for _, g := range groups {
		h := fnv.New32a()
		h.Write([]byte(g))
		buckets = append(buckets, int32(h.Sum32()%groupLockBuckets))
	}
	slices.Sort(buckets)
	buckets = slices.Compact(buckets)
	_, err := tx.ExecContext(ctx, "SELECT count(pg_advisory_xact_lock($1, k)) FROM unnest($2::int[]) AS k", groupLockSpace, buckets)
	return err
}

// The advisory locks of incident groups (lockGroups): the first key names
// them among Steady's advisory locks (two-key locks never meet the one-key
// lock of migrations), the second is the bucket.
const (
	groupLockSpace   = 2
	groupLockBuckets = 256
)

// groupKey is the part of the group that the alert's labels decide.
func groupKey(by []string, ev *event.Event) string {
	if len(by) == 0 {
		return ""
	}
	// Labels are joined with a comma; a key that could be ambiguous (a value
	// with a comma or an equals sign) or is long is hashed instead. The key
	// is stored as text, so it must hold no NUL (PostgreSQL refuses it).
	var b strings.Builder
	plain := true
	for i, l := range by {
		v := groupValue(ev, l)
		plain = plain && !strings.ContainsAny(v, ",=\x00")
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l + "=" + v)
	}
	if plain && b.Len() <= 200 {
		return b.String()
	}
	s := sha256.Sum256([]byte(b.String()))
	return "sha256:" + hex.EncodeToString(s[:])
}

func loadServices(ctx context.Context, d db.Dialect, tx *sql.Tx, changes []event.AlertChange) (map[int64]serviceConf, error) {
	seen := map[int64]bool{}
	var args []any
	for _, c := range changes {
		// A repeat (or an ignored acknowledge) changes no incident: a
		// commit of nothing else reads no service.
		if c.Change == "updated" || c.Change == "ignored" {
			continue
		}
		if !seen[c.ServiceID] {
			seen[c.ServiceID] = true
			args = append(args, c.ServiceID)
		}
	}
	out := map[int64]serviceConf{}
	if len(args) == 0 {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, name, criticality, team_id, group_by, group_window_s, auto_resolve
		FROM services WHERE id IN (`+d.Params(1, len(args))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c serviceConf
		var groupBy string
		var window int64
		if err := rows.Scan(&id, &c.name, &c.criticality, &c.teamID, &groupBy, &window, &c.autoResolve); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(groupBy), &c.groupBy)
		c.window = window * 1000
		out[id] = c
	}
	return out, rows.Err()
}

// joinOrOpen adds n new alerts to the open incident of a group, or opens one.
func (m *Manager) joinOrOpen(ctx context.Context, tx *sql.Tx, serviceID int64, key string, conf serviceConf,
	first *event.Event, severity, rulePriority string, n int, now int64) (int64, error) {
	var id, lastAlert int64
	var curSeverity string
	var impact, urgency int
	err := tx.QueryRowContext(ctx, `SELECT id, last_alert_at, severity, impact, urgency FROM incidents
		WHERE service_id = $1 AND group_key = $2 AND status IN `+openStatuses+` ORDER BY id DESC LIMIT 1`,
		serviceID, key).Scan(&id, &lastAlert, &curSeverity, &impact, &urgency)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, err
	case conf.window == 0 || now-lastAlert <= conf.window:
		return id, m.addAlerts(ctx, tx, id, curSeverity, impact, urgency, severity, n, now,
			fmt.Sprintf("%d new alert(s) joined", n), map[string]any{"alerts": n})
	}
	impact = impactOf(conf.criticality)
	urgency = urgencyOf(severity)
	pri := m.Matrix.Priority(impact, urgency)
	if rulePriority != "" {
		pri = rulePriority // an event rule decided
	}
	title := first.Summary
	if title == "" {
		title = "Alert on " + conf.name
	}
	var team any
	if conf.teamID.Valid {
		team = conf.teamID.Int64
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO incidents (title, service_id, team_id, status, impact, urgency, priority,
		severity, group_key, alert_count, open_alert_count, created_at, last_alert_at, updated_at)
		VALUES ($1, $2, $3, 'triggered', $4, $5, $6, $7, $8, $9, $9, $10, $10, $10) RETURNING id`,
		title, serviceID, team, impact, urgency, pri, severity, key, n, now).Scan(&id)
	if err != nil {
		return 0, err
	}
	if err := m.reindex(ctx, tx, id); err != nil {
		return 0, err
	}
	if err := m.startSLAs(ctx, tx, id, pri, time.UnixMilli(now)); err != nil {
		return 0, err
	}
	body := fmt.Sprintf("opened by an alert on %s: %s", conf.name, title)
	if n > 1 {
		body += fmt.Sprintf(" (%d alerts grouped)", n)
	}
	if err := m.note(ctx, tx, id, "opened", body, map[string]any{"alerts": n, "priority": pri, "group_key": key}); err != nil {
		return 0, err
	}
	return id, m.changed(ctx, tx, Change{IncidentID: id, ServiceID: &serviceID, Kind: ChangeOpened, TeamID: db.IDPtr(conf.teamID)})
}

// addAlerts counts n new alerts (of severity, the highest among them) into
// open incident id, whose severity, impact and urgency are given: a higher
// severity raises its urgency and priority. body and data are the timeline
// entry.
func (m *Manager) addAlerts(ctx context.Context, tx *sql.Tx, id int64, curSeverity string, impact, urgency int,
	severity string, n int, now int64, body string, data map[string]any) error {
	sev, pri := curSeverity, ""
	if severityRank(severity) > severityRank(curSeverity) {
		sev = severity
		if u := urgencyOf(severity); u < urgency {
			urgency = u
			pri = m.Matrix.Priority(impact, urgency)
		}
	}
	q := `UPDATE incidents SET alert_count = alert_count + $1, open_alert_count = open_alert_count + $1,
		last_alert_at = $2, updated_at = $2, severity = $3, urgency = $4, version = version + 1`
	args := []any{n, now, sev, urgency}
	if pri != "" {
		q += ", priority = $6"
		args = append(args, id, pri)
	} else {
		args = append(args, id)
	}
	if _, err := tx.ExecContext(ctx, q+" WHERE id = $5", args...); err != nil {
		return err
	}
	if pri != "" {
		if err := m.retarget(ctx, tx, id, pri); err != nil {
			return err
		}
	}
	if pri != "" {
		body += "; priority raised to " + pri
		data["priority"] = pri
	}
	return m.note(ctx, tx, id, "alerts_grouped", body, data)
}

// groupValue is an event's label, or else the event field of that name
// (host, component, group, class, severity), as rule matchers see them: a
// PagerDuty event has no labels, but may be grouped by its component.
func groupValue(ev *event.Event, name string) string {
	if v, ok := ev.Labels[name]; ok {
		return v
	}
	switch name {
	case "host":
		return ev.Host
	case "component":
		return ev.Component
	case "group":
		return ev.Group
	case "class":
		return ev.Class
	case "severity":
		return string(ev.Severity)
	}
	return ""
}

// batchJoins records which incident each alert of a batch joins. An alert
// the batch creates is not stored yet when the hook runs: its change carries
// the incident, and the ingester inserts it with it, so that a new alert is
// one row version and not an insert followed by an update that adds an entry
// to every index of alerts (alerts_incident makes it a non-HOT update on
// PostgreSQL). Older alerts (one whose suppression ended) are updated.
type batchJoins struct {
	changes    []event.AlertChange
	created    map[int64]int   // alert created by the batch → index of its change
	incidentOf map[int64]int64 // alert → incident, for alerts of this batch
}

func newJoins(changes []event.AlertChange) *batchJoins {
	j := &batchJoins{changes: changes, created: map[int64]int{}, incidentOf: map[int64]int64{}}
	for i, c := range changes {
		if c.Change == "created" {
			j.created[c.AlertID] = i
		}
	}
	return j
}

// set joins alerts to incident id.
func (j *batchJoins) set(ctx context.Context, d db.Dialect, tx *sql.Tx, id int64, alerts []int64) error {
	old := make([]int64, 0, len(alerts))
	for _, a := range alerts {
		j.incidentOf[a] = id
		if i, ok := j.created[a]; ok {
			j.changes[i].IncidentID = id
		} else {
			old = append(old, a)
		}
	}
	return setIncident(ctx, d, tx, id, old)
}

func setIncident(ctx context.Context, d db.Dialect, tx *sql.Tx, incidentID int64, alerts []int64) error {
	const chunk = 500
	for i := 0; i < len(alerts); i += chunk {
		part := alerts[i:min(i+chunk, len(alerts))]
		args := make([]any, 0, len(part)+1)
		args = append(args, incidentID)
		for _, a := range part {
			args = append(args, a)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE alerts SET incident_id = "+d.Params(1, 1)+" WHERE id IN ("+d.Params(2, len(part))+")", args...); err != nil {
			return err
		}
	}
	return nil
}

func incidentsOfAlerts(ctx context.Context, d db.Dialect, tx *sql.Tx, alerts []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	const chunk = 500
	for i := 0; i < len(alerts); i += chunk {
		part := alerts[i:min(i+chunk, len(alerts))]
		args := make([]any, len(part))
		for j, a := range part {
			args[j] = a
		}
		rows, err := tx.QueryContext(ctx, "SELECT id, incident_id FROM alerts WHERE incident_id IS NOT NULL AND id IN ("+d.Params(1, len(part))+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var a, inc int64
			if err := rows.Scan(&a, &inc); err != nil {
				rows.Close()
				return nil, err
			}
			out[a] = inc
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// alertsMoved applies resolved and acknowledged alerts to their incident.
func (m *Manager) alertsMoved(ctx context.Context, tx *sql.Tx, id int64, resolved int, acked bool, services map[int64]serviceConf, now int64) error {
	in, err := get(ctx, tx, id)
	if err != nil {
		return err
	}
	if resolved > 0 {
		openLeft := max(0, in.OpenAlertCount-resolved)
		if _, err := tx.ExecContext(ctx, "UPDATE incidents SET open_alert_count = $1, updated_at = $2, version = version + 1 WHERE id = $3",
			openLeft, now, id); err != nil {
			return err
		}
		auto := false
		if in.ServiceID != nil {
			if conf, ok := services[*in.ServiceID]; ok {
				auto = conf.autoResolve
			} else {
				var a bool
				if err := tx.QueryRowContext(ctx, "SELECT auto_resolve FROM services WHERE id = $1", *in.ServiceID).Scan(&a); err == nil {
					auto = a
				}
			}
		}
		if openLeft == 0 && auto && in.Status.Open() {
			if _, err := tx.ExecContext(ctx, `UPDATE incidents SET status = 'resolved', resolved_at = $1, updated_at = $1,
				version = version + 1 WHERE id = $2`, now, id); err != nil {
				return err
			}
			if err := m.slaMoved(ctx, tx, id, in.Status, Resolved, time.UnixMilli(now)); err != nil {
				return err
			}
			if err := m.note(ctx, tx, id, "resolved", "resolved automatically: all its alerts have resolved", map[string]any{"from": in.Status}); err != nil {
				return err
			}
			return m.changed(ctx, tx, Change{IncidentID: id, ServiceID: in.ServiceID, Kind: ChangeResolved})
		}
		if err := m.note(ctx, tx, id, "alerts_resolved", fmt.Sprintf("%d alert(s) resolved; %d still open", resolved, openLeft),
			map[string]any{"resolved": resolved, "open": openLeft}); err != nil {
			return err
		}
	}
	if acked && in.Status == Triggered {
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET status = 'acknowledged', acknowledged_at = $1, updated_at = $1,
			version = version + 1 WHERE id = $2 AND status = 'triggered'`, now, id); err != nil {
			return err
		}
		if err := m.slaMoved(ctx, tx, id, Triggered, Acknowledged, time.UnixMilli(now)); err != nil {
			return err
		}
		if err := m.note(ctx, tx, id, "acknowledged", "acknowledged by an acknowledge event from the source", nil); err != nil {
			return err
		}
		return m.changed(ctx, tx, Change{IncidentID: id, ServiceID: in.ServiceID, Kind: ChangeAcknowledged})
	}
	return nil
}
