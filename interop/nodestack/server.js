// The tutorial's stack, for load comparisons with taskapi: Express 5,
// express-oauth2-jwt-bearer 1.10 configured as the tutorial does
// (auth({ audience, issuerBaseURL })), and better-sqlite3 12 on one file in
// WAL mode with synchronous=NORMAL (taskapi's durability). It answers
// GET /tasks and POST /tasks in taskapi's wire shape (a page {"tasks": [...]},
// a created {"task": {...}} with an ETag), so that cmd/loadgen -url can
// drive it exactly as it drives taskapi. It listens on 127.0.0.1 only.
//
//   node server.js --issuer URL --audience AUD --db FILE [--port N]
//
// On start it prints one JSON line to stdout, {"url": "http://127.0.0.1:N"}.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import Database from 'better-sqlite3';
import express from 'express';
import { auth, UnauthorizedError } from 'express-oauth2-jwt-bearer';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    audience: { type: 'string' },
    db: { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});
if (!args.issuer || !args.audience || !args.db) {
  throw new Error('usage: node server.js --issuer URL --audience AUD --db FILE [--port N]');
}

const db = new Database(args.db);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.exec(`CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  project_id TEXT,
  name TEXT NOT NULL,
  description TEXT,
  due_date TEXT,
  completed_on TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS tasks_user_created ON tasks (user_id, created_at DESC, id DESC);`);

const listTasks = db.prepare(
  'SELECT * FROM tasks WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?');
const insertTask = db.prepare(`INSERT INTO tasks
  (id, user_id, project_id, name, description, due_date, completed_on, created_at, updated_at)
  VALUES (@id, @user_id, NULL, @name, @description, @due_date, NULL, @created_at, @updated_at)`);

const wire = (t) => ({
  id: t.id,
  user_id: t.user_id,
  project_id: t.project_id,
  name: t.name,
  description: t.description,
  due_date: t.due_date,
  completed: t.completed_on !== null,
  completed_on: t.completed_on,
  created_at: t.created_at,
  updated_at: t.updated_at,
});

const app = express();
app.use(express.json());
app.use(auth({ issuerBaseURL: args.issuer, audience: args.audience }));

app.get('/tasks', (req, res) => {
  const limit = Math.min(Math.max(Number.parseInt(req.query.limit ?? '20', 10) || 20, 1), 100);
  res.json({ tasks: listTasks.all(req.auth.payload.sub, limit).map(wire) });
});

app.post('/tasks', (req, res) => {
  const { name, description, due_date: due } = req.body ?? {};
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
    return res.status(422).json({ error: 'name is required', code: 'ERR_VALIDATION' });
  }
  const now = new Date().toISOString();
  const t = {
    id: randomUUID(),
    user_id: req.auth.payload.sub,
    project_id: null,
    name,
    description: typeof description === 'string' ? description : null,
    due_date: typeof due === 'string' ? due.slice(0, 10) : null,
    completed_on: null,
    created_at: now,
    updated_at: now,
  };
  insertTask.run(t);
  res.status(201).set('Location', `/tasks/${t.id}`).set('ETag', '"1"').json({ task: wire(t) });
});

// The tutorial's error handler.
app.use((err, req, res, next) => {
  if (err instanceof UnauthorizedError) {
    return res.status(err.statusCode).json({ error: err.message, code: err.code || 'ERR_AUTH' });
  }
  return next(err);
});

const server = app.listen(Number(args.port), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => { db.close(); process.exit(0); }));
}
