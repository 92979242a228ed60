// Package webapp is the browser application of the Task Manager API: a
// single-page application in plain JavaScript modules (no framework, no
// build step), embedded in the binary and served beside the API.
//
// It signs the user in with the authorization code flow and PKCE (S256)
// against the configured OpenID provider, straight from the browser,
// keeps the access token in memory only, and calls the API of the same
// origin with it. The server side here only serves the files, under a
// strict Content-Security-Policy, and the application's public settings.
//
// Paths: GET / (the application), GET /app/callback (the redirect URI,
// the same page), GET /app/config.json (the settings) and GET /app/FILE
// (scripts, style, icon). The API has no route at / or under /app/.
package webapp

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
)

// Paths of the application.
const (
	// CallbackPath is the redirect URI's path: register
	// ORIGIN/app/callback with the provider.
	CallbackPath = "/app/callback"
	// ConfigPath serves Config as JSON.
	ConfigPath = "/app/config.json"
	// filesPrefix is where the static files are.
	filesPrefix = "/app/"
)

// DefaultScope is the scope the application asks for when Config gives
// none.
const DefaultScope = "openid profile email read:tasks write:tasks delete:tasks"

//go:embed static
var static embed.FS

// Config is what the application needs to sign users in; all of it is
// public (it is served to every browser as GET /app/config.json).
type Config struct {
	// Issuer is the provider's URL, where discovery starts
	// (/.well-known/openid-configuration), e.g.
	// https://YOUR_TENANT.us.auth0.com. Its origin is the one other than
	// the application's that scripts may connect to (CSP connect-src): the
	// discovery document and the token endpoint must be there.
	Issuer string `json:"issuer"`
	// ClientID is the application's client id at the provider (a Single
	// Page Application, a public client: there is no secret).
	ClientID string `json:"client_id"`
	// Audience is sent as the audience parameter (Auth0's way of choosing
	// the API a token is for); empty sends none.
	Audience string `json:"audience,omitempty"`
	// Scope is requested (DefaultScope when empty). It must hold openid:
	// the ID token's nonce is checked.
	Scope string `json:"scope"`
}

// App serves the application. Its zero value is not usable: use New.
type App struct {
	files  map[string]file // by request path
	config []byte
	csp    string
}

type file struct {
	body  []byte
	ctype string
	etag  string
}

// New checks cfg and returns the application's handler.
func New(cfg Config) (*App, error) {
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	var errs []error
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("webapp: no client id"))
	}
	origin, err := issuerOrigin(cfg.Issuer)
	if err != nil {
		errs = append(errs, err)
	}
	if !slices.Contains(strings.Fields(cfg.Scope), "openid") {
		errs = append(errs, fmt.Errorf("webapp: scope %q lacks openid (the ID token's nonce is checked)", cfg.Scope))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	conf, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	a := &App{files: map[string]file{}, config: conf,
		csp: "default-src 'self'; connect-src 'self' " + origin + "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"}
	err = fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if strings.HasSuffix(p, ".js") {
			ctype = "text/javascript; charset=utf-8"
		}
		a.files[filesPrefix+strings.TrimPrefix(p, "static/")] = file{b, ctype, `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	index := a.files[filesPrefix+"index.html"]
	a.files["/"] = index
	a.files[CallbackPath] = index
	delete(a.files, filesPrefix+"index.html")
	return a, nil
}

// issuerOrigin returns the origin of an http(s) issuer URL.
func issuerOrigin(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		strings.ContainsAny(u.Host, " ;'\"") {
		return "", fmt.Errorf("webapp: issuer %q is not an http(s) URL such as https://YOUR_TENANT.us.auth0.com", issuer)
	}
	return u.Scheme + "://" + u.Host, nil
}

// ServeHTTP answers GET and HEAD of the application's paths, 404 others.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", a.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == ConfigPath {
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.Write(a.config)
		return
	}
	f, ok := a.files[r.URL.Path]
	if !ok {
		h.Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	// Revalidated on every load, so that a new release is picked up at once.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("Content-Type", f.ctype)
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(f.body)
}

// Wrap returns a handler that serves the application at GET / and under
// /app/, and passes every other request to api.
// A name under /app/ that the application has no file for, /app and
// /app/ are the API's: its JSON 404.
func (a *App) Wrap(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle("GET /{$}", a)
	mux.HandleFunc("GET /app/{file}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := a.files[r.URL.Path]; ok || r.URL.Path == ConfigPath {
			a.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
	return mux
}
