package storesql

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/taskapi/taskapi"
)

// Dialect is what the stores' lists differ in.
type Dialect struct {
	// Search is the exact test of a search: the task's name or
	// description contains the search text, lower-cased by the store's
	// rule. It takes SearchArg of the text twice.
	Search    string
	SearchArg func(text string) any
	// TextIndex selects, through the store's trigram index, the tasks of
	// a user that may contain the search text: at least those that Search
	// selects. It takes TextIndexArgs of the text and the user. Empty when
	// Search itself uses the index.
	TextIndex     string
	TextIndexArgs func(text, userID, issuer string) []any
	// Unindexed returns a term in a form that no index serves, so that it
	// is checked on the rows an index found and cannot make the database's
	// planner choose another index.
	Unindexed func(Term) string
	// State, when set, is the expression of a task's completion state (0
	// open, 1 completed) in the indexes of the sort fields other than
	// completed_on, between the user and the field: a walk reads the
	// range of one state, or of both merged.
	State string
	// LimitArms, when set, gives each range of a walk of both completion
	// states its own ORDER BY and LIMIT (see walkStatement): PostgreSQL's
	// planner, without statistics, would otherwise append the ranges whole
	// and sort them. SQLite merges the ranges of a UNION ALL in the order
	// of their index by itself, and would sort such subqueries again.
	LimitArms bool
	// Least, when set, returns the least value of a sort field, as its
	// column's argument: the first page of a walk then names the range of
	// the sort field's index it reads (see planner.whole).
	Least func(taskapi.SortField) any
	// Time and Date return the argument of a timestamp and of a date
	// column.
	Time func(*time.Time) any
	Date func(*taskapi.Date) any
	// Unstorable, when set, reports text that the store cannot hold: a
	// cursor with such text is invalid.
	Unstorable func(...string) bool
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
		c := keyset("created_at", false, false, v, f.After.ID)[0][0]
		q.add(c.term(plain), c.args...)
	}
	return q.selectText(columns, "projects", "created_at, id", f.Limit), q.args, nil
}

// query collects the WHERE terms of a list and their arguments.
type query struct {
	where []string
	args  []any
}

// add appends term and its arguments, one for each "?" of term. A count
// that differs is a bug of the caller: it panics. A term without
// arguments that q has already is left out: SQLite's planner may read
// the same test twice as two ways to use an index.
func (q *query) add(term string, args ...any) {
	if strings.Count(term, "?") != len(args) {
		panic(fmt.Sprintf("storesql: %d arguments for %q", len(args), term))
	}
	if len(args) == 0 && slices.Contains(q.where, term) {
		return
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

// Term is the SQL of a WHERE term, written with col around each column
// it tests (a Dialect's Unindexed may change them).
type Term func(col func(string) string) string

// plain is the column as it is.
func plain(column string) string { return column }

// cond is a term and its arguments.
type cond struct {
	term Term
	args []any
}

// keyset returns the rows after (value, id) in the order of column,
// ascending with NULLs last or descending with NULLs first (value is nil
// when the cursor's row had no value), as the conditions of one range of
// an index on (column, id), or of two ranges that follow each other in
// the list: the rest of the values, then every NULL; or the rest of the
// NULLs, then every value.
func keyset(column string, nullable, desc bool, value any, id string) [][]cond {
	pair := func(op string) cond {
		return cond{func(c func(string) string) string { return "(" + c(column) + ", " + c("id") + ") " + op + " (?, ?)" }, []any{value, id}}
	}
	null := func(test string) cond {
		return cond{func(c func(string) string) string { return c(column) + " " + test }, nil}
	}
	idAfter := func(op string) cond {
		return cond{func(c func(string) string) string { return c("id") + " " + op + " ?" }, []any{id}}
	}
	switch {
	case !desc && (!nullable || value != nil):
		if nullable {
			return [][]cond{{pair(">")}, {null("IS NULL")}}
		}
		return [][]cond{{pair(">")}}
	case !desc: // among the NULLs at the end
		return [][]cond{{null("IS NULL"), idAfter(">")}}
	case !nullable || value != nil: // the NULLs came first
		return [][]cond{{pair("<")}}
	default: // among the NULLs first, then every value
		return [][]cond{{null("IS NULL"), idAfter("<")}, {null("IS NOT NULL")}}
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
