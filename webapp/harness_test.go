package webapp_test

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/devissuer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/sqlite"
	"github.com/taskapi/taskapi/webapp"
)

// The browser tests drive the real application in headless Chromium (the
// system's: Debian's package "chromium", installed by .ci/run) against the
// API and the development issuer, both in this process on 127.0.0.1.

var updateScreenshot = flag.Bool("update-screenshot", false, "write the README's screenshot, docs/webapp.png")

const (
	audience    = "task-manager-api"
	appClientID = "taskapi-web"
	testUser    = "dev|browser-test"
	stepTimeout = 15 * time.Second
)

// requireTool stops a test that cannot run for why: it fails under CI and
// skips loudly elsewhere.
func requireTool(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("BROWSER TEST NOT RUN under CI: %s", why)
	}
	t.Skipf("SKIPPING the browser test (real Chromium): %s", why)
}

// chromiumPath finds the system's Chromium: $CHROMIUM_PATH, or chromium
// (Debian), chromium-browser or google-chrome on PATH.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	requireTool(t, "no chromium on PATH: apt-get install chromium (or set CHROMIUM_PATH)")
	return ""
}

// axeSource is axe-core's script, installed by npm ci in testdata/axe.
func axeSource(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		requireTool(t, "axe-core missing: run npm ci --prefix webapp/testdata/axe ("+err.Error()+")")
	}
	return string(b)
}

// server is the API with the application and the development issuer.
type server struct {
	url     string // the application, http://127.0.0.1:PORT
	iss     *devissuer.Issuer
	revoked atomic.Bool // every token is refused (401), as after a key rotation
	mu      sync.Mutex
	seen    []string // "METHOD PATH STATUS" of the API requests
	keys    []string // "METHOD PATH STATUS KEY" of the browser's writes (KEY: the Idempotency-Key, "-" if none)
}

type serverOptions struct {
	tokenTTL  time.Duration
	rateLimit httpapi.RateLimit
}

func startServer(t *testing.T, o serverOptions) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{url: "http://" + l.Addr().String()}
	s.iss = devissuer.NewTestServer(t, devissuer.WithClient(devissuer.Client{
		ID:                     appClientID,
		RedirectURIs:           []string{s.url + webapp.CallbackPath},
		PostLogoutRedirectURIs: []string{s.url + "/"},
		TokenTTL:               o.tokenTTL,
	}))
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "taskapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	v, err := bearer.New(bearer.Config{IssuerBaseURL: s.iss.URL(), Audience: []string{audience}, ErrorHandler: httpapi.WriteAuthError})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	authenticate := func(next http.Handler) http.Handler {
		checked := v.Authenticate(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.revoked.Load() {
				httpapi.WriteAuthError(w, r, &bearer.Error{Status: http.StatusUnauthorized, Code: "invalid_token", Message: "signature verification failed"})
				return
			}
			checked.ServeHTTP(w, r)
		})
	}
	api, err := httpapi.NewServer(httpapi.Config{Store: store, Authenticate: authenticate, RateLimit: o.rateLimit})
	if err != nil {
		t.Fatal(err)
	}
	app, err := webapp.New(webapp.Config{Issuer: s.iss.URL(), ClientID: appClientID, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	handler := app.Wrap(api)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		handler.ServeHTTP(rec, r)
		if !strings.HasPrefix(r.URL.Path, "/app/") && r.URL.Path != "/" {
			s.mu.Lock()
			s.seen = append(s.seen, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, rec.status))
			if r.Method != http.MethodGet && r.Header.Get(testClientHeader) == "" {
				s.keys = append(s.keys, fmt.Sprintf("%s %s %d %s", r.Method, r.URL.Path, rec.status, cmp.Or(r.Header.Get("Idempotency-Key"), "-")))
			}
			s.mu.Unlock()
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// requests returns the API requests seen, as "METHOD PATH STATUS".
func (s *server) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// writes returns the writes seen, as "METHOD PATH STATUS KEY".
func (s *server) writes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...)
}

// saw reports whether the API answered a request "METHOD PATH STATUS".
func (s *server) saw(request string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.seen {
		if r == request {
			return true
		}
	}
	return false
}

// testClientHeader marks the test's own requests, which writes() leaves out.
const testClientHeader = "X-Test-Client"

// call calls the API as testUser from another client (not the browser).
func (s *server) call(t *testing.T, method, path, body string, out any) {
	t.Helper()
	tok, err := s.iss.Token(devissuer.TokenRequest{Subject: testUser})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set(testClientHeader, "1")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, path, res.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// browser is one browser (its own profile), with a tab.
type browser struct {
	t        *testing.T
	ctx      context.Context
	name     string
	shots    string
	mu       sync.Mutex
	problems []string // CSP violations and uncaught exceptions
}

// screenshotDir is where the screenshots go: $SCREENSHOT_DIR, or a
// directory under the system's temporary one, printed in the log.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "taskapi-browser-screenshots", t.Name())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium is the one browser process of the tests; each test's browser
// is a context of its own in it (own cookies and storage, as a separate
// profile), which saves a start of Chromium per test.
var chromium struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if chromium.cancel != nil {
		chromium.cancel()
	}
	os.Exit(code)
}

func newBrowser(t *testing.T, name string, width, height int) *browser {
	t.Helper()
	exe := chromiumPath(t)
	chromium.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(exe),
			chromedp.NoSandbox, // the tests run as root in CI
			chromedp.Flag("lang", "en-US"),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		chromium.ctx, chromium.cancel = ctx, func() { cancel(); cancelAlloc() }
		chromium.err = chromedp.Do(ctx)
	})
	if chromium.err != nil {
		t.Fatalf("start %s: %v", exe, chromium.err)
	}
	ctx, cancel := chromedp.NewContext(chromium.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx, name: name, shots: screenshotDir(t)}
	messages := chromedp.Console(ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			text := m.String()
			if m.IsException() || strings.Contains(text, "Content Security Policy") || strings.Contains(text, "Content-Security-Policy") {
				b.mu.Lock()
				b.problems = append(b.problems, text)
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs a step's actions within stepTimeout, failing the test with a
// screenshot when one does not happen.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	for {
		err := chromedp.Do(ctx, actions...)
		if err == nil {
			return
		}
		// The page replaced the node between the query and the action
		// (a list drawn again when its data arrived): nothing was done
		// to it, so a single action is tried again on the new node.
		if len(actions) == 1 && strings.Contains(err.Error(), "Could not find node with given id") && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		b.shot("FAILED-" + step)
		b.t.Fatalf("%s: %s: %v", b.name, step, err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.shot("FAILED-eval")
		b.t.Fatalf("%s: %s: %v", b.name, expr, err)
	}
	return v
}

// waitFor evaluates a JavaScript condition every 50 ms until it is true.
// An evaluation that fails (the page navigating meanwhile) is tried again.
func (b *browser) waitFor(step, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	b.shot("FAILED-" + step)
	b.t.Fatalf("%s: %s: %s never became true (last error: %v)", b.name, step, cond, last)
}

// text returns the text of the first element matching css.
func (b *browser) text(css string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, css))
}

// shot saves a screenshot of the viewport as NAME.png.
func (b *browser) shot(name string) string { return b.screenshot(name, chromedp.CaptureScreenshot()) }

// fullShot saves a screenshot of the whole page as NAME.png.
func (b *browser) fullShot(name string) string {
	return b.screenshot(name, chromedp.FullScreenshot(100))
}

func (b *browser) screenshot(name string, capture chromedp.Action[[]byte]) string {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(b.shots, b.name+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
	return path
}

// checkAccessibility runs axe-core in the page and fails on serious or
// critical violations.
func (b *browser) checkAccessibility(screen, axe string) {
	b.t.Helper()
	if eval[bool](b, `typeof window.axe === "object"`) == false {
		eval[chromedp.Void](b, axe)
	}
	type violation struct {
		ID     string   `json:"id"`
		Impact string   `json:"impact"`
		Help   string   `json:"help"`
		Nodes  []string `json:"nodes"`
	}
	vs := eval[[]violation](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.map(n => n.target.join(" "))})))`)
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("%s: accessibility (%s) %s: %s: %s", screen, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, ", "))
		} else {
			b.t.Logf("%s: accessibility (%s, not failing) %s: %s", screen, v.Impact, v.ID, v.Help)
		}
	}
}

// checkClean fails on the CSP violations and exceptions the page logged.
func (b *browser) checkClean() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		b.t.Errorf("%s: the page logged: %s", b.name, strings.Join(b.problems, "\n"))
	}
}
