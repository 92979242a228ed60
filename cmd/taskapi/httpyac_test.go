package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// httpyacBin is the httpyac CLI that `npm ci --prefix examples/runner`
// installs (pinned by examples/runner/package-lock.json).
const httpyacBin = "../../examples/runner/node_modules/.bin/httpyac"

// httpyacResult is the part of `httpyac send --json` the test reads.
type httpyacResult struct {
	Requests []struct {
		Title    string `json:"title"`
		Line     int    `json:"line"`
		Response *struct {
			StatusCode int `json:"statusCode"`
		} `json:"response"`
	} `json:"requests"`
	Summary struct {
		TotalRequests   int `json:"totalRequests"`
		ErroredRequests int `json:"erroredRequests"`
	} `json:"summary"`
}

// TestExamplesWithHTTPYac runs examples/tasks.http, top to bottom, with
// the httpyac CLI against `taskapi dev`, through a proxy that holds every
// exchange to the OpenAPI document: every request must be sent and answer
// what its title says (2xx unless it names a status). The file is run as a
// person would, with @host and @token filled in. Without httpyac it skips,
// loudly; under CI=true it fails.
func TestExamplesWithHTTPYac(t *testing.T) {
	if _, err := os.Stat(httpyacBin); err != nil {
		msg := "httpyac is not installed (npm ci --prefix examples/runner): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED: " + msg)
	}
	bin, err := filepath.Abs(httpyacBin)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../examples/tasks.http")
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile("../../examples/httpyac.config.js")
	if err != nil {
		t.Fatal(err)
	}

	t.Chdir(t.TempDir())
	env := map[string]string{"PORT": "0", "METRICS": "true"}
	stdout, _, done, _ := startCmd(t, env, "dev", "-issuer-addr", "127.0.0.1:"+freePort(t))
	m := stdout.waitFor(t, curlRE, done)
	token, api := m[1], strings.TrimSuffix(m[2], "/tasks")
	target, err := url.Parse(api)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = apiContract.Client(t).Transport
	front := httptest.NewServer(proxy)
	defer front.Close()

	file := regexp.MustCompile(`(?m)^@host = .*$`).ReplaceAll(src, []byte("@host = "+front.URL))
	file = regexp.MustCompile(`(?m)^@token = .*$`).ReplaceAll(file, []byte("@token = "+token))
	if bytes.Equal(file, src) {
		t.Fatal("examples/tasks.http has no @host and @token lines to fill in")
	}
	for name, b := range map[string][]byte{"tasks.http": file, "httpyac.config.js": config} {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "send", "tasks.http", "--all", "--json")
	// A file, not a pipe: node can exit before a pipe has taken all of a
	// long output.
	out, err := os.Create("httpyac.json")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("httpyac: %v\n%s", err, errOut.String())
	}
	b, err := os.ReadFile("httpyac.json")
	if err != nil {
		t.Fatal(err)
	}
	var res httpyacResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("httpyac --json: %v (%d bytes)\n%s", err, len(b), errOut.String())
	}
	want := bytes.Count(src, []byte("\n###"))
	if res.Summary.TotalRequests != want || len(res.Requests) != want || res.Summary.ErroredRequests != 0 {
		t.Errorf("httpyac sent %d requests (%d listed, %d errored), want the file's %d\n%s",
			res.Summary.TotalRequests, len(res.Requests), res.Summary.ErroredRequests, want, errOut.String())
	}
	status := regexp.MustCompile(`\b([1-5]\d\d)\b`)
	for _, r := range res.Requests {
		if r.Response == nil {
			t.Errorf("line %d %q: no response", r.Line, r.Title)
			continue
		}
		got := r.Response.StatusCode
		if m := status.FindStringSubmatch(r.Title); m != nil {
			if w, _ := strconv.Atoi(m[1]); got != w {
				t.Errorf("line %d %q: %d, want %d", r.Line, r.Title, got, w)
			}
		} else if got/100 != 2 {
			t.Errorf("line %d %q: %d, want 2xx", r.Line, r.Title, got)
		}
	}
}
