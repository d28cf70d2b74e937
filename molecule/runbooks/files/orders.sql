-- 004's work orders, every one with its customer.
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers (id), site TEXT NOT NULL,
                     created_at TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO customers (name) SELECT 'customer ' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO orders (customer_id, site, created_at) SELECT 1 + i % 200, 'site ' || i, datetime('now', '-' || (i % 60) || ' days')
FROM n;
