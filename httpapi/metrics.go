package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Route labels of requests that matched no route pattern.
const (
	routeUnmatched = "unmatched" // 404 and 405 answers
	routePreflight = "preflight" // CORS preflight requests
)

// metrics are the Prometheus metrics of one server. Every label has a
// bounded set of values: routes are the path patterns of the mux (never
// raw paths), methods the standard ones (others are "other"), statuses
// and codes are the API's.
type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	inFlight     prometheus.Gauge
	authFailures *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	handler      http.Handler
}

// latencyBuckets suit an API answering in about a millisecond, with room
// for the slow tail.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// newMetrics registers the API's metrics in reg.
func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskapi_http_requests_total",
			Help: "HTTP requests answered, by route (path pattern), method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "taskapi_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route (path pattern) and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "taskapi_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskapi_auth_failures_total",
			Help: "Requests refused by authentication or authorization, by the code answered (ERR_AUTH, invalid_token, invalid_request, insufficient_scope, temporarily_unavailable).",
		}, []string{"code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskapi_rate_limited_total",
			Help: "Requests answered 429, by limit: subject (requests of a token's sub) or address (authentication failures of a client address).",
		}, []string{"limit"}),
	}
	cs := []prometheus.Collector{m.requests, m.duration, m.inFlight, m.authFailures, m.rateLimited}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("httpapi: register metrics: %w", err)
		}
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m, nil
}

// observe records one answered request.
func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// routeLabel is the route of a request as metrics and logs name it: the
// path of the mux pattern it matched ("/tasks/{id}" of "GET /tasks/{id}"),
// without the method, which is a label of its own.
func routeLabel(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return pattern[i+1:]
	}
	return pattern
}

// methodLabel bounds the method label: a client may send any token as a
// method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// serveMetrics answers GET /metrics in the Prometheus text format.
func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler.ServeHTTP(w, r)
}
