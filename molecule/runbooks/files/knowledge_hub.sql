-- 002's knowledge hub: its documents, and a search log of 200 days of which the runbook keeps 90.
CREATE TABLE documents (id INTEGER PRIMARY KEY, title TEXT, body TEXT NOT NULL);
CREATE TABLE search_log (id INTEGER PRIMARY KEY, query TEXT NOT NULL, searched_at TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO documents (title, body) SELECT 'document ' || i, hex(randomblob(400)) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
INSERT INTO search_log (query, searched_at) SELECT 'query ' || i, datetime('now', '-' || (i % 200) || ' days') FROM n;
