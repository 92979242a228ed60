package contract

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"testing"
)

// Check fails t (t.Errorf, the test goes on) for each way ex departs from
// the document.
func (c *Checker) Check(t testing.TB, ex Exchange) {
	t.Helper()
	for _, p := range c.Problems(ex) {
		t.Errorf("OpenAPI: %s %s → %d: %s", ex.Request.Method, ex.Request.URL.Path, ex.Response.StatusCode, p)
	}
}

// Client returns an HTTP client whose every exchange is checked, failing
// t on a departure from the document.
func (c *Checker) Client(t testing.TB) *http.Client {
	return &http.Client{Transport: &transport{c: c, t: t, base: http.DefaultTransport}}
}

// transport checks the exchanges it carries.
type transport struct {
	c    *Checker
	t    testing.TB
	base http.RoundTripper
}

func (tr *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	var reqBody []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	res, err := tr.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt == "text/event-stream" {
		// A stream does not end: its status and headers are checked, not
		// its body.
		tr.c.Check(tr.t, Exchange{Request: r, RequestBody: reqBody, Response: res})
		return res, nil
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	tr.c.Check(tr.t, Exchange{Request: r, RequestBody: reqBody, Response: res, ResponseBody: resBody})
	return res, nil
}
