"""What the certificates role's weekly run leaves behind: nginx serves a renewed certificate, the report says so."""

import datetime
import glob
import json
import os


def served_days_remaining(host):
    enddate = host.check_output(
        "openssl s_client -connect localhost:443 -servername localhost </dev/null 2>/dev/null"
        " | openssl x509 -noout -enddate").split("=", 1)[1]
    expires = datetime.datetime.strptime(enddate, "%b %d %H:%M:%S %Y %Z")
    return (expires - datetime.datetime.utcnow()).days


def test_nginx_serves_the_renewed_certificate(host):
    assert host.file("/var/tmp/enddate-before").content_string.startswith("notAfter=")
    assert served_days_remaining(host) >= 88
    assert host.file("/etc/ssl/upkeep/site.key").mode == 0o600


def report_entries(host, index):
    reports = sorted(glob.glob(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports", "weekly-*.json")))
    with open(reports[index]) as handle:
        return [entry for entry in json.load(handle)["entries"] if entry["host"] == host.backend.get_hostname()]


def test_the_first_run_found_the_warning_renewed_and_checked_again(host):
    entries = report_entries(host, 0)
    [renewal] = [entry for entry in entries if entry["check"] == "cert_renewal"]
    assert renewal["status"] == "changed"
    assert renewal["details"]["days_remaining_before"] == {"/etc/ssl/upkeep/site.pem": 9}
    checks = [entry for entry in entries if entry["check"] == "cert_expiry"]
    assert [entry["status"] for entry in checks] == ["ok"], checks
    assert checks[0]["summary"].startswith("2 certificates checked: 2 ok")


def test_the_second_run_renewed_nothing(host):
    entries = report_entries(host, 1)
    assert not [entry for entry in entries if entry["check"] == "cert_renewal"]
    assert [entry["status"] for entry in entries if entry["check"] == "cert_expiry"] == ["ok"]
