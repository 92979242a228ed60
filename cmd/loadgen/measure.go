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
	}
	var targets []func() (*target, error)
	if o.url != "" {
		rep.LogLevel = ""
		targets = append(targets, func() (*target, error) { return externalTarget(o), nil })
	} else {
		dir, err := os.MkdirTemp("", "loadgen-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
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
		err = measureTarget(ctx, o, t, &bareDone, rep, log)
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
func measureTarget(ctx context.Context, o *options, t *target, bareDone *bool, rep *report, log io.Writer) error {
	reader, err := t.api.seedReader(ctx)
	if err != nil {
		return fmt.Errorf("%s: seed the reader's %d tasks: %w", t.db, listSize, err)
	}
	type run struct {
		scenario string
		workers  []worker
		slices   []slice
	}
	var runs []*run
	for _, sc := range o.scenarios {
		var ws []worker
		if sc == scenarioBare {
			if *bareDone {
				continue
			}
			*bareDone = true
			c, err := t.api.captureList(ctx, reader)
			if err != nil {
				return fmt.Errorf("%s: capture GET /tasks for the bare handler: %w", t.db, err)
			}
			bareURL, stop, err := startBare(c)
			if err != nil {
				return err
			}
			defer stop()
			rep.BareBytes = len(c.body)
			if ws, err = t.api.workers(ctx, sc, o.connections, reader, bareURL); err != nil {
				return err
			}
		} else if ws, err = t.api.workers(ctx, sc, o.connections, reader, ""); err != nil {
			return fmt.Errorf("%s: %s: set up the workers: %w", t.db, sc, err)
		}
		runs = append(runs, &run{scenario: sc, workers: ws})
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
			r.slices = append(r.slices, runSlice(ctx, spec, t, r.scenario, r.workers))
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

// runSlice measures one scenario on t, with the service's memory and CPU
// around it.
func runSlice(ctx context.Context, spec loadSpec, t *target, sc string, ws []worker) slice {
	svc := t.svc
	if sc == scenarioBare {
		svc = nil // the bare handler runs in this process
	}
	var svcCPU0 time.Duration
	if svc != nil {
		svc.ResetPeakRSS()
	}
	// CPU is counted over the measured window only: read it when the
	// warm-up ends.
	cpuStart := make(chan time.Duration, 1)
	go func() {
		select {
		case <-time.After(spec.warmup):
		case <-ctx.Done():
		}
		if svc != nil {
			svcCPU0, _ = svc.CPUTime()
		}
		cpuStart <- cpuSelf()
	}()
	out := runLoad(ctx, ws, spec)
	selfCPU0 := <-cpuStart
	sl := slice{out: out, selfCPU: cpuSelf() - selfCPU0}
	if svc != nil {
		if c, err := svc.CPUTime(); err == nil {
			sl.svcCPU = c - svcCPU0
		}
		if rss, err := svc.PeakRSS(); err == nil {
			sl.rss = rss
		}
		if svc.Exited() {
			sl.exited = svc.LogTail(2000)
		}
	}
	return sl
}
