package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one request; a request that takes longer counts as
// an error.
const requestTimeout = 10 * time.Second

// maxErrorSamples bounds the error messages a result keeps.
const maxErrorSamples = 5

// worker sends the requests of one connection, one at a time.
type worker interface {
	// do sends one request (the i-th of this worker) and reads the whole
	// answer. It returns the status, or an error when no answer came.
	do(ctx context.Context, c *http.Client, i int) (int, error)
}

// loadSpec bounds one measurement.
type loadSpec struct {
	warmup      time.Duration // load before the measurement, not recorded
	duration    time.Duration // the measured window
	maxRequests int64         // stop after this many measured requests (0: no bound)
}

// outcome is what the workers of one scenario measured.
type outcome struct {
	requests int64
	elapsed  time.Duration
	hist     histogram
	statuses map[int]int64 // non-2xx answers by status
	errors   int64         // requests without an answer
	samples  []string      // the first error messages and non-2xx statuses
}

// newClient returns an HTTP client with a transport of its own holding one
// keep-alive connection: N workers are N connections.
func newClient() *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1,
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
		// A redirect is an answer to report, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// runLoad runs every worker on a connection of its own: spec.warmup of
// unrecorded load, then spec.duration (or spec.maxRequests) of measured
// load. Requests in flight at the end complete and are counted.
func runLoad(ctx context.Context, workers []worker, spec loadSpec) *outcome {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    atomic.Int64
		out      = &outcome{statuses: map[int]int64{}}
		start    = time.Now()
		measure  = start.Add(spec.warmup)
		deadline = measure.Add(spec.duration)
	)
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(requestTimeout))
	defer cancel()
	for _, w := range workers {
		wg.Go(func() {
			c := newClient()
			defer c.CloseIdleConnections()
			var (
				h        histogram
				n, errs  int64
				statuses = map[int]int64{}
				samples  []string
			)
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				recorded := !t0.Before(measure)
				if recorded && spec.maxRequests > 0 && total.Add(1) > spec.maxRequests {
					break
				}
				status, err := w.do(ctx, c, i)
				if !recorded {
					continue
				}
				h.record(time.Since(t0))
				n++
				switch {
				case err != nil:
					errs++
					if len(samples) < maxErrorSamples {
						samples = append(samples, err.Error())
					}
				case status < 200 || status > 299:
					statuses[status]++
					if len(samples) < maxErrorSamples {
						samples = append(samples, fmt.Sprintf("status %d", status))
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			out.hist.merge(&h)
			out.requests += n
			out.errors += errs
			for s, c := range statuses {
				out.statuses[s] += c
			}
			for _, s := range samples {
				if len(out.samples) < maxErrorSamples {
					out.samples = append(out.samples, s)
				}
			}
		})
	}
	wg.Wait()
	// The window runs until the last request in flight at the deadline
	// has its answer.
	out.elapsed = time.Since(measure)
	return out
}

// non2xx returns the number of answers outside 2xx.
func (o *outcome) non2xx() int64 {
	var n int64
	for _, c := range o.statuses {
		n += c
	}
	return n
}

// statusList formats the non-2xx statuses, most frequent first.
func (o *outcome) statusList() string {
	type sc struct {
		status int
		count  int64
	}
	var l []sc
	for s, c := range o.statuses {
		l = append(l, sc{s, c})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].count > l[j].count })
	s := ""
	for _, e := range l {
		if s != "" {
			s += " "
		}
		s += fmt.Sprintf("%d×%d", e.status, e.count)
	}
	return s
}

// send does req with c, reads the whole answer into io.Discard, and
// returns its status and headers.
func send(c *http.Client, req *http.Request) (int, http.Header, error) {
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	if cerr := res.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	return res.StatusCode, res.Header, nil
}
