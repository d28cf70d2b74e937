-- 000's task server: three thousand tasks over the last 200 days, each with its events; the finished ones older than
-- 90 days are what the runbook's cleanup_old_tasks deletes, their events with them (ON DELETE CASCADE).
PRAGMA foreign_keys = ON;
CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                     kind TEXT NOT NULL, payload TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO tasks (title, status, updated_at)
SELECT 'task ' || i, CASE i % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'open' ELSE 'cancelled' END,
       datetime('now', '-' || (i % 200) || ' days') FROM n;
INSERT INTO events (task_id, kind, payload) SELECT id, 'created', hex(randomblob(100)) FROM tasks;
