package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/internal/storesql"
)

// Tasks returns one page of the tasks f selects, in f.Sort order with ties
// broken by id, after f.After, by the plans of storesql.ListTasks. The
// page is found by keyset (the sort value and id of the last row seen,
// never an offset), so rows inserted or deleted between two pages neither
// repeat nor skip rows that stayed. Names and ids compare byte by byte
// (their columns are COLLATE "C").
func (s *Store) Tasks(ctx context.Context, f taskapi.TaskFilter) (*taskapi.TaskPage, error) {
	return storesql.ListTasks(ctx, lists{s}, taskColumns, f, s.issuer, dialect)
}

// lists runs the statements of storesql's lists on the pool.
type lists struct{ s *Store }

func (l lists) Count(ctx context.Context, query string, args ...any) (n int, err error) {
	err = l.s.pool.QueryRow(ctx, numbered(query), args...).Scan(&n)
	return n, mapError(ctx, "list tasks", err)
}

func (l lists) Tasks(ctx context.Context, query string, args ...any) ([]*taskapi.Task, error) {
	return queryAll(ctx, l.s, "list tasks", scanRow(scanTask), numbered(query), args...)
}

// Projects returns one page of the user's projects, oldest first, ties
// broken by id, after f.After (by keyset, like Tasks).
func (s *Store) Projects(ctx context.Context, f taskapi.ProjectListFilter) (*taskapi.ProjectPage, error) {
	// A user id no row holds matches nothing; a limit below 1 is refused
	// first, a bad cursor after.
	if f.Limit > 0 && unstorable(f.UserID) {
		return taskapi.NewProjectPage(nil, f.Limit), nil
	}
	text, args, err := storesql.Projects(projectColumns, f, s.issuer, dialect)
	if err != nil {
		return nil, err
	}
	projects, err := queryAll(ctx, s, "list projects", scanRow(scanProject), numbered(text), args...)
	if err != nil {
		return nil, err
	}
	return taskapi.NewProjectPage(projects, f.Limit), nil
}

// dialect is how the lists of this store differ from SQLite's: search
// with LIKE (its % and _ escaped in the search text) on lower() in the
// collation taskapi_fold, which lower-cases by Unicode's rules (the
// columns' "C" changes ASCII letters only) and which the migrations fix,
// so that the text matches the expressions of the trigram indexes; the
// same test is the index's condition and its recheck. Unindexed writes a
// term as coalesce(term, false), which no index serves and which the
// planner takes to select half the rows, whatever its statistics: a term
// checked on the rows of a walk then never makes the planner believe the
// walk finds fewer rows than a page, and read all of them through another
// index and sort them (the statistics of a term, the user's, say, do not
// tell that a project's tasks are all the user's). The State of the sort
// fields' indexes is an integer (see migration 00010). Times to the
// microsecond, dates as pgtype.Date, and no text that PostgreSQL cannot
// store.
var dialect = storesql.Dialect{
	Search: "(lower(name COLLATE taskapi_fold) LIKE " + likeTerm + " OR lower(description COLLATE taskapi_fold) LIKE " + likeTerm + ")",
	SearchArg: func(text string) any {
		return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text)
	},
	Unindexed: func(t storesql.Term) string {
		return "coalesce(" + t(func(column string) string { return column }) + ", false)"
	},
	State:      "(completed_on IS NOT NULL)::integer",
	LimitArms:  true,
	Least:      least,
	Time:       timeArg,
	Date:       dateArg,
	Unstorable: unstorable,
}

// least is the least value of a sort field: a timestamp's or a date's
// -infinity, or the empty name.
func least(field taskapi.SortField) any {
	switch field {
	case taskapi.SortName:
		return ""
	case taskapi.SortDueDate:
		return pgtype.Date{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
}

// likeTerm is the LIKE pattern of an escaped search text: the text
// lower-cased as the columns are, anywhere in them.
const likeTerm = "('%' || lower(?::text COLLATE taskapi_fold) || '%')"

// numbered returns text with its "?"s numbered $1, $2, … in order.
func numbered(text string) string {
	parts := strings.Split(text, "?")
	var b strings.Builder
	b.WriteString(parts[0])
	for i, part := range parts[1:] {
		b.WriteString("$" + strconv.Itoa(i+1))
		b.WriteString(part)
	}
	return b.String()
}
