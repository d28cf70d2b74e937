"""An OSV API mirror on loopback for the tests: /v1/querybatch and /v1/vulns/ID over a folder of real advisories.
It answers by package name alone (every advisory of the package, whatever the version), as a mirror that does not
evaluate ranges would: the client must evaluate them itself. ``delay`` makes it slow, ``fail`` answer 500."""

import http.server
import json
import os
import re
import threading

import yaml


def _load(folders):
    advisories = {}
    for folder in folders:
        for base, _folders, files in os.walk(folder):
            for name in files:
                path = os.path.join(base, name)
                if name.endswith(".json"):
                    with open(path) as handle:
                        advisory = json.load(handle)
                elif name.endswith((".yaml", ".yml")):
                    with open(path) as handle:
                        advisory = yaml.safe_load(handle)
                else:
                    continue
                advisories[advisory["id"]] = advisory
    return advisories


def _normal(ecosystem, name):
    return re.sub(r"[-_.]+", "-", name).lower() if ecosystem == "PyPI" else name


class Mirror(object):
    def __init__(self, folders, fail=False):
        self.advisories = _load(folders)
        self.by_package = {}
        for advisory in self.advisories.values():
            for affected in advisory.get("affected") or []:
                package = affected.get("package") or {}
                key = (package.get("ecosystem"), _normal(package.get("ecosystem"), package.get("name", "")))
                self.by_package.setdefault(key, set()).add(advisory["id"])
        self.requests = []
        mirror, failing = self, fail

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, status, document):
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802  (the name http.server calls)
                mirror.requests.append(self.path)
                if failing:
                    return self.answer(500, dict(message="broken"))
                queries = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["queries"]
                results = []
                for query in queries:
                    package = query["package"]
                    ids = sorted(mirror.by_package.get((package["ecosystem"], _normal(package["ecosystem"], package["name"])), ()))
                    results.append(dict(vulns=[dict(id=vid) for vid in ids]) if ids else {})
                return self.answer(200, dict(results=results))

            def do_GET(self):  # noqa: N802
                mirror.requests.append(self.path)
                vid = self.path.rsplit("/", 1)[-1]
                if vid in mirror.advisories:
                    return self.answer(200, mirror.advisories[vid])
                return self.answer(404, dict(message="not found"))

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
