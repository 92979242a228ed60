package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newLogger returns the logger of serve and dev: JSON lines by default (one
// object per line, for log collectors), logfmt-like text with
// LOG_FORMAT=text, at LOG_LEVEL.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// parseLogFormat reads LOG_FORMAT: json or text.
func parseLogFormat(c *config, name, s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "json":
		c.LogText = false
	case "text":
		c.LogText = true
	default:
		return fmt.Errorf("%s=%q: want json or text", name, truncate(s, 40))
	}
	return nil
}
