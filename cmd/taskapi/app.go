package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/taskapi/taskapi/webapp"
)

// parseAppClientID reads APP_CLIENT_ID, which turns the browser
// application on under serve.
func parseAppClientID(c *config, _, s string) error {
	c.App.ClientID = strings.TrimSpace(s)
	return nil
}

// parseAppIssuer reads APP_ISSUER_BASE_URL (default ISSUER_BASE_URL).
func parseAppIssuer(c *config, _, s string) error {
	c.App.Issuer = strings.TrimSpace(s)
	if c.App.Issuer == "" {
		c.App.Issuer = c.Bearer.IssuerBaseURL
	}
	return nil
}

// parseAppAudience reads APP_AUDIENCE (default the first AUDIENCE).
func parseAppAudience(c *config, _, s string) error {
	c.App.Audience = strings.TrimSpace(s)
	if c.App.Audience == "" && len(c.Bearer.Audience) > 0 {
		c.App.Audience = c.Bearer.Audience[0]
	}
	return nil
}

// parseAppScope reads APP_SCOPE, the last of the APP_ variables, and
// checks them together: with APP_CLIENT_ID, the issuer must be an https
// URL (http on loopback, or with ISSUER_ALLOW_HTTP) and the scope must
// hold openid.
func parseAppScope(c *config, _, s string) error {
	c.App.Scope = strings.Join(strings.Fields(s), " ")
	if c.App.ClientID == "" {
		return nil
	}
	if c.App.Issuer == "" {
		return errors.New("APP_CLIENT_ID is set but no issuer: set APP_ISSUER_BASE_URL (with ISSUERS) or ISSUER_BASE_URL")
	}
	u, err := url.Parse(c.App.Issuer)
	if err == nil && u.Scheme == "http" && !c.Bearer.AllowInsecureHTTP && !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("APP_ISSUER_BASE_URL=%q is plain http off loopback: use https (or ISSUER_ALLOW_HTTP=true for development)", truncate(c.App.Issuer, 80))
	}
	if _, err := webapp.New(c.App); err != nil {
		return fmt.Errorf("APP_ISSUER_BASE_URL, APP_SCOPE: %w", err)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
