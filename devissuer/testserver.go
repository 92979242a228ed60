package devissuer

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"sync"
	"testing"
)

// testKey is generated once per process: RSA key generation takes tens to
// hundreds of milliseconds, too slow to repeat in every test.
var testKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, KeyBits)
})

// NewTestServer starts an issuer on an httptest server (127.0.0.1, a free
// port) for the duration of the test, with the audience
// "task-manager-api" as default unless opts set another. Every issuer
// NewTestServer returns in one process signs with the same key (each has its
// own URL, hence its own "iss"); a test that needs an unknown key builds
// its own with New.
func NewTestServer(t testing.TB, opts ...Option) *Issuer {
	t.Helper()
	key, err := testKey()
	if err != nil {
		t.Fatalf("devissuer: generate key: %v", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	opts = append([]Option{WithAudience("task-manager-api")}, opts...)
	iss := New(key, append(opts, WithURL("http://"+srv.Listener.Addr().String()))...)
	srv.Config.Handler = iss.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return iss
}
