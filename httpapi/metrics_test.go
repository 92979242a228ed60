package httpapi

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsLabels checks the request metrics' labels: the route is the
// path pattern without the method, the method a label of its own, bounded
// to the standard methods.
func TestMetricsLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newTestServer(t, func(c *Config) { c.Metrics, c.MetricsRegistry = true, reg })
	s.do(req{method: "GET", path: "/tasks", user: "alice"}).want(t, 200, "")
	s.do(req{method: "HEAD", path: "/tasks", user: "alice"})
	s.do(req{method: "BREW", path: "/tasks"})
	s.do(req{method: "X-" + strings.Repeat("A", 40), path: "/nowhere"})
	text := s.scrape()
	for series, want := range map[string]float64{
		`taskapi_http_requests_total{method="GET",route="/tasks",status="200"}`:      1,
		`taskapi_http_requests_total{method="HEAD",route="/tasks",status="200"}`:     1,
		`taskapi_http_requests_total{method="other",route="unmatched",status="405"}`: 1,
		`taskapi_http_requests_total{method="other",route="unmatched",status="404"}`: 1,
		`taskapi_http_request_duration_seconds_count{method="GET",route="/tasks"}`:   1,
	} {
		if got := metricValue(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if strings.Contains(text, "BREW") || strings.Contains(text, "AAAA") || strings.Contains(text, `route="GET `) {
		t.Errorf("a raw method, or a method in the route:\n%s", text)
	}
	// promtool check metrics' rules (client_golang's promlint).
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("metrics do not lint: %v %v", err, problems)
	}
}
