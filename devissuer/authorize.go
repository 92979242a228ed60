package devissuer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Paths of the authorization code flow, relative to the issuer's URL
// (those of Auth0, so that an application configured for one finds the
// other's).
const (
	AuthorizePath  = "/authorize"
	TokenPath      = "/oauth/token"
	EndSessionPath = "/oidc/logout"
)

// DefaultSubject is the user the sign-in page proposes.
const DefaultSubject = "dev|demo-user"

// sessionCookie names the issuer's sign-in session: while it lasts, an
// authorization request is answered without the page (a reload of the
// application signs in again without asking), unless it says prompt=login.
const sessionCookie = "devissuer_session"

// supportedScopes are the scopes the issuer grants; others are dropped.
var supportedScopes = []string{"openid", "profile", "email", "read:tasks", "write:tasks", "delete:tasks"}

// maxSubjectLen bounds the user typed on the sign-in page.
const maxSubjectLen = 255

// mountFlows adds the endpoints of the authorization code flow. The ones a
// browser visits answer only requests whose Host is a loopback address, so
// that a page of another site rebinding its name to 127.0.0.1 cannot use
// them.
func (i *Issuer) mountFlows(mux *http.ServeMux) {
	mux.Handle("GET "+AuthorizePath, loopbackOnly(http.HandlerFunc(i.authorize)))
	mux.Handle("POST "+AuthorizePath, loopbackOnly(http.HandlerFunc(i.authorizeSubmit)))
	mux.Handle("POST "+TokenPath, loopbackOnly(http.HandlerFunc(i.token)))
	mux.Handle("OPTIONS "+TokenPath, loopbackOnly(http.HandlerFunc(i.tokenPreflight)))
	mux.Handle("GET "+EndSessionPath, loopbackOnly(http.HandlerFunc(i.endSession)))
}

// loopbackOnly answers 421 to a request whose Host is not a loopback name.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		ip := net.ParseIP(strings.Trim(host, "[]"))
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "the development issuer answers loopback hosts only", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize answers an authorization request (RFC 6749 §4.1.1 with PKCE,
// RFC 7636): it checks the client and its redirect URI (a bad one is shown,
// never redirected to), then the rest (errors go back to the client), and
// signs in at once while the session lasts, or shows the sign-in page.
func (i *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := i.client(q.Get("client_id"))
	if c == nil {
		i.page(w, http.StatusBadRequest, pageData{Error: "Unknown client_id: this application is not registered with the development issuer."})
		return
	}
	redirect := q.Get("redirect_uri")
	if !c.redirectAllowed(redirect) {
		i.page(w, http.StatusBadRequest, pageData{Error: "This redirect_uri is not registered for the application, so no code is sent to it."})
		return
	}
	req := authRequest{clientID: c.ID, redirectURI: redirect, state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), audience: q.Get("audience"), scope: grantedScopes(q.Get("scope"))}
	fail := func(code, desc string) {
		i.redirectResult(w, r, req, url.Values{"error": {code}, "error_description": {desc}})
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case q.Get("code_challenge_method") != "S256" || !validChallenge(req.challenge):
		fail("invalid_request", "PKCE is required: code_challenge (43 base64url characters) with code_challenge_method=S256")
		return
	case req.audience != "" && !slices.Contains(i.audience, req.audience):
		fail("invalid_request", "unknown audience")
		return
	case len(req.state) > 1024 || len(req.nonce) > 1024:
		fail("invalid_request", "state or nonce too long")
		return
	}
	prompt := q.Get("prompt")
	if sub, ok := i.session(r); ok && prompt != "login" {
		i.issueCode(w, r, req, sub)
		return
	}
	if prompt == "none" {
		fail("login_required", "no sign-in session at the development issuer")
		return
	}
	id := rand.Text()
	i.flows.mu.Lock()
	err := i.flows.requests.put(id, req, requestTTL, i.now())
	i.flows.mu.Unlock()
	if err != nil {
		i.page(w, http.StatusServiceUnavailable, pageData{Error: err.Error()})
		return
	}
	i.page(w, http.StatusOK, pageData{Request: id, Subject: i.defaultSubject, Client: c.ID, ReturnTo: originOf(redirect)})
}

// authorizeSubmit answers the sign-in page's form: the user to sign in as,
// or cancel.
func (i *Issuer) authorizeSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		i.page(w, http.StatusBadRequest, pageData{Error: "Unreadable form."})
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != i.URL() && o != "http://"+r.Host {
		i.page(w, http.StatusForbidden, pageData{Error: "This form may be sent from the development issuer's own page only."})
		return
	}
	id := r.PostForm.Get("request")
	i.flows.mu.Lock()
	req, ok := i.flows.requests.get(id, i.now())
	i.flows.mu.Unlock()
	if !ok {
		i.page(w, http.StatusBadRequest, pageData{Error: "This sign-in has expired or is unknown: start again from the application."})
		return
	}
	if r.PostForm.Get("action") == "cancel" {
		i.dropRequest(id)
		i.redirectResult(w, r, req, url.Values{"error": {"access_denied"}, "error_description": {"the user cancelled the sign-in"}})
		return
	}
	sub := strings.TrimSpace(r.PostForm.Get("user"))
	if msg := checkSubject(sub); msg != "" {
		i.page(w, http.StatusUnprocessableEntity, pageData{Request: id, Subject: sub, Client: req.clientID, ReturnTo: originOf(req.redirectURI), Error: msg})
		return
	}
	i.dropRequest(id)
	sid := rand.Text()
	i.flows.mu.Lock()
	err := i.flows.sessions.put(sid, sub, sessionTTL, i.now())
	i.flows.mu.Unlock()
	if err == nil {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL.Seconds())})
	}
	i.issueCode(w, r, req, sub)
}

func (i *Issuer) dropRequest(id string) {
	i.flows.mu.Lock()
	delete(i.flows.requests, id)
	i.flows.mu.Unlock()
}

// session returns the user of the request's sign-in session.
func (i *Issuer) session(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	i.flows.mu.Lock()
	defer i.flows.mu.Unlock()
	return i.flows.sessions.get(c.Value, i.now())
}

// issueCode sends the browser back to the client with a fresh code.
func (i *Issuer) issueCode(w http.ResponseWriter, r *http.Request, req authRequest, sub string) {
	code := rand.Text()
	i.flows.mu.Lock()
	err := i.flows.codes.put(code, grant{req, sub}, codeTTL, i.now())
	i.flows.mu.Unlock()
	if err != nil {
		i.redirectResult(w, r, req, url.Values{"error": {"temporarily_unavailable"}, "error_description": {err.Error()}})
		return
	}
	i.redirectResult(w, r, req, url.Values{"code": {code}})
}

// redirectResult sends the browser to the request's redirect URI with
// params, the state and the issuer (RFC 9207).
func (i *Issuer) redirectResult(w http.ResponseWriter, r *http.Request, req authRequest, params url.Values) {
	u, err := url.Parse(req.redirectURI)
	if err != nil { // registered URIs parse; defensive
		i.page(w, http.StatusBadRequest, pageData{Error: "Bad redirect_uri."})
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if req.state != "" {
		q.Set("state", req.state)
	}
	q.Set("iss", i.Issuer())
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// endSession is RP-initiated logout (OpenID Connect RP-Initiated Logout
// 1.0): it ends the sign-in session and sends the browser back to a
// registered post-logout URI, or shows that the user is signed out.
func (i *Issuer) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		i.flows.mu.Lock()
		delete(i.flows.sessions, c.Value)
		i.flows.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	q := r.URL.Query()
	back := q.Get("post_logout_redirect_uri")
	if back == "" {
		i.page(w, http.StatusOK, pageData{SignedOut: true})
		return
	}
	allowed := false
	for _, c := range i.clients {
		if (q.Get("client_id") == "" || q.Get("client_id") == c.ID) && slices.Contains(c.PostLogoutRedirectURIs, back) {
			allowed = true
		}
	}
	if !allowed {
		i.page(w, http.StatusBadRequest, pageData{SignedOut: true, Error: "This post_logout_redirect_uri is not registered: not redirecting."})
		return
	}
	u, _ := url.Parse(back)
	if s := q.Get("state"); s != "" {
		v := u.Query()
		v.Set("state", s)
		u.RawQuery = v.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// grantedScopes keeps the supported scopes of a request, in its order.
func grantedScopes(s string) string {
	var out []string
	for _, sc := range strings.Fields(s) {
		if slices.Contains(supportedScopes, sc) && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " ")
}

// validChallenge reports whether s is an S256 code challenge: the
// base64url encoding (no padding) of 32 bytes.
func validChallenge(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// checkSubject returns why sub cannot be a user id, or "".
func checkSubject(sub string) string {
	switch {
	case sub == "":
		return "Type a user id, e.g. " + DefaultSubject + "."
	case len(sub) > maxSubjectLen:
		return "The user id is longer than 255 bytes."
	case !utf8.ValidString(sub) || strings.ContainsFunc(sub, unicode.IsControl):
		return "The user id has control characters."
	}
	return ""
}

// pageData fills the sign-in page.
type pageData struct {
	Request   string // the pending request's id; "" shows no form
	Subject   string
	Client    string
	ReturnTo  string // the origin the browser goes back to
	Error     string
	SignedOut bool
}

// pageStyle is the page's only style, allowed by its hash in the CSP.
const pageStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}` +
	`label{display:block;font-weight:600;margin:1rem 0 .25rem}input{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #555;border-radius:4px}` +
	`button{font:inherit;padding:.5rem 1rem;margin:1rem .5rem 0 0;border-radius:4px;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff}` +
	`button.secondary{background:#fff;color:#1d4ed8}:focus-visible{outline:3px solid #b45309;outline-offset:2px}` +
	`.error{color:#b91c1c;font-weight:600}.note{color:#444;font-size:.9rem}`

var pageStyleHash = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · development issuer</title><style>{{.Style}}</style></head>
<body><main>
<h1>{{if .SignedOut}}Signed out{{else}}Sign in{{end}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .SignedOut}}<p>You are signed out of the development issuer.</p>{{end}}
{{if .Request}}<p>The application <strong>{{.Client}}</strong> at {{.ReturnTo}} asks you to sign in.</p>
<form method="post" action="` + AuthorizePath + `">
<input type="hidden" name="request" value="{{.Request}}">
<label for="user">Sign in as (user id)</label>
<input id="user" name="user" value="{{.Subject}}" autocomplete="username" required maxlength="255" autofocus>
<button type="submit" name="action" value="signin">Sign in</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
</form>{{end}}
<p class="note">Development issuer of taskapi: no password, for local development only.</p>
</main></body></html>
`))

// page renders the sign-in page (or an error) with a CSP that allows its
// own style and sending the form, and the redirect after it, to the
// application's origin only.
func (i *Issuer) page(w http.ResponseWriter, status int, d pageData) {
	formAction := "'self'"
	if d.ReturnTo != "" {
		formAction += " " + d.ReturnTo
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+pageStyleHash+"; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer browsers send the
	// form's post with "Origin: null", which authorizeSubmit refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pageTemplate.Execute(w, struct {
		pageData
		Style template.CSS
	}{d, template.CSS(pageStyle)})
}
