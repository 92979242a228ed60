package webapp_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/taskapi/taskapi/webapp"
)

func newApp(t *testing.T) *webapp.App {
	t.Helper()
	app, err := webapp.New(webapp.Config{Issuer: "https://tenant.example.auth0.com/", ClientID: "spa-client", Audience: "task-manager-api"})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func serve(h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestNewRefuses(t *testing.T) {
	for name, cfg := range map[string]webapp.Config{
		"no client id":         {Issuer: "https://a.example"},
		"no issuer":            {ClientID: "c"},
		"issuer not a URL":     {Issuer: "tenant.auth0.com", ClientID: "c"},
		"issuer with a query":  {Issuer: "https://a.example/?x=1", ClientID: "c"},
		"issuer with userinfo": {Issuer: "https://u:p@a.example", ClientID: "c"},
		"CSP injection":        {Issuer: "https://a.example; script-src *", ClientID: "c"},
		"javascript issuer":    {Issuer: "javascript:alert(1)", ClientID: "c"},
		"scope without openid": {Issuer: "https://a.example", ClientID: "c", Scope: "read:tasks"},
	} {
		if _, err := webapp.New(cfg); err == nil {
			t.Errorf("%s: New accepts %+v", name, cfg)
		}
	}
}

// TestHeaders: every answer carries the strict CSP, which lets scripts
// connect to the application's origin and the issuer's only.
func TestHeaders(t *testing.T) {
	app := newApp(t)
	for _, path := range []string{"/", webapp.CallbackPath, webapp.ConfigPath, "/app/main.js", "/app/style.css", "/app/nope"} {
		h := serve(app, http.MethodGet, path, nil).Header()
		want := map[string]string{
			"Content-Security-Policy": "default-src 'self'; connect-src 'self' https://tenant.example.auth0.com; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
			"X-Frame-Options":         "DENY",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		}
		for k, v := range want {
			if got := h.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
}

func TestFiles(t *testing.T) {
	app := newApp(t)
	for _, tc := range []struct {
		path, ctype string
		status      int
	}{
		{"/", "text/html; charset=utf-8", 200},
		{webapp.CallbackPath, "text/html; charset=utf-8", 200},
		{"/app/main.js", "text/javascript; charset=utf-8", 200},
		{"/app/auth.js", "text/javascript; charset=utf-8", 200},
		{"/app/style.css", "text/css; charset=utf-8", 200},
		{"/app/icon.svg", "image/svg+xml", 200},
		{"/app/index.html", "", 404}, // the page is at / only
		{"/app/", "", 404},
		{"/app/../main.js", "", 404},
		{"/app/static/main.js", "", 404},
	} {
		rec := serve(app, http.MethodGet, tc.path, nil)
		if rec.Code != tc.status || (tc.ctype != "" && rec.Header().Get("Content-Type") != tc.ctype) {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.status, tc.ctype)
		}
	}
	// Revalidated with the ETag.
	rec := serve(app, http.MethodGet, "/app/main.js", nil)
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, rec.Header().Get("Cache-Control"))
	}
	if rec := serve(app, http.MethodGet, "/app/main.js", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	if rec := serve(app, http.MethodPost, "/", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", rec.Code)
	}
}

// TestConfigIsPublic: the settings the browser reads hold nothing but the
// issuer, client id, audience and scope.
func TestConfigIsPublic(t *testing.T) {
	rec := serve(newApp(t), http.MethodGet, webapp.ConfigPath, nil)
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"issuer": "https://tenant.example.auth0.com/", "client_id": "spa-client", "audience": "task-manager-api", "scope": webapp.DefaultScope}
	if len(got) != len(want) {
		t.Errorf("config %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("config %s = %v, want %v", k, got[k], v)
		}
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("config Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
}

// TestWrap: the application answers at / and under /app/, the API
// everywhere else.
func TestWrap(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.Method+" "+r.URL.Path) })
	h := newApp(t).Wrap(api)
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/tasks", "api GET /tasks"},
		{"POST", "/", "api POST /"},
		{"GET", "/me", "api GET /me"},
		{"GET", "/openapi.json", "api GET /openapi.json"},
		{"GET", "/favicon.ico", "api GET /favicon.ico"},
		{"GET", "/", "<!doctype html>"},
		{"HEAD", "/app/main.js", ""},
		{"GET", "/app/config.json", "{"},
		{"GET", "/app/callback", "<!doctype html>"},
		// What the application has no file for is the API's (its 404),
		// without a redirect from /app to /app/.
		{"GET", "/app", "api GET /app"},
		{"GET", "/app/", "api GET /app/"},
		{"GET", "/app/nope.js", "api GET /app/nope.js"},
		{"GET", "/app/static/main.js", "api GET /app/static/main.js"},
		{"POST", "/app/main.js", "api POST /app/main.js"},
	} {
		rec := serve(h, tc.method, tc.path, nil)
		if !strings.HasPrefix(rec.Body.String(), tc.want) || (tc.want == "" && rec.Code != 200) {
			t.Errorf("%s %s: %d %.40q, want %q", tc.method, tc.path, rec.Code, rec.Body.String(), tc.want)
		}
	}
}

// TestNoInlineCodeOrThirdParties: the files hold no inline script, style
// or event handler (the CSP would block them) and load nothing from
// another site.
func TestNoInlineCodeOrThirdParties(t *testing.T) {
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=|javascript:|setAttribute\(['"]style|innerHTML|eval\(|new Function`)
	external := regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//`)
	err := filepath.WalkDir("static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if m := inline.Find(b); m != nil {
			t.Errorf("%s: inline code or markup injection risk: %q", p, m)
		}
		if m := external.Find(b); m != nil {
			t.Errorf("%s: loads from another site: %q", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
