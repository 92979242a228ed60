package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/taskapi/taskapi/devissuer"
)

// TestLogFormat checks that serve and dev log alike: JSON lines by
// default, text with LOG_FORMAT=text.
func TestLogFormat(t *testing.T) {
	iss := devissuer.NewTestServer(t)
	jsonLine := regexp.MustCompile(`(?m)^\{"time":.*"msg":"(listening|DEVELOPMENT MODE[^"]*)".*\}$`)
	textLine := regexp.MustCompile(`(?m)^time=\S+ level=\S+ msg=("DEVELOPMENT MODE[^"]*"|listening) .*$`)
	tests := []struct {
		cmd, format string
		want        *regexp.Regexp
	}{
		{"serve", "", jsonLine},
		{"dev", "", jsonLine},
		{"serve", "text", textLine},
		{"dev", "text", textLine},
	}
	for _, tt := range tests {
		t.Run(tt.cmd+" "+tt.format, func(t *testing.T) {
			t.Chdir(t.TempDir())
			env := map[string]string{"LOG_FORMAT": tt.format, "PORT": "0"}
			args := []string{tt.cmd, "-addr", "127.0.0.1:0"}
			if tt.cmd == "serve" {
				env["ISSUER_BASE_URL"], env["AUDIENCE"] = iss.URL(), "task-manager-api"
			} else {
				args = append(args, "-issuer-addr", "127.0.0.1:"+freePort(t))
			}
			_, stderr, done, stop := startCmd(t, env, args...)
			line := stderr.waitFor(t, tt.want, done)[0]
			stop()
			if tt.format == "" {
				var v map[string]any
				if err := json.Unmarshal([]byte(line), &v); err != nil || v["level"] == nil {
					t.Errorf("not a JSON log line: %s (%v)", line, err)
				}
				for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
					if !json.Valid([]byte(l)) {
						t.Errorf("a line that is not JSON: %s", l)
					}
				}
			}
		})
	}
	if r := runCmd(t, map[string]string{"LOG_FORMAT": "xml"}, "serve"); r.err == nil || !strings.Contains(r.err.Error(), `LOG_FORMAT="xml": want json or text`) {
		t.Errorf("LOG_FORMAT=xml: %v", r.err)
	}
}
