package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Contact methods and notification rules: /account/notifications for the
// signed-in user, /users/{id}/notifications for an admin managing someone
// else's. Both use one template; the contact store decides who may do what.

// contactKind describes one kind of contact method for its add form.
type contactKind struct {
	Kind, Name, AddressLabel, AddressHint, AddressType string
	Headers                                            bool // takes extra HTTP headers
}

var contactKinds = []contactKind{
	{Kind: notify.KindEmail, Name: "Email", AddressLabel: "Email address", AddressType: "email",
		AddressHint: "Pages, summaries and tests go to this one address."},
	{Kind: notify.KindWebhook, Name: "Webhook", AddressLabel: "Webhook URL", AddressType: "url", Headers: true,
		AddressHint: "Steady POSTs JSON here, signed with a secret shown once when you add it."},
	{Kind: notify.KindSlack, Name: "Slack", AddressLabel: "Slack incoming webhook URL", AddressType: "url", Headers: true,
		AddressHint: "Such as https://hooks.slack.com/services/…"},
	{Kind: notify.KindTeams, Name: "Microsoft Teams", AddressLabel: "Teams incoming webhook URL", AddressType: "url", Headers: true,
		AddressHint: "The URL of a Teams workflow or incoming webhook."},
}

func contactKindName(kind string) string {
	for _, k := range contactKinds {
		if k.Kind == kind {
			return k.Name
		}
	}
	return kind
}

// contactRuleRow is a rule as the page shows it.
type contactRuleRow struct {
	notify.Rule
	Method string // "Email work (ada@example.com)"
	When   string // "at once", "after 5 minutes"
}

// contactMethodRow is a method as the page lists it.
type contactMethodRow struct {
	notify.Method
	KindName string
	Window   string // the rate window in words: "10m"
}

// contactSecret is a signing secret to show once.
type contactSecret struct {
	MethodID int64
	Secret   string
	Rotated  bool
}

type contactsData struct {
	User    iam.User
	Own     bool
	Base    string // /account/notifications or /users/{id}/notifications
	Methods []contactMethodRow
	Rules   []contactRuleRow
	Kinds   []contactKind
	// Forms holds each add form (by kind, and "rule"); only the one that
	// was sent shows its values and errors.
	Forms         map[string]*form
	MethodOptions []option
	Secret        *contactSecret
	Test          *notify.Item
	TestMethod    string
}

// contactsOwner reads whose page this is and where its forms post.
func contactsOwner(r *http.Request) (int64, string, error) {
	if r.PathValue("id") == "" {
		return me(r).UserID, "/account/notifications", nil
	}
	id, err := pathID(r, "id")
	if err != nil {
		return 0, "", err
	}
	return id, "/users/" + itoa(id) + "/notifications", nil
}

// methodText names a method for people: "Email work (ada@example.com)".
func methodText(m notify.Method) string {
	s := contactKindName(m.Kind)
	if m.Label != "" {
		s += " " + m.Label
	}
	addr := m.Address
	if m.Kind != notify.KindEmail {
		addr = notify.RedactURL(addr)
	}
	return s + " (" + addr + ")"
}

// showContacts renders the page; sent is the form that was posted (a kind,
// or "rule"), whose values and errors it shows.
func (s *Server) showContacts(w http.ResponseWriter, r *http.Request, status int, sent string, f *form, d contactsData) error {
	uid, base, err := contactsOwner(r)
	if err != nil {
		return err
	}
	if err := s.Contacts.CheckAccess(r.Context(), uid); err != nil {
		return err
	}
	u, err := s.IAM.GetUser(r.Context(), uid)
	if err != nil {
		return err
	}
	methods, err := s.Contacts.Methods(r.Context(), uid)
	if err != nil {
		return err
	}
	rules, err := s.Contacts.Rules(r.Context(), uid)
	if err != nil {
		return err
	}
	d.User, d.Own, d.Base, d.Kinds = u, uid == me(r).UserID, base, contactKinds
	byID := map[int64]notify.Method{}
	for _, m := range methods {
		byID[m.ID] = m
		d.Methods = append(d.Methods, contactMethodRow{Method: m, KindName: contactKindName(m.Kind), Window: humanSeconds(int64(m.RateWindowSeconds))})
		d.MethodOptions = append(d.MethodOptions, option{itoa(m.ID), methodText(m)})
	}
	for _, ru := range rules {
		d.Rules = append(d.Rules, contactRuleRow{Rule: ru, Method: methodText(byID[ru.MethodID]), When: notify.RuleDelayText(ru.DelayMinutes)})
	}
	d.Forms = map[string]*form{}
	for _, k := range contactKinds {
		d.Forms[k.Kind] = newForm(nil).Set(k.Kind+"_rate_limit", strconv.Itoa(notify.DefaultMethodRateLimit)).
			Set(k.Kind+"_rate_window", strconv.Itoa(notify.DefaultMethodRateWindow/60))
	}
	d.Forms["rule"] = newForm(nil).Set("delay", "0")
	if f != nil && sent != "" {
		d.Forms[sent] = f
	}
	title, nav := "Notifications", "account"
	if !d.Own {
		title, nav = "Notifications of "+u.Name, "users"
	}
	return s.render(w, r, status, s.v.contacts, view{Title: title, Nav: nav, Data: d})
}

func (s *Server) contactsPage(w http.ResponseWriter, r *http.Request) error {
	return s.showContacts(w, r, http.StatusOK, "", nil, contactsData{})
}

func (s *Server) addContactMethodForm(w http.ResponseWriter, r *http.Request) error {
	uid, base, err := contactsOwner(r)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	kind := f.Get("kind")
	var k *contactKind
	for i := range contactKinds {
		if contactKinds[i].Kind == kind {
			k = &contactKinds[i]
		}
	}
	if k == nil {
		return errs.Invalid("kind", "must be one of "+strings.Join(notify.MethodKinds, ", "))
	}
	p := kind + "_"
	show := func(status int, f *form) error { return s.showContacts(w, r, status, kind, f, contactsData{}) }
	in := notify.NewMethod{Kind: kind, Label: f.Get(p + "label"), Address: f.Get(p + "address")}
	if v := f.Get(p + "rate_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.Fail(p+"rate_limit", "must be a whole number")
		}
		in.RateLimit = &n
	}
	if v := f.Get(p + "rate_window"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < notify.MinMethodRateWindow/60 || n > notify.MaxMethodRateWindow/60 {
			f.Fail(p+"rate_window", "must be a whole number of minutes from 1 to 1440")
		}
		sec := n * 60
		in.RateWindowSeconds = &sec
	}
	if k.Headers {
		h, bad := parseHeaderLines(f.Value(p + "header"))
		if bad != "" {
			f.Fail(p+"header", bad)
		}
		in.Headers = h
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	m, err := s.Contacts.CreateMethod(r.Context(), uid, in)
	if err != nil {
		err = foldFields(err, map[string]string{"headers": p + "header"})
		return s.retry(w, r, err, f, map[string]string{"address": p + "address", "label": p + "label",
			"rate_limit": p + "rate_limit", "rate_window_seconds": p + "rate_window"}, show)
	}
	if m.Secret != "" {
		return s.showContacts(w, r, http.StatusOK, "", nil, contactsData{Secret: &contactSecret{MethodID: m.ID, Secret: m.Secret}})
	}
	return s.done(w, r, base, "Added %s.", methodText(m.Method))
}

// parseHeaderLines reads "Name: value" lines; bad says what is wrong.
func parseHeaderLines(text string) (map[string]string, string) {
	out := map[string]string{}
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, "line " + strconv.Itoa(i+1) + " must read Name: value"
		}
		out[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	return out, ""
}

// contactMethodOf reads {method_id} and checks it is the page owner's.
func (s *Server) contactMethodOf(r *http.Request) (int64, string, notify.Method, error) {
	uid, base, err := contactsOwner(r)
	if err != nil {
		return 0, "", notify.Method{}, err
	}
	mid, err := pathID(r, "method_id")
	if err != nil {
		return 0, "", notify.Method{}, err
	}
	m, err := s.Contacts.GetMethod(r.Context(), uid, mid)
	return uid, base, m, err
}

func (s *Server) deleteContactMethodForm(w http.ResponseWriter, r *http.Request) error {
	uid, base, m, err := s.contactMethodOf(r)
	if err != nil {
		return err
	}
	if err := s.Contacts.DeleteMethod(r.Context(), uid, m.ID); err != nil {
		return err
	}
	return s.done(w, r, base, "Deleted %s and its notification rules.", methodText(m))
}

func (s *Server) testContactMethodForm(w http.ResponseWriter, r *http.Request) error {
	_, _, m, err := s.contactMethodOf(r)
	if err != nil {
		return err
	}
	it, err := s.Outbox.EnqueueTest(r.Context(), m.ID)
	if err != nil {
		return err
	}
	return s.showContacts(w, r, http.StatusOK, "", nil, contactsData{Test: &it, TestMethod: methodText(m)})
}

func (s *Server) rotateContactSecretForm(w http.ResponseWriter, r *http.Request) error {
	uid, _, m, err := s.contactMethodOf(r)
	if err != nil {
		return err
	}
	c, err := s.Contacts.RotateSecret(r.Context(), uid, m.ID)
	if err != nil {
		return err
	}
	return s.showContacts(w, r, http.StatusOK, "", nil, contactsData{Secret: &contactSecret{MethodID: c.ID, Secret: c.Secret, Rotated: true}})
}

func (s *Server) addNotificationRuleForm(w http.ResponseWriter, r *http.Request) error {
	uid, base, err := contactsOwner(r)
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showContacts(w, r, status, "rule", f, contactsData{}) }
	var in notify.NewRule
	mid, err := strconv.ParseInt(f.Get("contact_method"), 10, 64)
	if err != nil || mid < 1 {
		f.Fail("contact_method", "must be one of your contact methods")
	}
	in.MethodID = mid
	delay, err := strconv.Atoi(f.Get("delay"))
	if err != nil {
		f.Fail("delay", "must be a whole number of minutes")
	}
	in.DelayMinutes = delay
	if f.Invalid() {
		return invalid(f, show)
	}
	ru, err := s.Contacts.CreateRule(r.Context(), uid, in)
	if err != nil {
		return s.retry(w, r, err, f, map[string]string{"contact_method_id": "contact_method", "delay_minutes": "delay"}, show)
	}
	return s.done(w, r, base, "Added a rule: %s %s.", methodText(ru.Method), notify.RuleDelayText(ru.DelayMinutes))
}

func (s *Server) deleteNotificationRuleForm(w http.ResponseWriter, r *http.Request) error {
	uid, base, err := contactsOwner(r)
	if err != nil {
		return err
	}
	rid, err := pathID(r, "rule_id")
	if err != nil {
		return err
	}
	if err := s.Contacts.DeleteRule(r.Context(), uid, rid); err != nil {
		return err
	}
	return s.done(w, r, base, "Deleted the notification rule.")
}
