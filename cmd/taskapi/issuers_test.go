package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/sqlite"
)

// TestAdoptRows: at start, rows written before issuers were recorded go to
// the one configured issuer; with several issuers their owner is unknown
// and the start stops, as it does for rows of an issuer ISSUERS lacks.
func TestAdoptRows(t *testing.T) {
	single := config{}
	single.Bearer.IssuerBaseURL = "https://tenant.example.com"
	several := config{}
	several.Bearer.Issuers.URLs = []string{"https://a.example.com/", "https://b.example.com/"}
	shared := several
	shared.SharedSubjects = true
	for _, tc := range []struct {
		name    string
		cfg     config
		rows    []string // issuers of existing rows
		wantErr string
		want    []string // issuers after a successful start
	}{
		{"single issuer adopts old rows", single, []string{""}, "", []string{"https://tenant.example.com"}},
		{"single issuer keeps another's rows apart", single, []string{"https://old.example.com"}, "", []string{"https://old.example.com"}},
		{"several issuers, old rows", several, []string{""}, "start taskapi once with ISSUER_BASE_URL", nil},
		{"several issuers, an unlisted one", several, []string{"https://a.example.com", "https://c.example.com"}, `"https://c.example.com", not listed in ISSUERS`, nil},
		{"several issuers, listed ones", several, []string{"https://a.example.com", "https://b.example.com"}, "", []string{"https://a.example.com", "https://b.example.com"}},
		{"shared subjects adopt old rows", shared, []string{""}, "", []string{"https://a.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			for _, iss := range tc.rows {
				if err := store.ForIssuer(iss).CreateTask(ctx, &taskapi.Task{UserID: "auth0|u", Name: "old"}); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			err = adoptRows(ctx, slog.New(slog.NewTextHandler(&logs, nil)), store, tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("adoptRows = %v, want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err := store.Issuers(ctx); err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("issuers after the start: %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
