package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/taskapi/taskapi/internal/faults/harness"
)

// measure runs every scenario of o on every database of o and returns the
// report; errFailed when some request failed.
func measure(ctx context.Context, o *options, log io.Writer) (*report, error) {
	rep := &report{
		Started:     time.Now().UTC(),
		Connections: o.connections,
		Duration:    o.duration.String(),
		Warmup:      o.warmup.String(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		NumCPU:      runtime.NumCPU(),
		GoVersion:   runtime.Version(),
		LogLevel:    o.logLevel,
		ServiceEnv:  o.serviceEnv,
	}
	dir, err := os.MkdirTemp("", "loadgen-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var targets []func() (*target, error)
	if o.url != "" {
		rep.LogLevel = ""
		targets = append(targets, func() (*target, error) { return externalTarget(o), nil })
	} else {
		binary, err := buildBinary(ctx, o, dir, log)
		if err != nil {
			return nil, err
		}
		idp, err := harness.StartIdP()
		if err != nil {
			return nil, err
		}
		defer idp.Close()
		for _, db := range o.dbs {
			targets = append(targets, func() (*target, error) { return startTarget(ctx, o, db, binary, dir, idp, log) })
		}
	}
	bareDone := !slices.Contains(o.scenarios, scenarioBare)
	for i, start := range targets {
		t, err := start()
		if errors.Is(err, errSkipped) {
			msg := fmt.Sprintf("%s: %v", o.dbs[i], err)
			rep.Skipped = append(rep.Skipped, msg)
			fmt.Fprintf(log, "\nloadgen: *** SKIPPING %s ***\n\n", msg)
			if len(o.dbs) == 1 || os.Getenv("CI") != "" {
				// Asked for this database alone, or in CI, where every
				// database must be measured: a failure.
				return rep, err
			}
			continue
		}
		if err != nil {
			return rep, err
		}
		err = measureTarget(ctx, o, t, dir, &bareDone, rep, log)
		t.close()
		if err != nil {
			return rep, err
		}
	}
	for _, r := range rep.Results {
		if r.Errors > 0 || r.Non2xx > 0 {
			return rep, errFailed
		}
	}
	return rep, nil
}

// measureTarget runs the scenarios of o on t, and the bare handler beside
// it unless *bareDone. With o.rounds > 1 the scenarios take turns in
// slices of o.duration/o.rounds, so that a machine whose other load
// changes during the run weighs on every scenario alike.
func measureTarget(ctx context.Context, o *options, t *target, dir string, bareDone *bool, rep *report, log io.Writer) error {
	reader, err := t.api.seedReader(ctx)
	if err != nil {
		return fmt.Errorf("%s: seed the reader's %d tasks: %w", t.db, listSize, err)
	}
	type run struct {
		scenario string
		workers  []worker
		proc     *proc // the serving process
		slices   []slice
	}
	var svcProc *proc
	if t.svc != nil {
		svcProc = &proc{pid: t.svc.PID(), svc: t.svc}
	}
	var runs []*run
	for _, sc := range o.scenarios {
		var ws []worker
		var bareURL string
		var bareProc *proc
		if sc == scenarioBare {
			if *bareDone {
				continue
			}
			*bareDone = true
			c, err := t.api.captureList(ctx, reader)
			if err != nil {
				return fmt.Errorf("%s: capture GET /tasks for the bare handler: %w", t.db, err)
			}
			bare, err := startBareProcess(c, dir)
			if err != nil {
				return err
			}
			defer bare.stop()
			bareURL, bareProc = bare.url, &proc{pid: bare.pid()}
			rep.BareBytes = len(c.body)
			if ws, err = t.api.workers(ctx, sc, o.connections, reader, bareURL); err != nil {
				return err
			}
		} else if ws, err = t.api.workers(ctx, sc, o.connections, reader, ""); err != nil {
			return fmt.Errorf("%s: %s: set up the workers: %w", t.db, sc, err)
		}
		p := svcProc
		if sc == scenarioBare {
			p = bareProc
		}
		runs = append(runs, &run{scenario: sc, workers: ws, proc: p})
	}
	spec := loadSpec{warmup: o.warmup, duration: o.duration / time.Duration(o.rounds), maxRequests: o.maxRequests}
	for round := range o.rounds {
		for _, r := range runs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if round == 0 || o.rounds == 1 {
				fmt.Fprintf(log, "loadgen: %s %s: %d connections, %v warm-up, %v", t.db, r.scenario, o.connections, o.warmup, o.duration)
				if o.rounds > 1 {
					fmt.Fprintf(log, " in %d slices taking turns with the other scenarios", o.rounds)
				}
				fmt.Fprintln(log, "…")
			}
			r.slices = append(r.slices, runSlice(ctx, spec, r.proc, r.workers))
		}
		// Later slices find a warm service: a shorter warm-up (new
		// connections) will do.
		spec.warmup = o.warmup / time.Duration(o.rounds)
	}
	for _, r := range runs {
		rep.Results = append(rep.Results, newResult(t.db, r.scenario, o.connections, r.slices))
	}
	return nil
}

// slice is one measurement of one scenario.
type slice struct {
	out     *outcome
	svcCPU  time.Duration // CPU time of the service over the measured window
	selfCPU time.Duration // CPU time of loadgen over the measured window
	rss     int64         // peak RSS of the service; 0 when unknown
	exited  string        // the end of the service's log if it exited
}

// proc is a serving process whose CPU and memory loadgen reads.
type proc struct {
	pid int
	svc *harness.Service // nil for the bare handler
}

// runSlice measures one slice of load by ws, with the CPU and peak memory
// of p (unknown when p is nil) around it.
func runSlice(ctx context.Context, spec loadSpec, p *proc, ws []worker) slice {
	var svcCPU0 time.Duration
	if p != nil {
		harness.ResetPeakRSS(p.pid)
	}
	// CPU is counted over the measured window only: read it when the
	// warm-up ends.
	cpuStart := make(chan time.Duration, 1)
	go func() {
		select {
		case <-time.After(spec.warmup):
		case <-ctx.Done():
		}
		if p != nil {
			svcCPU0, _ = harness.ProcCPUTime(p.pid)
		}
		cpuStart <- cpuSelf()
	}()
	out := runLoad(ctx, ws, spec)
	selfCPU0 := <-cpuStart
	sl := slice{out: out, selfCPU: cpuSelf() - selfCPU0}
	if p != nil {
		if c, err := harness.ProcCPUTime(p.pid); err == nil {
			sl.svcCPU = c - svcCPU0
		}
		if rss, err := harness.PeakRSS(p.pid); err == nil {
			sl.rss = rss
		}
		if p.svc != nil && p.svc.Exited() {
			sl.exited = p.svc.LogTail(2000)
		}
	}
	return sl
}
