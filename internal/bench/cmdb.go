package bench

import (
	"fmt"
	"net/http"
)

// The estate --cmdb imports, so that the ingest loads run with
// topology-aware grouping: every web host the events name (web-0 …
// web-499) is a CI behind one of ten switches, with applications on the
// hosts and business services on the applications.
const (
	estateSwitches = 10
	estateHosts    = 500 // the hosts the loads' events name (k % 500)
	estateApps     = 50  // each on estateHosts/estateApps hosts
	estateServices = 5   // each on estateApps/estateServices applications
)

// SeedEstate imports the estate through the CMDB import API and sets the
// mapping rules that name a host CI from an event: the generic events'
// instance label ("web-7:9100") by name, the PagerDuty events' source
// ("web-7.example.net") by external id. It returns the CIs imported.
func (s *Steady) SeedEstate() (int, error) {
	type item struct {
		Class      string              `json:"class"`
		Name       string              `json:"name"`
		ExternalID string              `json:"external_id,omitempty"`
		Relations  map[string][]string `json:"relations,omitempty"`
	}
	var items []item
	for i := range estateSwitches {
		items = append(items, item{Class: "network_device", Name: fmt.Sprintf("switch-%d", i)})
	}
	for i := range estateHosts {
		items = append(items, item{Class: "server", Name: fmt.Sprintf("web-%d", i),
			ExternalID: fmt.Sprintf("web-%d.example.net", i),
			Relations:  map[string][]string{"depends_on": {fmt.Sprintf("switch-%d", i%estateSwitches)}}})
	}
	// names returns the i-th run of per names of the form format.
	names := func(format string, i, per int) []string {
		out := make([]string, 0, per)
		for n := i * per; n < (i+1)*per; n++ {
			out = append(out, fmt.Sprintf(format, n))
		}
		return out
	}
	for a := range estateApps {
		items = append(items, item{Class: "application", Name: fmt.Sprintf("shop-app-%d", a),
			Relations: map[string][]string{"runs_on": names("web-%d", a, estateHosts/estateApps)}})
	}
	for b := range estateServices {
		items = append(items, item{Class: "business_service", Name: fmt.Sprintf("shop-%d", b),
			Relations: map[string][]string{"depends_on": names("shop-app-%d", b, estateApps/estateServices)}})
	}
	if err := s.call("POST", "/api/v1/cis/import?format=json", map[string]any{"items": items}, nil, http.StatusOK); err != nil {
		return 0, fmt.Errorf("import the estate: %w", err)
	}
	rules := map[string]any{"rules": []map[string]any{
		{"label": "instance", "match": "name", "strip_port": true},
		{"label": "host", "match": "external_id"},
		{"label": "host", "match": "name", "strip_port": true},
	}}
	if err := s.call("PUT", "/api/v1/cmdb/mapping-rules", rules, nil, http.StatusOK); err != nil {
		return 0, fmt.Errorf("set the mapping rules: %w", err)
	}
	return len(items), nil
}

// TopologyCounts reads, from a server started here, how many alerts name a
// CI and how many incidents list affected CIs: the proof that a --cmdb run
// really did the topology work. ok is false against a running server.
func (s *Steady) TopologyCounts() (alerts, incidents int64, ok bool, err error) {
	if s.App == nil {
		return 0, 0, false, nil
	}
	err = s.App.DB.R.QueryRow(`SELECT (SELECT COUNT(*) FROM alerts WHERE ci_id IS NOT NULL),
		(SELECT COUNT(DISTINCT incident_id) FROM incident_cis)`).Scan(&alerts, &incidents)
	return alerts, incidents, err == nil, err
}
