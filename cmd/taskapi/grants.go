package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Limits of the grants.
const (
	maxDiscoveryBytes  = 1 << 20
	callbackPath       = "/callback"
	callbackReadHeader = 10 * time.Second
)

// openBrowser opens url in the user's browser; tests replace it.
var openBrowser = defaultOpenBrowser

// providerMetadata is the part of the discovery document login uses.
type providerMetadata struct {
	Issuer                      string   `json:"issuer"`
	AuthorizationEndpoint       string   `json:"authorization_endpoint"`
	TokenEndpoint               string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
	TokenEndpointAuthMethods    []string `json:"token_endpoint_auth_methods_supported"`
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

func (l *login) metadata(ctx context.Context) (*providerMetadata, error) {
	if l.md == nil {
		md, err := discover(ctx, l.client, l.cfg.IssuerBaseURL)
		if err == nil {
			err = l.checkMetadata(md)
		}
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
	if len(md.TokenEndpointAuthMethods) == 0 || slices.Contains(md.TokenEndpointAuthMethods, "client_secret_basic") {
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
	if err := l.checkSecretEndpoint("device_authorization_endpoint", md.DeviceAuthorizationEndpoint); err != nil {
		return nil, err
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
	state := rand.Text()
	verifier := oauth2.GenerateVerifier()
	opts := append(l.audienceOptions(), oauth2.S256ChallengeOption(verifier))
	authURL := cfg.AuthCodeURL(state, opts...)

	results := make(chan callbackResult, 1)
	srv := &http.Server{
		Handler:           l.callbackHandler(md, state, path, results),
		ReadHeaderTimeout: callbackReadHeader,
	}
	go srv.Serve(ln)
	defer func() {
		// Let the browser have the page the handler wrote before the
		// listener goes away (an error returns at once).
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}()

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
		http.NewResponseController(w).Flush()
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
	return errors.New(msg)
}

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
