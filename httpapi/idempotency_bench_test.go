package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/postgres"
	"github.com/taskapi/taskapi/postgres/pgtest"
	"github.com/taskapi/taskapi/sqlite"
)

// BenchmarkCreateWithKey measures POST /tasks through the whole handler on
// each store, with the binary's default caps, alternating a create without
// an Idempotency-Key and one with a fresh key in the same loop, so that
// both see the same machine: it reports the time of each and their ratio.
//
//	go test -run '^$' -bench CreateWithKey -count 5 ./httpapi
func BenchmarkCreateWithKey(b *testing.B) {
	limits := taskapi.Limits{Tasks: taskapi.DefaultMaxTasks, Projects: taskapi.DefaultMaxProjects, IdempotencyKeys: taskapi.DefaultMaxKeys}
	stores := []struct {
		name string
		open func(b *testing.B) (taskapi.Store, error)
	}{
		{"sqlite", func(b *testing.B) (taskapi.Store, error) {
			return sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "t.db"), sqlite.WithLimits(limits))
		}},
		{"postgres", func(b *testing.B) (taskapi.Store, error) {
			return postgres.Open(context.Background(), pgtest.Schema(b), postgres.WithLimits(limits))
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			store, err := st.open(b)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			h, err := NewServer(Config{Store: store, Authenticate: testAuthenticate, Logger: logger(io.Discard)})
			if err != nil {
				b.Fatal(err)
			}
			body := `{"name":"A task of realistic size","description":"Created by the benchmark, with a description and a due date.","due_date":"2030-07-01"}`
			create := func(key string) {
				r := httptest.NewRequest("POST", "/tasks", strings.NewReader(body))
				r.Header.Set(hdrSub, "auth0|bench")
				r.Header.Set("Content-Type", "application/json")
				if key != "" {
					r.Header.Set("Idempotency-Key", key)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 201 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			var plain, keyed time.Duration
			n := 0
			for b.Loop() {
				t0 := time.Now()
				create("")
				t1 := time.Now()
				create(fmt.Sprint("bench-key-", n))
				keyed += time.Since(t1)
				plain += t1.Sub(t0)
				n++
			}
			b.ReportMetric(float64(plain.Nanoseconds())/float64(n), "plain-ns/create")
			b.ReportMetric(float64(keyed.Nanoseconds())/float64(n), "keyed-ns/create")
			b.ReportMetric(float64(keyed)/float64(plain), "keyed/plain")
		})
	}
}
