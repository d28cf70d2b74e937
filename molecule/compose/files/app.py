"""The stack's application: every path answers with the number of orders while the database answers, 503 otherwise."""
import http.server
import os
import subprocess


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        count = subprocess.run(["psql", "-h", "db", "-U", "maintenance", "-d", "shop", "-At", "-c", "SELECT count(*) FROM orders"],
                               capture_output=True, text=True, env=dict(os.environ, PGPASSWORD=os.environ["DB_PASSWORD"]),
                               check=False)
        status = 200 if count.returncode == 0 else 503
        self.send_response(status)
        self.end_headers()
        self.wfile.write((count.stdout.strip() if status == 200 else "no database").encode())

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
