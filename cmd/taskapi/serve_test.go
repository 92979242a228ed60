package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskapi/taskapi/devissuer"
)

// TestServeHTTPDrains checks the graceful shutdown: a request in flight
// when the context ends is answered, new connections are refused, and
// serveHTTP returns without error.
func TestServeHTTPDrains(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	logs := new(syncBuffer)
	log := slog.New(slog.NewJSONHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serveHTTP(ctx, log, l, nil, h, new(drainState), 0) }()

	type result struct {
		body string
		err  error
	}
	answered := make(chan result, 1)
	go func() {
		res, err := http.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		answered <- result{string(b), err}
	}()
	<-entered
	cancel()
	logs.waitFor(t, regexp.MustCompile(`"msg":"shutting down"`), served)
	// The listener is closed once Shutdown has begun.
	waitRefused(t, l.Addr().String())
	close(release)
	if r := <-answered; r.err != nil || r.body != "done" {
		t.Errorf("in-flight request: %q, %v; want it answered", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("serveHTTP: %v", err)
	}
}

// waitRefused waits (up to a generous bound) until addr refuses
// connections.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	stop := make(chan struct{})
	defer close(stop)
	refused := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				close(refused)
				return
			}
			c.Close()
		}
	}()
	select {
	case <-refused:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s still accepts connections 20s into the shutdown", addr)
	}
}

// TestShutdownDelayMarksNotReady checks SHUTDOWN_DELAY's wiring: once the
// context ends, GET /ready answers 503 "Shutting down" while the server
// still accepts connections, and the shutdown follows when the delay ends.
func TestShutdownDelayMarksNotReady(t *testing.T) {
	t.Chdir(t.TempDir())
	delayOver := make(chan time.Time)
	asked := make(chan time.Duration, 1)
	timeAfter = func(d time.Duration) <-chan time.Time { asked <- d; return delayOver }
	t.Cleanup(func() { timeAfter = time.After })

	iss := devissuer.NewTestServer(t)
	env := map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api", "SHUTDOWN_DELAY": "7s"}
	_, stderr, done, stop := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	base := "http://" + stderr.waitFor(t, listeningRE, done)[1]
	if a := get(t, base+"/ready", ""); a.status != http.StatusOK {
		t.Fatalf("GET /ready before shutdown: %d %v", a.status, a.body)
	}

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }() // cancels run's context, then waits for it
	if d := <-asked; d != 7*time.Second {
		t.Errorf("delay %v, want SHUTDOWN_DELAY=7s", d)
	}
	a := get(t, base+"/ready", "")
	if a.status != http.StatusServiceUnavailable || a.body["error"] != "Shutting down" {
		t.Errorf("GET /ready while draining: %d %v, want 503 Shutting down", a.status, a.body)
	}
	close(delayOver)
	<-stopped
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", stderr.String())
	}
	// Draining is no fault: the log does not blame the store or the keys.
	for _, misleading := range []string{"store unavailable", "token signing keys", `"level":"WARN"`} {
		if strings.Contains(stderr.String(), misleading) {
			t.Errorf("the shutdown logged %q:\n%s", misleading, stderr.String())
		}
	}
}

// TestShutdownDelayClosesKeptAliveConnections: once SHUTDOWN_DELAY begins,
// a connection kept alive from before gets its next request answered with
// "Connection: close" and is then closed, so that its client moves to
// another instance instead of having the connection close under it at the
// shutdown; new connections are still served, one request each.
func TestShutdownDelayClosesKeptAliveConnections(t *testing.T) {
	t.Chdir(t.TempDir())
	delayOver := make(chan time.Time)
	asked := make(chan time.Duration, 1)
	timeAfter = func(d time.Duration) <-chan time.Time { asked <- d; return delayOver }
	t.Cleanup(func() { timeAfter = time.After })

	iss := devissuer.NewTestServer(t)
	env := map[string]string{"ISSUER_BASE_URL": iss.URL(), "AUDIENCE": "task-manager-api", "SHUTDOWN_DELAY": "7s"}
	_, stderr, done, stop := startCmd(t, env, "serve", "-addr", "127.0.0.1:0")
	var endDelay sync.Once
	t.Cleanup(func() { endDelay.Do(func() { close(delayOver) }) }) // before stop's cleanup
	addr := stderr.waitFor(t, listeningRE, done)[1]

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	health := func() (*http.Response, error) {
		if _, err := io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
			return nil, err
		}
		res, err := http.ReadResponse(br, nil)
		if err == nil {
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return res, err
	}
	if res, err := health(); err != nil || res.StatusCode != http.StatusOK || res.Close {
		t.Fatalf("before the delay: %v, %v; want 200 on a kept-alive connection", res, err)
	}

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	<-asked // the delay has begun
	res, err := health()
	if err != nil {
		t.Fatalf("request on the kept-alive connection during the delay: %v", err)
	}
	// ReadResponse reads "Connection: close" into Close.
	if res.StatusCode != http.StatusOK || !res.Close {
		t.Errorf("during the delay, on the kept-alive connection: %d, Close %v; want 200 with Connection: close", res.StatusCode, res.Close)
	}
	if n, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the connection stays open after Connection: close: read %q, %v", n, err)
	}
	fresh, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatalf("new connection during the delay: %v", err)
	}
	fresh.Body.Close()
	if fresh.StatusCode != http.StatusOK || !fresh.Close {
		t.Errorf("new connection during the delay: %d, Close %v; want 200 with Connection: close", fresh.StatusCode, fresh.Close)
	}
	endDelay.Do(func() { close(delayOver) })
	<-stopped
}
