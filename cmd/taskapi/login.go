package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Limits and defaults of taskapi login.
const (
	loginTimeout       = 5 * time.Minute
	loginHTTPTimeout   = 30 * time.Second
	maxDiscoveryBytes  = 1 << 20
	tokenReuseMargin   = time.Minute
	defaultUserScopes  = "openid offline_access read:tasks write:tasks delete:tasks"
	tokenFileName      = "token.json"
	callbackPath       = "/callback"
	maxTokenFileBytes  = 1 << 20
	callbackReadHeader = 10 * time.Second
)

// openBrowser opens url in the user's browser; tests replace it.
var openBrowser = defaultOpenBrowser

func runLogin(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "login", "login [-device | -client-credentials] [-print] [-scope SCOPES] [-force]", "")
	device := fs.Bool("device", false, "use the device authorization grant (RFC 8628): for machines without a browser")
	machine := fs.Bool("client-credentials", false, "use the client credentials grant (a machine client; needs CLIENT_SECRET)")
	printOnly := fs.Bool("print", false, "write the access token alone to standard output instead of saving it")
	scope := fs.String("scope", "", "scopes to request, space-separated (default LOGIN_SCOPES)")
	force := fs.Bool("force", false, "get a new token even if the saved one is still valid")
	noBrowser := fs.Bool("no-browser", false, "do not open a browser; only print the URL to visit")
	timeout := fs.Duration("timeout", loginTimeout, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *device && *machine {
		return errors.New("-device and -client-credentials: choose one grant")
	}
	if *timeout <= 0 {
		return fmt.Errorf("-timeout %v: want a positive duration", *timeout)
	}
	lc, err := loadLoginConfig(env.getenv, *machine)
	if err != nil {
		return err
	}
	if *scope != "" {
		lc.Scopes = strings.Fields(*scope)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client := &http.Client{Timeout: loginHTTPTimeout}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)

	l := &login{cfg: lc, env: env, client: client, noBrowser: *noBrowser}
	tok, err := l.obtain(ctx, *device, *machine, *force)
	if err != nil {
		return err
	}
	if *printOnly {
		_, err := fmt.Fprintln(env.stdout, tok.AccessToken)
		return err
	}
	if l.saved {
		fmt.Fprintf(env.stderr, "The access token in %s is still valid", lc.TokenFile)
	} else {
		if err := l.save(tok); err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "Access token saved to %s", lc.TokenFile)
	}
	if !tok.Expiry.IsZero() {
		fmt.Fprintf(env.stderr, " (expires %s)", tok.Expiry.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(env.stderr, ".")
	return nil
}

// loginConfig is what login reads from the environment.
type loginConfig struct {
	IssuerBaseURL string
	Audience      string // requested
	AudienceParam string // audience, resource, both or none
	ClientID      string
	ClientSecret  string
	Scopes        []string
	TokenFile     string
	// RedirectURI is a fixed loopback redirect (LOGIN_REDIRECT_URI); empty
	// for 127.0.0.1 on a random port.
	RedirectURI string
}

// loadLoginConfig reads the variables of login and checks that the grant
// has what it needs.
func loadLoginConfig(getenv func(string) string, machine bool) (loginConfig, error) {
	cfg, err := readConfig(getenv, "login")
	errs := []error{err}
	c := cfg.Login
	c.IssuerBaseURL = cfg.Bearer.IssuerBaseURL
	if c.IssuerBaseURL == "" {
		errs = append(errs, errors.New("ISSUER_BASE_URL is not set: set it (in the environment or .env) to your provider's URL, e.g. https://YOUR_TENANT.us.auth0.com"))
	} else if u, err := url.Parse(c.IssuerBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("ISSUER_BASE_URL must be an http(s) URL, got %q", truncate(c.IssuerBaseURL, 60)))
	}
	if c.Audience == "" && len(cfg.Bearer.Audience) > 0 {
		c.Audience = cfg.Bearer.Audience[0]
	}
	if c.Audience == "" && c.AudienceParam != "none" {
		errs = append(errs, errors.New("AUDIENCE is not set: set it to your API identifier, e.g. AUDIENCE=task-manager-api"))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("CLIENT_ID is not set: set it (in the environment or .env) to the application's client id at your provider"))
	}
	if machine && c.ClientSecret == "" {
		errs = append(errs, errors.New("CLIENT_SECRET is not set: -client-credentials needs it in the environment or .env (never on the command line)"))
	}
	if len(c.Scopes) == 0 && !machine {
		c.Scopes = strings.Fields(defaultUserScopes)
	}
	if c.TokenFile == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			errs = append(errs, fmt.Errorf("TOKEN_FILE is not set and there is no user configuration directory (%v): set TOKEN_FILE", err))
		}
		c.TokenFile = filepath.Join(dir, "taskapi", tokenFileName)
	}
	return c, errors.Join(errs...)
}

// audienceParams returns the parameters that ask for the audience.
func (c loginConfig) audienceParams() url.Values {
	v := url.Values{}
	if c.AudienceParam == "audience" || c.AudienceParam == "both" {
		v.Set("audience", c.Audience)
	}
	if c.AudienceParam == "resource" || c.AudienceParam == "both" {
		v.Set("resource", c.Audience)
	}
	return v
}

// providerMetadata is the part of the discovery document login uses.
type providerMetadata struct {
	Issuer                      string   `json:"issuer"`
	AuthorizationEndpoint       string   `json:"authorization_endpoint"`
	TokenEndpoint               string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
	TokenEndpointAuthMethods    []string `json:"token_endpoint_auth_methods_supported"`
	IssParameterSupported       bool     `json:"authorization_response_iss_parameter_supported"`
}

// discover fetches the provider's metadata: OpenID Connect discovery, then
// the RFC 8414 location, as the service's verifier does.
func discover(ctx context.Context, client *http.Client, base string) (*providerMetadata, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	var urls []string
	if strings.Contains(u.Path, "/.well-known/") {
		urls = []string{base}
	} else {
		path := strings.TrimRight(u.Path, "/")
		oidc, oauth := *u, *u
		oidc.Path = path + "/.well-known/openid-configuration"
		oauth.Path = "/.well-known/oauth-authorization-server" + path
		urls = []string{oidc.String(), oauth.String()}
	}
	var errs []error
	for _, target := range urls {
		md, err := fetchMetadata(ctx, client, target)
		if err == nil {
			return md, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("discovery at ISSUER_BASE_URL failed: %w", errors.Join(errs...))
}

func fetchMetadata(ctx context.Context, client *http.Client, target string) (*providerMetadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", target, resp.Status)
	}
	var md providerMetadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscoveryBytes)).Decode(&md); err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	if md.Issuer == "" || md.TokenEndpoint == "" {
		return nil, fmt.Errorf("%s: no issuer or token_endpoint in the metadata", target)
	}
	return &md, nil
}

// login is one run of taskapi login.
type login struct {
	cfg       loginConfig
	env       *environment
	client    *http.Client
	md        *providerMetadata
	noBrowser bool
	saved     bool // the token returned is the one in the file
}

// obtain returns an access token: the saved one while it is valid, a
// refreshed one when a refresh token is saved, else one from the grant.
func (l *login) obtain(ctx context.Context, device, machine, force bool) (*oauth2.Token, error) {
	if !force {
		saved, err := readSavedToken(l.cfg.TokenFile)
		if err != nil {
			fmt.Fprintf(l.env.stderr, "taskapi login: ignoring the saved token: %v\n", err)
		}
		if saved != nil && saved.matches(l.cfg) {
			if saved.valid(time.Now()) {
				l.saved = true
				return saved.token(), nil
			}
			if saved.RefreshToken != "" && !machine {
				tok, err := l.refresh(ctx, saved)
				if err == nil {
					return tok, nil
				}
				fmt.Fprintf(l.env.stderr, "taskapi login: the saved refresh token did not work (%v); signing in again\n", err)
			}
		}
	}
	md, err := l.metadata(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case machine:
		return l.clientCredentials(ctx, md)
	case device:
		return l.deviceGrant(ctx, md)
	default:
		return l.authorizationCode(ctx, md)
	}
}

func (l *login) metadata(ctx context.Context) (*providerMetadata, error) {
	if l.md == nil {
		md, err := discover(ctx, l.client, l.cfg.IssuerBaseURL)
		if err != nil {
			return nil, err
		}
		l.md = md
	}
	return l.md, nil
}

// oauthConfig returns the x/oauth2 configuration for the user grants.
func (l *login) oauthConfig(md *providerMetadata, redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     l.cfg.ClientID,
		ClientSecret: l.cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:       md.AuthorizationEndpoint,
			TokenURL:      md.TokenEndpoint,
			DeviceAuthURL: md.DeviceAuthorizationEndpoint,
			AuthStyle:     l.authStyle(md),
		},
		RedirectURL: redirect,
		Scopes:      l.cfg.Scopes,
	}
}

// authStyle picks how the client authenticates: a public client sends its
// id in the form; a confidential one uses HTTP Basic unless the provider
// lists only client_secret_post.
func (l *login) authStyle(md *providerMetadata) oauth2.AuthStyle {
	if l.cfg.ClientSecret == "" {
		return oauth2.AuthStyleInParams
	}
	basic := len(md.TokenEndpointAuthMethods) == 0
	for _, m := range md.TokenEndpointAuthMethods {
		if m == "client_secret_basic" {
			basic = true
		}
	}
	if basic {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

func (l *login) audienceOptions() []oauth2.AuthCodeOption {
	var opts []oauth2.AuthCodeOption
	for k, vs := range l.cfg.audienceParams() {
		opts = append(opts, oauth2.SetAuthURLParam(k, vs[0]))
	}
	return opts
}

func (l *login) clientCredentials(ctx context.Context, md *providerMetadata) (*oauth2.Token, error) {
	cc := clientcredentials.Config{
		ClientID:       l.cfg.ClientID,
		ClientSecret:   l.cfg.ClientSecret,
		TokenURL:       md.TokenEndpoint,
		Scopes:         l.cfg.Scopes,
		EndpointParams: l.cfg.audienceParams(),
		AuthStyle:      l.authStyle(md),
	}
	tok, err := cc.Token(ctx)
	if err != nil {
		return nil, oauthError("client credentials grant", err)
	}
	return tok, nil
}

func (l *login) deviceGrant(ctx context.Context, md *providerMetadata) (*oauth2.Token, error) {
	if md.DeviceAuthorizationEndpoint == "" {
		return nil, errors.New("the provider lists no device_authorization_endpoint: enable the device code grant for the application, or use the browser login (no -device)")
	}
	cfg := l.oauthConfig(md, "")
	da, err := cfg.DeviceAuth(ctx, l.audienceOptions()...)
	if err != nil {
		return nil, oauthError("device authorization request", err)
	}
	w := l.env.stderr
	fmt.Fprintf(w, "To sign in, visit %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "or open %s\n", da.VerificationURIComplete)
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(w, "The code expires at %s. Waiting…\n", da.Expiry.UTC().Format(time.RFC3339))
	}
	tok, err := cfg.DeviceAccessToken(ctx, da, l.audienceOptions()...)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, errors.New("device login: gave up waiting for the sign-in (see -timeout)")
		}
		return nil, oauthError("device login", err)
	}
	return tok, nil
}

// callbackResult is what the loopback redirect brought.
type callbackResult struct {
	code string
	err  error
}

func (l *login) authorizationCode(ctx context.Context, md *providerMetadata) (*oauth2.Token, error) {
	if md.AuthorizationEndpoint == "" {
		return nil, errors.New("the provider lists no authorization_endpoint: use -device or -client-credentials")
	}
	// RFC 8252 §7.3: a loopback IP literal and a port chosen now, unless
	// a fixed redirect is configured.
	addr, path, redirect := "127.0.0.1:0", callbackPath, ""
	if l.cfg.RedirectURI != "" {
		addr, path, _ = loopbackRedirect(l.cfg.RedirectURI)
		redirect = l.cfg.RedirectURI
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loopback redirect: %w", err)
	}
	if redirect == "" {
		redirect = "http://" + ln.Addr().String() + callbackPath
	}
	cfg := l.oauthConfig(md, redirect)
	state := randomString()
	verifier := oauth2.GenerateVerifier()
	opts := append(l.audienceOptions(), oauth2.S256ChallengeOption(verifier))
	authURL := cfg.AuthCodeURL(state, opts...)

	results := make(chan callbackResult, 1)
	srv := &http.Server{
		Handler:           l.callbackHandler(md, state, path, results),
		ReadHeaderTimeout: callbackReadHeader,
	}
	go srv.Serve(ln)
	defer srv.Close()

	fmt.Fprintf(l.env.stderr, "To sign in, open this URL in a browser on this machine:\n\n  %s\n\n", authURL)
	if !l.noBrowser {
		if err := openBrowser(authURL); err != nil {
			fmt.Fprintf(l.env.stderr, "(could not open a browser: %v)\n", err)
		}
	}
	fmt.Fprintln(l.env.stderr, "Waiting for the provider to redirect to "+redirect+" …")
	var res callbackResult
	select {
	case res = <-results:
	case <-ctx.Done():
		return nil, errors.New("browser login: gave up waiting for the redirect (see -timeout)")
	}
	if res.err != nil {
		return nil, res.err
	}
	tok, err := cfg.Exchange(ctx, res.code, append(l.audienceOptions(), oauth2.VerifierOption(verifier))...)
	if err != nil {
		return nil, oauthError("authorization code exchange", err)
	}
	return tok, nil
}

// callbackHandler answers the one redirect of the authorization code
// grant: it checks state (and iss, RFC 9207) and hands the code over.
func (l *login) callbackHandler(md *providerMetadata, state, path string, results chan<- callbackResult) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var res callbackResult
		switch {
		case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1:
			// Not ours (a stale tab, or a forged request): keep waiting.
			writeCallbackPage(w, http.StatusBadRequest, "This sign-in response does not belong to the running taskapi login (state mismatch). Start again.")
			return
		case q.Get("iss") != "" && q.Get("iss") != md.Issuer:
			res.err = fmt.Errorf("browser login: the redirect came from issuer %q, not %q (mix-up attack?)", truncate(q.Get("iss"), 80), md.Issuer)
		case q.Get("error") != "":
			res.err = oauthError("browser login", &oauth2.RetrieveError{ErrorCode: q.Get("error"), ErrorDescription: q.Get("error_description")})
		case q.Get("code") == "":
			res.err = errors.New("browser login: the redirect carried neither a code nor an error")
		default:
			res.code = q.Get("code")
		}
		if res.err != nil {
			writeCallbackPage(w, http.StatusBadRequest, "Sign-in failed: "+res.err.Error())
		} else {
			writeCallbackPage(w, http.StatusOK, "Signed in. You can close this window and return to the terminal.")
		}
		select {
		case results <- res:
		default: // a second redirect: the first one counts
		}
	})
}

// loopbackRedirect checks a configured redirect URI: http, a loopback
// host (localhost, 127.0.0.1 or [::1]) and an explicit port. It returns
// the address to listen on and the path to answer.
func loopbackRedirect(raw string) (addr, path string, err error) {
	u, err := url.Parse(raw)
	bad := fmt.Errorf("LOGIN_REDIRECT_URI=%q: want http://localhost:PORT/PATH, http://127.0.0.1:PORT/PATH or http://[::1]:PORT/PATH", truncate(raw, 80))
	if err != nil || u.Scheme != "http" || u.Port() == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", bad
	}
	host := u.Hostname()
	switch host {
	case "localhost", "127.0.0.1":
		host = "127.0.0.1"
	case "::1":
	default:
		return "", "", bad
	}
	path = u.Path
	if path == "" {
		path = "/"
	}
	return net.JoinHostPort(host, u.Port()), path, nil
}

func writeCallbackPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>taskapi login</title><p>%s</p>\n", html.EscapeString(msg))
}

func (l *login) refresh(ctx context.Context, saved *savedToken) (*oauth2.Token, error) {
	md, err := l.metadata(ctx)
	if err != nil {
		return nil, err
	}
	old := saved.token()
	old.Expiry = time.Unix(1, 0) // force the refresh
	tok, err := l.oauthConfig(md, "").TokenSource(ctx, old).Token()
	if err != nil {
		return nil, oauthError("refresh", err)
	}
	return tok, nil
}

// oauthMessages explains the OAuth error codes (RFC 6749 §5.2, RFC 8628
// §3.5, RFC 8707 §2) in terms of what to do.
var oauthMessages = map[string]string{
	"access_denied":           "the sign-in was refused (the user declined, or the application may not use this API)",
	"expired_token":           "the device code expired before the sign-in was completed: run taskapi login again",
	"invalid_client":          "the provider did not accept the client: check CLIENT_ID and CLIENT_SECRET",
	"invalid_grant":           "the provider refused the grant (code, device code or refresh token invalid, expired or already used)",
	"unauthorized_client":     "this application may not use this grant: enable it for the application at the provider",
	"unsupported_grant_type":  "the provider does not support this grant",
	"invalid_scope":           "a requested scope is unknown or not allowed: check LOGIN_SCOPES or -scope",
	"invalid_target":          "the provider does not know the requested resource: check LOGIN_AUDIENCE and LOGIN_AUDIENCE_PARAM",
	"invalid_request":         "the provider rejected the request as malformed",
	"server_error":            "the provider had an internal error; try again",
	"temporarily_unavailable": "the provider is temporarily unavailable; try again",
}

// oauthError turns an OAuth error response into a message that names the
// error code, the provider's description and what to do.
func oauthError(step string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode == "" {
		if errors.As(err, &re) && re.Response != nil {
			return fmt.Errorf("%s: the token endpoint answered %s", step, re.Response.Status)
		}
		return fmt.Errorf("%s: %w", step, err)
	}
	msg := step + ": " + printableText(re.ErrorCode, 60)
	if re.ErrorDescription != "" {
		msg += " (" + printableText(re.ErrorDescription, 200) + ")"
	}
	if hint, ok := oauthMessages[re.ErrorCode]; ok {
		msg += ": " + hint
	}
	return &loginError{msg: msg, Code: re.ErrorCode}
}

// loginError is an OAuth error response, with its code.
type loginError struct {
	msg  string
	Code string
}

func (e *loginError) Error() string { return e.msg }

// printableText keeps the printable characters of s, at most n bytes: a
// provider's text is shown in a terminal.
func printableText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return truncate(s, n)
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func defaultOpenBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no graphical display")
		}
		if _, err := exec.LookPath("xdg-open"); err != nil {
			return errors.New("xdg-open not found")
		}
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// savedToken is the token file: the token and what it was obtained for.
type savedToken struct {
	Issuer       string    `json:"issuer_base_url"`
	Audience     string    `json:"audience"`
	ClientID     string    `json:"client_id"`
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	Scope        string    `json:"scope,omitempty"`
}

func (s *savedToken) matches(c loginConfig) bool {
	return s.Issuer == c.IssuerBaseURL && s.Audience == c.Audience && s.ClientID == c.ClientID
}

// valid reports whether the access token is usable for at least
// tokenReuseMargin more.
func (s *savedToken) valid(now time.Time) bool {
	return s.AccessToken != "" && !s.Expiry.IsZero() && now.Add(tokenReuseMargin).Before(s.Expiry)
}

func (s *savedToken) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: s.AccessToken, TokenType: s.TokenType, RefreshToken: s.RefreshToken, Expiry: s.Expiry}
}

// readSavedToken reads the token file; a missing file gives nil, nil.
func readSavedToken(path string) (*savedToken, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var s savedToken
	if err := json.NewDecoder(io.LimitReader(f, maxTokenFileBytes)).Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// save writes tok to the token file, mode 0600, atomically. A refresh
// that returned no new refresh token keeps the old one.
func (l *login) save(tok *oauth2.Token) error {
	s := savedToken{
		Issuer:       l.cfg.IssuerBaseURL,
		Audience:     l.cfg.Audience,
		ClientID:     l.cfg.ClientID,
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		RefreshToken: tok.RefreshToken,
		Expiry:       tok.Expiry,
	}
	if sc, ok := tok.Extra("scope").(string); ok {
		s.Scope = sc
	}
	if s.RefreshToken == "" {
		if old, err := readSavedToken(l.cfg.TokenFile); err == nil && old != nil && old.matches(l.cfg) {
			s.RefreshToken = old.RefreshToken
		}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(l.cfg.TokenFile, append(b, '\n'), 0o600)
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory (created 0700 when missing), with the given mode.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".token-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
