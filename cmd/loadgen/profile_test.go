package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/httpapi"
	"github.com/taskapi/taskapi/internal/faults/harness"
	"github.com/taskapi/taskapi/sqlite"
)

// TestProfileGetTasks profiles the service under the get-tasks load. The
// binary serves no pprof, so the service runs in this process, wired as
// `taskapi serve` wires it (SQLite store, the bearer middleware on a
// development issuer, the JSON access log to a file, the server's
// timeouts), and the CPU profile is written to $LOADGEN_PROFILE:
//
//	LOADGEN_PROFILE=/tmp/cpu.pprof go test -run TestProfileGetTasks -count=1 ./cmd/loadgen
//	go tool pprof -top -tagignore side=loadgen /tmp/cpu.pprof
//
// The load's own goroutines carry the label side=loadgen, so the profile of
// the service alone is the rest. LOADGEN_PROFILE_SCENARIO picks another
// scenario (post-tasks, mixed, mixed-users) and LOADGEN_PROFILE_DURATION
// another length (default 10s). Without LOADGEN_PROFILE the test is
// skipped.
func TestProfileGetTasks(t *testing.T) {
	out := os.Getenv("LOADGEN_PROFILE")
	if out == "" {
		t.Skip("set LOADGEN_PROFILE=FILE to write a CPU profile of the service under load")
	}
	scenario := scenarioGetTasks
	if s := os.Getenv("LOADGEN_PROFILE_SCENARIO"); s != "" {
		scenario = s
	}
	duration := 10 * time.Second
	if s := os.Getenv("LOADGEN_PROFILE_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		duration = d
	}
	ctx := t.Context()
	dir := t.TempDir()
	idp, err := harness.StartIdP()
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()

	store, err := sqlite.Open(ctx, filepath.Join(dir, "taskapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	verifier, err := bearer.New(bearer.Config{IssuerBaseURL: idp.URL(), Audience: []string{harness.Audience},
		ErrorHandler: httpapi.WriteAuthError})
	if err != nil {
		t.Fatal(err)
	}
	defer verifier.Close()
	if err := verifier.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "taskapi.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	log := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The request timeout of serve's defaults.
	h, err := httpapi.NewServer(httpapi.Config{Store: store, Authenticate: verifier.Authenticate, Logger: log,
		RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewHTTPServer("", h)
	go srv.Serve(l)
	defer srv.Close()

	a := &api{url: "http://" + l.Addr().String(), token: idp.Token}
	var ws []worker
	var runErr error
	pprof.Do(ctx, pprof.Labels("side", "loadgen"), func(ctx context.Context) {
		reader, err := a.seedReader(ctx)
		if err != nil {
			runErr = err
			return
		}
		ws, runErr = a.workers(ctx, scenario, 64, reader, "")
	})
	if runErr != nil {
		t.Fatal(runErr)
	}

	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var o *outcome
	pprof.Do(ctx, pprof.Labels("side", "loadgen"), func(ctx context.Context) {
		// Warm up outside the profile, then profile the measured window.
		runLoad(ctx, ws, loadSpec{duration: time.Second})
		if err := pprof.StartCPUProfile(f); err != nil {
			runErr = err
			return
		}
		o = runLoad(ctx, ws, loadSpec{duration: duration})
		pprof.StopCPUProfile()
	})
	if runErr != nil {
		t.Fatal(runErr)
	}
	if o.errors > 0 || o.non2xx() > 0 {
		t.Errorf("%d errors, %d non-2xx: %v", o.errors, o.non2xx(), o.samples)
	}
	t.Logf("%s in process: %d requests in %v, %.0f/s, p50 %v p99 %v; profile in %s",
		scenario, o.requests, o.elapsed.Round(time.Millisecond), float64(o.requests)/o.elapsed.Seconds(),
		o.hist.quantile(0.5), o.hist.quantile(0.99), out)
}
