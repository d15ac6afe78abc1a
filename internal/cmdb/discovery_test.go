package cmdb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

func (e *ioEnv) discover(source, feed string) cmdb.DiscoveryResult {
	e.t.Helper()
	res, err := e.st.Discover(ioManager, source, strings.NewReader(feed), "json")
	if err != nil {
		e.t.Fatalf("discover: %v", err)
	}
	return res
}

func wantDiscovery(t *testing.T, got cmdb.DiscoveryResult, created, updated, unchanged, missing, returned, errors int) {
	t.Helper()
	if got.Created != created || got.Updated != updated || got.Unchanged != unchanged || got.Missing != missing ||
		got.Returned != returned || len(got.Errors) != errors {
		t.Fatalf("discovery %+v; want created %d, updated %d, unchanged %d, missing %d, returned %d, %d errors",
			got, created, updated, unchanged, missing, returned, errors)
	}
}

func TestDiscovery(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newIOEnv(t, d)
		// A CI of another source, which discovery of "scan" never touches.
		e.mustImport(`[{"class": "server", "name": "by-hand", "external_id": "a", "source": "cmdb"}]`, "json")
		t0 := e.s.Clock.Now()
		res := e.discover("scan", `[{"class": "server", "name": "a", "external_id": "a", "attributes": {"ip": "10.0.0.1"}},
			{"class": "server", "name": "b", "external_id": "b"}, {"class": "server", "name": "c", "external_id": "c"}]`)
		wantDiscovery(t, res, 3, 0, 0, 0, 0, 0)
		if res.Source != "scan" || res.Items != 3 {
			t.Fatalf("result %+v", res)
		}
		a := e.ci("scan:a")
		if a.Source != "scan" || a.LastSeenAt == nil || !a.LastSeenAt.Equal(t0) || a.MissingSince != nil {
			t.Fatalf("a after the first feed: %+v", a)
		}

		// a changes, b stays, c is gone, d is new.
		e.s.Clock.Advance(time.Hour)
		t1 := e.s.Clock.Now()
		res = e.discover("scan", `{"items": [{"class": "server", "name": "a", "external_id": "a", "attributes": {"ip": "10.0.0.2"}},
			{"class": "server", "name": "b", "external_id": "b"}, {"class": "server", "name": "d", "external_id": "d"}]}`)
		wantDiscovery(t, res, 1, 1, 1, 1, 0, 0)
		c := e.ci("scan:c")
		if c.MissingSince == nil || !c.MissingSince.Equal(t1) || !c.LastSeenAt.Equal(t0) {
			t.Fatalf("c after it went missing: %+v", c)
		}
		if a := e.ci("scan:a"); a.Attributes["ip"] != "10.0.0.2" || !a.LastSeenAt.Equal(t1) {
			t.Fatalf("a after the second feed: %+v", a)
		}
		if n := e.n("SELECT COUNT(*) FROM ci_history WHERE ci_id = $1 AND field = 'missing_since'", c.ID); n != 1 {
			t.Fatalf("%d history rows for c going missing", n)
		}

		// Still missing: missing_since keeps its first time.
		e.s.Clock.Advance(time.Hour)
		res = e.discover("scan", `[{"class": "server", "name": "a", "external_id": "a", "attributes": {"ip": "10.0.0.2"}},
			{"class": "server", "name": "b", "external_id": "b"}, {"class": "server", "name": "d", "external_id": "d"}]`)
		wantDiscovery(t, res, 0, 0, 3, 1, 0, 0)
		if c := e.ci("scan:c"); !c.MissingSince.Equal(t1) {
			t.Fatalf("missing_since moved: %+v", c)
		}

		// c is seen again; the others are missing now. Bad items are
		// reported and left out, but a bad item of a known CI still counts
		// as seen.
		e.s.Clock.Advance(time.Hour)
		t3 := e.s.Clock.Now()
		res = e.discover("scan", `[{"class": "server", "name": "c", "external_id": "c"},
			{"class": "server", "name": "d", "external_id": "d", "attributes": {"ip": "not-an-ip"}},
			{"class": "server", "name": "e"}, {"class": "server", "name": "f", "external_id": "f", "source": "other"}]`)
		wantDiscovery(t, res, 0, 0, 1, 2, 1, 3)
		got := []string{}
		for _, ie := range res.Errors {
			got = append(got, ie.String())
		}
		if strings.Join(got, "\n") != "row 2, attributes.ip: must be an IP address\nrow 3, external_id: is required: discovery reconciles by external id\n"+
			"row 4, source: must be scan (the feed's source) or left out" {
			t.Fatalf("errors:\n%s", strings.Join(got, "\n"))
		}
		if c := e.ci("scan:c"); c.MissingSince != nil || !c.LastSeenAt.Equal(t3) {
			t.Fatalf("c seen again: %+v", c)
		}
		if d := e.ci("scan:d"); d.MissingSince != nil || !d.LastSeenAt.Equal(t3) {
			t.Fatalf("d (a bad item, but seen): %+v", d)
		}
		if a := e.ci("scan:a"); a.MissingSince == nil || !a.MissingSince.Equal(t3) {
			t.Fatalf("a gone: %+v", a)
		}
		// Nothing is ever deleted, and other sources are left alone.
		if n := e.n("SELECT COUNT(*) FROM cis WHERE source = 'scan'"); n != 4 {
			t.Fatalf("%d CIs of scan", n)
		}
		if h := e.ci("cmdb:a"); h.MissingSince != nil || h.LastSeenAt != nil {
			t.Fatalf("a CI of another source: %+v", h)
		}
		if n := e.n("SELECT COUNT(*) FROM audit_log WHERE action = 'ci.discovery' AND object_id = 'scan'"); n != 4 {
			t.Fatalf("%d discovery audit entries", n)
		}

		// Refusals.
		for name, tc := range map[string]struct {
			ctx    context.Context
			source string
			kind   errs.Kind
		}{
			"viewer":     {iam.WithPrincipal(context.Background(), iam.Principal{UserID: 9, Role: iam.RoleViewer}), "scan", errs.KindForbidden},
			"bad source": {ioManager, "no:colons", errs.KindInvalid},
		} {
			if _, err := e.st.Discover(tc.ctx, tc.source, strings.NewReader("[]"), "json"); !errs.Is(err, tc.kind) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := e.st.Discover(ioManager, "scan", strings.NewReader("class,name\n"), "csv"); !errs.Is(err, errs.KindInvalid) {
			t.Errorf("csv feed: %v", err)
		}
		// An empty feed marks every CI of the source missing.
		res = e.discover("scan", `[]`)
		wantDiscovery(t, res, 0, 0, 0, 4, 0, 0)
	})
}
