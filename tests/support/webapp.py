"""An application that serves its database over HTTP: every request counts the rows of one table, and the answer is
500 once the database does not answer. Used by the window tests on this machine and, behind nginx, by the fleet and
runbooks scenarios' containers.

    python webapp.py [DATABASE [PORT [TABLE]]]

DATABASE is a SQLite file (default /srv/app/data/app.db), or a PostgreSQL URL (postgresql://user:password@host/db,
through psycopg2); PORT defaults to 8080 on 127.0.0.1, TABLE to items.
"""

import http.server
import sqlite3
import sys


def count_sqlite(database, table):
    conn = sqlite3.connect("file:%s?mode=ro" % database, uri=True)
    try:
        return conn.execute('SELECT count(*) FROM "%s"' % table).fetchone()[0]
    finally:
        conn.close()


def count_postgresql(url, table):
    import psycopg2  # only the PostgreSQL application's host needs it

    conn = psycopg2.connect(url, connect_timeout=5)
    try:
        with conn.cursor() as cursor:
            cursor.execute('SELECT count(*) FROM "%s"' % table)
            return cursor.fetchone()[0]
    finally:
        conn.close()


class Handler(http.server.BaseHTTPRequestHandler):
    database = "/srv/app/data/app.db"
    table = "items"

    def do_GET(self):  # noqa: N802  (the name http.server calls)
        postgresql = self.database.startswith("postgresql://")
        try:
            count = (count_postgresql if postgresql else count_sqlite)(self.database, self.table)
            code, body = 200, "%d %s\n" % (count, self.table)
        except Exception as error:  # any database error is the answer, as an application's 500
            code, body = 500, "database error: %s\n" % str(error).strip()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def main(argv):
    if argv:
        Handler.database = argv[0]
    port = int(argv[1]) if len(argv) > 1 else 8080
    if len(argv) > 2:
        Handler.table = argv[2]
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
