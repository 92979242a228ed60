package storesql

import (
	"context"
	"strings"

	"github.com/taskapi/taskapi"
)

// search returns the page of a search: through the text index for an
// indexable text of a user with at least ProbeLimit tasks, else by a
// window of the walk.
func (p *planner) search(ctx context.Context, q Querier) (*taskapi.TaskPage, error) {
	if !Indexable(p.f.Search) {
		return p.window(ctx, q, true)
	}
	// The user's rows in created_at's index, from its least value on (see
	// whole), a range per completion state.
	states := []int{noState}
	if p.d.State != "" {
		states = []int{0, 1}
	}
	text, args := p.countText(states, "created_at", func(q *query) {
		if p.d.Least != nil {
			q.add("(created_at, id) >= (?, ?)", p.d.Least(taskapi.SortCreatedAt), "")
		}
	}, true)
	n, err := q.Count(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	if n < ProbeLimit {
		// The window holds every task of the user.
		return p.window(ctx, q, false)
	}
	return p.run(ctx, q, p.textIndex())
}

// searchTerm adds the exact test of the search.
func (p *planner) searchTerm(q *query) {
	arg := p.d.SearchArg(p.f.Search)
	q.add(p.d.Search, arg, arg)
}

// textIndex is the statement that gathers the tasks that contain the
// search text through the text index, and sorts them.
func (p *planner) textIndex() statement {
	var q query
	p.identity(&q, false)
	if p.d.TextIndex != "" {
		q.add(p.d.TextIndex, p.d.TextIndexArgs(p.f.Search, p.f.UserID, p.issuer)...)
	}
	p.searchTerm(&q)
	for _, fl := range p.filters {
		p.addFilter(&q, fl, false)
	}
	p.keyset(&q)
	return p.gathered(`SELECT `+p.columns+` FROM tasks WHERE `+strings.Join(q.where, " AND "), q.args)
}

// window returns the page of the search among the next SearchWindow tasks
// of the walk (of each range of it, after a page token: see keyset). When
// the window ends before the page is full, and exhaustible says it may,
// the page token continues after its last task.
func (p *planner) window(ctx context.Context, q Querier, exhaustible bool) (*taskapi.TaskPage, error) {
	var rows []*taskapi.Task
	for _, seg := range p.segments() {
		inner := p.walkStatement(seg, SearchWindow, 0)
		var s query
		s.args = append([]any(nil), inner.args...)
		p.searchTerm(&s)
		s.args = append(s.args, p.f.Limit+1-len(rows))
		tasks, err := q.Tasks(ctx, `SELECT `+p.columns+` FROM (`+inner.text+`) AS examined WHERE `+strings.Join(s.where, " AND ")+
			` ORDER BY `+p.order()+` LIMIT ?`, s.args...)
		if err != nil {
			return nil, err
		}
		if rows = append(rows, tasks...); len(rows) > p.f.Limit {
			break
		}
		if !exhaustible {
			continue
		}
		last := p.walkStatement(seg, 1, SearchWindow-1)
		lastTask, err := q.Tasks(ctx, last.text, last.args...)
		if err != nil {
			return nil, err
		}
		if len(lastTask) == 1 { // the window ended within this range
			page := taskapi.NewTaskPage(rows, p.f.Limit, p.field)
			page.Next = &taskapi.Cursor{Value: lastTask[0].SortValue(p.field), ID: lastTask[0].ID}
			return page, nil
		}
	}
	return taskapi.NewTaskPage(rows, p.f.Limit, p.field), nil
}
