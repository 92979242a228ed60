package storesql

import (
	"fmt"

	"github.com/taskapi/taskapi"
)

// The change feed (taskapi.Change) in both stores' schemas. Triggers on
// tasks and projects, in each store's migrations, keep two tables in the
// transaction of every write, whatever path it takes:
//
//   - change_counters: per user (issuer, user_id), seq, the number of the
//     latest change, and purged_seq, the highest number of a purged
//     tombstone. Each write adds one to seq, which locks the row until the
//     write commits: a user's writes take their numbers one after the other,
//     in the order they commit, on every instance of the database. No
//     number taken before a commit is ever seen after a later one.
//   - changes: per object (issuer, user_id, kind, id) its latest number,
//     whether it was deleted, and when (changed_at).
//
// The statements below read them, "?" marking each argument (the
// PostgreSQL store numbers them). Every one names the issuer, then the
// user.
const (
	// ChangeHeadSQL reads a user's taskapi.ChangeHead (no row: none yet).
	ChangeHeadSQL = `SELECT seq, purged_seq FROM change_counters WHERE issuer = ? AND user_id = ?`
	// ChangesSQL reads the changes after a number, oldest first, up to a
	// limit.
	ChangesSQL = `SELECT seq, kind, id, deleted FROM changes WHERE issuer = ? AND user_id = ? AND seq > ? ORDER BY seq LIMIT ?`
	// ExpiredUsersSQL finds up to a limit of users with tombstones older
	// than a time.
	ExpiredUsersSQL = `SELECT DISTINCT issuer, user_id FROM changes WHERE deleted AND changed_at < ? LIMIT ?`
)

// ChangedSQL returns the SELECT of columns of the user's rows of table
// (tasks, projects) whose latest change is numbered in (after, through]:
// the state of the objects of one page of changes.
func ChangedSQL(columns, table string, kind taskapi.ChangeKind) string {
	return `SELECT ` + columns + ` FROM ` + table + ` WHERE issuer = ? AND user_id = ? AND id IN
		(SELECT id FROM changes WHERE issuer = ? AND user_id = ? AND kind = '` + string(kind) + `' AND seq > ? AND seq <= ?)`
}

// Feed is the reads of one page of a user's change feed, all in the
// snapshot of one read transaction.
type Feed struct {
	// Head reads the user's head: zero when the user never wrote.
	Head func() (taskapi.ChangeHead, error)
	// Changes reads up to limit changes numbered above after (ChangesSQL),
	// without their state.
	Changes func(after int64, limit int) ([]taskapi.Change, error)
	// Tasks and Projects read the objects whose latest change is numbered
	// in (after, through] (ChangedSQL).
	Tasks    func(after, through int64) ([]*taskapi.Task, error)
	Projects func(after, through int64) ([]*taskapi.Project, error)
}

// ReadChanges reads the page of the feed f asks for: the head, checked
// against f.After, then the changes and the state of each changed object,
// which it attaches.
func ReadChanges(f taskapi.ChangeFilter, feed Feed) (*taskapi.ChangePage, error) {
	if f.After != nil && f.Limit < 1 {
		return nil, badRequest("limit must be at least 1")
	}
	head, err := feed.Head()
	if err != nil {
		return nil, err
	}
	if f.After == nil {
		return taskapi.NewChangePage(head, nil, 0), nil
	}
	after := *f.After
	if err := head.Check(after); err != nil {
		return nil, err
	}
	rows, err := feed.Changes(after, f.Limit+1)
	if err != nil {
		return nil, err
	}
	page := taskapi.NewChangePage(head, rows, f.Limit)
	if len(page.Changes) == 0 {
		return page, nil
	}
	through := page.Changes[len(page.Changes)-1].Seq
	tasks, err := feed.Tasks(after, through)
	if err != nil {
		return nil, err
	}
	projects, err := feed.Projects(after, through)
	if err != nil {
		return nil, err
	}
	return page, attach(page.Changes, tasks, projects)
}

// attach gives each change that is no tombstone its object's state. A
// change without one means the triggers and the rows disagree: an error.
func attach(changes []taskapi.Change, tasks []*taskapi.Task, projects []*taskapi.Project) error {
	byID := make(map[string]*taskapi.Task, len(tasks))
	for _, t := range tasks {
		byID[t.ID] = t
	}
	projectByID := make(map[string]*taskapi.Project, len(projects))
	for _, p := range projects {
		projectByID[p.ID] = p
	}
	for i := range changes {
		c := &changes[i]
		if c.Deleted {
			continue
		}
		switch c.Kind {
		case taskapi.ChangeTask:
			c.Task = byID[c.ID]
		case taskapi.ChangeProject:
			c.Project = projectByID[c.ID]
		}
		if c.Task == nil && c.Project == nil {
			return fmt.Errorf("change feed: %s %s has change %d but no row", c.Kind, c.ID, c.Seq)
		}
	}
	return nil
}

// ScanChange reads a row of ChangesSQL.
func ScanChange(r Scanner) (taskapi.Change, error) {
	var c taskapi.Change
	err := r.Scan(&c.Seq, &c.Kind, &c.ID, &c.Deleted)
	return c, err
}
