"""cert_expiry against what independent testers threw at it: malformed certificates in a batch of good ones, servers
that trickle their STARTTLS dialogue or handshake, named pipes and sockets among the files, issuers that may not
issue (judged against `openssl verify`), impossible ports, bundles cut short, and files of BEGIN lines."""

import json
import os
import socket
import stat
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

import certs
from tarpit import Tarpit
from tlsservers import TLSServer

# DER of a subjectAltName / certificatePolicies value cut short: the outer SEQUENCE promises 5 bytes, 4 follow.
CUT_SHORT = b"\x30\x05\x82\x03ab"


def malformed(common_name, oid, issuer=None):
    return certs.issue(common_name, issuer=issuer, names=[], extensions=[(x509.UnrecognizedExtension(oid, CUT_SHORT), False)])


@pytest.fixture(scope="module")
def authority():
    return certs.authority()


def by_source(result):
    return dict((certificate["source"], certificate) for certificate in result["certificates"])


def test_a_malformed_certificate_is_one_error_among_good_ones(run_module, tmp_path, authority):
    root, intermediate = authority
    good = certs.issue("good.test", issuer=intermediate).write(tmp_path / "good.pem")
    bad_names = malformed("bad-names.test", ExtensionOID.SUBJECT_ALTERNATIVE_NAME).write(tmp_path / "bad-names.pem")
    served = malformed("bad-policies.test", ExtensionOID.CERTIFICATE_POLICIES, issuer=intermediate)
    server = TLSServer(served.write(tmp_path / "served.pem"), served.write_key(tmp_path / "served.key"))
    healthy = certs.issue("localhost", issuer=intermediate, names=["localhost"])
    healthy_server = TLSServer(healthy.write(tmp_path / "healthy.pem"), healthy.write_key(tmp_path / "healthy.key"))
    try:
        result = run_module("cert_expiry", paths=[good, bad_names, str(tmp_path)], fail_on="never",
                            endpoints=[server.address, dict(host="127.0.0.1", port=healthy_server.port, server_name="localhost")])
    finally:
        server.stop()
        healthy_server.stop()
    found = by_source(result)
    assert result["rc"] == 0, result
    assert found[good]["status"] == "ok"
    assert found[bad_names]["status"] == "error" and "malformed certificate" in found[bad_names]["message"]
    assert found[server.address]["status"] == "error" and "malformed certificate" in found[server.address]["message"]
    assert found["127.0.0.1:%d (name localhost)" % healthy_server.port]["status"] == "ok"
    # served.pem, found in the folder, is malformed too; healthy.pem and the healthy endpoint are fine.
    assert result["summary"]["error"] == 3 and result["summary"]["ok"] == 3


@pytest.mark.parametrize("protocol, greeting", [
    ("smtp", b"220-mail.test ESMTP"), ("imap", b"* OK [CAPABILITY"), ("ftp", b"220-Welcome"), ("pop3", b"+OK"),
    ("tls", b"\x16\x03\x03\x40\x00\x02")])
def test_a_server_trickling_its_dialogue_is_cut_off_at_the_timeout(run_module, protocol, greeting):
    with Tarpit(greeting=greeting, trickle=b"x", interval=0.2) as tarpit:
        endpoint = dict(host="127.0.0.1", port=tarpit.port, timeout=2)
        if protocol != "tls":
            endpoint["starttls"] = protocol
        started = time.monotonic()
        result = run_module("cert_expiry", endpoints=[endpoint], fail_on="never")
        elapsed = time.monotonic() - started
    [certificate] = result["certificates"]
    assert elapsed < 2 + 1.5, elapsed
    assert certificate["status"] == "error" and "timed out after 2s" in certificate["message"], certificate


def test_pipes_sockets_devices_and_link_loops_are_passed_over_in_folders(run_module, tmp_path, authority):
    _root, intermediate = authority
    folder = tmp_path / "certs"
    (folder / "sub").mkdir(parents=True)
    good = certs.issue("good.test", issuer=intermediate).write(folder / "good.pem")
    os.mkfifo(str(folder / "pipe.pem"))
    os.mkfifo(str(folder / "sub" / "pipe.crt"))
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "socket.pem"))
    os.symlink("loop-b.pem", str(folder / "loop-a.pem"))
    os.symlink("loop-a.pem", str(folder / "loop-b.pem"))
    os.symlink(str(folder), str(folder / "sub" / "up"))
    os.symlink("/dev/zero", str(folder / "zero.pem"))
    try:
        started = time.monotonic()
        result = run_module("cert_expiry", paths=[str(folder), str(folder / "*.crt"), str(folder / "sub" / "*.crt")],
                            recurse=True, allow_empty_globs=True, fail_on="never")
        named = run_module("cert_expiry", paths=[str(folder / "pipe.pem"), str(folder / "socket.pem")], fail_on="never")
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert elapsed < 10 and result["rc"] == 0, result
    assert list(by_source(result)) == [good]
    messages = dict((certificate["path"], certificate["message"]) for certificate in named["certificates"])
    assert messages == {str(folder / "pipe.pem"): "cannot read %s: a named pipe (FIFO), not a regular file" % (folder / "pipe.pem"),
                        str(folder / "socket.pem"): "cannot read %s: a socket, not a regular file" % (folder / "socket.pem")}


def openssl_verdict(ca_file, chain_file):
    """What `openssl verify` says of the first certificate of chain_file, the others as untrusted intermediates."""
    with open(chain_file, "rb") as handle:
        blocks = handle.read().split(b"-----END CERTIFICATE-----\n")
    leaf = blocks[0] + b"-----END CERTIFICATE-----\n"
    intermediates = chain_file + ".intermediates"
    with open(intermediates, "wb") as handle:
        handle.write(b"-----END CERTIFICATE-----\n".join(blocks[1:]))
    process = subprocess.run(["openssl", "verify", "-CAfile", ca_file, "-untrusted", intermediates], input=leaf,
                             capture_output=True, check=False)
    return process.returncode == 0


def test_only_issuers_allowed_to_issue_make_a_trusted_chain_as_openssl_verify_says(run_module, tmp_path, authority):
    root, intermediate = authority
    ca_file = root.write(tmp_path / "ca.pem")
    not_a_ca = certs.issue("Not A CA", issuer=intermediate, names=[],
                           extensions=[(x509.BasicConstraints(ca=False, path_length=None), True)])
    no_signing = certs.issue("No Cert Sign", issuer=intermediate, ca=True, extensions=[(x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False), True)])
    limited = certs.issue("Limited CA", issuer=root, ca=True, path_length=0)
    below_limit = certs.issue("Below Limit CA", issuer=limited, ca=True)
    chains = dict(
        good=(certs.issue("good.test", issuer=intermediate), [intermediate]),
        not_a_ca=(certs.issue("victim.test", issuer=not_a_ca), [not_a_ca, intermediate]),
        no_signing=(certs.issue("victim2.test", issuer=no_signing), [no_signing, intermediate]),
        path_length=(certs.issue("deep.test", issuer=below_limit), [below_limit, limited]),
    )
    files = dict((name, leaf.write(tmp_path / (name + ".pem"), chain=chain)) for name, (leaf, chain) in chains.items())
    result = run_module("cert_expiry", paths=list(files.values()), verify_chain=True, ca_file=ca_file, fail_on="never")
    verdicts = dict((name, by_source(result)[path + "#1"]["chain"]["valid"]) for name, path in files.items())
    assert verdicts == dict(good=True, not_a_ca=False, no_signing=False, path_length=False)
    assert verdicts == dict((name, openssl_verdict(ca_file, path)) for name, path in files.items())
    assert "invalid CA certificate" in by_source(result)[files["not_a_ca"] + "#1"]["chain"]["message"]


@pytest.mark.parametrize("endpoint, message", [
    ("example.test:99999", "the port must be a number from 1 to 65535"),
    ("example.test:0", "the port must be a number from 1 to 65535"),
    ("example.test:-1", "the port must be a number from 1 to 65535"),
    (dict(host="example.test", port=70000), "the port must be a number from 1 to 65535"),
    (dict(host="example.test", port=True), "the port must be a number from 1 to 65535"),
    (dict(host="example.test", timeout=-5), "the timeout must be a number of seconds above 0"),
    ("[::1:443", "is not host:port"),
    ("exa mple.test:443", "has no host"),
])
def test_impossible_endpoints_fail_before_any_connection(run_module, endpoint, message):
    result = run_module("cert_expiry", endpoints=[endpoint])
    assert result["failed"] and message in result["msg"], result["msg"]


def test_ipv6_endpoints_are_written_with_brackets_and_server_names_tell_certificates_apart(run_module, tmp_path, authority):
    _root, intermediate = authority
    leaf = certs.issue("localhost", issuer=intermediate, names=["localhost", "::1"])
    server = TLSServer(leaf.write(tmp_path / "leaf.pem"), leaf.write_key(tmp_path / "leaf.key"), host="::1")
    try:
        result = run_module("cert_expiry", endpoints=["[::1]:%d" % server.port,
                                                      dict(host="::1", port=server.port, server_name="localhost")],
                            fail_on="never")
    finally:
        server.stop()
    sources = [certificate["source"] for certificate in result["certificates"]]
    assert sources == ["[::1]:%d" % server.port, "[::1]:%d (name localhost)" % server.port]
    assert [certificate["endpoint"] for certificate in result["certificates"]] == ["[::1]:%d" % server.port] * 2
    assert [certificate["status"] for certificate in result["certificates"]] == ["ok", "ok"]


def test_a_bundle_cut_off_before_its_end_line_reports_the_damaged_certificate(run_module, tmp_path, authority):
    _root, intermediate = authority
    whole = certs.issue("site.test", issuer=intermediate).pem + intermediate.pem
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(whole[:whole.rindex(b"-----END CERTIFICATE-----")])
    result = run_module("cert_expiry", paths=[str(bundle)], fail_on="never")
    found = by_source(result)
    assert found[str(bundle) + "#1"]["status"] == "ok"
    assert found[str(bundle) + "#2"]["status"] == "error"
    assert found[str(bundle) + "#2"]["message"] == "PEM certificate 2 is cut off before its END line"


def test_a_megabyte_of_begin_lines_is_read_in_linear_time(run_module, tmp_path):
    # Against a quarter of the flood in the same run, not a wall-clock limit: four times the lines may take about
    # four times as long, where a quadratic parse would take sixteen.
    seconds = {}
    for lines in (1024 * 1024 // 28 // 4, 1024 * 1024 // 28):
        flood = tmp_path / ("flood-%d.pem" % lines)
        flood.write_bytes(b"-----BEGIN CERTIFICATE-----\n" * lines)
        started = time.monotonic()
        result = run_module("cert_expiry", paths=[str(flood)], fail_on="never")
        seconds[lines] = time.monotonic() - started
        assert result["summary"]["error"] == lines
        # Each broken block is counted; ten are listed, the rest in one entry, so that the result stays small.
        assert len(result["certificates"]) == 11 and result["certificates"][-1]["count"] == lines - 10
        assert len(result["upkeep_results"]) == 12 and len(json.dumps(result)) < 20000
    quarter, whole = sorted(seconds)
    assert seconds[whole] < 8 * seconds[quarter], seconds


def test_junk_in_a_folder_is_passed_over_and_named_junk_is_an_error(run_module, tmp_path, authority):
    _root, intermediate = authority
    good = certs.issue("good.test", issuer=intermediate).write(tmp_path / "good.pem")
    (tmp_path / "notes.pem").write_text("not a certificate\n")
    (tmp_path / "binary.der").write_bytes(b"\x30\x82\x01\x00" + os.urandom(64))
    (tmp_path / "key.pem").write_bytes(certs.issue("k.test").key_pem)
    scanned = run_module("cert_expiry", paths=[str(tmp_path)], fail_on="never")
    assert list(by_source(scanned)) == [good]
    assert sorted(scanned["skipped_files"]) == sorted(str(tmp_path / name) for name in ("binary.der", "key.pem", "notes.pem"))
    named = run_module("cert_expiry", paths=[str(tmp_path / "notes.pem"), str(tmp_path / "binary.der")], fail_on="never")
    assert [certificate["status"] for certificate in named["certificates"]] == ["error", "error"]
    assert named["certificates"][1]["message"].startswith("not a DER certificate")


def test_a_certificate_file_readable_only_by_root_is_an_error_for_others(run_module, tmp_path, authority):
    _root, intermediate = authority
    os.chmod(str(tmp_path), 0o755)
    private = certs.issue("private.test", issuer=intermediate).write(tmp_path / "private.pem")
    os.chmod(private, stat.S_IRUSR)
    result = run_module("cert_expiry", paths=[private], user="nobody", fail_on="never")
    assert result["certificates"][0]["status"] == "error" and "Permission denied" in result["certificates"][0]["message"]
