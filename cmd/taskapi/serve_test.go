package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"
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
	go func() { served <- serveHTTP(ctx, log, l, h) }()

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
