package devissuer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// CheckLoopback returns an error unless addr (host:port) names a loopback
// host: "localhost" or a loopback IP such as 127.0.0.1 or ::1. An empty
// host, which means every interface, is refused.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("devissuer: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("devissuer: refusing to listen on %q: the development issuer binds to loopback only (use 127.0.0.1:PORT)", addr)
}

// Start binds addr, which must be a loopback address (see CheckLoopback;
// "localhost" means 127.0.0.1, and port 0 picks a free port), sets the
// issuer's URL to http://HOST:PORT of the bound socket, and serves Handler
// in the background until Close. It logs, at warning level, that this is a
// development issuer.
func (i *Issuer) Start(addr string) error {
	if err := CheckLoopback(addr); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.server != nil {
		return errors.New("devissuer: already started")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("devissuer: %w", err)
	}
	i.url = "http://" + l.Addr().String()
	i.server = &http.Server{
		Handler:           i.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	i.done = make(chan struct{})
	go func(s *http.Server, done chan struct{}) {
		defer close(done)
		if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			i.logger.Error("development token issuer stopped", "err", err)
		}
	}(i.server, i.done)
	i.logger.Warn("development token issuer: for local development only, never production; bound to loopback",
		"issuer", i.url+"/", "jwks_uri", i.url+JWKSPath, "kid", i.kid)
	return nil
}

// Shutdown stops a started issuer gracefully, waiting for open requests
// until ctx ends. It does nothing if the issuer was not started.
func (i *Issuer) Shutdown(ctx context.Context) error {
	i.mu.Lock()
	s, done := i.server, i.done
	i.mu.Unlock()
	if s == nil {
		return nil
	}
	err := s.Shutdown(ctx)
	<-done
	return err
}

// Close stops a started issuer at once. It does nothing if the issuer was
// not started.
func (i *Issuer) Close() error {
	i.mu.Lock()
	s, done := i.server, i.done
	i.mu.Unlock()
	if s == nil {
		return nil
	}
	err := s.Close()
	<-done
	return err
}
