package interop

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/sqlite"
)

// Fixtures of interop/provider/server.js.
const (
	apiAudience   = "task-manager-api"
	apiResource   = "urn:task-manager-api"
	otherResource = "urn:other-api"
	m2mClient     = "taskapi-m2m"
	m2mSecret     = "taskapi-m2m-secret"
	otherClient   = "other-m2m"
	otherSecret   = "other-m2m-secret"
	cliClient     = "taskapi-cli"
)

// startBound is an upper bound on the provider's start (node is slow to
// start on a busy machine); it is not a timing assumption.
const startBound = 60 * time.Second

var providerDir = filepath.Join("provider")

// requireProvider skips the test when node or the installed provider is
// missing, and fails it instead when CI is set.
func requireProvider(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	why := ""
	switch {
	case err != nil:
		why = "node is not installed"
	default:
		if _, err := os.Stat(filepath.Join(providerDir, "node_modules", "oidc-provider")); err != nil {
			why = "the provider is not installed: run npm ci --prefix interop/provider"
		}
	}
	if why == "" {
		return node
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("INTEROP NOT RUN under CI: %s", why)
	}
	t.Skipf("SKIPPING the interoperability test against a real OpenID provider: %s", why)
	return ""
}

// provider is one run of server.js.
type provider struct {
	Issuer string
	Port   int
	cmd    *exec.Cmd
	done   chan struct{}
	stderr *lockedBuffer
}

// startProvider starts server.js on port (0: any free port) and stops it
// when the test ends.
func startProvider(t *testing.T, port int) *provider {
	t.Helper()
	node := requireProvider(t)
	p, err := launchProvider(node, port)
	if p != nil {
		t.Cleanup(p.stop)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// shared is the provider the tests that need no restart share, started
// once per process (node takes a second or more to start) and stopped by
// TestMain.
var shared struct {
	once sync.Once
	p    *provider
	err  error
}

func sharedProvider(t *testing.T) *provider {
	t.Helper()
	node := requireProvider(t)
	shared.once.Do(func() { shared.p, shared.err = launchProvider(node, 0) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.p
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.p != nil {
		shared.p.stop()
	}
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// launchProvider starts server.js with node on port. On an error after
// the start it returns the provider too, for the caller to stop.
func launchProvider(node string, port int) (*provider, error) {
	p, line, err := launchNode(node, providerDir, "server.js", "--port", strconv.Itoa(port))
	if err != nil {
		return p, err
	}
	var hello struct{ Issuer string }
	if json.Unmarshal([]byte(line), &hello) != nil || hello.Issuer == "" {
		return p, fmt.Errorf("provider did not start: %q\n%s", line, p.stderr.String())
	}
	p.Issuer = hello.Issuer
	u, _ := url.Parse(p.Issuer)
	p.Port, _ = strconv.Atoi(u.Port())
	return p, nil
}

// launchNode runs node with args in dir and returns the first line it
// prints on stdout (its address, as JSON). On an error after the start it
// returns the process too, for the caller to stop.
func launchNode(node, dir string, args ...string) (*provider, string, error) {
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	p := &provider{cmd: cmd, done: make(chan struct{}), stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start node %s: %w", args[0], err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			return p, "", fmt.Errorf("node %s did not start:\n%s", args[0], p.stderr.String())
		}
		return p, line, nil
	case <-time.After(startBound):
		return p, "", fmt.Errorf("node %s did not start within %v:\n%s", args[0], startBound, p.stderr.String())
	}
}

// stop ends the provider (our own child process) and waits for it.
func (p *provider) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// metadata returns the provider's discovery document.
func (p *provider) metadata(t *testing.T) map[string]any {
	t.Helper()
	var md map[string]any
	getJSON(t, p.Issuer+"/.well-known/openid-configuration", &md)
	return md
}

// clientCredentials gets an access token from the token endpoint with the
// client credentials grant; extra adds form parameters (resource, scope).
func (p *provider) clientCredentials(t *testing.T, id, secret string, extra url.Values) string {
	t.Helper()
	tok, status, body := p.tokenRequest(t, id, secret, extra)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("client credentials for %s: %d %s", id, status, body)
	}
	return tok
}

func (p *provider) tokenRequest(t *testing.T, id, secret string, extra url.Values) (token string, status int, body string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	for k, v := range extra {
		form[k] = v
	}
	tokenURL, _ := p.metadata(t)["token_endpoint"].(string)
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(b, &out)
	return out.AccessToken, resp.StatusCode, string(b)
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// service is the API as taskapi serve builds it: the real bearer
// middleware (with a provider profile) in front of httpapi on SQLite.
type service struct {
	URL      string
	verifier *bearer.Verifier
}

// startService starts the API for the provider at issuer; cfg may set
// more verifier options (Cooldown...), profile the provider profile.
func startService(t *testing.T, issuer string, cfg bearer.Config, profile bearer.Profile, requireScopes bool) *service {
	t.Helper()
	cfg.IssuerBaseURL = issuer
	cfg.ErrorHandler = httpapi.WriteAuthError
	if cfg.Audience == nil {
		cfg.Audience = []string{apiAudience}
	}
	if err := profile.Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	v, err := bearer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "taskapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h, err := httpapi.NewServer(httpapi.Config{
		Store:         store,
		Authenticate:  func(next http.Handler) http.Handler { return v.Authenticate(profile.MapScopes(next)) },
		RequireScopes: requireScopes,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &service{URL: srv.URL, verifier: v}
}

// response is a service answer.
type response struct {
	Status    int
	Challenge string
	Body      map[string]any
	Raw       string
}

// do sends method path with token (and a JSON body) to the service.
func (s *service) do(t *testing.T, method, path, token, body string) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.URL+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Challenge: resp.Header.Get("WWW-Authenticate"), Raw: string(b)}
	json.Unmarshal(b, &out.Body)
	return out
}

// browser is a user agent that fills in the provider's pages.
type browser struct {
	client *http.Client
	login  string
	// abort makes it press "abort" on the consent page instead of
	// accepting (a user who declines).
	abort bool
}

func newBrowser(t *testing.T, login string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{client: &http.Client{Jar: jar, Timeout: 30 * time.Second}, login: login}
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRE  = regexp.MustCompile(`(?is)([a-z_-]+)\s*=\s*"([^"]*)"`)
	abortRE = regexp.MustCompile(`(?is)<a\b[^>]*href="([^"]*/abort[^"]*)"`)
)

// signIn opens start and submits each page's form (the device code, the
// login, the consent) until a page without a form: the provider's final
// page, or the redirect target. It returns the last URL and page.
func (b *browser) signIn(t *testing.T, start string) (string, string) {
	t.Helper()
	resp, err := b.client.Get(start)
	if err != nil {
		t.Fatalf("GET %s: %v", start, err)
	}
	for range 12 {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		at := resp.Request.URL
		m := formRE.FindStringSubmatch(string(page))
		if m == nil {
			return at.String(), string(page)
		}
		if b.abort && strings.Contains(string(page), `value="consent"`) {
			if a := abortRE.FindStringSubmatch(string(page)); a != nil {
				resp, err = b.client.Get(resolve(at, html.UnescapeString(a[1])))
				if err != nil {
					t.Fatalf("abort: %v", err)
				}
				continue
			}
		}
		attrs := attributes(m[1])
		form := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			a := attributes(in[1])
			if a["name"] == "" {
				continue
			}
			form.Set(a["name"], a["value"])
		}
		if _, ok := form["login"]; ok {
			form.Set("login", b.login)
		}
		if _, ok := form["password"]; ok {
			form.Set("password", "any password")
		}
		action := resolve(at, attrs["action"])
		resp, err = b.client.PostForm(action, form)
		if err != nil {
			t.Fatalf("POST %s: %v", action, err)
		}
	}
	t.Fatal("the sign-in did not end after 12 pages")
	return "", ""
}

func attributes(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

func resolve(base *url.URL, ref string) string {
	if ref == "" {
		return base.String()
	}
	u, err := base.Parse(ref)
	if err != nil {
		return ref
	}
	return u.String()
}

// lockedBuffer collects output safely from another goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits (up to a generous bound) for re to match the buffer and
// returns its first submatch.
func (l *lockedBuffer) waitFor(t *testing.T, re *regexp.Regexp, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.After(startBound)
	for {
		if m := re.FindStringSubmatch(l.String()); m != nil {
			return m[1]
		}
		select {
		case <-exited:
			t.Fatalf("the command ended before printing %v:\n%s", re, l.String())
		case <-deadline:
			t.Fatalf("no %v within %v in:\n%s", re, startBound, l.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// kidOf returns the "kid" of a JWT's header, unverified.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	h, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var hdr struct{ Kid string }
	json.Unmarshal(b, &hdr)
	return hdr.Kid
}
