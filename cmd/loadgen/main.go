// Command loadgen measures the taskapi service under load, beside a bare
// net/http handler that serves the same bytes, in one run on one machine.
//
// By default it builds ./cmd/taskapi, starts a development identity
// provider of its own and `taskapi serve` against it on 127.0.0.1, on a
// fresh SQLite file (-db sqlite) or a fresh PostgreSQL schema (-db
// postgres), and mints real RS256 tokens. With -url and -token it loads a
// service that is already running instead (loopback only).
//
// Scenarios (-scenario, comma-separated, or all):
//
//	bare        GET of the bytes of a real GET /tasks answer from a bare
//	            net/http handler in a process of its own (loadgen's
//	            executable again): the floor
//	get-tasks   GET /tasks of a user with 20 tasks
//	post-tasks  POST /tasks, each worker as a user of its own
//	post-tasks-keyed
//	            post-tasks, each request with a fresh Idempotency-Key
//	mixed       8 in 10 GET /tasks, 1 POST /tasks, 1 PATCH /tasks/{id}
//	            with If-Match
//	mixed-users each worker a user of its own with 20 tasks: per 10
//	            requests 6 GET /tasks of its own list (every third with
//	            ?completed=false&sort=due_date or ?sort=-updated_at),
//	            2 POST /tasks, 2 PATCH /tasks/{id} of one of its tasks
//	            with If-Match
//
// Each worker holds one keep-alive connection (-connections). For each
// scenario loadgen reports the requests, requests per second, the p50,
// p99 and p99.9 latency, the non-2xx answers and errors, the service's peak
// resident memory (VmHWM), the CPU used by the service (cores, and
// microseconds per request) and by loadgen. The bare handler's process is
// measured as the service's is.
// With -rounds N the scenarios take turns in N slices each, so that the
// other load of a shared machine weighs on all of them alike. The exit
// status is 1 when any request failed or was answered outside
// 2xx, 2 for a usage error.
//
// The service runs with serve's defaults; -service-env passes variables to
// it, e.g. -service-env REQUEST_TIMEOUT=0s.
//
// Usage:
//
//	go run ./cmd/loadgen [-duration 10s] [-connections 64] [-rounds 1] [-scenario all] [-db sqlite|postgres|all] [-json FILE]
//	go run ./cmd/loadgen -short    # CI: 2 s per scenario, fails on any error
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Bounds of the flags.
const (
	maxConnections = 1024
	maxDuration    = 10 * time.Minute
)

// options are the parsed flags.
type options struct {
	duration    time.Duration
	warmup      time.Duration
	connections int
	rounds      int
	maxRequests int64
	scenarios   []string
	dbs         []string
	jsonPath    string
	short       bool
	binary      string
	pgURL       string
	url         string
	token       string
	logLevel    string
	serviceEnv  envList
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }

func (l *envList) Set(s string) error {
	k, _, ok := strings.Cut(s, "=")
	if !ok || k == "" || strings.ContainsAny(k, " \t") {
		return fmt.Errorf("want KEY=VALUE, not %q", s)
	}
	*l = append(*l, s)
	return nil
}

func main() {
	if file := os.Getenv(bareEnv); file != "" {
		os.Exit(serveBare(file))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errFailed reports a run whose requests failed; the report says how.
var errFailed = errors.New("some requests failed or were answered outside 2xx")

// run runs loadgen with the command-line arguments args and returns the
// exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	rep, err := measure(ctx, o, stderr)
	if rep != nil {
		table := stdout
		if o.jsonPath == "-" {
			table = stderr // stdout is the JSON
		}
		rep.writeTable(table)
		if o.jsonPath != "" {
			if jerr := rep.writeJSON(o.jsonPath); jerr != nil {
				fmt.Fprintf(stderr, "loadgen: %v\n", jerr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario (at most 10m)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unrecorded load before each measurement")
	fs.IntVar(&o.connections, "connections", 64, "concurrent connections, one worker each (at most 1024)")
	fs.Int64Var(&o.maxRequests, "requests", 0, "stop a scenario (each slice of it with -rounds) after this many measured requests (0: time only)")
	fs.IntVar(&o.rounds, "rounds", 1, "split each scenario's -duration into this many slices, the scenarios taking turns (fairer on a shared machine)")
	scenario := fs.String("scenario", "all", "scenarios, comma-separated: bare, get-tasks, post-tasks, post-tasks-keyed, mixed, mixed-users, or all")
	db := fs.String("db", "sqlite", "database of the service: sqlite, postgres or all")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file (- for stdout)")
	fs.BoolVar(&o.short, "short", false, "CI form: 2s per scenario, 0.3s warm-up (unless set); exit 1 on any error or non-2xx")
	fs.StringVar(&o.binary, "taskapi", "", "the taskapi binary to run (default: go build ./cmd/taskapi of this module)")
	fs.StringVar(&o.pgURL, "pg", defaultPGURL(), "PostgreSQL server for -db postgres; loadgen creates and drops a schema of its own (env LOADGEN_PG_URL)")
	fs.StringVar(&o.url, "url", "", "load this running service instead of starting one (loopback only; needs -token)")
	fs.StringVar(&o.token, "token", "", "the bearer token for -url (e.g. from taskapi dev)")
	fs.StringVar(&o.logLevel, "log-level", "info", "LOG_LEVEL of the service loadgen starts")
	fs.Var(&o.serviceEnv, "service-env", "KEY=VALUE in the environment of the service loadgen starts, e.g. LOG_LEVEL=warn (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: loadgen [flags]\n\nMeasures taskapi under load beside a bare net/http handler (see go doc ./cmd/loadgen).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.short {
		if !set["duration"] {
			o.duration = 2 * time.Second
		}
		if !set["warmup"] {
			o.warmup = 300 * time.Millisecond
		}
	}
	var errs []error
	if o.duration <= 0 || o.duration > maxDuration {
		errs = append(errs, fmt.Errorf("-duration %v: want above 0 and at most %v", o.duration, maxDuration))
	}
	if o.warmup < 0 || o.warmup > maxDuration {
		errs = append(errs, fmt.Errorf("-warmup %v: want 0 to %v", o.warmup, maxDuration))
	}
	if o.connections < 1 || o.connections > maxConnections {
		errs = append(errs, fmt.Errorf("-connections %d: want 1 to %d", o.connections, maxConnections))
	}
	if o.rounds < 1 || o.rounds > 100 || (o.rounds > 0 && o.duration/time.Duration(o.rounds) < 100*time.Millisecond) {
		errs = append(errs, fmt.Errorf("-rounds %d: want 1 to 100, with slices of -duration of at least 100ms", o.rounds))
	}
	if o.maxRequests < 0 {
		errs = append(errs, fmt.Errorf("-requests %d: want 0 or more", o.maxRequests))
	}
	var err error
	if o.scenarios, err = parseList(*scenario, allScenarios); err != nil {
		errs = append(errs, fmt.Errorf("-scenario: %w", err))
	}
	if o.dbs, err = parseList(*db, []string{dbSQLite, dbPostgres}); err != nil {
		errs = append(errs, fmt.Errorf("-db: %w", err))
	}
	if o.url != "" {
		if err := checkLoopbackURL(o.url); err != nil {
			errs = append(errs, err)
		}
		if o.token == "" {
			errs = append(errs, errors.New("-url needs -token"))
		}
		if set["db"] {
			errs = append(errs, errors.New("-db does not apply to -url: the service there has its own database"))
		}
		o.url = strings.TrimRight(o.url, "/")
	} else if o.token != "" {
		errs = append(errs, errors.New("-token needs -url"))
	}
	switch o.logLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("-log-level %q: want debug, info, warn or error", o.logLevel))
	}
	return o, errors.Join(errs...)
}

// parseList parses a comma-separated list of names from known, or "all".
func parseList(s string, known []string) ([]string, error) {
	if strings.TrimSpace(s) == "all" {
		return known, nil
	}
	var l []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("unknown name %q: want %s, or all", n, strings.Join(known, ", "))
		}
		if !slices.Contains(l, n) {
			l = append(l, n)
		}
	}
	// The order of known, so bare runs beside get-tasks.
	slices.SortFunc(l, func(a, b string) int { return slices.Index(known, a) - slices.Index(known, b) })
	return l, nil
}
