package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/devissuer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/webapp"
)

// The development issuer and its defaults.
const (
	devAudience   = "task-manager-api"
	devKeyFile    = "taskapi-dev-key.pem"
	devIssuerAddr = "127.0.0.1:5001"
	devDemoUser   = "dev|demo-user"
	devScopes     = "read:tasks write:tasks delete:tasks"
	// devAppClientID is the browser application's client at the
	// development issuer; devCLIClientID is taskapi login's (CLIENT_ID).
	devAppClientID = "taskapi-web"
	devCLIClientID = "taskapi-cli"
)

const devNote = `The development signing key is ` + devKeyFile + ` beside the SQLite file (in
the working directory with PostgreSQL). ISSUER_BASE_URL, ISSUERS and AUDIENCE
are ignored: dev uses its own issuer and the audience ` + devAudience + `.
`

func runDev(ctx context.Context, env *environment, args []string) error {
	flags := newFlagSet(env, "dev", "dev [-addr HOST:PORT] [-issuer-addr HOST:PORT] [-user SUB]", devNote)
	addr := flags.String("addr", "", "API listen address, loopback only (default 127.0.0.1:$PORT)")
	issuerAddr := flags.String("issuer-addr", devIssuerAddr, "development issuer address; loopback only")
	user := flags.String("user", devDemoUser, "the demo user: seeded, and the subject of the printed token")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env.getenv)
	if err != nil {
		return err
	}
	if err := checkSubject(*user); err != nil {
		return fmt.Errorf("-user %q: %w", truncate(*user, 60), err)
	}
	if *addr == "" {
		*addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
	}
	if err := devissuer.CheckLoopback(*addr); err != nil {
		return fmt.Errorf("-addr %s: dev serves on loopback only; use taskapi serve with a real issuer to serve a network", *addr)
	}
	if err := devissuer.CheckLoopback(*issuerAddr); err != nil {
		return err
	}
	log := newLogger(cfg, env.stderr)
	if cfg.Bearer.IssuerBaseURL != "" || len(cfg.Bearer.Issuers.URLs) > 0 || len(cfg.Bearer.Audience) > 0 {
		log.Warn("dev ignores ISSUER_BASE_URL, ISSUERS and AUDIENCE: it verifies tokens of its own development issuer; use taskapi serve for a real provider")
	}

	key, err := devissuer.LoadOrCreateKey(devKeyPath(cfg.Database))
	if err != nil {
		return err
	}
	// The API's socket comes first: the issuer registers the browser
	// application's redirect URIs on its port.
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("%w (is the port taken? set PORT or -addr)", err)
	}
	defer l.Close()
	iss := devissuer.New(key, devissuer.WithAudience(devAudience), devissuer.WithLogger(log), devissuer.WithDefaultSubject(*user),
		devissuer.WithClient(devAppClient(l.Addr())), devissuer.WithClient(devissuer.Client{ID: devCLIClientID, LoopbackRedirectPath: callbackPath}))
	if err := iss.Start(*issuerAddr); err != nil {
		return fmt.Errorf("%w (is another taskapi dev running? choose another address with -issuer-addr)", err)
	}
	defer iss.Close()
	cfg.App = webapp.Config{Issuer: iss.URL(), ClientID: devAppClientID, Audience: devAudience}

	// The development issuer replaces the configured ones; the DPoP and
	// mTLS modes are kept, to try them locally.
	cfg.Bearer = bearer.Config{IssuerBaseURL: iss.URL(), Audience: []string{devAudience}, TrustedProxies: cfg.TrustedProxies,
		DPoP: cfg.Bearer.DPoP, MTLS: cfg.Bearer.MTLS}
	api, err := openAPI(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer api.Close()
	if _, err := seedUser(ctx, api.store, httpapi.CanonicalIssuer(iss.URL()), *user, time.Now()); err != nil {
		return fmt.Errorf("seed %s: %w", *user, err)
	}
	tok, err := iss.Token(devissuer.TokenRequest{Subject: *user, Scope: devScopes})
	if err != nil {
		return err
	}
	log.Warn("DEVELOPMENT MODE: tokens are minted without any login from the local key file; never use dev mode in production", "api", l.Addr().String(), "issuer", iss.Issuer(), "database", cfg.Database.String())
	printDevBanner(env, apiURL(l.Addr()), iss.Issuer(), *user, tok, *issuerAddr)
	return serveHTTP(ctx, log, l, nil, api.handler, api.drain, 0)
}

// devAppClient registers the browser application served on api with the
// development issuer: its callback and landing page, on the bound address
// and, for 127.0.0.1, on localhost too.
func devAppClient(api net.Addr) devissuer.Client {
	c := devissuer.Client{ID: devAppClientID}
	bases := []string{"http://" + api.String()}
	if _, port, err := net.SplitHostPort(api.String()); err == nil {
		bases = append(bases, "http://"+net.JoinHostPort("localhost", port))
	}
	for _, b := range bases {
		c.RedirectURIs = append(c.RedirectURIs, b+webapp.CallbackPath)
		c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, b+"/")
	}
	return c
}

// apiURL is the base URL of the API listening on a, with "localhost" for
// 127.0.0.1 as people type it.
func apiURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if host == "127.0.0.1" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func printDevBanner(env *environment, api, issuer, user, token, issuerAddr string) {
	w := env.stdout
	fmt.Fprintf(w, "\nTask Manager API (development mode) on %s\n", api)
	fmt.Fprintf(w, "The browser application: open %s/ and sign in as any user (default %s)\n", api, user)
	fmt.Fprintf(w, "Development token issuer on %s (loopback only, for development only)\n\n", issuer)
	fmt.Fprintf(w, "Access token for %s (scopes %s; expires %s):\n\n%s\n\n", user, devScopes,
		time.Now().Add(devissuer.DefaultTTL).UTC().Format(time.RFC3339), token)
	fmt.Fprintf(w, "Try it:\n\n")
	fmt.Fprintf(w, "curl -H \"Authorization: Bearer %s\" %s/tasks\n\n", token, api)
	more := "taskapi token -sub 'SUB' -scope 'read:tasks'"
	if issuerAddr != devIssuerAddr {
		more += " -issuer-addr " + issuerAddr
	}
	fmt.Fprintf(w, "More tokens: %s\nStop with Ctrl-C.\n", more)
}
