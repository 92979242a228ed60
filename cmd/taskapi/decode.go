package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/httpapi"
)

// decodeTimeout bounds the discovery and key fetches of taskapi decode.
const decodeTimeout = 15 * time.Second

// errRejected reports that the service would refuse the token; the reason
// has been printed.
var errRejected = errors.New("the service would reject this token")

func runDecode(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "decode", "decode [-unverified] TOKEN|-", "")
	unverified := fs.Bool("unverified", false, "only decode: do not check the token against the configuration")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.stderr, "taskapi decode: want exactly one token (or - to read it from standard input)")
		fs.Usage()
		return errUsage
	}
	raw := fs.Arg(0)
	if raw == "-" {
		line, err := bufio.NewReader(io.LimitReader(env.stdin, bearer.DefaultMaxTokenBytes+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		raw = line
	}
	token := strings.TrimSpace(raw)
	token = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(token, "Bearer "), "bearer "))
	header, payload, err := decodeJWT(token)
	if err != nil {
		return err
	}
	w := env.stdout
	fmt.Fprintln(w, "Header (unverified):")
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, "Claims (unverified):")
	fmt.Fprintln(w, payload)
	var claims map[string]any
	json.Unmarshal([]byte(payload), &claims) // decodeJWT checked it is an object
	describeTimes(w, claims, time.Now())

	if *unverified {
		fmt.Fprintln(w, "\nVerification: not done (-unverified). Nothing above is verified.")
		return nil
	}
	cfg, err := loadConfig(env.getenv)
	if err != nil {
		return err
	}
	if err := cfg.checkAuth(); err != nil {
		fmt.Fprintf(w, "\nVerification: not done, the configuration is incomplete. Nothing above is verified.\n%v\n", err)
		return nil
	}
	bcfg, profile := cfg.Bearer, cfg.Profile
	v, err := bearer.New(bcfg)
	if err != nil {
		return fmt.Errorf("token verification: %w", err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(ctx, decodeTimeout)
	defer cancel()
	fmt.Fprintf(w, "\nVerification against ISSUER_BASE_URL=%q AUDIENCE=%q", bcfg.IssuerBaseURL, strings.Join(bcfg.Audience, ","))
	if bcfg.Issuer != "" {
		fmt.Fprintf(w, " ISSUER=%q", bcfg.Issuer)
	}
	if profile.AudienceClaim != "" {
		fmt.Fprintf(w, " AUDIENCE_CLAIM=%q", profile.AudienceClaim)
	}
	fmt.Fprintln(w, ":")
	c, err := v.Verify(ctx, token)
	if err != nil {
		var e *bearer.Error
		if !errors.As(err, &e) {
			return err
		}
		code := e.Code
		if code == "" {
			code = "ERR_AUTH"
		}
		fmt.Fprintf(w, "  REJECTED: the service would answer %d %s: %s\n", e.Status, code, printableText(e.Message, 300))
		if hint := rejectionHint(e.Message, claims, bcfg, profile); hint != "" {
			fmt.Fprintf(w, "  why: %s\n", hint)
		}
		return errRejected
	}
	c = profile.Normalize(c)
	fmt.Fprintf(w, "  ACCEPTED: signature, issuer, audience and lifetime check out (verified).\n")
	fmt.Fprintf(w, "  user id (sub): %q\n", c.Subject())
	scopes, perms := c.Scopes(), c.Permissions()
	fmt.Fprintf(w, "  scopes: %s", listOrNone(scopes))
	if len(profile.ScopeClaims) > 0 {
		fmt.Fprintf(w, " (from %s)", strings.Join(profile.ScopeClaims, ", "))
	}
	fmt.Fprintf(w, "\n  permissions: %s\n", listOrNone(perms))
	if c.Subject() == "" {
		fmt.Fprintln(w, "  note: no \"sub\" claim: the API answers 401 on every task route (it keys data by sub)")
	}
	if !cfg.RequireScopes {
		fmt.Fprintln(w, "  scopes are not enforced (REQUIRE_SCOPES is off): every task route is allowed")
		return nil
	}
	rejected := false
	for _, s := range []struct{ scope, routes string }{
		{httpapi.ScopeRead, "GET routes"},
		{httpapi.ScopeWrite, "POST/PUT/PATCH routes"},
		{httpapi.ScopeDelete, "DELETE routes"},
	} {
		ok := slices.Contains(scopes, s.scope) || slices.Contains(perms, s.scope)
		verdict := "allowed"
		if !ok {
			verdict, rejected = "403 insufficient_scope", true
		}
		fmt.Fprintf(w, "  %-13s %-22s %s\n", s.scope, s.routes, verdict)
	}
	if rejected && len(scopes) == 0 && len(perms) == 0 {
		return errRejected
	}
	return nil
}

// decodeJWT splits a compact JWS and returns its header and payload as
// indented JSON, refusing anything that is not one.
func decodeJWT(token string) (header, payload string, err error) {
	if token == "" {
		return "", "", errors.New("no token given")
	}
	if len(token) > bearer.DefaultMaxTokenBytes {
		return "", "", fmt.Errorf("the token is %d bytes, over the %d the service accepts", len(token), bearer.DefaultMaxTokenBytes)
	}
	parts := strings.Split(token, ".")
	switch len(parts) {
	case 3:
	case 5:
		return "", "", errors.New("this is an encrypted token (JWE): only the provider and the intended recipient can read it; ask the provider for a signed JWT access token")
	default:
		if len(parts) == 1 {
			return "", "", errors.New("this is not a JWT (no dots): probably an opaque access token, which the service cannot verify. Ask for the token with the API's audience (LOGIN_AUDIENCE_PARAM, see README)")
		}
		return "", "", fmt.Errorf("this is not a JWT (%d dot-separated parts, want 3): probably an opaque access token, which the service cannot verify", len(parts))
	}
	for i, name := range []string{"header", "claims"} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return "", "", fmt.Errorf("the %s is not base64url: %v", name, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
			return "", "", fmt.Errorf("the %s is not a JSON object", name)
		}
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil {
			return "", "", err
		}
		if i == 0 {
			header = out.String()
		} else {
			payload = out.String()
		}
	}
	return header, payload, nil
}

// describeTimes prints iat, nbf and exp as dates relative to now.
func describeTimes(w io.Writer, claims map[string]any, now time.Time) {
	for _, name := range []string{"iat", "nbf", "exp"} {
		f, ok := claims[name].(float64)
		if !ok {
			continue
		}
		t := time.Unix(int64(f), 0).UTC()
		d := t.Sub(now).Round(time.Second)
		rel := "in " + d.String()
		if d < 0 {
			rel = (-d).String() + " ago"
		}
		fmt.Fprintf(w, "%s: %s (%s)\n", name, t.Format(time.RFC3339), rel)
	}
}

// rejectionHint explains a verifier message with the token's claims and
// the configuration.
func rejectionHint(msg string, claims map[string]any, cfg bearer.Config, p bearer.Profile) string {
	show := func(v any) string { b, _ := json.Marshal(v); return truncate(string(b), 200) }
	switch {
	case msg == "Unexpected 'aud' value":
		return fmt.Sprintf("the token's aud is %s; AUDIENCE is %s. Ask the provider for a token of this audience (taskapi login sends LOGIN_AUDIENCE), or fix AUDIENCE. A Cognito access token has no aud: set AUDIENCE_CLAIM=client_id", show(claims["aud"]), show(cfg.Audience))
	case p.AudienceClaim != "" && msg == "Unexpected '"+p.AudienceClaim+"' value":
		return fmt.Sprintf("the token's %s is %s; AUDIENCE is %s", p.AudienceClaim, show(claims[p.AudienceClaim]), show(cfg.Audience))
	case msg == "Unexpected 'client_id' value" && len(p.ClientIDs) > 0:
		return fmt.Sprintf("the token was issued to a client not in ALLOWED_CLIENT_IDS %s", show(p.ClientIDs))
	case msg == "Unexpected 'iss' value":
		want := cfg.Issuer
		if want == "" {
			want = "the issuer in the discovery document of " + cfg.IssuerBaseURL
		}
		return fmt.Sprintf("the token's iss is %s; the service wants %s (an exact match, trailing slash included; Entra ID v1 tokens need ISSUER=https://sts.windows.net/<tenant>/)", show(claims["iss"]), want)
	case strings.HasPrefix(msg, `"exp" claim timestamp`):
		return "the token has expired: get a new one (taskapi login)"
	case strings.HasPrefix(msg, `"nbf" claim timestamp`):
		return "the token is not valid yet: check the clocks"
	case msg == "signature verification failed":
		return "the signature does not match the provider's key for this kid: the token was altered, or signed by another provider"
	case strings.Contains(msg, "no applicable key"):
		return "no key of the provider's key set matches the token's kid: it comes from another provider or tenant, or the key was retired"
	case strings.Contains(msg, "authorization server metadata") || strings.Contains(msg, "JSON Web Key Set"):
		return "the provider's discovery document or keys could not be fetched: check ISSUER_BASE_URL and the network"
	case strings.HasPrefix(msg, "Unsupported algorithm"):
		return "the token is not signed with an algorithm the service accepts (HS256 tokens need SECRET and TOKEN_SIGNING_ALG)"
	}
	return ""
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, " ")
}
