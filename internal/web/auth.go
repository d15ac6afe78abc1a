package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/httpx"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

const (
	// sessionCookie holds the session secret. It has no Expires: the server
	// ends sessions (iam.SessionLifetime, iam.SessionIdle), and a browser
	// whose clock is wrong must not end them early or keep them late.
	sessionCookie = "steady_session"
	// loginCookie is the double-submit CSRF token of the sign-in form, which
	// has no session whose token it could carry.
	loginCookie = "steady_login"
	// flashCookie carries a one-time message across a Post/Redirect/Get.
	flashCookie = "steady_flash"
	// csrfField is the hidden field every form carries.
	csrfField = "csrf"
	// maxFormBytes caps form bodies; Steady's forms are small.
	maxFormBytes = 64 << 10
)

// errCSRF refuses a form without the right CSRF token.
func errCSRF() error {
	return errs.Forbidden("this form is out of date or did not come from this Steady page; reload the page and try again")
}

// wrap gives every UI request its security headers, the source "web" for the
// audit trail, a parsed and size-limited form, and for signed-in routes the
// session, the principal and the CSRF check.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		r = r.WithContext(reqctx.WithSource(r.Context(), "web"))
		r, answered, err := s.admit(w, r, rt)
		if err == nil && !answered {
			err = rt.handler(w, r)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

// admit checks a request before its handler runs. It returns the request to
// serve (with the session in its context, so that even an error page shows
// the signed-in navigation) and whether it already answered (a redirect).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, rt route) (*http.Request, bool, error) {
	post := r.Method != http.MethodGet && r.Method != http.MethodHead
	if post {
		// Browsers say where a request comes from; a form posted from another
		// site is refused before anything else (the CSRF token refuses it too).
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			return r, false, errCSRF()
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return r, false, errs.TooLarge("the form is larger than %d bytes", maxFormBytes)
			}
			return r, false, &errs.Error{Kind: errs.KindInvalid, Message: "the form could not be read"}
		}
	}
	if rt.access == public {
		return r, false, nil
	}
	sess, err := s.IAM.Session(r.Context(), cookieValue(r, sessionCookie))
	switch {
	case err == nil:
	case errs.Is(err, errs.KindUnauthenticated) && rt.access == optional:
		return r, false, nil
	case errs.Is(err, errs.KindUnauthenticated) && !post:
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return r, true, nil
	case errs.Is(err, errs.KindUnauthenticated):
		// A form sent after the session ended does nothing; the user signs in
		// again and sends it anew.
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return r, true, nil
	default:
		return r, false, err
	}
	// Signed-in pages hold data for one user: no cache may keep them, and the
	// back button after signing out must not show them.
	w.Header().Set("Cache-Control", "no-store")
	r = r.WithContext(context.WithValue(iam.WithPrincipal(r.Context(), sess.Principal), sessionKey{}, sess))
	if post && rt.access == signedIn && !sameToken(r.PostForm.Get(csrfField), sess.CSRF) {
		return r, false, errCSRF()
	}
	return r, false, nil
}

type sessionKey struct{}

// sessionFrom returns the signed-in session of a request that wrap let in.
func sessionFrom(ctx context.Context) (iam.Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(iam.Session)
	return s, ok
}

// me is the signed-in principal of a request.
func me(r *http.Request) iam.Principal {
	s, _ := sessionFrom(r.Context())
	return s.Principal
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) setCookie(w http.ResponseWriter, name, value, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Path: path, MaxAge: -1, HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// safeNext returns next when it is a path on this site, and "/" otherwise,
// so that the sign-in page cannot be used to send people elsewhere.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, `\`) {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	if u.Path == "/login" || strings.HasPrefix(u.Path, "/login/") || u.Path == "/logout" {
		return "/"
	}
	return next
}

// loginToken returns the sign-in form's CSRF token, setting its cookie when
// the browser has none yet.
func (s *Server) loginToken(w http.ResponseWriter, r *http.Request) string {
	if t := cookieValue(r, loginCookie); len(t) == 32 {
		return t
	}
	t := ids.Random(20)
	s.setCookie(w, loginCookie, t, "/login")
	return t
}

type loginData struct{ Next string }

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, f *form, notice string) error {
	w.Header().Set("Cache-Control", "no-store")
	v := view{Title: "Sign in", CSRF: s.loginToken(w, r), Form: f, Notice: notice,
		Data: loginData{Next: safeNext(f.Value("next"))}}
	return s.render(w, r, status, s.v.login, v)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := newForm(nil).Set("next", safeNext(q.Get("next")))
	notice := ""
	if secret := cookieValue(r, sessionCookie); secret != "" {
		if _, err := s.IAM.Session(r.Context(), secret); err == nil {
			return redirect(w, r, safeNext(q.Get("next")))
		}
		if _, err := s.IAM.PendingSession(r.Context(), secret); err != nil {
			notice = "Your session has ended. Please sign in again."
			s.clearCookie(w, sessionCookie, "/")
		}
	}
	if q.Has("signed_out") {
		notice = "You have signed out."
	}
	return s.showLogin(w, r, http.StatusOK, f, notice)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if !sameToken(r.PostForm.Get(csrfField), cookieValue(r, loginCookie)) {
		return errs.Forbidden("the sign-in form is out of date, or this browser does not keep cookies for Steady; reload the page and try again")
	}
	f := newForm(r.PostForm)
	res, err := s.IAM.Login(r.Context(), f.Get("email"), f.Value("password"), httpx.ClientIP(r), r.UserAgent())
	if err != nil {
		k := errs.KindOf(err)
		if k != errs.KindUnauthenticated && k != errs.KindRateLimited {
			return err
		}
		p := httpx.ProblemFor(r.Context(), err, r.URL.Path)
		if p.RetryAfter > 0 {
			w.Header().Set("Retry-After", itoa(int64(p.RetryAfter)))
		}
		f.Message = sentence(p.Detail)
		return s.showLogin(w, r, p.Status, f, "")
	}
	s.setCookie(w, sessionCookie, res.Secret, "/")
	next := safeNext(f.Get("next"))
	if res.MFAPending {
		return redirect(w, r, "/login/mfa?next="+url.QueryEscape(next))
	}
	return redirect(w, r, next)
}

type mfaData struct{ Next string }

func (s *Server) showMFA(w http.ResponseWriter, r *http.Request, status int, sess iam.Session, f *form) error {
	w.Header().Set("Cache-Control", "no-store")
	v := view{Title: "Enter your code", CSRF: sess.CSRF, Form: f, Data: mfaData{Next: safeNext(f.Value("next"))}}
	return s.render(w, r, status, s.v.mfa, v)
}

// timedOut answers a second step whose first step is gone (it lasts five
// minutes) by starting over.
func (s *Server) timedOut(w http.ResponseWriter, r *http.Request, next string) error {
	s.clearCookie(w, sessionCookie, "/")
	return s.showLogin(w, r, http.StatusUnauthorized, newForm(nil).Set("next", next),
		"The sign-in took too long or has ended. Please sign in again.")
}

func (s *Server) mfaPage(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	sess, err := s.IAM.PendingSession(r.Context(), cookieValue(r, sessionCookie))
	if errs.Is(err, errs.KindUnauthenticated) {
		return redirect(w, r, "/login?next="+url.QueryEscape(next))
	}
	if err != nil {
		return err
	}
	return s.showMFA(w, r, http.StatusOK, sess, newForm(nil).Set("next", next))
}

func (s *Server) mfa(w http.ResponseWriter, r *http.Request) error {
	f := newForm(r.PostForm)
	next := safeNext(f.Get("next"))
	secret := cookieValue(r, sessionCookie)
	sess, err := s.IAM.PendingSession(r.Context(), secret)
	if errs.Is(err, errs.KindUnauthenticated) {
		return s.timedOut(w, r, next)
	}
	if err != nil {
		return err
	}
	if !sameToken(r.PostForm.Get(csrfField), sess.CSRF) {
		return errCSRF()
	}
	err = s.IAM.CompleteMFA(r.Context(), secret, f.Get("code"), httpx.ClientIP(r))
	if errs.Is(err, errs.KindUnauthenticated) {
		return s.timedOut(w, r, next)
	}
	if err != nil {
		return s.retry(w, r, err, f, nil, func(status int, f *form) error { return s.showMFA(w, r, status, sess, f) })
	}
	return redirect(w, r, next)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.IAM.Logout(r.Context(), cookieValue(r, sessionCookie)); err != nil {
		return err
	}
	s.clearCookie(w, sessionCookie, "/")
	return redirect(w, r, "/login?signed_out=1")
}

// flash is a one-time message shown on the page a form redirects to.
type flash struct {
	Kind string // "ok" or "error"
	Text string
}

// setFlash leaves a message for the next page. It is signed with the
// session's CSRF token, so nobody else can make a page show a message; it
// needs no server-side state, so it works across replicas.
func (s *Server) setFlash(w http.ResponseWriter, r *http.Request, kind, text string) {
	sess, ok := sessionFrom(r.Context())
	if !ok {
		return
	}
	payload := kind + ":" + text
	s.setCookie(w, flashCookie, base64.RawURLEncoding.EncodeToString([]byte(payload))+"."+signFlash(sess.CSRF, payload), "/")
}

func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request, key string) *flash {
	v := cookieValue(r, flashCookie)
	if v == "" {
		return nil
	}
	s.clearCookie(w, flashCookie, "/")
	enc, sig, _ := strings.Cut(v, ".")
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || !hmac.Equal([]byte(sig), []byte(signFlash(key, string(b)))) {
		return nil
	}
	kind, text, _ := strings.Cut(string(b), ":")
	if kind != "ok" && kind != "error" {
		return nil
	}
	return &flash{Kind: kind, Text: text}
}

func signFlash(key, payload string) string {
	m := hmac.New(sha256.New, []byte("steady-flash:"+key))
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}
