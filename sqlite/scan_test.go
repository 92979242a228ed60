package sqlite

import (
	"database/sql"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

func TestParseTime(t *testing.T) {
	for _, s := range []string{
		"2026-11-26T17:04:05.123456789Z", "2026-11-26T17:04:05.000000000Z", "0001-01-01T00:00:00.000000000Z",
		"2024-02-29T23:59:59.999999999Z", // leap day
		"2025-02-29T00:00:00.000000000Z", "2026-13-01T00:00:00.000000000Z", "2026-11-31T00:00:00.000000000Z",
		"2026-11-26T24:00:00.000000000Z", "2026-11-26T23:60:00.000000000Z", "2026-11-26T23:59:60.000000000Z",
		"2026-11-26T17:04:05.12345678+Z", "2026-11-26T17:04:05.123456789+01:00", "2026-11-26T17:04:05Z",
		"2026-11-26T17:04:05.5+02:00", "2026-11-26 17:04:05.123456789Z", "", "garbage",
	} {
		want, wantErr := time.Parse(time.RFC3339Nano, s)
		got, err := parseTime(s)
		if (err != nil) != (wantErr != nil) || (err == nil && got != want.UTC()) {
			t.Errorf("parseTime(%q) = %v, %v; time.Parse gives %v, %v", s, got, err, want.UTC(), wantErr)
		}
	}
}

// TestListedTaskEqualsRead checks that a list gives every task with every
// field exactly as Task does.
func TestListedTaskEqualsRead(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	project := &taskapi.Project{UserID: "auth0|list", Name: "home"}
	if err := s.CreateProject(ctx, project); err != nil {
		t.Fatal(err)
	}
	done := time.Date(2026, 11, 26, 17, 4, 5, 123456789, time.UTC)
	for i, task := range []*taskapi.Task{
		{UserID: "auth0|list", Name: "bare"},
		{UserID: "auth0|list", Name: "full", Description: ptr("d <&>"), ProjectID: &project.ID,
			DueDate: ptr(taskapi.NewDate(2030, 2, 28)), CompletedOn: &done},
		{UserID: "auth0|other", Name: "someone else's"},
	} {
		task.ID = "t" + string(rune('a'+i))
		if err := s.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.Tasks(ctx, taskapi.TaskFilter{UserID: "auth0|list", Limit: 10})
	if err != nil || len(page.Tasks) != 2 {
		t.Fatalf("list: %v, %v", page, err)
	}
	for _, listed := range page.Tasks {
		read, err := s.Task(ctx, "auth0|list", listed.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(listed, read) {
			t.Errorf("listed %+v\nread   %+v", *listed, *read)
		}
	}
}

// queryPlan returns the steps of EXPLAIN QUERY PLAN for query on db,
// joined by "; ".
func queryPlan(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}
