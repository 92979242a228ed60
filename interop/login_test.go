package interop

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi/bearer"
)

// loginBound is an upper bound on one taskapi login run.
const loginBound = 90 * time.Second

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildOut  []byte
)

// taskapiBinary builds cmd/taskapi once per test process.
func taskapiBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "taskapi-interop-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "taskapi")
		buildOut, buildErr = exec.Command("go", "build", "-o", binary, "github.com/taskapi/taskapi/cmd/taskapi").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build cmd/taskapi: %v\n%s", buildErr, buildOut)
	}
	return binary
}

// loginRun is a running taskapi login.
type loginRun struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	exited         chan struct{}
	err            error
}

// startLogin runs taskapi login args in an empty directory with only the
// given environment (and PATH), so no .env or saved token of the
// developer's is used.
func startLogin(t *testing.T, env map[string]string, args ...string) *loginRun {
	t.Helper()
	bin := taskapiBinary(t)
	cmd := exec.Command(bin, append([]string{"login"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r := &loginRun{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			cmd.Process.Kill()
			<-r.exited
		}
	})
	return r
}

// wait waits for the command to end and returns its error.
func (r *loginRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.exited:
		return r.err
	case <-time.After(loginBound):
		t.Fatalf("taskapi login still running after %v:\n%s", loginBound, r.stderr.String())
		return nil
	}
}

func loginEnv(p *provider, tokenFile string) map[string]string {
	return map[string]string{
		"ISSUER_BASE_URL": p.Issuer,
		"AUDIENCE":        apiAudience,
		"CLIENT_ID":       cliClient,
		"TOKEN_FILE":      tokenFile,
	}
}

var (
	deviceURLRE = regexp.MustCompile(`or open (http://\S+)\n`)
	authURLRE   = regexp.MustCompile(`\n  (http://\S+/auth\?\S+)\n`)
)

// TestLoginDeviceFlow: taskapi login -device shows a code; a user signs in
// over HTTP; the token is printed, saved with its refresh token, and
// accepted by the service. A later run with the access token expired uses
// the refresh token without the user.
func TestLoginDeviceFlow(t *testing.T) {
	p := sharedProvider(t)
	svc := startService(t, p.Issuer, bearer.Config{}, bearer.Profile{}, true)
	tokenFile := filepath.Join(t.TempDir(), "cfg", "token.json")

	run := startLogin(t, loginEnv(p, tokenFile), "-device")
	u := run.stderr.waitFor(t, deviceURLRE, run.exited)
	if !strings.Contains(run.stderr.String(), "enter the code ") {
		t.Errorf("no user code shown:\n%s", run.stderr.String())
	}
	_, page := newBrowser(t, "device-user").signIn(t, u)
	if err := run.wait(t); err != nil {
		t.Fatalf("taskapi login -device: %v\n%s\nlast page:\n%s", err, run.stderr.String(), page)
	}
	saved := readTokenFile(t, tokenFile)
	if saved.RefreshToken == "" || saved.Expiry.IsZero() || saved.Issuer != p.Issuer || saved.Audience != apiAudience {
		t.Errorf("saved token: %+v", saved)
	}
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode: %v %v, want 0600", fi.Mode(), err)
	}
	me := svc.do(t, http.MethodGet, "/me", saved.AccessToken, "")
	if me.Status != http.StatusOK || me.Body["sub"] != "device-user" {
		t.Fatalf("GET /me with the device-flow token: %d %s", me.Status, me.Raw)
	}
	if r := svc.do(t, http.MethodPost, "/tasks", saved.AccessToken, `{"name":"via device flow"}`); r.Status != http.StatusCreated {
		t.Errorf("POST /tasks: %d %s", r.Status, r.Raw)
	}

	// Valid saved token: reused as is, no provider round trip needed.
	again := startLogin(t, loginEnv(p, tokenFile), "-device", "-print")
	if err := again.wait(t); err != nil {
		t.Fatalf("second login: %v\n%s", err, again.stderr.String())
	}
	if got := strings.TrimSpace(again.stdout.String()); got != saved.AccessToken {
		t.Errorf("-print with a valid saved token printed another token")
	}

	// Expired access token: the refresh token gets a new one silently.
	expireTokenFile(t, tokenFile)
	refreshed := startLogin(t, loginEnv(p, tokenFile), "-device", "-print")
	if err := refreshed.wait(t); err != nil {
		t.Fatalf("login with a refresh token: %v\n%s", err, refreshed.stderr.String())
	}
	tok := strings.TrimSpace(refreshed.stdout.String())
	if tok == "" || tok == saved.AccessToken || strings.Contains(refreshed.stderr.String(), "enter the code") {
		t.Fatalf("refresh: stdout %q stderr:\n%s", tok, refreshed.stderr.String())
	}
	if r := svc.do(t, http.MethodGet, "/tasks", tok, ""); r.Status != http.StatusOK || !strings.Contains(r.Raw, "via device flow") {
		t.Errorf("GET /tasks with the refreshed token: %d %s", r.Status, r.Raw)
	}
}

// TestLoginCodeFlow: taskapi login (authorization code + PKCE, loopback
// redirect) prints the URL; a browser signs in and is redirected to the
// loopback listener; the token goes to stdout and is accepted. A user who
// declines gets access_denied explained.
func TestLoginCodeFlow(t *testing.T) {
	p := sharedProvider(t)
	svc := startService(t, p.Issuer, bearer.Config{}, bearer.Profile{}, true)

	t.Run("signed in", func(t *testing.T) {
		tokenFile := filepath.Join(t.TempDir(), "token.json")
		env := loginEnv(p, tokenFile)
		env["LOGIN_AUDIENCE_PARAM"] = "resource"
		env["LOGIN_AUDIENCE"] = apiResource
		run := startLogin(t, env, "-no-browser", "-print")
		authURL := run.stderr.waitFor(t, authURLRE, run.exited)
		for _, want := range []string{"code_challenge_method=S256", "code_challenge=", "state=", "redirect_uri=http%3A%2F%2F127.0.0.1%3A", "resource=urn%3Atask-manager-api"} {
			if !strings.Contains(authURL, want) {
				t.Errorf("authorization URL lacks %s: %s", want, authURL)
			}
		}
		last, page := newBrowser(t, "code-user").signIn(t, authURL)
		if err := run.wait(t); err != nil {
			t.Fatalf("taskapi login: %v\n%s", err, run.stderr.String())
		}
		if !strings.HasPrefix(last, "http://127.0.0.1:") || !strings.Contains(page, "Signed in") {
			t.Errorf("the browser ended at %s:\n%s", last, page)
		}
		tok := strings.TrimSpace(run.stdout.String())
		if me := svc.do(t, http.MethodGet, "/me", tok, ""); me.Status != http.StatusOK || me.Body["sub"] != "code-user" {
			t.Fatalf("GET /me with the code-flow token: %d %s", me.Status, me.Raw)
		}
		if _, err := os.Stat(tokenFile); err == nil {
			t.Errorf("-print saved a token file")
		}
	})

	t.Run("declined", func(t *testing.T) {
		run := startLogin(t, loginEnv(p, filepath.Join(t.TempDir(), "token.json")), "-no-browser")
		authURL := run.stderr.waitFor(t, authURLRE, run.exited)
		b := newBrowser(t, "code-user")
		b.abort = true
		b.signIn(t, authURL)
		err := run.wait(t)
		if err == nil || !strings.Contains(run.stderr.String(), "access_denied") || !strings.Contains(run.stderr.String(), "the sign-in was refused") {
			t.Errorf("declined login: err %v, stderr:\n%s", err, run.stderr.String())
		}
	})
}

// TestLoginClientCredentials: taskapi login -client-credentials with the
// secret from the environment; a wrong secret is explained.
func TestLoginClientCredentials(t *testing.T) {
	p := sharedProvider(t)
	svc := startService(t, p.Issuer, bearer.Config{}, bearer.Profile{}, false)
	env := loginEnv(p, filepath.Join(t.TempDir(), "token.json"))
	env["CLIENT_ID"], env["CLIENT_SECRET"] = m2mClient, m2mSecret

	run := startLogin(t, env, "-client-credentials", "-print")
	if err := run.wait(t); err != nil {
		t.Fatalf("login: %v\n%s", err, run.stderr.String())
	}
	if r := svc.do(t, http.MethodGet, "/tasks", strings.TrimSpace(run.stdout.String()), ""); r.Status != http.StatusOK {
		t.Errorf("GET /tasks: %d %s", r.Status, r.Raw)
	}

	env["CLIENT_SECRET"] = "wrong"
	bad := startLogin(t, env, "-client-credentials", "-print", "-force")
	if err := bad.wait(t); err == nil || !strings.Contains(bad.stderr.String(), "invalid_client") || !strings.Contains(bad.stderr.String(), "check CLIENT_ID and CLIENT_SECRET") {
		t.Errorf("wrong secret: err %v, stderr:\n%s", err, bad.stderr.String())
	}
	if bad.stdout.String() != "" {
		t.Errorf("wrong secret printed %q", bad.stdout.String())
	}
}

// tokenFile is the part of taskapi login's token file the tests read.
type tokenFile struct {
	Issuer       string    `json:"issuer_base_url"`
	Audience     string    `json:"audience"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"`
}

func readTokenFile(t *testing.T, path string) tokenFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// expireTokenFile moves the saved expiry into the past.
func expireTokenFile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["expiry"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
