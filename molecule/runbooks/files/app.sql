-- 001's application database: users, sessions and events with the dead tuples of a busy day, and an audit schema
-- the maintenance leaves alone (exclude_schemas). The maintenance connects as a role of its own.
\set ON_ERROR_STOP on
CREATE ROLE maintenance LOGIN SUPERUSER PASSWORD :'password';
CREATE DATABASE app OWNER maintenance;
\connect app
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 2000) g;
CREATE TABLE sessions (id bigint PRIMARY KEY, user_id bigint, data text) WITH (autovacuum_enabled = false);
INSERT INTO sessions SELECT g, g % 2000, repeat('s', 200) FROM generate_series(1, 40000) g;
CREATE TABLE events (id bigint PRIMARY KEY, kind text) WITH (autovacuum_enabled = false);
CREATE INDEX events_kind_idx ON events (kind);
INSERT INTO events SELECT g, 'click' FROM generate_series(1, 40000) g;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE sessions;
VACUUM ANALYZE events;
DELETE FROM sessions WHERE id % 4 <> 0;
UPDATE events SET kind = 'view' WHERE id % 2 = 0;
SELECT pg_stat_force_next_flush();
CREATE SCHEMA audit;
CREATE TABLE audit.log (id bigint, line text);
INSERT INTO audit.log SELECT g, 'entry' FROM generate_series(1, 1000) g;
ALTER TABLE users OWNER TO maintenance;
ALTER TABLE sessions OWNER TO maintenance;
ALTER TABLE events OWNER TO maintenance;
