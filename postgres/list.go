package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/taskapi/taskapi"
)

// query collects the WHERE terms of a list and their arguments. A term
// names its arguments with "?", numbered $1, $2, … by add.
type query struct {
	where []string
	args  []any
}

// add appends term, replacing its "?"s, in order, by the placeholders of
// args. A count that differs is a bug of the caller: it panics.
func (q *query) add(term string, args ...any) {
	parts := strings.Split(term, "?")
	if len(parts)-1 != len(args) {
		panic(fmt.Sprintf("postgres: %d arguments for %q", len(args), term))
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for i, a := range args {
		b.WriteString(q.next(a))
		b.WriteString(parts[i+1])
	}
	q.where = append(q.where, b.String())
}

// next returns the placeholder of a new argument v.
func (q *query) next(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// Tasks returns one page of the tasks f selects, in f.Sort order with ties
// broken by id, after f.After. The page is found by keyset (the sort value
// and id of the last row seen, never an offset), so rows inserted or
// deleted between two pages neither repeat nor skip rows that stayed.
// Names and ids compare byte by byte (their columns are COLLATE "C").
func (s *Store) Tasks(ctx context.Context, f taskapi.TaskFilter) (*taskapi.TaskPage, error) {
	if f.Limit < 1 {
		return nil, badRequest("limit must be at least 1")
	}
	field := f.Sort.Field
	if field == "" {
		field = taskapi.SortCreatedAt
	}
	if !field.Valid() {
		return nil, badRequest("cannot sort by %q", field)
	}
	var after any
	if f.After != nil {
		v, err := cursorValue(field, f.After)
		if err != nil {
			return nil, err
		}
		after = v
	}
	// No stored text holds U+0000 (PostgreSQL cannot store it), so a
	// filter with one matches nothing.
	if unstorable(f.UserID, f.Search, f.Project.ID) {
		return taskapi.NewTaskPage(nil, f.Limit, field), nil
	}

	var q query
	q.add("user_id = ? AND issuer = ?", f.UserID, s.issuer)
	if f.Completed != nil {
		if *f.Completed {
			q.add("completed_on IS NOT NULL")
		} else {
			q.add("completed_on IS NULL")
		}
	}
	if f.Search != "" {
		// strpos rather than LIKE: % and _ need no escaping. lower() in a
		// collation that lower-cases by Unicode's rules, not in the
		// columns' "C", which changes ASCII letters only.
		term := "lower(?::text COLLATE " + s.fold + ")"
		q.add("(strpos(lower(name COLLATE "+s.fold+"), "+term+") > 0 OR strpos(lower(description COLLATE "+s.fold+"), "+term+") > 0)",
			f.Search, f.Search)
	}
	switch {
	case f.Project.None:
		q.add("project_id IS NULL")
	case f.Project.ID != "":
		q.add("project_id = ?", f.Project.ID)
	}
	if f.DueBefore != nil {
		q.add("due_date < ?", dateArg(f.DueBefore))
	}
	if f.DueAfter != nil {
		q.add("due_date > ?", dateArg(f.DueAfter))
	}
	if f.After != nil {
		keyset(&q, field.Column(), field.Nullable(), f.Sort.Desc, after, f.After.ID)
	}

	order := field.Column() + " ASC NULLS LAST, id ASC"
	if f.Sort.Desc {
		order = field.Column() + " DESC NULLS FIRST, id DESC"
	}
	stmt := `SELECT ` + taskColumns + ` FROM tasks WHERE ` + strings.Join(q.where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ` + q.next(f.Limit+1)
	rows, err := s.pool.Query(ctx, stmt, q.args...)
	if err != nil {
		return nil, mapError(ctx, "list tasks", err)
	}
	tasks, err := pgx.CollectRows(rows, scanRow(scanTask))
	if err != nil {
		return nil, mapError(ctx, "list tasks", err)
	}
	return taskapi.NewTaskPage(tasks, f.Limit, field), nil
}

// keyset adds the term that selects the rows after (value, id) in the
// order of column: ascending with NULLs last, or descending with NULLs
// first. value is nil when the cursor's row had no value.
func keyset(q *query, column string, nullable, desc bool, value any, id string) {
	switch {
	case !nullable && !desc:
		q.add("("+column+", id) > (?, ?)", value, id)
	case !nullable && desc:
		q.add("("+column+", id) < (?, ?)", value, id)
	case !desc && value != nil: // the rest of the values, then every NULL
		q.add("("+column+" IS NULL OR ("+column+", id) > (?, ?))", value, id)
	case !desc && value == nil: // among the NULLs at the end
		q.add("("+column+" IS NULL AND id > ?)", id)
	case desc && value != nil: // the rest of the values; the NULLs came first
		q.add("("+column+", id) < (?, ?)", value, id)
	default: // desc, among the NULLs first, then every value
		q.add("("+column+" IS NOT NULL OR id < ?)", id)
	}
}

// cursorValue checks a cursor against the sort field and returns its value
// as the argument of the column: a time.Time, a pgtype.Date or a string;
// nil when the cursor's row had no value.
func cursorValue(field taskapi.SortField, c *taskapi.Cursor) (any, error) {
	if c.ID == "" || unstorable(c.ID) {
		return nil, badRequest("invalid page token")
	}
	if c.Value == nil {
		if !field.Nullable() {
			return nil, badRequest("invalid page token")
		}
		return nil, nil
	}
	v := *c.Value
	switch field {
	case taskapi.SortCreatedAt, taskapi.SortUpdatedAt, taskapi.SortCompletedOn:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, badRequest("invalid page token")
		}
		return micro(t), nil
	case taskapi.SortDueDate:
		d, err := time.Parse(taskapi.DateLayout, v)
		if err != nil {
			return nil, badRequest("invalid page token")
		}
		return pgtype.Date{Time: d, Valid: true}, nil
	}
	if unstorable(v) {
		return nil, badRequest("invalid page token")
	}
	return v, nil
}
