"""An application that serves its SQLite database over HTTP: every request reads the database, and the answer is 500
once the database does not read. Used by the window tests on this machine and, as /usr/local/bin/demo-app, in the fleet
scenario's containers behind nginx.

    python webapp.py [DATABASE [PORT]]     (defaults: /srv/app/data/app.db, 8080; listens on 127.0.0.1)
"""

import http.server
import sqlite3
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    database = "/srv/app/data/app.db"

    def do_GET(self):  # noqa: N802  (the name http.server calls)
        try:
            conn = sqlite3.connect("file:%s?mode=ro" % self.database, uri=True)
            try:
                count = conn.execute("SELECT count(*) FROM items").fetchone()[0]
            finally:
                conn.close()
            code, body = 200, "%d items\n" % count
        except sqlite3.Error as error:
            code, body = 500, "database error: %s\n" % error
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
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
