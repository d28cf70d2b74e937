"""Benchmark (not a test): one cert_expiry call against openssl, as a script checks certificates.

Writes FILES certificate files (expiring between 1 and 400 days from now) and starts ENDPOINTS TLS servers on loopback
(tests/support/tlsservers.py); the baseline is a shell loop of `openssl x509 -enddate` over the files and `openssl s_client`
piped to `openssl x509 -enddate` over the endpoints. Both must count the same certificates expiring within 30 days.

Usage: python bench/cert_expiry.py [--files 500] [--endpoints 100]
"""

import datetime
import email.utils
import os
import shutil

from harness import collections_path, compare, main, run, run_module, scratch
import certs  # tests/support/certs.py, on the path harness sets
import tlsservers  # noqa: E402

SCRIPT = r"""
for file in "$1"/*.pem; do openssl x509 -enddate -noout -in "$file"; done
shift
for port in "$@"; do
  openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null | openssl x509 -enddate -noout
done
"""


def expiring_from_openssl(output):
    """The certificates of openssl's notAfter lines that expire within 30 days."""
    limit = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    dates = [email.utils.parsedate_to_datetime(line.split("=", 1)[1].replace("GMT", "+0000"))
             for line in output.splitlines() if line.startswith("notAfter=")]
    return sum(1 for date in dates if date < limit), len(dates)


def rows(files=500, endpoints=100):
    tmp = scratch()
    servers = []
    try:
        collections = collections_path(tmp)
        folder = os.path.join(tmp, "certs")
        os.mkdir(folder)
        _root, intermediate = certs.authority()
        for number in range(files):
            certs.issue("host%03d.test" % number, issuer=intermediate, days=1 + number * 400 // files).write(
                os.path.join(folder, "host%03d.pem" % number))
        leaf = certs.issue("localhost", issuer=intermediate, days=20, names=["localhost", "127.0.0.1"])
        chain = leaf.write(os.path.join(tmp, "served.pem"), chain=[intermediate])
        key = leaf.write_key(os.path.join(tmp, "served.key"))
        servers = [tlsservers.TLSServer(chain, key) for _number in range(endpoints)]

        def module(_subject):
            result = run_module(collections, "cert_expiry", paths=[folder], endpoints=[server.address for server in servers],
                                warn_days=30, critical_days=7, fail_on="never")
            return result["summary"]["warning"] + result["summary"]["critical"], len(result["certificates"])

        return [compare(
            "cert_expiry, %d files and %d endpoints" % (files, endpoints),
            ("openssl x509 and s_client, one at a time", lambda _subject: expiring_from_openssl(run(
                ["bash", "-c", SCRIPT, "bash", folder] + [str(server.port) for server in servers],
                capture_output=True, text=True).stdout)),
            ("cert_expiry", module))]
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main(__doc__, rows)
