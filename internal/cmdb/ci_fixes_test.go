package cmdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/testkit"
)

// historyLines reads a CI's history as "field before>after", newest first.
func historyLines(t *testing.T, st *cmdb.Store, id int64) []string {
	t.Helper()
	h, err := st.History(viewer, id, page.Request{Limit: 100})
	if err != nil {
		t.Fatalf("history of %d: %v", id, err)
	}
	var out []string
	for _, e := range h.Items {
		out = append(out, fmt.Sprintf("%s %v>%v", e.Field, e.Before != nil, e.After != nil))
	}
	return out
}

// Deleting a CI removes its relationships one by one (the CIs that remain
// record it) and keeps its own history, which ends with "deleted".
func TestDeleteCIKeepsHistory(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		st := s.App.CMDB
		host, err := st.CreateCI(manager, cmdb.CIInput{Class: "server", Name: "host-1"})
		if err != nil {
			t.Fatal(err)
		}
		app, err := st.CreateCI(manager, cmdb.CIInput{Class: "application", Name: "shop", Location: "dc-1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateRelation(manager, cmdb.Relation{SourceID: app.ID, Type: cmdb.RelRunsOn, TargetID: host.ID}); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteCI(manager, app.ID); err != nil {
			t.Fatal(err)
		}

		// The host records that the relation went.
		hl := historyLines(t, st, host.ID)
		if want := fmt.Sprintf("relation:-%d:runs_on true>false", app.ID); len(hl) == 0 || hl[0] != want {
			t.Fatalf("host history %v; want %s first", hl, want)
		}
		// The deleted CI's history stays, newest first: deleted, the relation, its creation.
		h, err := st.History(viewer, app.ID, page.Request{Limit: 100})
		if err != nil {
			t.Fatalf("history of the deleted CI: %v", err)
		}
		if len(h.Items) < 3 || h.Items[0].Field != "deleted" || h.Items[0].After != nil ||
			h.Items[1].Field != fmt.Sprintf("relation:-runs_on:%d", host.ID) || h.Items[0].ActorName != "m@example.com" {
			t.Fatalf("history of the deleted CI: %+v", h.Items)
		}
		was, _ := h.Items[0].Before.(map[string]any)
		if was["name"] != "shop" || was["class"] != "application" || was["location"] != "dc-1" {
			t.Fatalf("the deleted row's before: %v", h.Items[0].Before)
		}
		if _, err := st.History(viewer, app.ID+1000, page.Request{Limit: 10}); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("history of an id that never was: %v", err)
		}

		// The next CI does not take the deleted CI's id (and history).
		next, err := st.CreateCI(manager, cmdb.CIInput{Class: "application", Name: "shop-2"})
		if err != nil {
			t.Fatal(err)
		}
		if next.ID == app.ID {
			t.Fatalf("a new CI took the id %d of a deleted one", app.ID)
		}
		if nl := historyLines(t, st, next.ID); len(nl) != 4 || strings.Contains(strings.Join(nl, ","), "deleted") {
			t.Fatalf("history of the new CI: %v", nl)
		}
	})
}

// Deleting a CI sets alerts.ci_id to NULL by an index, not a scan.
func TestAlertsCIIndex(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'alerts_ci' AND tbl_name = 'alerts'"
		if d == db.Postgres {
			q = "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'alerts_ci' AND tablename = 'alerts' AND indexdef LIKE '%(ci_id)%WHERE%'"
		}
		var n int
		if err := s.App.DB.R.QueryRow(q).Scan(&n); err != nil || n != 1 {
			t.Fatalf("index alerts_ci: %d (%v)", n, err)
		}
	})
}

// Two transactions that write the same unique value at once: the check of
// each sees nothing (the other has not committed), the unique index refuses
// the second, with the check's error.
func TestUniqueAttributeUnderConcurrency(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		st := s.App.CMDB
		ctx := context.Background()
		tx1, err := s.App.DB.W.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx1.Rollback()
		if _, _, err := st.UpsertTx(manager, tx1, cmdb.CIInput{Class: "server", Name: "a", Attributes: map[string]any{"serial": "SN-9"}},
			cmdb.UpsertOptions{}); err != nil {
			t.Fatal(err)
		}
		second := make(chan error, 1)
		go func() {
			second <- s.App.DB.Tx(manager, func(tx *sql.Tx) error {
				_, _, err := st.UpsertTx(manager, tx, cmdb.CIInput{Class: "server", Name: "b", Attributes: map[string]any{"serial": "sn-9"}},
					cmdb.UpsertOptions{})
				return err
			})
		}()
		if d == db.Postgres {
			// Wait until the second transaction waits on the first's index entry.
			deadline := time.Now().Add(10 * time.Second)
			for {
				var waiting int
				if err := s.App.DB.R.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
					AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
					t.Fatal(err)
				}
				if waiting > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the second transaction never waited for the first")
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		if err := tx1.Commit(); err != nil {
			t.Fatal(err)
		}
		wantFields(t, <-second, "attributes.serial")
		var n int
		if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM ci_attribute_values WHERE key = 'serial'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d serial values (%v)", n, err)
		}

		// A class may not make an attribute unique while CIs share its values.
		cls, err := st.CreateClass(admin, cmdb.Class{Key: "rack", Name: "Rack", Attributes: []cmdb.AttrDef{{Key: "tag", Type: cmdb.TypeString}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"r1", "r2"} {
			if _, err := st.CreateCI(manager, cmdb.CIInput{Class: "rack", Name: name, Attributes: map[string]any{"tag": "T"}}); err != nil {
				t.Fatal(err)
			}
		}
		_, err = st.UpdateClass(admin, "rack", cmdb.Class{Name: "Rack", Attributes: []cmdb.AttrDef{{Key: "tag", Type: cmdb.TypeString, Unique: true}}}, cls.Version)
		wantFields(t, err, "attributes[0].unique")
	})
}
