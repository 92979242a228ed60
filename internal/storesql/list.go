package storesql

import (
	"fmt"
	"strings"
	"time"

	"github.com/taskapi/taskapi"
)

// Dialect is what the stores' lists differ in.
type Dialect struct {
	// Search selects the tasks whose name or description contains the
	// search text, which it takes twice.
	Search string
	// Time and Date return the argument of a timestamp and of a date
	// column.
	Time func(*time.Time) any
	Date func(*taskapi.Date) any
	// Unstorable, when set, reports text that the store cannot hold: a
	// cursor with such text is invalid.
	Unstorable func(...string) bool
}

// Tasks returns the SELECT of columns of one page of the tasks f selects
// among issuer's, in f.Sort order with ties broken by id, after f.After;
// its arguments; and the field the list is sorted by.
func Tasks(columns string, f taskapi.TaskFilter, issuer string, d Dialect) (text string, args []any, field taskapi.SortField, err error) {
	if f.Limit < 1 {
		return "", nil, "", badRequest("limit must be at least 1")
	}
	field = f.Sort.Field
	if field == "" {
		field = taskapi.SortCreatedAt
	}
	if !field.Valid() {
		return "", nil, "", badRequest("cannot sort by %q", field)
	}
	var q query
	q.add("user_id = ? AND issuer = ?", f.UserID, issuer)
	if f.Completed != nil {
		if *f.Completed {
			q.add("completed_on IS NOT NULL")
		} else {
			q.add("completed_on IS NULL")
		}
	}
	if f.Search != "" {
		q.add(d.Search, f.Search, f.Search)
	}
	switch {
	case f.Project.None:
		q.add("project_id IS NULL")
	case f.Project.ID != "":
		q.add("project_id = ?", f.Project.ID)
	}
	if f.DueBefore != nil {
		q.add("due_date < ?", d.Date(f.DueBefore))
	}
	if f.DueAfter != nil {
		q.add("due_date > ?", d.Date(f.DueAfter))
	}
	if f.After != nil {
		v, err := d.cursor(field, f.After)
		if err != nil {
			return "", nil, "", err
		}
		q.keyset(field.Column(), field.Nullable(), f.Sort.Desc, v, f.After.ID)
	}
	order := field.Column() + " ASC NULLS LAST, id ASC"
	if f.Sort.Desc {
		order = field.Column() + " DESC NULLS FIRST, id DESC"
	}
	return q.selectText(columns, "tasks", order, f.Limit), q.args, field, nil
}

// Projects returns the SELECT of columns of one page of issuer's projects
// that f selects, oldest first, ties broken by id, and its arguments.
func Projects(columns string, f taskapi.ProjectListFilter, issuer string, d Dialect) (text string, args []any, err error) {
	if f.Limit < 1 {
		return "", nil, badRequest("limit must be at least 1")
	}
	var q query
	q.add("user_id = ? AND issuer = ?", f.UserID, issuer)
	if f.After != nil {
		v, err := d.cursor(taskapi.SortCreatedAt, f.After)
		if err != nil {
			return "", nil, err
		}
		q.keyset("created_at", false, false, v, f.After.ID)
	}
	return q.selectText(columns, "projects", "created_at, id", f.Limit), q.args, nil
}

// query collects the WHERE terms of a list and their arguments.
type query struct {
	where []string
	args  []any
}

// add appends term and its arguments, one for each "?" of term. A count
// that differs is a bug of the caller: it panics.
func (q *query) add(term string, args ...any) {
	if strings.Count(term, "?") != len(args) {
		panic(fmt.Sprintf("storesql: %d arguments for %q", len(args), term))
	}
	q.where = append(q.where, term)
	q.args = append(q.args, args...)
}

// selectText returns the SELECT of a page of limit rows, with one more
// row that tells whether more follow.
func (q *query) selectText(columns, table, order string, limit int) string {
	q.args = append(q.args, limit+1)
	return `SELECT ` + columns + ` FROM ` + table + ` WHERE ` + strings.Join(q.where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ?`
}

// keyset adds the term that selects the rows after (value, id) in the
// order of column: ascending with NULLs last, or descending with NULLs
// first. value is nil when the cursor's row had no value.
func (q *query) keyset(column string, nullable, desc bool, value any, id string) {
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

// cursor checks c against the sort field and returns its value as the
// argument of field's column: nil when c's row had no value.
func (d Dialect) cursor(field taskapi.SortField, c *taskapi.Cursor) (any, error) {
	if c.ID == "" || d.Unstorable != nil && d.Unstorable(c.ID) {
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
		return d.Time(&t), nil
	case taskapi.SortDueDate:
		t, err := time.Parse(taskapi.DateLayout, v)
		if err != nil {
			return nil, badRequest("invalid page token")
		}
		date := taskapi.DateOf(t)
		return d.Date(&date), nil
	}
	if d.Unstorable != nil && d.Unstorable(v) {
		return nil, badRequest("invalid page token")
	}
	return v, nil
}

// badRequest is the answer to a list filter the stores cannot use.
func badRequest(format string, args ...any) error {
	return taskapi.Errorf(taskapi.EBADREQUEST, format, args...)
}
