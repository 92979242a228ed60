package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/taskapi/taskapi/httpapi"
)

// pprofWriteTimeout leaves room for a CPU profile or trace of up to a
// minute (?seconds=60).
const pprofWriteTimeout = 90 * time.Second

// pprofAddr reads PPROF_ADDR: a loopback host:port ("localhost" meaning
// 127.0.0.1; port 0 picks a free one), or "" for none. The profiles show
// the process's memory and code, so any other address is refused.
func pprofAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("PPROF_ADDR=%q: want a loopback HOST:PORT such as 127.0.0.1:6060", truncate(s, 60))
	}
	if host == "localhost" {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("PPROF_ADDR=%q: profiling is served on loopback only (127.0.0.1, ::1 or localhost); reach it through an SSH tunnel or kubectl port-forward", truncate(s, 60))
	}
	return s, nil
}

// pprofHandler serves net/http/pprof under /debug/pprof/, on a mux of its
// own (never http.DefaultServeMux).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// startPprof serves the profiles on addr (checked by pprofAddr) until the
// returned stop is called.
func startPprof(log *slog.Logger, addr string) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           pprofHandler(),
		ReadHeaderTimeout: httpapi.ReadHeaderTimeout,
		WriteTimeout:      pprofWriteTimeout,
		MaxHeaderBytes:    httpapi.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("pprof listening", "addr", l.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close() // a profile in progress is cut short
		}
		<-done
	}, nil
}
