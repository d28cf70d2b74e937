"""A webhook receiver on loopback for the fleet scenario: appends the JSON body of every POST as one line to a file.

    python webhook.py LOG_FILE PID_FILE URL_FILE

Binds a free port, writes its URL to URL_FILE, then leaves a child process serving and exits, so that the notifications
of later runs are recorded until the PID in PID_FILE is killed.
"""

import http.server
import json
import os
import sys


def main(log_file, pid_file, url_file):
    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (the name http.server calls)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with open(log_file, "a") as log:
                log.write(json.dumps(body) + "\n")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    child = os.fork()
    if child:
        with open(pid_file, "w") as pid:
            pid.write("%d\n" % child)
        with open(url_file, "w") as url:
            url.write("http://127.0.0.1:%d/hook\n" % server.server_address[1])
        return
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(devnull, stream)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:4])
