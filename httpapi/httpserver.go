package httpapi

import (
	"net/http"
	"time"
)

// Recommended limits of the HTTP server in front of the API, as
// NewHTTPServer sets them. They cut off hostile clients: a client sending
// its headers (or its body) slowly holds a connection for at most
// ReadHeaderTimeout (ReadTimeout), and a header block over MaxHeaderBytes
// is answered 431 by net/http.
const (
	// ReadHeaderTimeout bounds the reading of a request's headers.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds the reading of a whole request, headers and body:
	// a body of MaxBodyBytes (1 MiB) needs a client of at least 70 KB/s.
	ReadTimeout = 15 * time.Second
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response.
	WriteTimeout = 30 * time.Second
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes bounds the request line and headers (net/http allows
	// 4 KiB of slack above it).
	MaxHeaderBytes = 64 << 10
)

// NewHTTPServer returns an http.Server serving h on addr with the
// recommended timeouts and header limit. The caller may set more (ErrorLog,
// TLSConfig) before serving.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}
