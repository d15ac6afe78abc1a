package cmdb_test

import (
	"context"
	"slices"
	"testing"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// TestNameSearchWithDatabaseFilters: a part of a name with a filter only
// the database applies (missing) finds every match, in name order, page
// after page — among the graph's first candidates and past them, where the
// database searches the rest of the names itself.
func TestNameSearchWithDatabaseFilters(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		ctx := context.Background()
		seedCIs(t, s.App.DB, 6000) // every name holds "-": more than the graph's candidates
		// Missing: the first CI by name, and the last three (past the
		// first 5,000 candidates).
		if _, err := s.App.DB.W.ExecContext(ctx, `UPDATE cis SET missing_since = 1 WHERE id IN
			(SELECT id FROM (SELECT id FROM cis ORDER BY name_key DESC, id DESC LIMIT 3) AS a
			 UNION ALL SELECT id FROM (SELECT id FROM cis ORDER BY name_key, id LIMIT 1) AS b)`); err != nil {
			t.Fatal(err)
		}
		var want []string
		rows, err := s.App.DB.R.QueryContext(ctx, "SELECT name FROM cis WHERE missing_since IS NOT NULL ORDER BY name_key, id")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			rows.Scan(&n)
			want = append(want, n)
		}
		rows.Close()
		if len(want) != 4 {
			t.Fatalf("%d missing CIs", len(want))
		}
		st := s.App.CMDB
		for _, limit := range []int{1, 3, 50} {
			var got []string
			p := cmdb.Page{Limit: limit}
			for range 10 {
				l, err := st.List(ctx, cmdb.Filter{Q: "-", Missing: true}, p)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range l.Items {
					got = append(got, c.Name)
				}
				if l.Next == "" {
					break
				}
				if p, err = cmdb.ParsePage(itoa(int64(limit)), l.Next); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("limit %d: %v, want %v", limit, got, want)
			}
		}
		// Without a database filter, the graph's candidates answer.
		l, err := st.List(ctx, cmdb.Filter{Q: "DB-PROD"}, cmdb.Page{Limit: 2})
		if err != nil || len(l.Items) != 2 || l.Next == "" || l.Items[0].Name > l.Items[1].Name {
			t.Fatalf("db-prod: %+v %v", l, err)
		}
	})
}
