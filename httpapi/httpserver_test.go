package httpapi

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

func TestNewHTTPServer(t *testing.T) {
	h := http.NotFoundHandler()
	srv := NewHTTPServer("127.0.0.1:5000", h)
	if srv.Addr != "127.0.0.1:5000" || srv.Handler == nil || srv.ReadHeaderTimeout != ReadHeaderTimeout ||
		srv.ReadTimeout != ReadTimeout || srv.WriteTimeout != WriteTimeout || srv.IdleTimeout != IdleTimeout ||
		srv.MaxHeaderBytes != MaxHeaderBytes {
		t.Fatalf("%+v", srv)
	}
	if !(0 < ReadHeaderTimeout && ReadHeaderTimeout <= ReadTimeout && ReadTimeout <= WriteTimeout) {
		t.Error("the timeouts do not nest")
	}
}

// startHTTPServer serves the test API on a loopback listener through
// NewHTTPServer, with the timeouts shortened so that the test is quick.
func startHTTPServer(t *testing.T, s *testServer) string {
	t.Helper()
	srv := NewHTTPServer("", s.handler)
	srv.ReadHeaderTimeout = 100 * time.Millisecond
	srv.ReadTimeout = 300 * time.Millisecond
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// trickle sends head at once, then slow byte by byte every interval, on
// a fresh connection to addr, and returns all the server answered before it
// closed the connection. It fails the test if the server keeps the
// connection open for 10 s (an upper bound only).
func trickle(t *testing.T, addr, head, slow string, interval time.Duration) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	answer := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(conn)
		answer <- string(b)
	}()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; i < len(slow); i++ {
		select {
		case a := <-answer:
			return a
		case <-tick.C:
		}
		if _, err := conn.Write([]byte{slow[i]}); err != nil {
			break // the server closed the connection
		}
	}
	select {
	case a := <-answer:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept the connection open")
		return ""
	}
}

// TestSlowClients runs the server of NewHTTPServer on a real listener: a
// client sending its headers or its body slower than the timeouts is cut
// off, and an oversized header block is answered 431.
func TestSlowClients(t *testing.T) {
	s := newTestServer(t)
	addr := startHTTPServer(t, s)

	// The server works for an ordinary client.
	res, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("GET /health: %d %v", res.StatusCode, res.Header)
	}

	// Headers that would take 1.5 s, against a 100 ms ReadHeaderTimeout.
	got := trickle(t, addr, "GET /health HTTP/1.1\r\nHost: x\r\n", "X-Slow: "+strings.Repeat("a", 40)+"\r\n\r\n", 30*time.Millisecond)
	if strings.Contains(got, "200 OK") {
		t.Errorf("a slow-header client was served: %q", got)
	}

	// A body that would take 1 s, against a 300 ms ReadTimeout.
	body := `{"name":"slow body!"}`
	head := "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + hdrSub + ": slow\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	got = trickle(t, addr, head, body, 50*time.Millisecond)
	if strings.Contains(got, " 201 ") {
		t.Errorf("a slow-body client was served: %q", got)
	}
	page, err := s.store.Tasks(context.Background(), taskapi.TaskFilter{UserID: "slow", Limit: 10})
	if err != nil || len(page.Tasks) != 0 {
		t.Errorf("tasks of the slow client: %v, %v", page, err)
	}

	// A header block over MaxHeaderBytes.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("b", MaxHeaderBytes+8<<10)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized header: %d", resp.StatusCode)
	}
}
