package taskapi

// The change feed: what changed in a user's tasks and projects since a
// client last looked.
//
// Every write of a user's task or project (create, update, delete, and a
// task losing its deleted project) gives the object the next number of the
// user's change sequence. The stores keep, per object, only its latest
// number, and for a deleted object a tombstone (its kind and id). A client
// holds a cursor, the highest number it has seen, and asks for the objects
// whose latest number is above it, oldest first: each changed object once,
// with its state as it is now.
//
// No change is missed or repeated: the stores number a user's writes in
// the order they commit, and read a page, its cursor and the objects' state
// in one snapshot. Tombstones are purged once older than a retention time;
// a cursor from before a purged tombstone can no longer be continued, and
// the client must read everything again (ResyncRequired).

// ChangeKind names the kind of object a change is about.
type ChangeKind string

// The kinds of objects in the change feed.
const (
	ChangeTask    ChangeKind = "task"
	ChangeProject ChangeKind = "project"
)

// Change is the latest change of one object of a user: its number in the
// user's change sequence, what it is, and its current state (a tombstone
// when Deleted).
type Change struct {
	Seq     int64
	Kind    ChangeKind
	ID      string
	Deleted bool
	// Task or Project, by Kind, is the object as it is now; both are nil
	// when Deleted.
	Task    *Task
	Project *Project
}

// ChangeFilter asks for one page of a user's change feed.
type ChangeFilter struct {
	UserID string
	// After is the cursor the client holds: the page has the objects
	// changed after it. Nil asks for no changes, only the current cursor,
	// from which a client that has just read everything follows the feed.
	After *int64
	// Limit is the page size, at least 1 (ignored when After is nil).
	Limit int
}

// ChangeHead is where a user's change feed stands: the number of the
// latest change, and the highest number of a purged tombstone (0 when
// none was purged). A cursor between the two can be continued.
type ChangeHead struct {
	Latest int64
	Purged int64
}

// Check returns ResyncRequired unless a client holding cursor after can
// continue the feed: not behind a purged tombstone, which it would miss,
// and not ahead of the latest change (a cursor the user's feed never gave,
// or one from before the database was restored from a backup).
func (h ChangeHead) Check(after int64) error {
	if after < h.Purged || after > h.Latest {
		return ResyncRequired()
	}
	return nil
}

// ChangePage is one page of a change feed.
type ChangePage struct {
	// Changes are the changed objects in the order of their latest
	// change; never nil.
	Changes []Change
	// Next is the cursor to ask for the next page with.
	Next int64
	// More tells that more changes follow Next already.
	More bool
}

// NewChangePage makes the page of a feed asked for limit changes from the
// rows a store read in one snapshot with head: at most limit+1 in order,
// the one past the page only telling that more follow. The cursor of a
// full page is its last change's; of the last page, the head's latest
// number, which may lie past the page's last change (changes that later
// ones replaced, or purged tombstones).
func NewChangePage(head ChangeHead, rows []Change, limit int) *ChangePage {
	if rows == nil {
		rows = []Change{}
	}
	if len(rows) > limit {
		return &ChangePage{Changes: rows[:limit], Next: rows[limit-1].Seq, More: true}
	}
	return &ChangePage{Changes: rows, Next: head.Latest}
}

// ResyncRequired is the answer to a cursor the change feed cannot
// continue from.
func ResyncRequired() *Error {
	return Errorf(ERESYNC, "The cursor is too old (deleted objects after it are forgotten) or unknown: read all tasks and projects again, then follow the changes from a new cursor")
}
