package incident_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/steadyhq/steady/internal/bench"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/service"
	"github.com/steadyhq/steady/internal/testkit"
)

func hitIDs(hits []incident.Hit) []int64 {
	out := []int64{}
	for _, h := range hits {
		out = append(out, h.Incident.ID)
	}
	return out
}

func TestSearchRanksTitleMatchesFirst(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		admin := iam.WithPrincipal(context.Background(), iam.Principal{UserID: f.s.AdminID, Role: iam.RoleAdmin})
		svc := f.service("edge", service.Fields{})
		mk := func(ctx context.Context, n incident.NewIncident, fix string) int64 {
			t.Helper()
			n.ServiceID = &svc
			in, err := f.m.Create(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if fix != "" {
				if _, err := f.m.SetStatus(ctx, in.ID, incident.Resolved, fix, 0); err != nil {
					t.Fatal(err)
				}
			}
			return in.ID
		}
		team, err := f.s.App.IAM.CreateTeam(admin, iam.NewTeam{Name: "SecOps"})
		if err != nil {
			t.Fatal(err)
		}
		titled := mk(responder, incident.NewIncident{Title: "Certificate expired on the proxy"}, "")
		// Newer, but the words are only in its resolution and notes.
		body := mk(responder, incident.NewIncident{Title: "Proxy down"}, "renewed the certificate")
		noted := mk(responder, incident.NewIncident{Title: "Elevated errors"}, "")
		if _, err := f.m.AddNote(responder, noted, "the proxy certificate was self-signed"); err != nil {
			t.Fatal(err)
		}
		// Newest, with both words in the title, but a security incident.
		secret := mk(admin, incident.NewIncident{Title: "Stolen proxy certificate", TeamID: &team.ID, Security: true}, "")
		mk(responder, incident.NewIncident{Title: "Certificate rotation pending"}, "") // no "proxy"

		want := []int64{secret, titled, noted, body}
		hits, err := f.m.Search(admin, "proxy certificate", 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := hitIDs(hits); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("title matches first, then the newest: got %v, want %v", got, want)
		}
		if hits[0].Rank != hits[1].Rank || hits[1].Rank <= hits[2].Rank || hits[2].Rank != hits[3].Rank {
			t.Fatalf("ranks: %v %v %v %v", hits[0].Rank, hits[1].Rank, hits[2].Rank, hits[3].Rank)
		}
		// Who may not read the security incident does not find it, and
		// still gets a full page of the others.
		outsider := f.s.NewUser(iam.RoleManager)
		hits, err = f.m.Search(iam.WithPrincipal(context.Background(), iam.Principal{UserID: outsider.ID, Role: iam.RoleManager}), "proxy certificate", 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := hitIDs(hits); fmt.Sprint(got) != fmt.Sprint(want[1:]) {
			t.Fatalf("an outsider: got %v, want %v", got, want[1:])
		}
	})
}

// TestSearchWindow searches more incidents than the ranked window and the
// recent window hold, seeded as the benchmark seeds them.
func TestSearchWindow(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := setup(t, d)
		ctx := context.Background()
		const n = 25_000
		if err := bench.SeedIncidents(ctx, f.s.App.DB, 20, n, nil); err != nil {
			t.Fatal(err)
		}
		ids := func(query string) []int64 {
			t.Helper()
			rows, err := f.s.App.DB.R.QueryContext(ctx, query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := []int64{}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				out = append(out, id)
			}
			return out
		}
		newest := func(where string) []int64 {
			return ids("SELECT id FROM incidents WHERE " + where + " ORDER BY id DESC LIMIT 20")
		}
		search := func(q string) []int64 {
			t.Helper()
			hits, err := f.m.Search(responder, q, 20)
			if err != nil {
				t.Fatal(err)
			}
			return hitIDs(hits)
		}
		// "certificate" is in one title in 20 and one resolution in 10:
		// thousands of matches, the newest with it in the title first.
		if got, want := search("certificate"), newest("title LIKE 'Certificate%'"); len(want) != 20 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("a common word: got %v, want %v", got, want)
		}
		if got, want := search("disk full"), newest("title LIKE 'Disk full%'"); len(want) != 20 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("two words: got %v, want %v", got, want)
		}
		// Only in resolutions: the newest.
		if got, want := search("restarted"), newest("resolution = 'restarted the service'"); len(want) != 20 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("a word of resolutions: got %v, want %v", got, want)
		}

		// A word in notes on the two oldest incidents only, and on one
		// recent: all three, the newest first.
		old := ids("SELECT id FROM incidents ORDER BY id LIMIT 2")
		recent := ids("SELECT max(id) - 100 FROM incidents")[0]
		for _, id := range append(old, recent) {
			if _, err := f.m.AddNote(responder, id, "the zeppelin service was restarted"); err != nil {
				t.Fatal(err)
			}
		}
		want := []int64{recent, old[1], old[0]}
		if got := search("zeppelin"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("a rare word on old incidents: got %v, want %v", got, want)
		}
		// With a common word, whose thousands of matches are newer.
		if got := search("restarted zeppelin"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("a rare and a common word: got %v, want %v", got, want)
		}
		if got := search("quetzalcoatl"); len(got) != 0 {
			t.Fatalf("no match: %v", got)
		}
	})
}
