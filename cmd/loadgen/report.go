package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is the outcome of a run.
type report struct {
	Started     time.Time `json:"started"`
	Connections int       `json:"connections"`
	Duration    string    `json:"duration"`
	Warmup      string    `json:"warmup"`
	GOMAXPROCS  int       `json:"gomaxprocs"`
	NumCPU      int       `json:"num_cpu"`
	GoVersion   string    `json:"go_version"`
	LogLevel    string    `json:"service_log_level,omitempty"`
	ServiceEnv  []string  `json:"service_env,omitempty"`
	BareBytes   int       `json:"bare_body_bytes,omitempty"`
	Results     []result  `json:"results"`
	Skipped     []string  `json:"skipped,omitempty"`
}

// result is the measurement of one scenario.
type result struct {
	// DB is the service's database: sqlite, postgres, external; empty for
	// the bare handler.
	DB           string           `json:"db,omitempty"`
	Scenario     string           `json:"scenario"`
	Connections  int              `json:"connections"`
	Requests     int64            `json:"requests"`
	Seconds      float64          `json:"seconds"`
	RPS          float64          `json:"requests_per_second"`
	P50Ms        float64          `json:"p50_ms"`
	P99Ms        float64          `json:"p99_ms"`
	P999Ms       float64          `json:"p99_9_ms"`
	MaxMs        float64          `json:"max_ms"`
	Non2xx       int64            `json:"non_2xx"`
	Statuses     map[string]int64 `json:"non_2xx_by_status,omitempty"`
	Errors       int64            `json:"errors"`
	ErrorSamples []string         `json:"error_samples,omitempty"`
	// PeakRSSBytes is the serving process's VmHWM over the scenario (the
	// service's, or the bare handler's); 0 when unknown (a -url service).
	PeakRSSBytes int64 `json:"service_peak_rss_bytes,omitempty"`
	// ServiceCPU and ClientCPU are the CPU cores the serving process and
	// loadgen used on average over the measured window.
	ServiceCPU float64 `json:"service_cpu_cores,omitempty"`
	ClientCPU  float64 `json:"loadgen_cpu_cores"`
	// ServiceCPUPerRequest is the serving process's CPU time per request,
	// in microseconds: steadier than requests/s on a shared machine.
	ServiceCPUPerRequest float64 `json:"service_cpu_us_per_request,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// newResult sums the slices of one scenario.
func newResult(db, scenario string, conns int, slices []slice) result {
	o := &outcome{statuses: map[int]int64{}}
	var svcCPU, selfCPU time.Duration
	var rss int64
	var exited string
	for _, sl := range slices {
		o.requests += sl.out.requests
		o.elapsed += sl.out.elapsed
		o.errors += sl.out.errors
		o.hist.merge(&sl.out.hist)
		for s, c := range sl.out.statuses {
			o.statuses[s] += c
		}
		for _, e := range sl.out.samples {
			if len(o.samples) < maxErrorSamples {
				o.samples = append(o.samples, e)
			}
		}
		svcCPU += sl.svcCPU
		selfCPU += sl.selfCPU
		rss = max(rss, sl.rss)
		if exited == "" {
			exited = sl.exited
		}
	}
	r := result{
		DB:           db,
		Scenario:     scenario,
		Connections:  conns,
		Requests:     o.requests,
		Seconds:      o.elapsed.Seconds(),
		P50Ms:        ms(o.hist.quantile(0.50)),
		P99Ms:        ms(o.hist.quantile(0.99)),
		P999Ms:       ms(o.hist.quantile(0.999)),
		MaxMs:        ms(o.hist.max),
		Non2xx:       o.non2xx(),
		Errors:       o.errors,
		ErrorSamples: o.samples,
		PeakRSSBytes: rss,
	}
	if scenario == scenarioBare {
		r.DB = ""
	}
	if o.elapsed > 0 {
		r.RPS = float64(o.requests) / o.elapsed.Seconds()
		r.ClientCPU = selfCPU.Seconds() / o.elapsed.Seconds()
		r.ServiceCPU = svcCPU.Seconds() / o.elapsed.Seconds()
	}
	if o.requests > 0 {
		r.ServiceCPUPerRequest = float64(svcCPU.Microseconds()) / float64(o.requests)
	}
	if len(o.statuses) > 0 {
		r.Statuses = map[string]int64{}
		for s, c := range o.statuses {
			r.Statuses[strconv.Itoa(s)] = c
		}
	}
	if exited != "" {
		r.Errors++
		r.ErrorSamples = append(r.ErrorSamples, "the service exited during the run:\n"+exited)
	}
	return r
}

// writeTable prints the results as a table, the ratio of GET /tasks to the
// bare handler, and what failed.
func (rep *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "\n%d connections, %s measured per scenario after %s warm-up; GOMAXPROCS %d, %d CPUs, %s",
		rep.Connections, rep.Duration, rep.Warmup, rep.GOMAXPROCS, rep.NumCPU, rep.GoVersion)
	if rep.LogLevel != "" {
		fmt.Fprintf(w, "; service LOG_LEVEL=%s", rep.LogLevel)
	}
	if len(rep.ServiceEnv) > 0 {
		fmt.Fprintf(w, " %s", strings.Join(rep.ServiceEnv, " "))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "db\tscenario\trequests\treq/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\tnon-2xx\terrors\tsvc peak RSS\tsvc CPU\tsvc µs/req\tloadgen CPU\t")
	var bare float64
	for _, r := range rep.Results {
		db, rss, svcCPU, perReq := r.DB, "-", "-", "-"
		if db == "" {
			db = "-"
			bare = r.RPS
		}
		if r.PeakRSSBytes > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(r.PeakRSSBytes)/(1<<20))
		}
		if r.ServiceCPU > 0 {
			svcCPU = fmt.Sprintf("%.2f", r.ServiceCPU)
			perReq = fmt.Sprintf("%.0f", r.ServiceCPUPerRequest)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%s\t%s\t%s\t%.2f\t\n",
			db, r.Scenario, r.Requests, r.RPS, r.P50Ms, r.P99Ms, r.P999Ms, r.MaxMs, r.Non2xx, r.Errors, rss, svcCPU, perReq, r.ClientCPU)
	}
	tw.Flush()
	for _, r := range rep.Results {
		if r.Scenario == scenarioGetTasks && bare > 0 {
			fmt.Fprintf(w, "%s get-tasks / bare: %.2f of the bare handler's requests/s\n", r.DB, r.RPS/bare)
		}
	}
	for _, r := range rep.Results {
		if r.Errors > 0 || r.Non2xx > 0 {
			fmt.Fprintf(w, "FAILED %s %s: %d errors, %d non-2xx %v; first: %q\n", r.DB, r.Scenario, r.Errors, r.Non2xx, r.Statuses, r.ErrorSamples)
		}
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "SKIPPED %s\n", s)
	}
}

// writeJSON writes the report as JSON to path, or to stdout for "-".
func (rep *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
