package storesql

import (
	"context"
	"strings"
	"unicode"

	"github.com/taskapi/taskapi"
)

// A task list is one of four plans, chosen here rather than by the
// database's planner, so that no list costs O(all the user's tasks) and no
// plan depends on planner statistics (present or not, fresh or stale):
//
//   - walk: read the index of the sort field in order from the page token
//     on, and stop after limit+1 rows that pass the filters. The index of
//     completed_on is (user_id, issuer, completed_on, id); the others have
//     the completion state (Dialect.State) before the field, (user_id,
//     issuer, state, field, id), so a list of open or of completed tasks
//     reads one range of the index, and a list of both reads a page of
//     each range and merges them. O(page) without a filter, with the
//     completed filter, and with a filter on the sort field itself (a due
//     date range sorted by due date); the tasks of one project sorted by
//     created_at walk the project's index, (project_id, created_at, id).
//   - probe, then walk or gather: a filter on another field than the
//     sort's (a due date range, a project) first counts its rows on its
//     own index, up to ProbeLimit. Fewer: the list gathers them there and
//     sorts them (at most ProbeLimit rows). More: the list walks the sort
//     field's index, where at least ProbeLimit of the user's rows pass the
//     filter. A due date range is read in the due date's index once per
//     completion state it covers.
//   - text index: a search of a text with a run of 3 letters or digits,
//     of a user with at least ProbeLimit tasks, gathers the tasks that
//     contain it through the store's trigram index and sorts them:
//     O(tasks that contain it).
//   - window: any other search walks the sort field's index but examines
//     at most SearchWindow tasks per request. A page may then hold fewer
//     tasks than asked for, even none, with a page token that continues
//     after the last task examined.
//
// A term that must not choose the index is written in the dialect's
// Unindexed form; a gathered set is collected in a MATERIALIZED common
// table expression, so that no index's order tempts the planner.

// Bounds of the plans.
const (
	// ProbeLimit is how many rows of a filter a list counts before it
	// decides to walk the sort field's index rather than gather them.
	ProbeLimit = 1000
	// SearchWindow is how many tasks a search that the text index cannot
	// serve examines per request.
	SearchWindow = 1000
)

// Querier runs the statements of a list on a store: the two kinds of
// query the plans need.
type Querier interface {
	// Count runs a query of one integer.
	Count(ctx context.Context, query string, args ...any) (int, error)
	// Tasks runs a query of rows of the columns given to ListTasks.
	Tasks(ctx context.Context, query string, args ...any) ([]*taskapi.Task, error)
}

// Indexable reports whether a search for term can use a trigram index: its
// lower-cased form has a run of at least three letters or digits (a
// trigram index of PostgreSQL, pg_trgm, extracts trigrams from such runs
// only) and no NUL character.
func Indexable(term string) bool {
	if strings.ContainsRune(term, 0) {
		return false
	}
	run := 0
	for _, r := range strings.ToLower(term) {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			run = 0
		} else if run++; run == 3 {
			return true
		}
	}
	return false
}

// ListTasks returns one page of the tasks f selects among issuer's, in
// f.Sort order with ties broken by id, after f.After, read by q as rows
// of columns.
func ListTasks(ctx context.Context, q Querier, columns string, f taskapi.TaskFilter, issuer string, d Dialect) (*taskapi.TaskPage, error) {
	p, err := newPlanner(columns, f, issuer, d)
	if err != nil {
		return nil, err
	}
	if d.Unstorable != nil && d.Unstorable(f.UserID, f.Search, f.Project.ID) {
		return taskapi.NewTaskPage(nil, f.Limit, p.field), nil // no row holds such text
	}
	if f.Search != "" {
		return p.search(ctx, q)
	}
	if probe := p.probed(); probe != nil {
		text, args := p.count(probe)
		n, err := q.Count(ctx, text, args...)
		if err != nil {
			return nil, err
		}
		if n < ProbeLimit {
			return p.run(ctx, q, p.gather(probe))
		}
	}
	return p.walk(ctx, q)
}

// planner builds the statements of one task list.
type planner struct {
	columns string
	f       taskapi.TaskFilter
	d       Dialect
	field   taskapi.SortField
	issuer  string
	after   any // the cursor's value as an argument, when f.After is set
	filters []filter
}

// filter is one WHERE term of the filter; on names the index that can
// find its rows (noIndex: none), and column the column it tests.
type filter struct {
	on     index
	column string
	term   Term
	args   []any
}

// index names the indexes a plan may choose.
type index int

const (
	noIndex     index = iota
	byField           // the sort field's (user_id, issuer, field, id)
	byDue             // (user_id, issuer, due_date, id)
	byCompleted       // (user_id, issuer, completed_on, id)
	byProject         // (project_id, created_at, id) of tasks with a project
)

// statement is the SQL of one query and its arguments.
type statement struct {
	text string
	args []any
}

func newPlanner(columns string, f taskapi.TaskFilter, issuer string, d Dialect) (*planner, error) {
	if f.Limit < 1 {
		return nil, badRequest("limit must be at least 1")
	}
	p := &planner{columns: columns, f: f, d: d, field: f.Sort.Field, issuer: issuer}
	if p.field == "" {
		p.field = taskapi.SortCreatedAt
	}
	if !p.field.Valid() {
		return nil, badRequest("cannot sort by %q", p.field)
	}
	if f.After != nil {
		v, err := d.cursor(p.field, f.After)
		if err != nil {
			return nil, err
		}
		p.after = v
	}
	if f.Completed != nil {
		test := "IS NULL"
		if *f.Completed {
			test = "IS NOT NULL"
		}
		p.add(byCompleted, "completed_on", "completed_on "+test)
	}
	switch {
	case f.Project.None:
		p.add(noIndex, "project_id", "project_id IS NULL")
	case f.Project.ID != "":
		p.add(byProject, "project_id", "project_id = ?", f.Project.ID)
	}
	if f.DueBefore != nil {
		p.add(byDue, "due_date", "due_date < ?", d.Date(f.DueBefore))
	}
	if f.DueAfter != nil {
		p.add(byDue, "due_date", "due_date > ?", d.Date(f.DueAfter))
	}
	return p, nil
}

// add adds a filter: sql tests column, written first in it.
func (p *planner) add(on index, column, sql string, args ...any) {
	rest := strings.TrimPrefix(sql, column)
	p.filters = append(p.filters, filter{on: on, column: column, args: args,
		term: func(c func(string) string) string { return c(column) + rest }})
}

// walking returns the index the walk reads: the project's for a
// project's tasks sorted by created_at, else the sort field's.
func (p *planner) walking() index {
	if p.f.Project.ID != "" && p.field == taskapi.SortCreatedAt {
		return byProject
	}
	return byField
}

// inWalk reports whether the walk's index serves filter fl as part of its
// range: a filter on the sort field, the completion of a walk of an index
// with the completion state, or the project of the project's walk.
func (p *planner) inWalk(fl filter) bool {
	if p.walking() == byProject {
		return fl.on == byProject
	}
	return fl.on != noIndex && fl.column == p.field.Column() || fl.on == byCompleted && p.stated()
}

// probed returns the filter whose rows decide between a walk and a gather:
// the first, in the order project, due date, completed, that the walk's
// index does not serve but its own index does; nil when there is none.
func (p *planner) probed() *filter {
	for _, on := range []index{byProject, byDue, byCompleted} {
		for i, fl := range p.filters {
			if fl.on == on && !p.inWalk(fl) {
				return &p.filters[i]
			}
		}
	}
	return nil
}

// count is the statement that counts, up to ProbeLimit, the user's rows
// that probe selects, on probe's index: the due date's index range by
// range, one per completion state it reads.
func (p *planner) count(probe *filter) (string, []any) {
	order := probe.column
	if probe.on == byProject {
		order = "created_at"
	}
	return p.countText(p.readStates(probe.on), order, func(q *query) {
		q.add(probe.term(plain), probe.args...)
	}, probe.on != byProject)
}

// countText is the statement that counts, up to ProbeLimit per state, the
// user's rows (the identity indexed or not) that terms select in one
// completion state each (or noState), in the order of the index on (…,
// order, id) that serves them: a planner that would read every match
// through a bitmap, to stop at the ProbeLimit-th, must then sort them, so
// it reads the index in order.
func (p *planner) countText(states []int, order string, terms func(*query), indexed bool) (string, []any) {
	var parts []string
	var args []any
	for _, state := range states {
		var q query
		p.identity(&q, indexed)
		p.stateTerm(&q, state)
		terms(&q)
		parts = append(parts, `SELECT count(*) FROM (SELECT 1 FROM tasks WHERE `+strings.Join(q.where, " AND ")+
			` ORDER BY `+order+`, id LIMIT ?) AS probe`)
		args = append(append(args, q.args...), ProbeLimit)
	}
	if len(parts) == 1 {
		return parts[0], args
	}
	return `SELECT (` + strings.Join(parts, ") + (") + `)`, args
}

// readStates returns the completion states a read of index reads, each
// one range of it: the due date's index has them (Dialect.State) between
// the user and the due date.
func (p *planner) readStates(on index) []int {
	if on != byDue || p.d.State == "" {
		return []int{noState}
	}
	return p.completionStates()
}

// completionStates returns the completion states of the rows the filter
// selects: its own, or both.
func (p *planner) completionStates() []int {
	switch {
	case p.f.Completed == nil:
		return []int{0, 1}
	case *p.f.Completed:
		return []int{1}
	}
	return []int{0}
}

// stateTerm adds the term of one completion state, unless it is noState.
func (p *planner) stateTerm(q *query, state int) {
	if state != noState {
		q.add(p.d.State+" = ?", state)
	}
}

// gather is the statement that collects the rows of on's filter through
// its own index (range by range, one per completion state it reads) and
// sorts them.
func (p *planner) gather(on *filter) statement {
	var parts []string
	var args []any
	for _, state := range p.readStates(on.on) {
		var q query
		p.identity(&q, on.on != byProject) // the other indexes lead with the user
		p.stateTerm(&q, state)
		for _, fl := range p.filters {
			p.addFilter(&q, fl, fl.on == on.on && fl.column == on.column)
		}
		p.keyset(&q)
		parts = append(parts, `SELECT `+p.columns+` FROM tasks WHERE `+strings.Join(q.where, " AND "))
		args = append(args, q.args...)
	}
	return p.gathered(strings.Join(parts, " UNION ALL "), args)
}

// gathered wraps rows (a SELECT) in a MATERIALIZED common table
// expression and sorts them: the planner then has no order to keep and
// reads them through the one index the terms leave it.
func (p *planner) gathered(rows string, args []any) statement {
	return statement{`WITH gathered AS MATERIALIZED (` + rows + `) SELECT ` + p.columns + ` FROM gathered ORDER BY ` + p.order() + ` LIMIT ?`,
		append(args, p.f.Limit+1)}
}

// identity adds the user and issuer terms, indexed or not.
func (p *planner) identity(q *query, indexed bool) {
	q.add(p.form(identityTerm, indexed), p.f.UserID, p.issuer)
}

// identityTerm is the term of the user and issuer.
func identityTerm(c func(string) string) string {
	return c("user_id") + " = ? AND " + c("issuer") + " = ?"
}

func (p *planner) addFilter(q *query, fl filter, indexed bool) {
	q.add(p.form(fl.term, indexed), fl.args...)
}

// keyset adds the term of the rows after the page token, if any, in the
// form no index serves: the rows of a gather are found by another index.
func (p *planner) keyset(q *query) {
	if p.f.After == nil {
		return
	}
	segs := p.segments()
	var args []any
	for _, seg := range segs {
		for _, c := range seg {
			args = append(args, c.args...)
		}
	}
	q.add(p.d.Unindexed(func(col func(string) string) string {
		var or []string
		for _, seg := range segs {
			var and []string
			for _, c := range seg {
				and = append(and, c.term(col))
			}
			or = append(or, "("+strings.Join(and, " AND ")+")")
		}
		return "(" + strings.Join(or, " OR ") + ")"
	}), args...)
}

// form returns term as is, or in the form no index serves.
func (p *planner) form(t Term, indexed bool) string {
	if indexed {
		return t(plain)
	}
	return p.d.Unindexed(t)
}

// order is the ORDER BY of the list.
func (p *planner) order() string {
	c := p.field.Column()
	if p.f.Sort.Desc {
		return c + " DESC NULLS FIRST, id DESC"
	}
	return c + " ASC NULLS LAST, id ASC"
}

func (p *planner) run(ctx context.Context, q Querier, s statement) (*taskapi.TaskPage, error) {
	tasks, err := q.Tasks(ctx, s.text, s.args...)
	if err != nil {
		return nil, err
	}
	return taskapi.NewTaskPage(tasks, p.f.Limit, p.field), nil
}
