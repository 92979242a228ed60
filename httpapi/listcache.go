package httpapi

import (
	"container/list"
	"strconv"
	"sync"
	"sync/atomic"
)

// listCache keeps rendered task-list pages, each under the list version
// (taskapi.ListVersioner) its user had when the page was read. A page is
// served again only while the store still reports that version, which the
// store reads from the database on every request: a write through any
// instance, or by any other process on the database, makes the next request
// miss. What the cache saves is the list query and its rendering, not the
// round trip to the database.
//
// It is bounded by the bytes it holds (pages, keys and headers), evicting
// the least recently used page first. Entries are never changed once made,
// so a page being written to one client is not disturbed by another
// request replacing it.
type listCache struct {
	max int64 // bytes

	mu    sync.Mutex
	size  int64
	lru   list.List // of *listEntry, most recent first
	items map[string]*list.Element

	hits, misses atomic.Uint64
}

// listEntry is one rendered page.
type listEntry struct {
	key     string
	version int64
	body    []byte
	link    string // the Link header; "" on a last page
}

// entryOverhead approximates the bytes an entry costs beyond its strings:
// the entry, its list element and its map slot.
const entryOverhead = 160

func (e *listEntry) cost() int64 {
	return int64(len(e.key)+len(e.body)+len(e.link)) + entryOverhead
}

// newListCache returns a cache of at most max bytes.
func newListCache(max int64) *listCache {
	return &listCache{max: max, items: make(map[string]*list.Element)}
}

// listKey is the cache key of a list request of a user: the path (which
// names the list, and the project of a project's tasks) and the raw query
// (filters, sort, limit, page token) determine the page. The user id and
// the path are prefixed by their lengths, so no two requests share a key
// whatever bytes a sub or a decoded path holds.
func listKey(userID, path, rawQuery string) string {
	return strconv.Itoa(len(userID)) + ":" + userID + strconv.Itoa(len(path)) + ":" + path + rawQuery
}

// get returns the page kept under key if it was read at version.
func (c *listCache) get(key string, version int64) (*listEntry, bool) {
	c.mu.Lock()
	el, ok := c.items[key]
	if ok {
		e := el.Value.(*listEntry)
		if e.version == version {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			c.hits.Add(1)
			return e, true
		}
	}
	c.mu.Unlock()
	c.misses.Add(1)
	return nil, false
}

// put keeps body (which the cache takes; the caller must not change it)
// and link under key and version, replacing an older page of the key.
// A page of more than an eighth of the cache is not kept.
func (c *listCache) put(key string, version int64, body []byte, link string) {
	e := &listEntry{key: key, version: version, body: body, link: link}
	cost := e.cost()
	if cost > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		old := el.Value.(*listEntry)
		if old.version > version {
			return // a newer page got here first
		}
		c.size -= old.cost()
		el.Value = e
		c.lru.MoveToFront(el)
	} else {
		c.items[key] = c.lru.PushFront(e)
	}
	c.size += cost
	for c.size > c.max {
		last := c.lru.Back()
		old := last.Value.(*listEntry)
		c.lru.Remove(last)
		delete(c.items, old.key)
		c.size -= old.cost()
	}
}

// len returns the number of pages kept and their cost in bytes.
func (c *listCache) len() (n int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.size
}
