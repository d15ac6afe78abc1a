package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
