package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/taskapi/taskapi/devissuer"
)

func runToken(ctx context.Context, env *environment, args []string) error {
	flags := newFlagSet(env, "token", "token [-sub SUB] [-scope SCOPES] [-ttl DURATION] [-aud AUDIENCE]",
		"The development key is "+devKeyFile+" beside the SQLite file (in the working\ndirectory with PostgreSQL).\n")
	sub := flags.String("sub", devDemoUser, "the token's subject (user id)")
	scope := flags.String("scope", devScopes, "space-separated scopes (\"\" for none)")
	ttl := flags.Duration("ttl", devissuer.DefaultTTL, "lifetime of the token, e.g. 15m or 2h")
	aud := flags.String("aud", devAudience, "audience(s), comma-separated")
	issuerAddr := flags.String("issuer-addr", devIssuerAddr, "address of the development issuer (as given to taskapi dev)")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *ttl <= 0 || *ttl > devissuer.MaxTTL {
		return fmt.Errorf("-ttl %v: want a duration above 0 and at most %v", *ttl, devissuer.MaxTTL)
	}
	if err := checkSubject(*sub); err != nil {
		return fmt.Errorf("-sub %q: %w", truncate(*sub, 60), err)
	}
	audience := splitCommas(*aud)
	if len(audience) == 0 {
		return errors.New("-aud: no audience given")
	}
	if err := devissuer.CheckLoopback(*issuerAddr); err != nil {
		return err
	}
	cfg, err := readConfig(env.getenv, "token")
	if err != nil {
		return err
	}
	keyPath := devKeyPath(cfg.Database)
	b, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no development signing key at %s: run `taskapi dev` once in this directory (with the same DATABASE_URL) first", keyPath)
	}
	if err != nil {
		return err
	}
	key, err := devissuer.ParseKey(b)
	if err != nil {
		return fmt.Errorf("development key %s: %w", keyPath, err)
	}
	iss := devissuer.New(key, devissuer.WithURL(issuerURL(*issuerAddr)))
	tok, err := iss.Token(devissuer.TokenRequest{Subject: *sub, Audience: audience, Scope: *scope, TTL: *ttl})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(env.stdout, tok)
	return err
}

// devKeyPath is where the development signing key lives, so that tokens
// survive a restart of taskapi dev: beside the SQLite file, or in the
// working directory with PostgreSQL.
func devKeyPath(db database) string {
	if db.URL != "" {
		return devKeyFile
	}
	return filepath.Join(filepath.Dir(db.Path), devKeyFile)
}

// issuerURL is the URL the development issuer has when bound to addr (a
// loopback host:port): "localhost" is bound as 127.0.0.1.
func issuerURL(addr string) string {
	if h, p, err := net.SplitHostPort(addr); err == nil && h == "localhost" {
		addr = net.JoinHostPort("127.0.0.1", p)
	}
	return "http://" + addr
}
