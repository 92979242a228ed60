package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/taskapi/taskapi/httpapi"
)

// Limits and defaults of taskapi login.
const (
	loginTimeout      = 5 * time.Minute
	loginHTTPTimeout  = 30 * time.Second
	defaultUserScopes = "openid offline_access read:tasks write:tasks delete:tasks"
)

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
	client := newLoginClient(lc.ClientSecret != "")
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
	} else if _, ok := namedIssuer(c.IssuerBaseURL); !ok {
		errs = append(errs, fmt.Errorf("ISSUER_BASE_URL=%q is a metadata URL that does not say which issuer it describes: set it to the issuer, e.g. https://YOUR_TENANT.us.auth0.com", truncate(c.IssuerBaseURL, 80)))
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

// namedIssuer returns the issuer a discovery base URL names: the URL
// itself or, for a well-known URL, the issuer it was built from (OpenID
// Connect Discovery §4, RFC 8414 §3.1), as the service's verifier reads
// it. ok is false for another well-known URL.
func namedIssuer(base string) (issuer string, ok bool) {
	u, err := url.Parse(base)
	if err != nil {
		return "", false
	}
	p := u.EscapedPath()
	if strings.Contains(p, "/.well-known/") {
		if rest, found := strings.CutSuffix(p, "/.well-known/openid-configuration"); found {
			p = rest
		} else if rest, found := strings.CutPrefix(p, "/.well-known/oauth-authorization-server"); found && (rest == "" || rest[0] == '/') {
			p = rest
		} else {
			return "", false
		}
	}
	return u.Scheme + "://" + u.Host + p, true
}

// checkMetadata refuses a discovered document that describes another
// issuer than ISSUER_BASE_URL names (RFC 8414 §3.3: identical, here
// trailing slash aside as httpapi.CanonicalIssuer has it), whose endpoints
// could collect the credentials, and, with a CLIENT_SECRET, a token
// endpoint that would get it over plain http.
func (l *login) checkMetadata(md *providerMetadata) error {
	want, _ := namedIssuer(l.cfg.IssuerBaseURL) // loadLoginConfig checked it
	if httpapi.CanonicalIssuer(md.Issuer) != httpapi.CanonicalIssuer(want) {
		return fmt.Errorf("the provider's metadata names the issuer %q, not %q (RFC 8414 §3.3): refusing to use its endpoints; check ISSUER_BASE_URL", printableText(md.Issuer, 80), want)
	}
	return l.checkSecretEndpoint("token_endpoint", md.TokenEndpoint)
}

// checkSecretEndpoint refuses an endpoint that CLIENT_SECRET would reach
// over plain http off loopback.
func (l *login) checkSecretEndpoint(name, endpoint string) error {
	if l.cfg.ClientSecret == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err == nil && secretMayGo(u) {
		return nil
	}
	return errSecretOverHTTP("the provider's "+name, endpoint)
}

// errSecretOverHTTP is the refusal to send CLIENT_SECRET to endpoint.
func errSecretOverHTTP(what, endpoint string) error {
	is := "is plain http"
	if !strings.HasPrefix(strings.ToLower(endpoint), "http:") {
		is = "is not an https URL"
	}
	return fmt.Errorf("%s %q %s: CLIENT_SECRET is sent over https only (or to a loopback address); refusing to send it", what, printableText(endpoint, 80), is)
}

// secretMayGo reports whether CLIENT_SECRET may be sent to u: https, or
// http to a loopback host (127.0.0.0/8, ::1, localhost), which no network
// sees.
func secretMayGo(u *url.URL) bool {
	switch {
	case u.Scheme == "https":
		return true
	case u.Scheme != "http":
		return false
	case strings.EqualFold(u.Hostname(), "localhost"):
		return true
	}
	ip, err := netip.ParseAddr(u.Hostname())
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
}

// newLoginClient returns the HTTP client of login. With a CLIENT_SECRET,
// it follows no redirect of a POST (a token or device request, whose form
// and Authorization header a 307 or 308 sends again) to where the secret
// may not go.
func newLoginClient(secret bool) *http.Client {
	c := &http.Client{Timeout: loginHTTPTimeout}
	if secret {
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if via[0].Method == http.MethodPost && !secretMayGo(req.URL) {
				return errSecretOverHTTP("the redirect to", req.URL.String())
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		}
	}
	return c
}
