package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor returns the first submatches of re in the buffer, waiting for
// them up to a generous bound (an upper limit, not a timing assumption).
func (s *syncBuffer) waitFor(t *testing.T, re *regexp.Regexp, done <-chan error) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(s.String()); m != nil {
			return m
		}
		select {
		case err := <-done:
			t.Fatalf("command ended before printing %v: %v\n%s", re, err, s.String())
		case <-deadline:
			t.Fatalf("no %v after 20s in:\n%s", re, s.String())
		case <-tick.C:
		}
	}
}

// runResult is the outcome of one run() call.
type runResult struct {
	err            error
	stdout, stderr string
}

// runCmd runs the command line as main does, env being the whole
// environment and a .env file of the working directory (a test's own
// temporary directory) filling in.
func runCmd(t *testing.T, env map[string]string, args ...string) runResult {
	t.Helper()
	return runCmdStdin(t, env, "", args...)
}

// runCmdStdin is runCmd with stdin.
func runCmdStdin(t *testing.T, env map[string]string, stdin string, args ...string) runResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv, err := withDotenv(mapLookup(env), dotenvFile)
	if err == nil {
		err = run(context.Background(), append([]string{"taskapi"}, args...), getenv, strings.NewReader(stdin), &stdout, &stderr)
	}
	return runResult{err, stdout.String(), stderr.String()}
}

// startCmd runs a long-lived command (serve, dev) in the background until
// the test ends; it returns its output buffers and a channel with run's
// result.
func startCmd(t *testing.T, env map[string]string, args ...string) (stdout, stderr *syncBuffer, done <-chan error, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = new(syncBuffer), new(syncBuffer)
	ch := make(chan error, 1)
	getenv, err := withDotenv(mapLookup(env), dotenvFile)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		ch <- run(ctx, append([]string{"taskapi"}, args...), getenv, strings.NewReader(""), stdout, stderr)
	}()
	var once sync.Once
	var result error
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case result = <-ch:
			case <-time.After(30 * time.Second):
				t.Errorf("taskapi %s did not stop within 30s", args[0])
			}
		})
		if result != nil {
			t.Errorf("taskapi %s: %v\n%s", args[0], result, stderr.String())
		}
	}
	t.Cleanup(stop)
	return stdout, stderr, ch, stop
}
