package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/obs"
)

// watchIncidents exports the incident metrics: SLA breaches as they happen,
// and open incidents by priority, counted from the database at scrape time
// (so every replica reports the same numbers).
func watchIncidents(m *obs.Metrics, in *incident.Manager) {
	breaches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "steady_sla_breaches_total", Help: "SLA breaches recorded, by clock (acknowledge, resolve) and priority.",
	}, []string{"sla", "priority"})
	in.OnBreach = func(kind, priority string) { breaches.WithLabelValues(kind, priority).Inc() }
	m.Registry.MustRegister(breaches, &openIncidents{m: in,
		desc: prometheus.NewDesc("steady_incidents_open", "Open incidents by priority.", []string{"priority"}, nil)})
}

type openIncidents struct {
	m    *incident.Manager
	desc *prometheus.Desc
}

func (o *openIncidents) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

func (o *openIncidents) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := o.m.OpenCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(o.desc, err)
		return
	}
	for _, p := range []string{"P1", "P2", "P3", "P4", "P5"} {
		ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(counts[p]), p)
	}
}

// watchIngest exports the ingest commit loop's counters (event.Stats).
func watchIngest(m *obs.Metrics, in *event.Ingester) {
	counter := func(name, help string, v func(event.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return v(in.Stats()) })
	}
	m.Registry.MustRegister(
		counter("steady_ingest_transactions_total", "Transactions of the ingest commit loop: groups of requests, flushes of waiting repeats, retries.",
			func(s event.Stats) float64 { return float64(s.Transactions) }),
		counter("steady_ingest_transactions_failed_total", "Transactions of the ingest commit loop that rolled back.",
			func(s event.Stats) float64 { return float64(s.Failed) }),
		counter("steady_ingest_committed_events_total", "Events the ingest commit loop committed; over transactions, how well commits group.",
			func(s event.Stats) float64 { return float64(s.Events) }),
		counter("steady_ingest_busy_seconds_total", "Time the ingest commit loop spent in transactions; its rate near 1 means the loop is saturated.",
			func(s event.Stats) float64 { return s.Busy.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "steady_ingest_deferred_alerts",
			Help: "Alerts whose repeats wait to be written (SQLite, during a burst)."},
			func() float64 { return float64(in.Stats().Waiting) }))
}

// watchCMDB exports the configuration audit's findings by rule, counted at
// scrape time.
func watchCMDB(m *obs.Metrics, st *cmdb.Store) {
	m.Registry.MustRegister(&auditFindings{st: st,
		desc: prometheus.NewDesc("steady_cmdb_audit_findings", "Configuration audit findings of the CMDB, by rule.", []string{"rule"}, nil)},
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steady_cmdb_event_mapping_ambiguous_total",
			Help: "Events left without a CI because their name matched several CIs equally well."},
			func() float64 { return float64(st.AmbiguousMappings()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steady_cmdb_graph_loads_total",
			Help: "Loads of the in-memory CMDB graph."},
			func() float64 { return float64(st.GraphStats().Loads) }))
}

type auditFindings struct {
	st   *cmdb.Store
	desc *prometheus.Desc
}

func (a *auditFindings) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

func (a *auditFindings) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := a.st.AuditCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(a.desc, err)
		return
	}
	for _, rule := range cmdb.AuditRules {
		ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, float64(counts[rule]), rule)
	}
}
