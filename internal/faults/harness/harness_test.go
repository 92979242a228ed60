package harness

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// TestProxy checks that a cut proxy refuses connections and closes open
// ones, and that a restored one forwards again on the same address.
func TestProxy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up") }))
	defer srv.Close()
	p, err := StartProxy(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	get := func() (string, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := c.Get("http://" + p.Addr())
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return string(b), err
	}
	if body, err := get(); err != nil || body != "up" {
		t.Fatalf("through the proxy: %q, %v", body, err)
	}
	open, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	// The proxy tracks a connection once it has dialled the target; a
	// round trip on it makes sure that happened.
	io.WriteString(open, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	open.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := open.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}

	p.Cut()
	if _, err := get(); err == nil {
		t.Error("a cut proxy forwarded a request")
	}
	open.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(open); err != nil {
		t.Errorf("open connection not closed by the cut: %v", err)
	}

	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	if body, err := get(); err != nil || body != "up" {
		t.Fatalf("after Restore: %q, %v", body, err)
	}
}

func TestProcReaders(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	rss, err := procStatusKB(os.Getpid(), "VmHWM:")
	if err != nil || rss < 1<<20 {
		t.Errorf("VmHWM of this process: %d, %v", rss, err)
	}
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
	}
	cpu, err := ProcCPUTime(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Errorf("CPU time of this process after a busy loop: %v, %v", cpu, err)
	}
	if _, err := procStatusKB(os.Getpid(), "NoSuchField:"); err == nil {
		t.Error("a missing field gave no error")
	}
}
