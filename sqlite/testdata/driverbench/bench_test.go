// Package driverbench compares the two pure-Go SQLite drivers on the store's two
// hot paths: inserting a task and reading a page of 20. It is a module of its
// own, under testdata, so that the driver not chosen stays out of go.mod:
//
//	cd sqlite/testdata/driverbench && go test -run='^$' -bench=. -benchtime=2s -count=3 -benchmem .
package driverbench

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver"
	_ "modernc.org/sqlite"
)

const schema = `CREATE TABLE IF NOT EXISTS tasks (
 id TEXT PRIMARY KEY, user_id TEXT NOT NULL, project_id TEXT, name TEXT NOT NULL, description TEXT,
 due_date TEXT, completed_on TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_user_created ON tasks(user_id, created_at, id);`

const pragmas = "_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_txlock=immediate"

func open(b *testing.B, driver string) *sql.DB {
	path := filepath.Join(b.TempDir(), "b.db")
	db, err := sql.Open(driver, "file:"+path+"?"+pragmas)
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

var drivers = []struct{ name, driver string }{{"modernc", "sqlite"}, {"ncruces", "sqlite3"}}

func ts(i int) string {
	return time.Unix(1_700_000_000, int64(i)*1000).UTC().Format("2006-01-02T15:04:05.000000000Z")
}

func BenchmarkInsertTask(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			db := open(b, d.driver)
			i := 0
			for b.Loop() {
				i++
				_, err := db.Exec(`INSERT INTO tasks (id,user_id,project_id,name,description,due_date,completed_on,created_at,updated_at,version)
 VALUES (?,?,NULL,?,?,?,NULL,?,?,1)`, fmt.Sprintf("id%09d", i), "auth0|user", "Buy milk", "two litres", "2030-01-01", ts(i), ts(i))
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkList20(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			db := open(b, d.driver)
			tx, _ := db.Begin()
			for i := range 2000 {
				if _, err := tx.Exec(`INSERT INTO tasks VALUES (?,?,NULL,?,?,?,NULL,?,?,1)`,
					fmt.Sprintf("id%09d", i), fmt.Sprintf("user%d", i%10), "Task name here", "some description text", "2030-01-01", ts(i), ts(i)); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			db.SetMaxOpenConns(4)
			for b.Loop() {
				rows, err := db.Query(`SELECT id,user_id,project_id,name,description,due_date,completed_on,created_at,updated_at,version
 FROM tasks WHERE user_id = ? ORDER BY created_at, id LIMIT 21`, "user3")
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					var id, uid, name, created, updated string
					var pid, desc, due, done sql.NullString
					var v int64
					if err := rows.Scan(&id, &uid, &pid, &name, &desc, &due, &done, &created, &updated, &v); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if rows.Err() != nil || n != 21 {
					b.Fatal(rows.Err(), n)
				}
				rows.Close()
			}
		})
	}
}
