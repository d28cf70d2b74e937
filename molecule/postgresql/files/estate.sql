-- An application database whose autovacuum cannot keep up: two tables with many dead tuples, a clean table,
-- a schema the maintenance must leave alone, and a second database that is not maintained.
-- A session publishes its statistics when it goes idle, at most once a second: each load forces it before the
-- following ANALYZE, so that the counters read as they would after a day of separate application sessions.
\set ON_ERROR_STOP on
CREATE DATABASE app;
CREATE DATABASE other;

\connect app
CREATE TABLE orders (id bigint PRIMARY KEY, body text, updated int) WITH (autovacuum_enabled = false);
CREATE INDEX orders_updated_idx ON orders (updated);
INSERT INTO orders SELECT g, repeat('x', 80), g % 1000 FROM generate_series(1, 60000) g;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE orders;
DELETE FROM orders WHERE id % 10 <> 0;

CREATE TABLE events (id bigint PRIMARY KEY, kind text) WITH (autovacuum_enabled = false);
INSERT INTO events SELECT g, 'click' FROM generate_series(1, 20000) g;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE events;
UPDATE events SET kind = 'view' WHERE id % 2 = 0;

CREATE TABLE customers (id bigint PRIMARY KEY, name text) WITH (autovacuum_enabled = false);
INSERT INTO customers SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
SELECT pg_stat_force_next_flush();
VACUUM (FREEZE, ANALYZE) customers;

CREATE SCHEMA audit;
CREATE TABLE audit.log (id bigint, line text) WITH (autovacuum_enabled = false);
INSERT INTO audit.log SELECT g, 'entry' FROM generate_series(1, 20000) g;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE audit.log;
DELETE FROM audit.log WHERE id % 2 = 0;

\connect other
CREATE TABLE leftovers (id bigint) WITH (autovacuum_enabled = false);
INSERT INTO leftovers SELECT generate_series(1, 20000);
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE leftovers;
DELETE FROM leftovers WHERE id % 2 = 0;
