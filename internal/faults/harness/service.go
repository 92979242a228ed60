// Package harness builds the taskapi binary and runs it as a child process
// on loopback, with the environment a test or the load generator chooses
// (its own development issuer, a temporary SQLite file or a PostgreSQL
// schema), and gives what fault tests need around it: signals, the exit
// status, the log, the peak resident memory, and a TCP proxy to cut the
// service off from its database or identity provider.
//
// It serves cmd/loadgen and the tests of package faults; it is not part of
// the service.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Audience is the API identifier the services of the harness accept.
const Audience = "task-manager-api"

// Scopes are the scopes of the tokens the harness users mint: every scope
// the API knows, so the tests pass with REQUIRE_SCOPES on or off.
const Scopes = "read:tasks write:tasks delete:tasks"

// ErrPostgresNotSupported reports a taskapi binary that refuses
// DATABASE_URL=postgres://… ("PostgreSQL support is not built yet").
var ErrPostgresNotSupported = errors.New("the taskapi binary does not support DATABASE_URL=postgres://… yet")

// startTimeout bounds the wait for a started service to answer GET /health.
const startTimeout = 30 * time.Second

// ModuleRoot returns the directory of the go.mod above the working
// directory: the root of the taskapi module when run from inside it.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("harness: no go.mod above the working directory: run from inside the taskapi module")
		}
		dir = parent
	}
}

// Build compiles the taskapi command of the module at root (./cmd/taskapi)
// into the file out.
func Build(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/taskapi")
	cmd.Dir = root
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("harness: go build ./cmd/taskapi: %w\n%s", err, buf.Bytes())
	}
	return nil
}

// Config says how to run the service.
type Config struct {
	// Binary is the taskapi executable. Required.
	Binary string
	// Dir is the working directory of the process and holds its log
	// (taskapi.log). It should hold no .env file. Required.
	Dir string
	// DatabaseURL is the service's DATABASE_URL (sqlite:PATH or
	// postgres://…). Required.
	DatabaseURL string
	// IssuerBaseURL is the service's ISSUER_BASE_URL. Required.
	IssuerBaseURL string
	// LogLevel is the service's LOG_LEVEL ("" for the binary's default).
	LogLevel string
	// Env holds more NAME=value variables (REQUIRE_SCOPES, say).
	Env []string
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// SysProcAttr, when set, is the process's (to run it as another
	// user, say).
	SysProcAttr *syscall.SysProcAttr
}

// Service is a running taskapi serve process.
type Service struct {
	// URL is the base URL of the API, http://127.0.0.1:PORT.
	URL string

	cfg     Config
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has been waited for
	state   *os.ProcessState
	waitErr error
}

// Start runs `taskapi serve` with cfg and waits until it answers GET
// /health, for at most 30 s. A process that exits first is reported with
// the end of its log; ErrPostgresNotSupported when it refused a postgres://
// URL. The caller must Stop or Kill the service.
func Start(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Binary == "" || cfg.Dir == "" || cfg.DatabaseURL == "" || cfg.IssuerBaseURL == "" {
		return nil, errors.New("harness: Config needs Binary, Dir, DatabaseURL and IssuerBaseURL")
	}
	// A free port is chosen by binding and releasing it; another process
	// can take it in between, so a start that fails on the address is
	// retried with another port.
	fixed := cfg.Port != 0
	for attempt := 0; ; attempt++ {
		port := cfg.Port
		if !fixed {
			var err error
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		s, err := start(ctx, cfg, port)
		if err != nil && !fixed && attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		return s, err
	}
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(ctx context.Context, cfg Config, port int) (*Service, error) {
	logPath := filepath.Join(cfg.Dir, "taskapi.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(cfg.Binary, "serve", "-addr", addr)
	cmd.Dir = cfg.Dir
	// A clean environment: nothing of the caller's DATABASE_URL or
	// ISSUER_BASE_URL leaks in.
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + cfg.Dir,
		"DATABASE_URL=" + cfg.DatabaseURL,
		"ISSUER_BASE_URL=" + cfg.IssuerBaseURL,
		"AUDIENCE=" + Audience,
	}, cfg.Env...)
	if cfg.LogLevel != "" {
		cmd.Env = append(cmd.Env, "LOG_LEVEL="+cfg.LogLevel)
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = cfg.SysProcAttr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("harness: start %s: %w", cfg.Binary, err)
	}
	s := &Service{URL: "http://" + addr, cfg: cfg, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		s.state = cmd.ProcessState
		close(s.done)
	}()
	if err := s.waitHealthy(ctx); err != nil {
		s.Kill()
		log := s.LogTail(4096)
		if strings.Contains(log, "PostgreSQL support is not built yet") {
			return nil, ErrPostgresNotSupported
		}
		return nil, fmt.Errorf("%w\n--- taskapi log ---\n%s", err, log)
	}
	return s, nil
}

// waitHealthy polls GET /health until it answers 200.
func (s *Service) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/health", nil)
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("harness: taskapi exited before it was ready: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("harness: taskapi did not answer GET /health within %v", startTimeout)
		case <-tick.C:
		}
	}
}

// PID returns the process id of the service.
func (s *Service) PID() int { return s.cmd.Process.Pid }

// Signal sends sig to the service.
func (s *Service) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Wait waits at most timeout for the process to exit and returns its exit
// code (-1 when a signal ended it).
func (s *Service) Wait(timeout time.Duration) (int, error) {
	select {
	case <-s.done:
		return s.state.ExitCode(), nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("harness: taskapi (pid %d) still running after %v", s.PID(), timeout)
	}
}

// Exited reports whether the process has ended.
func (s *Service) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Kill ends the process at once (SIGKILL) and waits for it.
func (s *Service) Kill() {
	if !s.Exited() {
		s.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-s.done
}

// Stop sends SIGTERM and waits at most timeout for a clean exit, then
// kills the process. It returns the exit code of a process that exited by
// itself, or an error.
func (s *Service) Stop(timeout time.Duration) (int, error) {
	if s.Exited() {
		return s.state.ExitCode(), nil
	}
	if err := s.Signal(syscall.SIGTERM); err != nil && !s.Exited() {
		return 0, err
	}
	code, err := s.Wait(timeout)
	if err != nil {
		s.Kill()
	}
	return code, err
}

// Log returns the whole log (stdout and stderr) of the process so far.
func (s *Service) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// LogTail returns at most the last n bytes of the log.
func (s *Service) LogTail(n int) string {
	l := s.Log()
	if len(l) > n {
		l = "…" + l[len(l)-n:]
	}
	return l
}

// PeakRSS returns the peak resident set size of the process in bytes
// (VmHWM of /proc/PID/status) since it started or since ResetPeakRSS.
func (s *Service) PeakRSS() (int64, error) { return PeakRSS(s.PID()) }

// ResetPeakRSS resets the peak resident set size of the process to its
// current size, so the next PeakRSS covers one phase only.
func (s *Service) ResetPeakRSS() error { return ResetPeakRSS(s.PID()) }

// CPUTime returns the user plus system CPU time the process has used so
// far (/proc/PID/stat).
func (s *Service) CPUTime() (time.Duration, error) { return ProcCPUTime(s.PID()) }

// PeakRSS returns the peak resident set size of process pid in bytes
// (VmHWM of /proc/PID/status).
func PeakRSS(pid int) (int64, error) { return procStatusKB(pid, "VmHWM:") }

// ResetPeakRSS resets the peak resident set size of process pid to its
// current size (Linux: "5" written to /proc/PID/clear_refs).
func ResetPeakRSS(pid int) error {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}

func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("harness: no %s in /proc/%d/status", field, pid)
}

// clockTicks is USER_HZ, the unit of the times in /proc/PID/stat: 100 on
// every Linux platform Go supports.
const clockTicks = 100

// ProcCPUTime returns the user plus system CPU time process pid has used.
func ProcCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("harness: malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("harness: short /proc/PID/stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+st) * time.Second / clockTicks, nil
}
