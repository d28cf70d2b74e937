-- 004's sessions: a week of sessions written and expired, leaving most of the file free pages.
CREATE TABLE sessions (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO sessions (data) SELECT hex(randomblob(200)) FROM n;
DELETE FROM sessions WHERE id % 10 <> 0;
