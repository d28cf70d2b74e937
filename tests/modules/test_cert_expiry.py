"""cert_expiry against certificate files and real TLS servers on loopback."""

import time

import pytest

import certs
import pgserver
import tlsservers
from conftest import hide_modules


@pytest.fixture(scope="module")
def authority():
    return certs.authority()


def statuses(result):
    return dict((certificate["source"], certificate["status"]) for certificate in result["certificates"])


def test_files_get_a_status_from_their_dates(run_module, tmp_path, authority):
    root, intermediate = authority
    files = dict(
        valid=certs.issue("valid.test", issuer=intermediate, days=200).write(tmp_path / "valid.pem"),
        soon=certs.issue("soon.test", issuer=intermediate, days=5).write(tmp_path / "soon.pem"),
        month=certs.issue("month.test", days=20).write(tmp_path / "month.pem"),
        expired=certs.issue("expired.test", days=-3, starts_in_days=-90).write(tmp_path / "expired.pem"),
        future=certs.issue("future.test", days=400, starts_in_days=10).write(tmp_path / "future.pem"),
    )

    result = run_module("cert_expiry", paths=sorted(files.values()), fail_on="never")

    assert result["rc"] == 0 and result["changed"] is False, result
    assert statuses(result) == {files["valid"]: "ok", files["soon"]: "critical", files["month"]: "warning",
                                files["expired"]: "expired", files["future"]: "not_yet_valid"}
    by_source = dict((certificate["source"], certificate) for certificate in result["certificates"])
    valid = by_source[files["valid"]]
    assert valid["days_remaining"] == 200 and valid["kind"] == "file" and valid["position"] == 1
    assert valid["subject"] == "CN=valid.test" and valid["issuer"] == "CN=Upkeep Test Intermediate"
    assert valid["sans"] == ["DNS:valid.test"] and valid["self_signed"] is False
    assert valid["not_after"].endswith("Z") and len(valid["fingerprint_sha256"]) == 95
    # 2 days and 23 hours ago: whole days toward zero, as check_ssl_cert counts them
    assert by_source[files["expired"]]["days_remaining"] == -2
    assert result["summary"] == {"ok": 1, "warning": 1, "critical": 1, "expired": 1, "not_yet_valid": 1, "error": 0}
    overview, *findings = result["upkeep_results"]
    assert overview["status"] == "ok" and overview["metrics"]["min_days_remaining"] == -2
    assert sorted(entry["status"] for entry in findings) == ["critical", "critical", "critical", "warning"]

    failed = run_module("cert_expiry", paths=sorted(files.values()))
    assert failed["rc"] == 1 and failed["msg"].startswith("3 certificates need attention")


def test_bundles_der_keys_folders_and_globs(run_module, tmp_path, authority):
    root, intermediate = authority
    leaf = certs.issue("chain.test", issuer=intermediate, days=100)
    chain = leaf.write(tmp_path / "chain.pem", chain=[intermediate, root], with_key=True)
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "server.der").write_bytes(certs.issue("der.test", days=60).der)
    (folder / "README").write_text("not a certificate")
    (folder / "notes.pem").write_text("no certificate in here either")
    (folder / "deeper").mkdir()
    certs.issue("deeper.test", days=60).write(folder / "deeper" / "inner.pem")
    key_only = certs.issue("key.test").write_key(tmp_path / "key.pem")

    result = run_module("cert_expiry", paths=[chain, str(folder), str(folder / "*" / "*.pem"), key_only], fail_on="never")

    found = statuses(result)
    assert found == {chain + "#1": "ok", chain + "#2": "ok", chain + "#3": "ok", str(folder / "server.der"): "ok",
                     str(folder / "deeper" / "inner.pem"): "ok", key_only: "error"}, found
    assert [c["common_name"] for c in result["certificates"][:3]] == ["chain.test", "Upkeep Test Intermediate", "Upkeep Test Root"]
    assert result["skipped_files"] == [str(folder / "notes.pem")]
    errors = [c for c in result["certificates"] if c["status"] == "error"]
    assert errors[0]["message"] == "no certificate in %s" % key_only

    shallow = run_module("cert_expiry", paths=[str(folder)])
    assert str(folder / "deeper" / "inner.pem") not in statuses(shallow)
    deeper = run_module("cert_expiry", paths=[str(folder)], recurse=True)
    assert str(folder / "deeper" / "inner.pem") in statuses(deeper)


def test_malformed_missing_and_unreadable_files_are_error_entries(run_module, tmp_path):
    good = certs.issue("good.test").pem
    broken = tmp_path / "broken.pem"
    broken.write_bytes(good + b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n")

    result = run_module("cert_expiry", paths=[str(broken), str(tmp_path / "missing.pem"), str(tmp_path / "none-*.pem")],
                        fail_on="error")

    assert result["rc"] == 1
    found = statuses(result)
    assert found[str(broken) + "#1"] == "ok" and found[str(broken) + "#2"] == "error"
    messages = [c["message"] for c in result["certificates"] if c["status"] == "error"]
    assert messages[0].startswith("malformed PEM certificate")
    assert "No such file or directory" in messages[1] and "none-*.pem" in messages[2]
    assert result["summary"]["error"] == 3

    tolerant = run_module("cert_expiry", paths=[str(tmp_path / "none-*.pem"), str(tmp_path / "missing.pem")],
                          allow_empty_globs=True, fail_on="never")
    assert list(statuses(tolerant).values()) == ["error"] and "missing.pem" in tolerant["certificates"][0]["message"]


def test_chain_verification_of_files(run_module, tmp_path, authority):
    root, intermediate = authority
    ca_file = root.write(tmp_path / "ca.pem")
    with_intermediate = certs.issue("ok.test", issuer=intermediate).write(tmp_path / "full.pem", chain=[intermediate])
    without = certs.issue("alone.test", issuer=intermediate).write(tmp_path / "alone.pem")
    self_signed = certs.issue("self.test").write(tmp_path / "self.pem")
    forged = certs.issue("forged.test", issuer=certs.issue("Upkeep Test Intermediate", ca=True)).write(
        tmp_path / "forged.pem", chain=[intermediate])

    result = run_module("cert_expiry", paths=[with_intermediate, without, self_signed, forged], verify_chain=True,
                        ca_file=ca_file, fail_on="never")

    chains = dict((c["source"], (c["status"], c["chain"]["valid"], c["chain"]["message"])) for c in result["certificates"])
    assert chains[with_intermediate + "#1"][:2] == ("ok", True)
    assert chains[without] == ("critical", False, "unable to get local issuer certificate (depth 0: CN = alone.test)")
    assert chains[self_signed] == ("critical", False, "self-signed certificate (depth 0: CN = self.test)")
    assert chains[forged + "#1"] == ("critical", False, "certificate signature failure (depth 0: CN = forged.test)")


@pytest.fixture(scope="module")
def servers(authority, tmp_path_factory):
    """TLS servers on loopback: plain and behind each STARTTLS dialogue, a wrong name, one that never speaks TLS."""
    root, intermediate = authority
    folder = tmp_path_factory.mktemp("servers")
    leaf = certs.issue("localhost", issuer=intermediate, days=45, names=["localhost", "127.0.0.1"])
    chain_file = leaf.write(folder / "leaf.pem", chain=[intermediate])
    key_file = leaf.write_key(folder / "leaf.key")
    wrong = certs.issue("elsewhere.test", issuer=intermediate, days=300)
    started = dict((protocol, tlsservers.TLSServer(chain_file, key_file, protocol))
                   for protocol in ("tls", "smtp", "imap", "pop3", "ftp", "ldap"))
    started["wrong"] = tlsservers.TLSServer(wrong.write(folder / "wrong.pem", chain=[intermediate]),
                                            wrong.write_key(folder / "wrong.key"))
    started["silent"] = tlsservers.TLSServer(protocol="silent")
    started["ca_file"] = root.write(folder / "ca.pem")
    yield started
    for server in started.values():
        if isinstance(server, tlsservers.TLSServer):
            server.stop()


def test_endpoints_directly_and_after_starttls(run_module, servers):
    endpoints = [servers["tls"].address] + [
        dict(host="127.0.0.1", port=servers[protocol].port, starttls=protocol, server_name="localhost")
        for protocol in ("smtp", "imap", "pop3", "ftp", "ldap")]

    result = run_module("cert_expiry", endpoints=endpoints, verify_chain=True, ca_file=servers["ca_file"])

    assert result["rc"] == 0, result
    assert [c["status"] for c in result["certificates"]] == ["ok"] * 6, result["certificates"]
    assert [c["source"].split(" ", 1)[-1] for c in result["certificates"][1:]] == [
        "(name localhost) (starttls %s)" % protocol for protocol in ("smtp", "imap", "pop3", "ftp", "ldap")]
    for certificate in result["certificates"]:
        assert certificate["days_remaining"] == 45 and certificate["common_name"] == "localhost"
        assert certificate["chain"] == {"valid": True, "message": "trusted"}
    assert result["certificates"][0]["server_name"] is None and "hostname_match" not in result["certificates"][0]
    assert all(certificate["hostname_match"] for certificate in result["certificates"][1:])

    untrusted = run_module("cert_expiry", endpoints=[servers["tls"].address], verify_chain=True, fail_on="never")
    [certificate] = untrusted["certificates"]
    assert certificate["status"] == "critical" and certificate["chain"]["valid"] is False
    assert "unable to get local issuer certificate" in certificate["chain"]["message"]


def test_a_name_mismatch_is_critical(run_module, servers):
    result = run_module("cert_expiry", fail_on="never", endpoints=[
        dict(host="127.0.0.1", port=servers["wrong"].port, server_name="www.example.com")])
    [certificate] = result["certificates"]
    assert certificate["hostname_match"] is False and certificate["status"] == "critical"
    assert certificate["problems"] == ["the certificate does not name www.example.com"]
    assert certificate["days_remaining"] == 300


def test_unreachable_endpoints_are_errors_within_the_timeout(run_module, servers):
    closed = pgserver.free_port()
    started = time.monotonic()
    result = run_module("cert_expiry", timeout=1, fail_on="never", endpoints=[
        servers["silent"].address, "127.0.0.1:%d" % closed, "no-such-host.invalid:443",
        dict(host="127.0.0.1", port=servers["tls"].port, starttls="smtp")])
    elapsed = time.monotonic() - started

    messages = [c["message"] for c in result["certificates"]]
    assert [c["status"] for c in result["certificates"]] == ["error"] * 4
    assert messages[0] == "%s: timed out after 1s in the TLS handshake" % servers["silent"].address
    assert messages[1] == "127.0.0.1:%d: cannot connect: Connection refused" % closed
    assert messages[2].startswith("no-such-host.invalid:443: cannot resolve no-such-host.invalid")
    assert "timed out after 1s in the STARTTLS dialogue" in messages[3]
    assert elapsed < 5, "the endpoints are checked concurrently, each within its timeout"


def test_postgresql_with_ssl_on(run_module, authority):
    root, intermediate = authority
    server = pgserver.Server()
    leaf = certs.issue("db.test", issuer=intermediate, days=25, names=["db.test"])
    server.settings.update(
        ssl="on",
        ssl_cert_file="'%s'" % server.add_file("server.crt", leaf.pem + intermediate.pem),
        ssl_key_file="'%s'" % server.add_file("server.key", leaf.key_pem))
    server.start()
    try:
        result = run_module("cert_expiry", endpoints=[
            dict(host="127.0.0.1", port=server.port, starttls="postgres", server_name="db.test")],
            verify_chain=True, ca_file=root.write(server.root + "/ca.pem"), fail_on="never")
    finally:
        server.stop()
    [certificate] = result["certificates"]
    assert (certificate["status"], certificate["days_remaining"], certificate["hostname_match"]) == ("warning", 25, True)
    assert certificate["chain"]["valid"] is True


def test_bad_options_and_a_missing_library_fail_with_one_line(run_module, tmp_path):
    certificate = certs.issue("x.test").write(tmp_path / "x.pem")
    assert run_module("cert_expiry")["msg"] == "nothing to check: give paths, endpoints or both"
    assert run_module("cert_expiry", paths=[certificate], warn_days=5, critical_days=10)["msg"] == \
        "critical_days (10) must not be above warn_days (5)"
    assert run_module("cert_expiry", endpoints=["host:port"])["msg"] == \
        "endpoint 'host:port': the port must be a number from 1 to 65535"
    assert run_module("cert_expiry", endpoints=[dict(host="a", starttls="gopher")])["msg"].startswith(
        "endpoint {'host': 'a', 'starttls': 'gopher'}: starttls must be one of smtp")
    missing = run_module("cert_expiry", paths=[certificate],
                         env=dict(PYTHONPATH=hide_modules(tmp_path / "no-cryptography", "cryptography")))
    assert missing["rc"] == 1 and "cryptography" in missing["msg"]
