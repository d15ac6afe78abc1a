package web_test

import (
	"net/http"
	"testing"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestCIClassPages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		a, _ := admin(t, s)
		m := signIn(t, s, s.NewUser(iam.RoleManager))
		v := signIn(t, s, s.NewUser(iam.RoleViewer))

		a.get("/cmdb/classes").want(200).has(`href="/cmdb/classes/new"`, "New class")
		form := a.get("/cmdb/classes/new").want(200).has("New CI class", `name="attrs" value="1"`, "Attribute 1",
			`name="attr-key-0"`, `<option value="enum">One of a list (enum)</option>`, `<option value="server">Server</option>`,
			"Add attribute").lacks("Attribute 2")

		// "Add attribute" sends the form back with one more row and what was typed.
		p := form.submit("/cmdb/classes", "op", "add-attr", "key", "rack", "name", "Rack", "attrs", "1",
			"attr-key-0", "room", "attr-name-0", "Room", "attr-type-0", "string", "attr-required-0", "1").want(200)
		p.has(`name="attrs" value="2"`, "Attribute 2", `value="rack"`, `value="room"`, `id="f-attr-key-1"`,
			`<option value="string" selected>`, `name="attr-required-0" type="checkbox" value="1" checked`)
		// A row whose key was cleared goes.
		p.submit("/cmdb/classes", "op", "add-attr", "key", "rack", "name", "Rack", "attrs", "2",
			"attr-key-0", "", "attr-name-0", "Room", "attr-type-0", "string", "attr-key-1", "units", "attr-type-1", "number").
			want(200).has(`name="attrs" value="2"`, `name="attr-key-0" type="text" value="units"`).lacks(`value="Room"`)

		// Mistakes are shown beside their fields; nothing is stored.
		bad := p.submit("/cmdb/classes", "op", "save", "key", "Rack!", "name", "", "attrs", "2",
			"attr-key-0", "room", "attr-type-0", "string", "attr-key-1", "kind", "attr-type-1", "enum", "attr-enum-1", " , ").
			want(http.StatusBadRequest)
		bad.has("Please correct what is marked below.", "Key must be 1 to 63 lower-case letters", "Name is required",
			"Attribute 2: the enum values must list the allowed values", `<li><a href="#f-attr-enum-1">`, `value="kind"`)
		a.get("/cmdb/classes/rack").want(http.StatusNotFound)

		// Create with two attributes, one an enum.
		page := p.submit("/cmdb/classes", "op", "save", "key", "rack", "name", "Rack", "description", "A server rack.", "attrs", "3",
			"attr-key-0", "room", "attr-name-0", "Room", "attr-type-0", "string", "attr-required-0", "1",
			"attr-key-1", "kind", "attr-name-1", "Kind", "attr-type-1", "enum", "attr-enum-1", "open, closed",
			"attr-key-2", "", "attr-type-2", "string").redirects("/cmdb/classes/rack").want(200)
		page.has("Created the CI class Rack.", "<h1>Rack</h1>", "A server rack.", "Room", "required", "enum: open, closed",
			`href="/cmdb/classes/rack/edit"`, "Delete class")
		wantAudit(t, s, "ci_class.create")
		a.get("/cmdb/classes").want(200).has(`href="/cmdb/classes/rack">Rack</a>`, "Room, Kind")
		// A taken key is named.
		p.submit("/cmdb/classes", "op", "save", "key", "rack", "name", "Rack 2", "attrs", "0").
			want(http.StatusConflict).has("Key is taken")

		// Edit: the form starts filled in; add an attribute and save.
		edit := a.get("/cmdb/classes/rack/edit").want(200).has("Edit Rack", `name="version" value="1"`, `name="attrs" value="2"`,
			`value="room"`, `value="open, closed"`, `<option value="enum" selected>`).lacks(`name="key"`)
		edit = edit.submit("/cmdb/classes/rack/edit", "op", "add-attr", "version", "1", "name", "Rack", "attrs", "2",
			"attr-key-0", "room", "attr-type-0", "string", "attr-required-0", "1",
			"attr-key-1", "kind", "attr-type-1", "enum", "attr-enum-1", "open, closed").want(200).has(`name="attrs" value="3"`, "Attribute 3")
		edit.submit("/cmdb/classes/rack/edit", "op", "save", "version", "1", "name", "Rack", "attrs", "3",
			"attr-key-0", "room", "attr-type-0", "string", "attr-required-0", "1",
			"attr-key-1", "kind", "attr-type-1", "enum", "attr-enum-1", "open, closed",
			"attr-key-2", "pdu", "attr-name-2", "PDU", "attr-type-2", "ref", "attr-ref-2", "network_device").
			redirects("/cmdb/classes/rack").want(200).has("Saved the CI class Rack.", "PDU", `to <a href="/cmdb/classes/network_device">`)
		wantAudit(t, s, "ci_class.update")
		// A stale version is refused and explained.
		edit.submit("/cmdb/classes/rack/edit", "op", "save", "version", "1", "name", "Rack", "attrs", "0").
			want(http.StatusPreconditionFailed).has("Someone changed this class", `name="version" value="2"`)
		// Built-in classes have no editor.
		a.get("/cmdb/classes/server").want(200).lacks("Edit class", "Delete class")
		a.get("/cmdb/classes/server/edit").want(http.StatusConflict)

		// Managers and viewers read, with no buttons, and are refused.
		m.get("/cmdb/classes").want(200).lacks(`href="/cmdb/classes/new"`)
		m.get("/cmdb/classes/rack").want(200).lacks("Edit class", "Delete class")
		vp := v.get("/cmdb/classes/rack").want(200).has("<h1>Rack</h1>").lacks("Edit class", "Delete class")
		v.get("/cmdb/classes/new").want(http.StatusForbidden)
		v.get("/cmdb/classes/rack/edit").want(http.StatusForbidden)
		vp.submit("/cmdb/classes", "key", "shelf", "name", "Shelf", "attrs", "0").want(http.StatusForbidden)
		vp.submit("/cmdb/classes/rack/edit", "version", "2", "name", "Mine", "attrs", "0").want(http.StatusForbidden)
		vp.submit("/cmdb/classes/rack/delete").want(http.StatusForbidden)

		// Deleting a class that CIs use is refused with the reason.
		ci := m.get("/cmdb/cis/new?class=rack").want(200).has(`name="attr.room"`).
			submit("/cmdb/cis", "class", "rack", "name", "r-01", "environment", "production", "lifecycle", "in_use",
				"attr.room", "B2", "attr.kind", "open").redirects("/cmdb/cis/").want(200)
		ciID := ci.find(`action="/cmdb/cis/(\d+)/delete"`)
		page = a.get("/cmdb/classes/rack").want(200).has("1 CI has this class")
		page.submit("/cmdb/classes/rack/delete").redirects("/cmdb/classes/rack").want(200).has("CI class rack still has 1 CIs.")

		// Without CIs it goes.
		ci.submit("/cmdb/cis/" + ciID + "/delete").redirects("/cmdb").want(200)
		page.submit("/cmdb/classes/rack/delete").redirects("/cmdb/classes").want(200).
			has("Deleted the CI class Rack.").lacks(`href="/cmdb/classes/rack"`)
		wantAudit(t, s, "ci_class.delete")
		a.get("/cmdb/classes/rack").want(http.StatusNotFound)
	})
}
