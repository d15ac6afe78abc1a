package cmdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/testkit"
)

var (
	manager = iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "m@example.com", Role: iam.RoleManager})
	admin   = iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "a@example.com", Role: iam.RoleAdmin})
	viewer  = iam.WithPrincipal(context.Background(), iam.Principal{UserID: 3, Email: "v@example.com", Role: iam.RoleViewer})
)

func ptr[T any](v T) *T { return &v }

// wantFields fails unless err is a validation error naming exactly fields.
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid {
		t.Fatalf("want a validation error on %v, got %v", fields, err)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field)
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Fatalf("invalid fields %v, want %v (%v)", got, fields, err)
	}
}

func revision(t *testing.T, s *testkit.Server) int64 {
	t.Helper()
	var r int64
	if err := s.App.DB.R.QueryRow("SELECT revision FROM cmdb_revision WHERE id = 1").Scan(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// testClass is an admin-defined class with one attribute of every type.
func testClass(t *testing.T, st *cmdb.Store) cmdb.Class {
	t.Helper()
	c, err := st.CreateClass(admin, cmdb.Class{Key: "gadget", Name: "Gadget", Attributes: []cmdb.AttrDef{
		{Key: "label", Name: "Label", Type: cmdb.TypeString, Required: true},
		{Key: "size", Type: cmdb.TypeNumber},
		{Key: "active", Type: cmdb.TypeBoolean},
		{Key: "tier", Type: cmdb.TypeEnum, Enum: []string{"gold", "silver"}},
		{Key: "bought", Type: cmdb.TypeDate},
		{Key: "addr", Type: cmdb.TypeIP, Unique: true},
		{Key: "home", Type: cmdb.TypeURL},
		{Key: "host", Type: cmdb.TypeRef, RefClass: "server"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCIValidation(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		st := s.App.CMDB
		testClass(t, st)
		srv, err := st.CreateCI(manager, cmdb.CIInput{Class: "server", Name: "db-host-1", Attributes: map[string]any{"ip": "10.0.0.5"}})
		if err != nil {
			t.Fatal(err)
		}
		app, err := st.CreateCI(manager, cmdb.CIInput{Class: "application", Name: "shop"})
		if err != nil {
			t.Fatal(err)
		}

		ok := map[string]any{"label": "x"}
		with := func(k string, v any) map[string]any {
			m := map[string]any{"label": "x"}
			m[k] = v
			return m
		}
		for _, tc := range []struct {
			name string
			in   cmdb.CIInput
			want []string
		}{
			{"no class", cmdb.CIInput{Name: "a"}, []string{"class"}},
			{"unknown class", cmdb.CIInput{Class: "nope", Name: "a"}, []string{"class"}},
			{"no name", cmdb.CIInput{Class: "gadget", Attributes: ok}, []string{"name"}},
			{"long name", cmdb.CIInput{Class: "gadget", Name: strings.Repeat("n", 201), Attributes: ok}, []string{"name"}},
			{"two-line name", cmdb.CIInput{Class: "gadget", Name: "a\nb", Attributes: ok}, []string{"name"}},
			{"environment", cmdb.CIInput{Class: "gadget", Name: "a", Environment: "moon", Attributes: ok}, []string{"environment"}},
			{"lifecycle", cmdb.CIInput{Class: "gadget", Name: "a", Lifecycle: "broken", Attributes: ok}, []string{"lifecycle"}},
			{"born disposed", cmdb.CIInput{Class: "gadget", Name: "a", Lifecycle: "disposed", Attributes: ok}, []string{"lifecycle"}},
			{"external id", cmdb.CIInput{Class: "gadget", Name: "a", ExternalID: ptr(strings.Repeat("e", 201)), Attributes: ok}, []string{"external_id"}},
			{"team", cmdb.CIInput{Class: "gadget", Name: "a", TeamID: ptr(int64(99999)), Attributes: ok}, []string{"team_id"}},
			{"required", cmdb.CIInput{Class: "gadget", Name: "a"}, []string{"attributes.label"}},
			{"required blank", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: map[string]any{"label": "  "}}, []string{"attributes.label"}},
			{"unknown attribute", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("colour", "red")}, []string{"attributes.colour"}},
			{"string type", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: map[string]any{"label": 12.0}}, []string{"attributes.label"}},
			{"string length", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: map[string]any{"label": strings.Repeat("x", cmdb.MaxAttrText+1)}}, []string{"attributes.label"}},
			{"number", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("size", "big")}, []string{"attributes.size"}},
			{"number type", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("size", true)}, []string{"attributes.size"}},
			{"boolean", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("active", "maybe")}, []string{"attributes.active"}},
			{"enum", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("tier", "bronze")}, []string{"attributes.tier"}},
			{"date", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("bought", "2024-02-30")}, []string{"attributes.bought"}},
			{"date format", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("bought", "01/02/2024")}, []string{"attributes.bought"}},
			{"ip", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("addr", "10.0.0.300")}, []string{"attributes.addr"}},
			{"url relative", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("home", "/index.html")}, []string{"attributes.home"}},
			{"url no host", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("home", "http://")}, []string{"attributes.home"}},
			{"ref missing", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("host", "no-such-host")}, []string{"attributes.host"}},
			{"ref id missing", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("host", 999999.0)}, []string{"attributes.host"}},
			{"ref wrong class", cmdb.CIInput{Class: "gadget", Name: "a", Attributes: with("host", app.ID)}, []string{"attributes.host"}},
			{"several", cmdb.CIInput{Class: "gadget", Name: "", Environment: "moon", Attributes: map[string]any{"size": "x"}},
				[]string{"name", "environment", "attributes.size", "attributes.label"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := st.CreateCI(manager, tc.in)
				wantFields(t, err, tc.want...)
				wantFields(t, st.Validate(manager, s.App.DB.R, tc.in), tc.want...)
			})
		}
		var n int
		if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM cis c JOIN ci_classes k ON k.id = c.class_id WHERE k.key = 'gadget'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("refused CIs were stored: %d %v", n, err)
		}

		// Every type, in its text form too, is stored normalized.
		g, err := st.CreateCI(manager, cmdb.CIInput{Class: "gadget", Name: "Gizmo", Attributes: map[string]any{
			"label": "Hello", "size": "12.5", "active": "yes", "tier": "GOLD", "bought": "2024-02-29", "addr": "2001:DB8::1",
			"home": "https://example.com/x", "host": "DB-HOST-1"}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"label": "Hello", "size": 12.5, "active": true, "tier": "gold", "bought": "2024-02-29", "addr": "2001:db8::1",
			"home": "https://example.com/x", "host": float64(srv.ID)}
		got, err := st.GetCI(viewer, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.Attributes) != fmt.Sprint(want) {
			t.Fatalf("attributes %v, want %v", got.Attributes, want)
		}
		if got.Environment != "production" || got.Lifecycle != "in_use" {
			t.Fatalf("defaults: %+v", got)
		}
		// Unique: another gadget may not have the same address (in any spelling).
		_, err = st.CreateCI(manager, cmdb.CIInput{Class: "gadget", Name: "Other", Attributes: map[string]any{"label": "x", "addr": "2001:db8:0::1"}})
		wantFields(t, err, "attributes.addr")
		// ... but the CI itself keeps it when it changes.
		if _, err := st.UpdateCI(manager, g.ID, cmdb.CIPatch{Location: ptr("rack 4")}, 0); err != nil {
			t.Fatal(err)
		}
		// Server serial numbers are unique among servers, case-insensitively.
		if _, err := st.UpdateCI(manager, srv.ID, cmdb.CIPatch{Attributes: map[string]any{"serial": "SN-1"}}, 0); err != nil {
			t.Fatal(err)
		}
		_, err = st.CreateCI(manager, cmdb.CIInput{Class: "server", Name: "db-host-2", Attributes: map[string]any{"serial": "sn-1"}})
		wantFields(t, err, "attributes.serial")

		// Viewers read, they do not write.
		if _, err := st.CreateCI(viewer, cmdb.CIInput{Class: "application", Name: "x"}); !errs.Is(err, errs.KindForbidden) {
			t.Fatalf("viewer create: %v", err)
		}
		// Deleting a referenced CI removes the reference, with history.
		if err := st.DeleteCI(manager, srv.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = st.GetCI(viewer, g.ID)
		if _, has := got.Attributes["host"]; has {
			t.Fatalf("a reference to a deleted CI stayed: %v", got.Attributes)
		}
		h, _ := st.History(viewer, g.ID, page.Request{Limit: 1})
		if len(h.Items) != 1 || h.Items[0].Field != "attributes.host" || h.Items[0].After != nil {
			t.Fatalf("history of the dropped reference: %+v", h.Items)
		}
	})
}

func TestCILifecycleHistoryAndUpsert(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		st := s.App.CMDB
		ctx := manager
		rev := revision(t, s)
		ci, err := st.CreateCI(ctx, cmdb.CIInput{Class: "server", Name: "web-1", Lifecycle: "planned", Attributes: map[string]any{"os": "Debian", "cpus": 4}})
		if err != nil {
			t.Fatal(err)
		}
		if r := revision(t, s); r <= rev {
			t.Fatal("create did not bump the revision")
		}
		// planned → maintenance is not allowed; planned → in_use is.
		_, err = st.SetLifecycle(ctx, ci.ID, "maintenance", 0)
		wantFields(t, err, "lifecycle")
		for _, step := range []string{"in_use", "maintenance", "in_use", "retired", "disposed"} {
			if ci, err = st.SetLifecycle(ctx, ci.ID, step, 0); err != nil || ci.Lifecycle != step {
				t.Fatalf("to %s: %v", step, err)
			}
		}
		_, err = st.SetLifecycle(ctx, ci.ID, "in_use", 0)
		wantFields(t, err, "lifecycle")

		// A stale version is refused.
		if _, err := st.UpdateCI(ctx, ci.ID, cmdb.CIPatch{Location: ptr("x")}, 1); !errs.Is(err, errs.KindPreconditionFailed) {
			t.Fatalf("stale write: %v", err)
		}
		// An attribute change alone does not bump the revision; a rename does.
		rev = revision(t, s)
		if _, err := st.UpdateCI(ctx, ci.ID, cmdb.CIPatch{Attributes: map[string]any{"os": "Ubuntu", "cpus": nil}}, 0); err != nil {
			t.Fatal(err)
		}
		if revision(t, s) != rev {
			t.Fatal("an attribute change bumped the revision")
		}
		if _, err := st.UpdateCI(ctx, ci.ID, cmdb.CIPatch{Name: ptr("web-01")}, 0); err != nil {
			t.Fatal(err)
		}
		if revision(t, s) <= rev {
			t.Fatal("a rename did not bump the revision")
		}
		h, err := st.History(viewer, ci.ID, page.Request{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, e := range h.Items {
			lines = append(lines, fmt.Sprintf("%s:%v>%v:%s", e.Field, e.Before, e.After, e.ActorName))
		}
		got := strings.Join(lines, " ")
		for _, w := range []string{"name:web-1>web-01:m@example.com", "attributes.os:Debian>Ubuntu:m@example.com", "attributes.cpus:4><nil>:m@example.com",
			"lifecycle:retired>disposed:m@example.com", "lifecycle:<nil>>planned:m@example.com", "name:<nil>>web-1:m@example.com"} {
			if !strings.Contains(got, w) {
				t.Errorf("history lacks %s: %s", w, got)
			}
		}
		if !strings.HasPrefix(got, "name:web-1>web-01") {
			t.Errorf("history is not newest first: %s", got)
		}

		// UpsertTx: by external id, idempotent, with a dry run that writes nothing.
		in := cmdb.CIInput{Class: "virtual_machine", Name: "vm-7", Source: "vcenter", ExternalID: ptr("vm-0007"), Attributes: map[string]any{"ip": "10.1.0.7"}}
		var first cmdb.CI
		err = s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			ci, d, err := st.UpsertTx(ctx, tx, in, cmdb.UpsertOptions{DryRun: true})
			if err != nil || d.Action != cmdb.ActionCreate || ci.ID != 0 || len(d.Changes) == 0 {
				t.Fatalf("dry run: %+v %+v %v", ci, d, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.FindCI(ctx, s.App.DB.R, "vcenter:vm-0007"); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("the dry run wrote: %v", err)
		}
		for i, wantAction := range []string{cmdb.ActionCreate, cmdb.ActionUnchanged} {
			err := s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
				ci, d, err := st.UpsertTx(ctx, tx, in, cmdb.UpsertOptions{})
				if err != nil {
					return err
				}
				if d.Action != wantAction {
					t.Fatalf("upsert %d: %s, want %s", i, d.Action, wantAction)
				}
				first = ci
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		in.Attributes = map[string]any{"ip": "10.1.0.8"}
		err = s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			ci, d, err := st.UpsertTx(ctx, tx, in, cmdb.UpsertOptions{})
			if err != nil {
				return err
			}
			if d.Action != cmdb.ActionUpdate || ci.ID != first.ID || len(d.Changes) != 1 || d.Changes[0].Field != "attributes.ip" ||
				d.Changes[0].Before != "10.1.0.7" || d.Changes[0].After != "10.1.0.8" {
				t.Fatalf("update: %+v", d)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// FindCI: by id, source:external_id and name.
		for _, ref := range []string{fmt.Sprint(first.ID), "vcenter:vm-0007", "VM-7"} {
			if c, err := st.FindCI(ctx, s.App.DB.R, ref); err != nil || c.ID != first.ID {
				t.Fatalf("FindCI(%q): %+v %v", ref, c, err)
			}
		}
		if _, err := st.CreateCI(ctx, cmdb.CIInput{Class: "container", Name: "vm-7"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.FindCI(ctx, s.App.DB.R, "vm-7"); !errs.Is(err, errs.KindConflict) {
			t.Fatalf("an ambiguous name: %v", err)
		}
		// A create with a taken external id is a conflict.
		if _, err := st.CreateCI(ctx, in); !errs.Is(err, errs.KindConflict) {
			t.Fatalf("taken external id: %v", err)
		}
	})
}
