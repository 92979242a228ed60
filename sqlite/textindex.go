package sqlite

import (
	"context"
	"fmt"
	"strings"
)

// The text index of search (task_text, see migration 00008) is kept by the
// checkpointer's goroutine (its index), not by the writes: a write only
// inserts its row, and a change of a task's text or owner, or a delete,
// records the row's seq in task_text_stale (a trigger). indexText then
// brings the index up to date in batches of at most textBatch rows, each
// one transaction: one FTS segment for many rows instead of one per write.
//
// A task's entry in the index has the rowid userNo×2^32 + seq, userNo its
// user's number in task_text_users (given by the indexing), so that a
// search reads its user's range of rowids only. A seq must stay below 2^32
// (4 billion rows): indexing stops with an error at a larger one, and
// search then reads the rows not indexed (slower, never wrong).
//
// A search reads textCandidates: the index's matches in its user's range,
// the stale seqs and the rows above task_text_state.indexed_to, all in one
// statement (one snapshot), so a row not yet indexed is found all the
// same. The recheck of search (taskapi_contains) removes the rows that do
// not match.

// textBatch is how many rows one indexing transaction takes at most: it
// holds the write connection while it runs, so requests' writes wait
// behind it.
const textBatch = 1000

// userSpan is the span of rowids of one user in task_text.
const userSpan = `4294967296`

// textCandidates is the term of a search that selects, by seq, every task
// of a user that may contain the text: the index's matches of the user's
// range and the rows not indexed yet. Its arguments: textCandidatesArgs.
const textCandidates = `seq IN (SELECT rowid % ` + userSpan + ` FROM task_text WHERE task_text MATCH ?
		AND rowid >= (SELECT no FROM task_text_users WHERE user_id = ? AND issuer = ?) * ` + userSpan + `
		AND rowid < ((SELECT no FROM task_text_users WHERE user_id = ? AND issuer = ?) + 1) * ` + userSpan + `
	UNION ALL SELECT seq FROM task_text_stale
	UNION ALL SELECT seq FROM tasks WHERE seq > (SELECT indexed_to FROM task_text_state))`

// textCandidatesArgs returns the arguments of textCandidates.
func textCandidatesArgs(text, userID, issuer string) []any {
	return []any{ftsQuery(text), userID, issuer, userID, issuer}
}

// textEntries selects the entries of task_text of tasks whose seq passes
// the WHERE term that follows: rowid and indexed text (name and
// description lower-cased by the rule of search, in one column). The
// CROSS JOIN reads tasks first, by seq, and each one's user by its key:
// the other order would read every task of a user for each batch.
const textEntries = `SELECT u.no * ` + userSpan + ` + t.seq, ` + lowerFunc + `(t.name || char(10) || coalesce(t.description, ''))
	FROM tasks AS t CROSS JOIN task_text_users AS u ON u.user_id = t.user_id AND u.issuer = t.issuer WHERE `

// The statements that index the stale rows up to a seq, and the new rows
// in a range of seqs.
const (
	qIndexStale = `INSERT INTO task_text (rowid, text) ` + textEntries + `t.seq IN (SELECT seq FROM task_text_stale WHERE seq <= ?)`
	qIndexNew   = `INSERT INTO task_text (rowid, text) ` + textEntries + `t.seq > ? AND t.seq <= ?`
)

// ftsQuery returns the FTS5 query of the rows whose indexed text may
// contain term: every third trigram of term lower-cased, and its last, all
// required (task_text keeps no positions, so there are no phrase queries;
// any row that holds term holds all of them). term has at least 3
// characters (storesql.Indexable).
func ftsQuery(term string) string {
	r := []rune(strings.ToLower(term))
	var q []string
	add := func(i int) {
		q = append(q, `"`+strings.ReplaceAll(string(r[i:i+3]), `"`, `""`)+`"`)
	}
	for i := 0; i+3 <= len(r); i += 3 {
		add(i)
	}
	if len(r)%3 != 0 && len(r) >= 3 {
		add(len(r) - 3)
	}
	return strings.Join(q, " AND ")
}

// indexText brings task_text up to date as of its start, one batch per
// transaction on the write connection (a writer in the queue like the
// others), until a batch is not full or ctx ends: rows written meanwhile
// wait for the next call, rather than make it run a transaction for each
// few. It returns how many rows it indexed or removed.
func (s *Store) indexText(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		var full bool
		err := s.inTx(ctx, func(tx *tx) (err error) {
			n, full, err = indexBatch(tx)
			return err
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlite: index text: %w", err)
		}
		if !full {
			return total, nil
		}
	}
}

// indexBatch indexes at most textBatch stale rows and textBatch new rows
// in tx, and returns how many it took, and whether either was full.
func indexBatch(tx *tx) (n int, full bool, err error) {
	ctx := tx.ctx
	exec := func(query string, args ...any) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}
	var done, staleTo, staleCount, newTo, newCount int64
	if err := tx.QueryRowContext(ctx, `SELECT indexed_to FROM task_text_state`).Scan(&done); err != nil {
		return 0, false, err
	}
	// Rows indexed before whose text or owner changed, or that are gone:
	// out of the index, and in again as they are when they still exist.
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0), count(*) FROM
		(SELECT seq FROM task_text_stale WHERE seq <= ? ORDER BY seq LIMIT ?)`, done, textBatch).Scan(&staleTo, &staleCount); err != nil {
		return 0, false, err
	}
	if staleCount > 0 {
		stale := `seq IN (SELECT seq FROM task_text_stale WHERE seq <= ?)`
		for _, q := range []string{
			`DELETE FROM task_text WHERE rowid IN (SELECT indexed FROM task_text_stale WHERE seq <= ? AND indexed IS NOT NULL)`,
			`INSERT OR IGNORE INTO task_text_users (user_id, issuer) SELECT DISTINCT user_id, issuer FROM tasks WHERE ` + stale,
			qIndexStale,
			`DELETE FROM task_text_stale WHERE seq <= ?`,
		} {
			if err := exec(q, staleTo); err != nil {
				return 0, false, err
			}
		}
	}
	// New rows, as they are now: a stale mark of theirs is settled too.
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), ?1), count(*) FROM
		(SELECT seq FROM tasks WHERE seq > ?1 ORDER BY seq LIMIT ?2)`, done, textBatch).Scan(&newTo, &newCount); err != nil {
		return 0, false, err
	}
	if newTo >= 1<<32 {
		return 0, false, fmt.Errorf("task seq %d: over the index's 2^32", newTo)
	}
	if newCount > 0 {
		if err := exec(`INSERT OR IGNORE INTO task_text_users (user_id, issuer)
			SELECT DISTINCT user_id, issuer FROM tasks WHERE seq > ? AND seq <= ?`, done, newTo); err != nil {
			return 0, false, err
		}
		if err := exec(qIndexNew, done, newTo); err != nil {
			return 0, false, err
		}
	}
	n = int(staleCount + newCount)
	if staleCount < textBatch && newCount < textBatch {
		// Every row is indexed; the stale marks of rows deleted before
		// they were indexed go. indexed_to comes down to the largest seq,
		// so that SQLite's next seq (the largest plus one, even after the
		// largest row is deleted) is above it, and counted as not indexed.
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM tasks`).Scan(&newTo); err != nil {
			return 0, false, err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM task_text_stale WHERE seq > ?`, done)
		if err != nil {
			return 0, false, err
		}
		gone, err := res.RowsAffected()
		if err != nil {
			return 0, false, err
		}
		n += int(gone)
	} else if err := exec(`DELETE FROM task_text_stale WHERE seq > ? AND seq <= ?`, done, newTo); err != nil {
		return 0, false, err
	}
	if newTo != done {
		if err := exec(`UPDATE task_text_state SET indexed_to = ?`, newTo); err != nil {
			return 0, false, err
		}
		n++
	}
	return n, staleCount == textBatch || newCount == textBatch, nil
}
