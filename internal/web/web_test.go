package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

type auditList struct {
	Items []struct {
		Action     string `json:"action"`
		ActorName  string `json:"actor_name"`
		ObjectID   string `json:"object_id"`
		Summary    string `json:"summary"`
		Source     string `json:"source"`
		ObjectType string `json:"object_type"`
	} `json:"items"`
}

// auditOf returns the audit entries of an action, newest first, via the API.
func auditOf(s *testkit.Server, action string) auditList {
	var l auditList
	s.Do("GET", "/api/v1/audit?action="+url.QueryEscape(action), s.AdminToken, nil).Want(200).JSON(&l)
	return l
}

func TestLoginPage(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		b := newBrowser(t, s)
		p := b.get("/login").want(200).has("Sign in to Steady", `<label for="f-email">Email</label>`,
			`<label for="f-password">Password</label>`, `<a class="skip-link" href="#main">`, `<main id="main"`)
		p.lacks(`aria-label="Main"`) // no navigation before signing in
		if c := p.cookie("steady_login"); c == nil || c.Value != p.csrf() || !c.HttpOnly {
			t.Fatalf("the sign-in form's CSRF cookie is %+v, want an HttpOnly cookie holding %q", c, p.csrf())
		}
		for h, want := range map[string]string{"Content-Type": "text/html; charset=utf-8", "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff"} {
			if got := p.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}

		// Protected pages send strangers to sign in, and remember where they were going.
		lp := b.get("/teams?q=ops").redirects("/login?next=%2Fteams%3Fq%3Dops").want(200)
		lp.has(`name="next" value="/teams?q=ops"`)
		lp.submit("/login", "email", testkit.AdminEmail, "password", s.AdminPassword, "next", "/teams?q=ops").
			redirects("/teams?q=ops").want(200).has("<h1>Teams</h1>")

		// A signed-in visit to the sign-in page goes straight on.
		b.get("/login?next=/users").redirects("/users").want(200)
	})
}

func TestLogin(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		b := newBrowser(t, s)
		lp := b.get("/login").want(200)

		// A wrong password is refused, says so, keeps the email, and is audited.
		p := lp.submit("/login", "email", testkit.AdminEmail, "password", "not-the-password").want(http.StatusUnauthorized)
		p.has("Wrong email or password.", `value="`+testkit.AdminEmail+`"`).lacks("not-the-password")
		if p.cookie("steady_session") != nil {
			t.Fatal("a failed sign-in set a session cookie")
		}
		fails := auditOf(s, "session.login_failed")
		if len(fails.Items) != 1 || fails.Items[0].ObjectID != testkit.AdminEmail || fails.Items[0].Source != "web" {
			t.Fatalf("failed sign-in audit entries: %+v", fails.Items)
		}

		// The sign-in form without its CSRF token, or with another one, is refused.
		b.post("/login", url.Values{"email": {testkit.AdminEmail}, "password": {s.AdminPassword}}).
			want(http.StatusForbidden).has("out of date")
		b.post("/login", url.Values{"email": {testkit.AdminEmail}, "password": {s.AdminPassword}, "csrf": {"forged"}}).
			want(http.StatusForbidden)

		// The right password signs in with a session cookie that scripts cannot read.
		ok := lp.submit("/login", "email", "  ADMIN@example.com ", "password", s.AdminPassword, "next", "/")
		c := ok.cookie("steady_session")
		if c == nil || c.Value == "" {
			t.Fatalf("no session cookie after signing in; cookies %v", ok.Cookies)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
			t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/ and (without TLS) not Secure", c)
		}
		if !c.Expires.IsZero() || c.MaxAge != 0 {
			t.Fatalf("session cookie %+v: the server ends sessions, the cookie must not carry its own expiry", c)
		}
		home := ok.redirects("/").want(200).has("Welcome, Administrator", `href="/audit"`, "Sign out",
			`<span class="stat-number">1</span> <span class="stat-label">user</span>`,
			`<span class="stat-number">0</span> <span class="stat-label">teams</span>`,
			`<span class="stat-number">1</span> <span class="stat-label">working API token</span>`,
			"You are not in any team yet.", "Recent activity", "created user "+testkit.AdminEmail)
		if cc := home.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("a signed-in page has Cache-Control %q, want no-store", cc)
		}
		logins := auditOf(s, "session.login")
		if len(logins.Items) != 1 || logins.Items[0].Source != "web" || logins.Items[0].ActorName != testkit.AdminEmail {
			t.Fatalf("sign-in audit entries: %+v", logins.Items)
		}

		// The page to go to after signing in must be on this site.
		for next, want := range map[string]string{
			"//evil.example/x": "/", "https://evil.example/": "/", `/\evil.example`: "/", "/login": "/",
			"javascript:alert(1)": "/", "/users?role=admin": "/users?role=admin",
		} {
			b := newBrowser(t, s)
			got := b.login(testkit.AdminEmail, s.AdminPassword) // lands on "/" by default
			got.redirects("/")
			lp := b.get("/login?next=" + url.QueryEscape(next))
			if loc := lp.Header.Get("Location"); loc != want {
				t.Errorf("signed in, /login?next=%s sends to %q, want %q", next, loc, want)
			}
		}
	})
}

// Behind an https:// public URL every cookie is Secure.
func TestSecureCookies(t *testing.T) {
	s := testkit.Start(t, db.SQLite, testkit.Options{Modify: func(o *app.Options) { o.PublicURL = "https://steady.example" }})
	b := newBrowser(t, s)
	lp := b.get("/login").want(200)
	if c := lp.cookie("steady_login"); c == nil || !c.Secure {
		t.Fatalf("sign-in CSRF cookie %+v, want Secure", c)
	}
	// The jar keeps Secure cookies away from http://, so send the token by hand.
	req, _ := http.NewRequest("POST", s.URL+"/login", strings.NewReader(url.Values{"csrf": {lp.csrf()},
		"email": {testkit.AdminEmail}, "password": {s.AdminPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "steady_login", Value: lp.csrf()})
	p := b.do(req)
	if c := p.cookie("steady_session"); p.Status != http.StatusSeeOther || c == nil || !c.Secure || !c.HttpOnly {
		t.Fatalf("status %d, session cookie %+v: want a Secure, HttpOnly cookie", p.Status, c)
	}
}

func TestCSRF(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		b, home := admin(t, s)
		csrf := home.csrf()

		// Without the token, with another one, or with the sign-in form's: refused, and nothing is created.
		b.post("/teams", url.Values{"name": {"No token"}}).want(http.StatusForbidden).
			has("Forbidden", "did not come from this Steady page")
		b.post("/teams", url.Values{"name": {"Wrong token"}, "csrf": {csrf + "x"}}).want(http.StatusForbidden)
		b.post("/teams", url.Values{"name": {"Login token"}, "csrf": {newBrowser(t, s).get("/login").csrf()}}).want(http.StatusForbidden)
		b.post("/logout", url.Values{}).want(http.StatusForbidden)
		var teams struct {
			Items []any `json:"items"`
		}
		s.Do("GET", "/api/v1/teams", s.AdminToken, nil).Want(200).JSON(&teams)
		if len(teams.Items) != 0 {
			t.Fatalf("a refused form created teams: %v", teams.Items)
		}
		if l := auditOf(s, "team.create"); len(l.Items) != 0 {
			t.Fatalf("a refused form was audited as done: %+v", l.Items)
		}
		b.get("/teams").want(200).lacks("No token", "Wrong token", "Login token")

		// A form posted from another site is refused even with the token.
		req, _ := http.NewRequest("POST", s.URL+"/teams", strings.NewReader(url.Values{"name": {"Cross"}, "csrf": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		b.do(req).want(http.StatusForbidden)

		// With the session's token it works, and the session is still valid afterwards.
		home.submit("/teams", "name", "With token").redirects("/teams/").want(200).has("Created the team With token.")

		// A form sent with no session at all changes nothing and asks to sign in.
		stranger := newBrowser(t, s)
		stranger.post("/teams", url.Values{"name": {"Stranger"}, "csrf": {csrf}}).redirects("/login").want(200)
		s.Do("GET", "/api/v1/teams", s.AdminToken, nil).Want(200).JSON(&teams)
		if len(teams.Items) != 1 {
			t.Fatalf("teams after the refused forms: %v", teams.Items)
		}
	})
}

func TestTeams(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		b, _ := admin(t, s)
		b.get("/teams").want(200).has("There are no teams yet.", `href="/teams/new"`, `aria-current="page">Teams`)

		form := b.get("/teams/new").want(200).has(`<label for="f-name">Name</label>`, `<label for="f-description">Description`)
		team := form.submit("/teams", "name", " Payments ", "description", "Checkout and billing.").redirects("/teams/").want(200)
		team.has("Created the team Payments.", "<h1>Payments</h1>", "Checkout and billing.", "This team has no members yet.")
		teamURL := "/teams/" + team.find(`action="/teams/(\d+)/members"`)

		// It is listed, and the audit trail says who made it and that it came through the UI.
		b.get("/teams").want(200).has(`<a href="`+teamURL+`">Payments</a>`, "Checkout and billing.")
		b.get("/teams?q=pay").want(200).has("Payments", "Teams that match the filter")
		b.get("/teams?q=nothing-like-it").want(200).has("No team matches this filter.")
		created := auditOf(s, "team.create")
		if len(created.Items) != 1 || created.Items[0].Source != "web" || created.Items[0].ActorName != testkit.AdminEmail {
			t.Fatalf("team.create audit entries: %+v", created.Items)
		}

		// Mistakes come back on the form, next to the field, with what was typed.
		form.submit("/teams", "name", "Payments", "description", "Second try").want(http.StatusConflict).
			has("Name is already taken", `value="Payments"`, "Second try", `aria-invalid="true"`, `href="#f-name"`)
		form.submit("/teams", "name", "  ", "description", "Nameless").want(http.StatusBadRequest).
			has("Please correct what is marked below.", "Name is required", "Nameless")

		// Members: add by email, make lead, remove.
		u := s.NewUser(iam.RoleResponder)
		team.submit(teamURL+"/members", "email", u.Email, "team_role", "lead").redirects(teamURL).want(200).
			has("Added "+u.Email+" to the team as lead.", u.Email, `<option value="lead" selected>Lead</option>`)
		team.submit(teamURL+"/members", "email", "nobody@example.com", "team_role", "member").want(http.StatusBadRequest).
			has("Email names no user of Steady", `value="nobody@example.com"`)
		b.get("/users/"+fmt.Sprint(u.ID)).want(200).has(`href="`+teamURL+`">Payments</a>`, "lead")
		newBrowser(t, s).login(u.Email, u.Password).redirects("/").want(200).
			has(`<a href="`+teamURL+`">Payments</a> <span class="muted">— lead, 1 person</span>`,
				`<span class="stat-number">1</span> <span class="stat-label">of your API tokens work</span>`).
			lacks("Recent activity")
		team.submit(teamURL+"/members/"+fmt.Sprint(u.ID), "team_role", "member").redirects(teamURL).want(200).
			has("Test responder is now a member of this team.")
		b.get("/teams").want(200).has(`<td class="num" data-label="Members">1</td>`)

		// Edit, and an edit from a page that went stale meanwhile.
		edit := b.get(teamURL+"/edit").want(200).has(`value="Payments"`, `name="version" value="1"`)
		edit.submit(teamURL+"/edit", "name", "Payments EU", "description", "Checkout.", "version", "1").
			redirects(teamURL).want(200).has("Saved the team Payments EU.", "<h1>Payments EU</h1>")
		stale := edit.submit(teamURL+"/edit", "name", "Payments US", "description", "Old page", "version", "1").
			want(http.StatusPreconditionFailed).has("Someone changed this team", "Payments EU", `value="Payments US"`, `name="version" value="2"`)
		stale.submit(teamURL+"/edit", "name", "Payments US", "description", "Old page", "version", "2").redirects(teamURL).want(200).
			has("<h1>Payments US</h1>")

		team = b.get(teamURL).want(200)
		team.submit(teamURL+"/members/"+fmt.Sprint(u.ID)+"/remove").redirects(teamURL).want(200).
			has("Removed Test responder from the team.", "This team has no members yet.")
		team.submit(teamURL+"/delete").redirects("/teams").want(200).has("Deleted the team Payments US.", "There are no teams yet.")
		b.get(teamURL).want(http.StatusNotFound).has("Not found")
	})
}

func TestViewerSeesNoAdminPages(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		v := s.NewUser(iam.RoleViewer)
		b := newBrowser(t, s)
		home := b.login(v.Email, v.Password).redirects("/").want(200)
		home.has("Welcome, Test viewer", `href="/teams"`, `href="/users"`, `href="/tokens"`).lacks(`href="/audit"`, "Recent activity")
		b.get("/teams").want(200).lacks(`href="/teams/new"`)
		b.get("/users").want(200).has(testkit.AdminEmail).lacks(`href="/users/new"`)
		b.get(fmt.Sprint("/users/", s.AdminID)).want(200).has("Administrator").lacks("Manage this user", "/delete")

		for _, path := range []string{"/audit", "/users/new", "/teams/new"} {
			b.get(path).want(http.StatusForbidden).has("Forbidden", "needs the")
		}
		// Forms sent anyway are refused by the services and change nothing.
		home.submit("/users", "email", "sneaky@example.com", "name", "Sneaky", "role", "admin").want(http.StatusForbidden)
		home.submit("/teams", "name", "Sneaky team").want(http.StatusForbidden).has("This needs the manager role.")
		home.submit("/audit/verify").want(http.StatusForbidden)
		home.submit(fmt.Sprint("/users/", v.ID, "/role"), "role", "admin").want(http.StatusForbidden)
		home.submit(fmt.Sprint("/users/", s.AdminID, "/delete")).want(http.StatusForbidden)
		var users struct {
			Items []struct{ Email string } `json:"items"`
		}
		s.Do("GET", "/api/v1/users?q=sneaky", s.AdminToken, nil).Want(200).JSON(&users)
		if len(users.Items) != 0 {
			t.Fatalf("a viewer created a user: %v", users.Items)
		}
		s.Do("GET", fmt.Sprint("/api/v1/users/", v.ID), s.AdminToken, nil).Want(200).Map()
		b.get("/").want(200).has(`<span class="role-tag">viewer</span>`)
	})
}

func TestManagerSeesAuditButNoVerify(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	m := s.NewUser(iam.RoleManager)
	b := newBrowser(t, s)
	home := b.login(m.Email, m.Password).redirects("/").want(200).has(`href="/audit"`, "Recent activity")
	b.get("/audit").want(200).has("Audit trail").lacks("Verify the chain")
	home.submit("/audit/verify").want(http.StatusForbidden).has("needs the admin role")
	b.get("/teams").want(200).has(`href="/teams/new"`)
	b.get("/users").want(200).lacks(`href="/users/new"`)
}

func TestUsers(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		b, _ := admin(t, s)
		form := b.get("/users/new").want(200).has(`<label for="f-email">Email</label>`, `<option value="viewer" selected>Viewer</option>`)
		form.submit("/users", "email", "not-an-email", "name", "Grace Hopper", "role", "manager").want(http.StatusBadRequest).
			has("Email must be a plain email address", `value="Grace Hopper"`, `<option value="manager" selected>`)
		created := form.submit("/users", "email", "grace@example.com", "name", "Grace Hopper", "role", "responder",
			"password", "grace-password-1").redirects("/users/").want(200)
		created.has("Created the user grace@example.com.", "<h1>Grace Hopper</h1>", "grace@example.com", "Manage this user")
		userURL := "/users/" + created.find(`action="/users/(\d+)/role"`)
		form.submit("/users", "email", "grace@example.com", "name", "Other Grace", "role", "viewer").want(http.StatusConflict).
			has("Email is already taken")

		// Search and filter.
		b.get("/users?q=grace").want(200).has("Grace Hopper").lacks(testkit.AdminEmail)
		b.get("/users?role=admin").want(200).has(testkit.AdminEmail).lacks("Grace Hopper")
		b.get("/users?role=boss").want(http.StatusBadRequest).has("Role must be one of")

		grace := newBrowser(t, s)
		grace.login("grace@example.com", "grace-password-1").redirects("/").want(200)

		// Role, disable, enable, password.
		page := b.get(userURL).want(200)
		page.submit(userURL+"/role", "role", "manager").redirects(userURL).want(200).
			has("grace@example.com now has the manager role.", `<option value="manager" selected>`)
		page.submit(userURL+"/disable").redirects(userURL).want(200).has("is disabled and signed out everywhere", "Enable user")
		grace.get("/").redirects("/login").want(200).has("Your session has ended.")
		newBrowser(t, s).login("grace@example.com", "grace-password-1").want(http.StatusUnauthorized)
		page.submit(userURL + "/enable").redirects(userURL).want(200).has("is enabled again.")
		page.submit(userURL+"/password", "password", "short").want(http.StatusBadRequest).
			has("New password", "Password must be at least 8 characters")
		page.submit(userURL+"/password", "password", "grace-password-2").redirects(userURL).want(200).
			has("Set a new password for grace@example.com.")
		newBrowser(t, s).login("grace@example.com", "grace-password-2").redirects("/").want(200)

		// The last admin cannot demote themselves.
		self := fmt.Sprint("/users/", s.AdminID)
		b.get(self).want(200).submit(self+"/role", "role", "viewer").want(http.StatusConflict).has("This is the last enabled admin")

		page.submit(userURL + "/delete").redirects("/users").want(200).has("Deleted the user grace@example.com.").lacks("Grace Hopper")
		b.get(userURL).want(http.StatusNotFound)

		// Long lists come in pages.
		for i := range 55 {
			s.Do("POST", "/api/v1/users", s.AdminToken, map[string]any{"email": fmt.Sprintf("bulk%02d@example.com", i),
				"name": fmt.Sprintf("Bulk %02d", i), "role": "viewer"}).Want(201)
		}
		first := b.get("/users").want(200).has("bulk00@example.com").lacks("bulk54@example.com")
		next := first.find(`<a href="(/users\?after=[^"]+)" rel="next">`)
		b.get(html.UnescapeString(next)).want(200).has("bulk54@example.com", "← First page").lacks("bulk00@example.com")

		// So does the audit trail, and its next page keeps the filter.
		audit := b.get("/audit?action=user.create").want(200).has("created user bulk54@example.com").lacks("created user bulk00@example.com")
		next = html.UnescapeString(audit.find(`<a href="(/audit\?[^"]+)" rel="next">`))
		if !strings.Contains(next, "action=user.create") || !strings.Contains(next, "after=") {
			t.Fatalf("the audit trail's next page is %s", next)
		}
		b.get(next).want(200).has("created user bulk00@example.com", "created user "+testkit.AdminEmail).lacks("bulk54@example.com", "session.login<")
	})
}

func TestTokens(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		u := s.NewUser(iam.RoleResponder)
		b := newBrowser(t, s)
		b.login(u.Email, u.Password).redirects("/").want(200)
		form := b.get("/tokens/new").want(200).has(`<label for="f-name">Name</label>`, `<option value="90" selected>`).
			lacks("Acts as", `value="admin"`)
		created := form.submit("/tokens", "name", "backup script", "expires", "30", "role", "").want(http.StatusCreated)
		created.has("Copy this token now.", "backup script")
		secret := created.find(`id="token-secret" class="secret" type="text" value="(stdy_[a-z2-7]+)"`)
		if cc := created.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("the page with the secret has Cache-Control %q, want no-store", cc)
		}
		me := s.Do("GET", "/api/v1/users/me", secret, nil).Want(200).Map()
		if me["email"] != u.Email {
			t.Fatalf("the new token acts as %v, want %s", me["email"], u.Email)
		}

		// The list shows the token, never its secret.
		list := b.get("/tokens").want(200).has("backup script", secret[:9]+"…", "Active").lacks(secret)
		// Reloading the list, or anything else, never shows it again.
		b.get("/").want(200).lacks(secret)

		form.submit("/tokens", "name", "", "expires", "30").want(http.StatusBadRequest).has("Name is required")
		form.submit("/tokens", "name", "too strong", "expires", "30", "role", "admin").want(http.StatusForbidden).
			has("cannot have more rights than its creator")
		form.submit("/tokens", "name", "for someone", "expires", "30", "owner", "none", "role", "viewer").want(http.StatusForbidden)

		id := list.find(`action="/tokens/(\d+)/revoke" data-confirm="Revoke the token backup script?`)
		list.submit("/tokens/"+id+"/revoke").redirects("/tokens").want(200).has("Revoked the token backup script", "Revoked")
		s.Do("GET", "/api/v1/users/me", secret, nil).Want(401)

		// Admins see every token and may make tokens for others and for services.
		a, _ := admin(t, s)
		all := a.get("/tokens").want(200).has("backup script", "bootstrap", u.Email)
		svc := all.submit("/tokens", "name", "ci", "expires", "never", "owner", "none").want(http.StatusBadRequest)
		svc.has("Role must be chosen for a token without a user")
		svc.submit("/tokens", "name", "ci", "expires", "never", "owner", "none", "role", "viewer").want(http.StatusCreated).
			has("no user (service token)", "never")
		all.submit("/tokens", "name", "theirs", "expires", "7", "owner", "user", "owner_email", "nobody@example.com").
			want(http.StatusBadRequest).has("Email names no user of Steady")
		all.submit("/tokens", "name", "theirs", "expires", "7", "owner", "user", "owner_email", u.Email).
			want(http.StatusCreated).has(u.Email)
		a.get(fmt.Sprint("/tokens?user=", u.ID)).want(200).has("Tokens of", "theirs", "backup script").lacks("bootstrap", ">ci<")
	})
}

func TestTOTP(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		u := s.NewUser(iam.RoleResponder)
		b := newBrowser(t, s)
		b.login(u.Email, u.Password).redirects("/").want(200)

		start := b.get("/account/totp").want(200).has("Begin set-up")
		setup := start.submit("/account/totp").want(200).has("Add Steady to your authenticator app", "otpauth://totp/Steady:")
		secret := setup.find(`id="totp-secret" class="secret" type="text" value="([A-Z2-7]+)"`)

		// A wrong code is refused and the key stays on the page to try again.
		wrong := setup.submit("/account/totp/confirm", "code", otherCode(t, secret, s.Clock.Now()), "secret", secret,
			"uri", "otpauth://totp/x").want(http.StatusBadRequest)
		wrong.has("Code is not the current code of your authenticator", secret)
		code, err := iam.TOTPCode(secret, s.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		wrong.submit("/account/totp/confirm", "code", code, "secret", secret).redirects("/account").want(200).
			has("Your second factor is on", `<span class="badge badge-good">On</span>`)
		home := b.get("/").want(200)
		home.submit("/logout").redirects("/login?signed_out=1").want(200)

		// Signing in now takes a second step.
		s.Clock.Advance(30 * time.Second)
		step := b.login(u.Email, u.Password).redirects("/login/mfa?next=%2F").want(200)
		step.has("Enter your code", `autocomplete="one-time-code"`, `inputmode="numeric"`)
		b.get("/").redirects("/login").want(200) // not signed in yet
		step = b.get("/login/mfa?next=%2F").want(200)
		step.submit("/login/mfa", "code", otherCode(t, secret, s.Clock.Now()), "next", "/").want(http.StatusBadRequest).
			has("Code is not the current code of your authenticator")
		b.get("/").redirects("/login") // still not signed in
		code, _ = iam.TOTPCode(secret, s.Clock.Now())
		step.submit("/login/mfa", "code", code, "next", "/account").redirects("/account").want(200).has("Your account")
		mfaLogins := auditOf(s, "session.login")
		if len(mfaLogins.Items) == 0 || !strings.Contains(mfaLogins.Items[0].Summary, "second factor") {
			t.Fatalf("the second step was not audited as a sign-in: %+v", mfaLogins.Items)
		}

		// A code works once: signing in again at the same moment with it fails.
		b.get("/").want(200).submit("/logout").redirects("/login")
		again := newBrowser(t, s)
		lp := again.get("/login").want(200)
		step = lp.submit("/login", "email", u.Email, "password", u.Password).redirects("/login/mfa").want(200)
		step.submit("/login/mfa", "code", code, "next", "/").want(http.StatusBadRequest)
		s.Clock.Advance(30 * time.Second)
		code, _ = iam.TOTPCode(secret, s.Clock.Now())
		step.submit("/login/mfa", "code", code, "next", "/").redirects("/").want(200)

		// Turning it off needs the password.
		off := again.get("/account/totp").want(200).has("Your second factor is on")
		off.submit("/account/totp/disable", "current_password", "wrong-password").want(http.StatusBadRequest).
			has("Current password is not your current password")
		off.submit("/account/totp/disable", "current_password", u.Password).redirects("/account").want(200).
			has("Your second factor is off")
		newBrowser(t, s).login(u.Email, u.Password).redirects("/").want(200)
	})
}

// otherCode returns a 6-digit code that is none of the valid ones around t.
func otherCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, err := iam.TOTPCode(secret, at.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		valid[c] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", i)
		if !valid[c] {
			return c
		}
	}
}

func TestLogout(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		b, home := admin(t, s)
		u, _ := url.Parse(s.URL)
		var old *http.Cookie
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == "steady_session" {
				old = c
			}
		}
		if old == nil {
			t.Fatal("no session cookie in the jar")
		}
		out := home.submit("/logout")
		if c := out.cookie("steady_session"); c == nil || c.MaxAge >= 0 {
			t.Fatalf("signing out does not clear the cookie: %+v", c)
		}
		out.redirects("/login?signed_out=1").want(200).has("You have signed out.", "Sign in to Steady")
		b.get("/").redirects("/login?next=%2F")
		if l := auditOf(s, "session.logout"); len(l.Items) != 1 || l.Items[0].Source != "web" {
			t.Fatalf("logout audit entries: %+v", l.Items)
		}

		// The old cookie, replayed, no longer works.
		replay := newBrowser(t, s)
		req, _ := http.NewRequest("GET", s.URL+"/teams", nil)
		req.AddCookie(&http.Cookie{Name: "steady_session", Value: old.Value})
		if p := replay.do(req); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
			t.Fatalf("the old session cookie still opens /teams: %d %s", p.Status, p.Header.Get("Location"))
		}
		req, _ = http.NewRequest("POST", s.URL+"/teams", strings.NewReader(url.Values{"name": {"Replay"}, "csrf": {home.csrf()}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "steady_session", Value: old.Value})
		replay.do(req).redirects("/login")
		s.Do("GET", "/api/v1/teams?q=replay", s.AdminToken, nil).Want(200)
		if l := auditOf(s, "team.create"); len(l.Items) != 0 {
			t.Fatalf("the old session created a team: %+v", l.Items)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	b, _ := admin(t, s)
	s.Clock.Advance(iam.SessionIdle + time.Minute)
	b.get("/teams").redirects("/login?next=%2Fteams").want(200).has("Your session has ended.")
}

func TestLoginRateLimit(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		b := newBrowser(t, s)
		lp := b.get("/login").want(200)
		for i := range 5 {
			lp.submit("/login", "email", testkit.AdminEmail, "password", fmt.Sprint("guess-", i)).want(http.StatusUnauthorized)
		}
		p := lp.submit("/login", "email", testkit.AdminEmail, "password", "guess-6").want(http.StatusTooManyRequests)
		p.has("Too many sign-in attempts; try again in", "seconds", `value="`+testkit.AdminEmail+`"`)
		if ra := p.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After %q", ra)
		}
		// Even the right password waits.
		lp.submit("/login", "email", testkit.AdminEmail, "password", s.AdminPassword).want(http.StatusTooManyRequests)
		// Time heals.
		s.Clock.Advance(5 * time.Minute)
		lp.submit("/login", "email", testkit.AdminEmail, "password", s.AdminPassword).redirects("/").want(200)
	})
}

func TestAuditPage(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		b, home := admin(t, s)
		home.submit("/teams", "name", "Network").redirects("/teams/")

		all := b.get("/audit").want(200).has("Audit trail", "created team Network", "team.create", "session.login",
			"created user "+testkit.AdminEmail, `<th scope="col">When</th>`, "<caption>All entries</caption>", "Verify the chain")
		all.has("user via web", " UTC</time>")
		b.get("/audit?action=team.create").want(200).has("created team Network", "Entries that match the filter").lacks("session.login<")
		b.get("/audit?action=team.").want(200).has("created team Network")
		b.get("/audit?actor=" + url.QueryEscape(testkit.AdminEmail) + "&object_type=team").want(200).has("created team Network")
		b.get("/audit?actor=nobody%40example.com").want(http.StatusBadRequest).has("Actor names no user")
		b.get("/audit?since=yesterday").want(http.StatusBadRequest).has("must be a date and time")
		future := s.Clock.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04")
		b.get("/audit?since=" + future).want(200).has("No entry matches this filter.")
		past := s.Clock.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04")
		b.get("/audit?since=" + past + "&until=" + future).want(200).has("created team Network")

		all.submit("/audit/verify").redirects("/audit").want(200).has("The audit trail is intact: all", "entries match their hashes.")
	})
}

func TestAccount(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		u := s.NewUser(iam.RoleViewer)
		b := newBrowser(t, s)
		b.login(u.Email, u.Password).redirects("/").want(200)
		acct := b.get("/account").want(200).has("Your account", u.Email, `value="Test viewer"`, `aria-current="page"`)
		acct.submit("/account/profile", "name", " ").want(http.StatusBadRequest).has("Name is required")
		acct.submit("/account/profile", "name", "Frances Allen").redirects("/account").want(200).
			has("Saved your name.", `<span class="who">Frances Allen</span>`)

		pw := b.get("/account/password").want(200).has(`autocomplete="current-password"`, `autocomplete="new-password"`)
		pw.submit("/account/password", "current_password", u.Password, "password", "new-password-1", "password_confirm", "new-password-2").
			want(http.StatusBadRequest).has("Repeated password does not match the new password")
		pw.submit("/account/password", "current_password", "wrong", "password", "new-password-1", "password_confirm", "new-password-1").
			want(http.StatusBadRequest).has("Current password is not your current password")
		pw.submit("/account/password", "current_password", u.Password, "password", "short", "password_confirm", "short").
			want(http.StatusBadRequest).has("Password must be at least 8 characters")
		pw.submit("/account/password", "current_password", u.Password, "password", "new-password-1", "password_confirm", "new-password-1").
			redirects("/account").want(200).has("Changed your password.")
		newBrowser(t, s).login(u.Email, u.Password).want(http.StatusUnauthorized)
		newBrowser(t, s).login(u.Email, "new-password-1").redirects("/").want(200)
	})
}

func TestPagesOutsideTheUI(t *testing.T) {
	s := testkit.Start(t, db.SQLite)
	b := newBrowser(t, s)
	b.get("/no/such/page").want(http.StatusNotFound).has("Not found", "There is no page at /no/such/page.")
	// The API keeps answering with problem documents, not HTML.
	p := b.get("/api/v1/no-such-endpoint").want(http.StatusNotFound)
	if ct := p.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("an unknown API path answers %q", ct)
	}
	b.get("/healthz").want(200)
	css := b.get("/static/style.css").want(200)
	if ct := css.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Fatalf("style.css has Content-Type %q", ct)
	}
	home := b.get("/login").want(200)
	asset := home.find(`href="(/static/style\.css\?v=[0-9a-f]+)"`)
	if cc := b.get(asset).want(200).Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("a hashed asset has Cache-Control %q", cc)
	}
	b.get("/static/").want(http.StatusNotFound)
	b.get("/static/nope.css").want(http.StatusNotFound)
	b.get("/users/abc").redirects("/login") // not signed in: sign in first

	_, _ = admin(t, s)
	a, _ := admin(t, s)
	a.get("/users/abc").want(http.StatusNotFound)
	a.get("/users/999999").want(http.StatusNotFound).has("User 999999 not found.", `aria-label="Main"`, "Go to the home page")
	a.get("/users?after=garbage").want(http.StatusBadRequest).has("This page link is not valid")
}
