"""Pieces of module_utils._certificates that decide things: name matching, status from dates, endpoint parsing."""

import datetime

import pytest

import certs
from ansible_collections.upkeep.maintenance.plugins.module_utils import _certificates


def test_names_match_the_way_rfc_6125_says():
    wildcard = certs.issue("shop", names=["*.example.com", "example.com", "10.0.0.1"]).certificate
    assert _certificates.matches_hostname(wildcard, "www.example.com")
    assert _certificates.matches_hostname(wildcard, "WWW.Example.COM.")
    assert _certificates.matches_hostname(wildcard, "example.com")
    assert not _certificates.matches_hostname(wildcard, "a.b.example.com")
    assert not _certificates.matches_hostname(wildcard, "example.org")
    assert _certificates.matches_hostname(wildcard, "10.0.0.1")
    assert not _certificates.matches_hostname(wildcard, "10.0.0.2")
    assert not _certificates.matches_hostname(wildcard, "shop")
    common_name_only = certs.issue("legacy.example.com", names=[]).certificate
    assert _certificates.matches_hostname(common_name_only, "legacy.example.com")


# Certificates end an hour after their last whole day: 1 day 23 hours after expiry is -1, toward zero, as
# check_ssl_cert counts.
@pytest.mark.parametrize("days, starts, status, remaining", [
    (200, -1, "ok", 200), (29, -1, "warning", 29), (6, -1, "critical", 6), (-2, -30, "expired", -1),
    (90, 2, "not_yet_valid", 90)])
def test_status_from_the_dates(days, starts, status, remaining):
    certificate = certs.issue("x", days=days, starts_in_days=starts).certificate
    now = datetime.datetime.now(datetime.timezone.utc)
    assert _certificates.judge(certificate, now, 30, 7) == (status, remaining)


def test_endpoints_from_strings_and_dicts():
    parse = _certificates.parse_endpoint
    assert parse("example.com", 10) == dict(host="example.com", port=443, server_name="example.com", starttls=None, timeout=10.0)
    assert parse("[2001:db8::1]:8443", 5)["host"] == "2001:db8::1" and parse("[2001:db8::1]:8443", 5)["port"] == 8443
    assert parse("127.0.0.1:443", 5)["server_name"] is None
    assert parse(dict(host="mail.example.com", starttls="smtp"), 5)["port"] == 25
    assert parse(dict(host="db", starttls="postgres", server_name="db.example.com", timeout=2), 5) == dict(
        host="db", port=5432, server_name="db.example.com", starttls="postgres", timeout=2.0)
    with pytest.raises(ValueError, match="unknown keys: sni"):
        parse(dict(host="x", sni="y"), 5)
