#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: cert_expiry
short_description: Expiry of many X.509 certificates at once, from files and from TLS endpoints (with STARTTLS)
version_added: 0.1.0
description:
  - Reads every certificate in the files, folders and globs of O(paths) (PEM files with several certificates such as
    chains and bundles, and DER files; private keys and other PEM blocks are skipped) and the certificate each TLS
    endpoint of O(endpoints) presents, directly or after STARTTLS for SMTP, IMAP, POP3, FTP, PostgreSQL and LDAP.
  - Files and endpoints are checked concurrently (O(concurrency)) in one call.
  - Returns one entry per certificate with its subject, issuer, names, serial, SHA-256 fingerprint, validity and the
    whole days remaining, and a status from O(warn_days) and O(critical_days).
  - Optionally verifies each certificate's chain against a CA file or the system store, and the name of each endpoint
    against the certificate; a failed verification or a name mismatch makes a valid certificate V(critical).
  - An unreachable endpoint, a refused handshake, an unreadable file or a malformed PEM block is an entry with status
    V(error) and a message.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.certificates
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
  - upkeep.maintenance.attributes.PLATFORM
options:
  paths:
    description:
      - Certificate files, folders and glob patterns on the host.
      - A file listed by name must be a regular file holding a certificate, else it is an V(error) entry. Among the
        files found in folders or by globs, named pipes, sockets and devices are passed over, and so are files that
        hold no certificate at all (no PEM certificate block, not DER); a PEM certificate block that is damaged or
        cut off before its END line is an V(error) entry wherever it is found.
    type: list
    elements: path
    default: []
  patterns:
    description:
      - File name patterns of the certificates looked for in the folders of O(paths).
    type: list
    elements: str
    default: ['*.pem', '*.crt', '*.cer', '*.cert', '*.der']
  allow_empty_globs:
    description:
      - A glob of O(paths) that matches no file is not an error, as for a fleet-wide pattern such as
        C(/etc/letsencrypt/live/*/cert.pem) on hosts without certbot. A file named without a glob must always exist.
    type: bool
    default: false
  recurse:
    description:
      - Look for certificates in the subfolders of the folders of O(paths) too.
    type: bool
    default: false
  endpoints:
    description:
      - TLS endpoints, each a V(host:port) string (V([2001:db8::1]:443) for IPv6; the port, 1 to 65535, defaults to
        443) or a dict.
      - A dict has C(host), and optionally C(port), C(server_name) (the name sent as SNI and matched against the
        certificate; by default the host unless it is an address), C(starttls) (one of V(smtp), V(imap), V(pop3),
        V(ftp), V(postgres), V(ldap); the port then defaults to that protocol's) and C(timeout).
    type: list
    elements: raw
    default: []
  concurrency:
    description:
      - Files and endpoints checked at once.
    type: int
    default: 16
  timeout:
    description:
      - Seconds each connection to an endpoint may take in all, from connecting through STARTTLS to the end of the
        TLS handshake; a server that trickles its answer a byte at a time is cut off at that deadline.
    type: float
    default: 10
  verify_chain:
    description:
      - Verify that each certificate chains to a trusted certificate, as OpenSSL verifies it - signatures, validity
        periods, and that every issuer may issue (basic constraints CA, key usage keyCertSign, path length).
      - For files, C(openssl verify) judges each certificate, the other certificates of the same file serving as
        untrusted intermediates (the C(openssl) command must be installed); for endpoints, OpenSSL verifies the chain
        the server sends during the handshake.
    type: bool
    default: false
  ca_file:
    description:
      - PEM file of the trusted certificates for O(verify_chain); the system store when unset.
    type: path
  check_hostname:
    description:
      - Match the certificate of each endpoint with a server name against that name (subject alternative names,
        wildcards in the left-most label).
    type: bool
    default: true
  fail_on:
    description:
      - Fail the task when a certificate is V(warning) or worse, V(critical) or worse (which includes V(expired),
        V(not_yet_valid) and V(error)), only on V(error), or V(never).
    type: str
    choices: [critical, warning, error, never]
    default: critical
seealso:
  - name: RFC 6125
    description: How a certificate's names are matched against the name of a service.
    link: https://www.rfc-editor.org/rfc/rfc6125
"""

EXAMPLES = r"""
- name: Every certificate of the host and its public endpoints, warning at 30 days
  upkeep.maintenance.cert_expiry:
    paths:
      - /etc/ssl/certs/app.pem
      - /etc/letsencrypt/live/*/fullchain.pem
      - /etc/nginx/certs/
    endpoints:
      - www.example.com:443
      - host: mail.example.com
        starttls: smtp
      - host: db.internal
        starttls: postgres
        server_name: db.example.com
    verify_chain: true
    fail_on: never
  register: certificates

- name: The certificates that need attention
  ansible.builtin.debug:
    msg: "{{ item.source }}: {{ item.status }}, {{ item.days_remaining }} days ({{ item.not_after }})"
  loop: "{{ certificates.certificates | rejectattr('status', '==', 'ok') }}"
"""

RETURN = r"""
certificates:
  description: One entry per certificate found, and one per file or endpoint that could not be read.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: The file (with C(#N) for the Nth certificate of a file holding several) or the endpoint, with the
        server name it was asked for when that is not its host, and the STARTTLS protocol.
      type: str
    kind:
      description: V(file) or V(endpoint).
      type: str
    path:
      description: The file, for file certificates.
      type: str
    position:
      description: Which certificate of the file, from 1.
      type: int
    endpoint:
      description: V(host:port) (V([address]:port) for IPv6), for endpoint certificates.
      type: str
    status:
      description: V(ok), V(warning), V(critical), V(expired), V(not_yet_valid) or V(error).
      type: str
    days_remaining:
      description: Whole days until C(not_after); negative once expired.
      type: int
    not_before:
      description: Start of validity, ISO 8601 in UTC.
      type: str
    not_after:
      description: End of validity, ISO 8601 in UTC.
      type: str
    subject:
      description: Subject as an RFC 4514 string.
      type: str
    issuer:
      description: Issuer as an RFC 4514 string.
      type: str
    common_name:
      description: The subject's common name.
      type: str
    sans:
      description: Subject alternative names, as C(DNS:name) and C(IP:address).
      type: list
      elements: str
    serial:
      description: Serial number in hexadecimal.
      type: str
    fingerprint_sha256:
      description: SHA-256 fingerprint, colon-separated hexadecimal.
      type: str
    self_signed:
      description: Whether subject and issuer are the same.
      type: bool
    hostname_match:
      description: Whether the endpoint's server name matches the certificate (with O(check_hostname)).
      type: bool
    chain:
      description: With O(verify_chain), C(valid) and C(message).
      type: dict
    problems:
      description: Why the status is worse than the dates alone say (name mismatch, chain).
      type: list
      elements: str
    message:
      description: For V(error), what went wrong.
      type: str
  sample:
    - source: /etc/ssl/certs/app.pem
      kind: file
      path: /etc/ssl/certs/app.pem
      position: 1
      status: warning
      days_remaining: 12
      not_before: "2026-09-05T10:00:00Z"
      not_after: "2026-12-05T10:00:00Z"
      subject: CN=app.example.com
      issuer: CN=R11,O=Let's Encrypt,C=US
      common_name: app.example.com
      sans: ["DNS:app.example.com"]
      serial: 4a3f
      fingerprint_sha256: "3F:9A:..."
      self_signed: false
summary:
  description: Count of certificates per status (every status is present).
  returned: always
  type: dict
  sample: {"ok": 41, "warning": 1, "critical": 0, "expired": 0, "not_yet_valid": 0, "error": 1}
skipped_files:
  description: Files found in folders or by globs that hold no certificate.
  returned: always
  type: list
  elements: str
  sample: [/etc/nginx/certs/README]
upkeep_results:
  description:
    - One V(cert_expiry) entry per certificate that is not V(ok) (V(expired) and V(not_yet_valid) are V(critical),
      V(error) is V(failed) in the results contract), and one V(ok) entry summarising the call with the counts and
      the fewest days remaining as metrics.
  returned: always
  type: list
  elements: dict
"""

import concurrent.futures
import datetime
import fnmatch
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.upkeep.maintenance.plugins.module_utils._certificates import (
    CERTIFICATE_STATUSES,
    CONTRACT_STATUS,
    CRYPTOGRAPHY_IMPORT_ERROR,
    EXPIRY_THRESHOLD_ARGUMENT_SPEC,
    CertificateError,
    NotACertificate,
    certificates_in,
    describe,
    endpoint_address,
    endpoint_label,
    fetch,
    first_line,
    judge,
    matches_hostname,
    parse_endpoint,
    verify_with_openssl,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._files import expand_glob, is_glob, is_regular_file, read_regular_file
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import FAIL_ON_STATUSES, failing_entries, result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import plural


# Certificates of one file that do not read, listed one by one; the rest are counted.
ERRORS_PER_FILE = 10


def expand_paths(paths, patterns, recurse, allow_empty_globs):
    """(files listed by name, files found in folders or by globs), each once, in the order given."""
    listed, found, seen = [], [], set()

    def add(path, into):
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            into.append(path)

    for path in paths:
        if is_glob(path):
            matches = expand_glob(path)
            if not matches and not allow_empty_globs:
                listed.append(path)  # reported as an error: the user expected something there
            for match in matches:
                if is_regular_file(match):
                    add(match, found)
        elif os.path.isdir(path):
            # Named pipes, sockets and devices among the files are passed over: opening a pipe waits for a writer.
            for folder, folders, files in os.walk(path):
                folders.sort()
                for name in sorted(files):
                    if any(fnmatch.fnmatch(name, pattern) for pattern in patterns) and \
                            is_regular_file(os.path.join(folder, name)):
                        add(os.path.join(folder, name), found)
                if not recurse:
                    break
        else:
            add(path, listed)
    return listed, found


class Check(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.openssl = None

    def entry(self, certificate, base):
        """The certificate's entry; an error entry when it cannot be described. cryptography parses extensions only
        when they are read and raises several kinds of exception for malformed DER, so that one damaged certificate
        must not cost the other certificates of the batch."""
        try:
            entry = dict(base, **describe(certificate))
            entry["status"], entry["days_remaining"] = judge(
                certificate, self.now, self.params["warn_days"], self.params["critical_days"])
        except Exception as error:  # noqa: B902  (any parse failure of one certificate)
            return self.error(base, "%smalformed certificate: %s" % (
                base["source"] + ": " if base["kind"] == "endpoint" else "", first_line(error)))
        entry["problems"] = []
        return entry

    @staticmethod
    def error(base, message):
        return dict(base, status="error", message=message, days_remaining=None, not_after=None, not_before=None)

    def escalate(self, entry):
        """A valid certificate that fails its name or chain check is as bad as one about to expire."""
        if entry.get("hostname_match") is False:
            entry["problems"].append("the certificate does not name %s" % entry["server_name"])
        if entry.get("chain") and not entry["chain"]["valid"]:
            entry["problems"].append("chain: %s" % entry["chain"]["message"])
        if entry["problems"] and entry["status"] in ("ok", "warning"):
            entry["status"] = "critical"
        return entry

    def read_file(self, path, listed):
        base = dict(kind="file", path=path, source=path, position=1)
        try:
            data = read_regular_file(path)
        except (IOError, OSError) as error:
            return [self.error(base, "cannot read %s: %s" % (path, error.strerror or error))]
        found = certificates_in(data)
        if not listed and all(isinstance(certificate, NotACertificate) for _position, certificate in found):
            return []  # not a certificate file, among the other files of a folder
        if not found:
            return [self.error(base, "no certificate in %s" % path)]
        good = [certificate for _position, certificate in found if not isinstance(certificate, CertificateError)]
        entries, unread = [], 0
        for position, certificate in found:
            where = dict(base, position=position, source=path if len(found) == 1 else "%s#%d" % (path, position))
            if isinstance(certificate, CertificateError):
                unread += 1
                if unread <= ERRORS_PER_FILE:
                    entries.append(self.error(where, str(certificate)))
                continue
            entry = self.entry(certificate, where)
            if entry["status"] != "error" and self.params["verify_chain"]:
                others = [other for other in good if other is not certificate]
                valid, message = verify_with_openssl(self.openssl, certificate, others, self.params["ca_file"])
                entry["chain"] = dict(valid=valid, message=message)
            entries.append(self.escalate(entry) if entry["status"] != "error" else entry)
        if unread > ERRORS_PER_FILE:
            # Thousands of broken blocks in one file are one problem, not thousands of entries.
            entries.append(dict(self.error(dict(base, source="%s#more" % path), "%d more certificates in %s do not read "
                                           "(the first %d are listed)" % (unread - ERRORS_PER_FILE, path, ERRORS_PER_FILE)),
                                count=unread - ERRORS_PER_FILE))
        return entries

    def read_endpoint(self, endpoint):
        label = endpoint_label(endpoint)
        base = dict(kind="endpoint", endpoint=endpoint_address(endpoint), source=label,
                    server_name=endpoint["server_name"], starttls=endpoint["starttls"])
        try:
            certificate, chain = fetch(endpoint, self.params["verify_chain"], self.params["ca_file"])
        except CertificateError as error:
            return [self.error(base, "%s: %s" % (label, error))]
        except ValueError as error:
            return [self.error(base, "%s: the server sent an unreadable certificate: %s" % (label, first_line(error)))]
        entry = self.entry(certificate, base)
        if entry["status"] == "error":
            return [entry]
        if chain is not None:
            entry["chain"] = chain
        if self.params["check_hostname"] and endpoint["server_name"]:
            try:
                entry["hostname_match"] = matches_hostname(certificate, endpoint["server_name"])
            except Exception as error:  # noqa: B902  (a malformed name extension, as in entry())
                return [self.error(base, "%s: malformed certificate: %s" % (label, first_line(error)))]
        return [self.escalate(entry)]

    def run(self, endpoints):
        if self.params["verify_chain"] and self.params["paths"]:
            self.openssl = self.module.get_bin_path("openssl")
            if not self.openssl:
                self.module.fail_json(msg="verify_chain of certificate files needs the openssl command, which "
                                          "verifies the chains (Debian and Ubuntu: apt install openssl)")
        if self.params["ca_file"] and not is_regular_file(self.params["ca_file"]):
            self.module.fail_json(msg="cannot read the trusted certificates: %s is not a readable file" % self.params["ca_file"])
        listed, found = expand_paths(self.params["paths"], self.params["patterns"], self.params["recurse"],
                                     self.params["allow_empty_globs"])
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.params["concurrency"]) as pool:
            jobs = [pool.submit(self.read_file, path, True) for path in listed]
            jobs += [pool.submit(self.read_file, path, False) for path in found]
            jobs += [pool.submit(self.read_endpoint, endpoint) for endpoint in endpoints]
            results = [job.result() for job in jobs]
        certificates = [entry for entries in results for entry in entries]
        skipped = [path for path, entries in zip(found, results[len(listed):len(listed) + len(found)]) if not entries]
        return certificates, skipped


def contract_entry(certificate):
    status = certificate["status"]
    name = certificate.get("common_name") or certificate.get("subject")
    if status == "error":
        summary = certificate["message"]
    elif status == "not_yet_valid":
        summary = "certificate %s is not valid before %s" % (name, certificate["not_before"])
    elif status == "expired":
        summary = "certificate %s expired %s ago (%s)" % (
            name, plural(-certificate["days_remaining"], "day") if certificate["days_remaining"] else "less than a day",
            certificate["not_after"])
    else:
        summary = "certificate %s expires in %s (%s)" % (name, plural(certificate["days_remaining"], "day"), certificate["not_after"])
    if certificate.get("problems"):
        summary += "; " + "; ".join(certificate["problems"])
    metrics = dict(days_remaining=certificate["days_remaining"]) if certificate["days_remaining"] is not None else {}
    return result_entry("cert_expiry", certificate["source"], CONTRACT_STATUS[status], summary, metrics=metrics,
                        details=dict((key, certificate[key]) for key in ("not_after", "subject", "issuer", "fingerprint_sha256")
                                     if certificate.get(key)))


def main():
    argument_spec = dict(
        paths=dict(type="list", elements="path", default=[]),
        patterns=dict(type="list", elements="str", default=["*.pem", "*.crt", "*.cer", "*.cert", "*.der"]),
        recurse=dict(type="bool", default=False),
        allow_empty_globs=dict(type="bool", default=False),
        endpoints=dict(type="list", elements="raw", default=[]),
        concurrency=dict(type="int", default=16),
        timeout=dict(type="float", default=10.0),
        verify_chain=dict(type="bool", default=False),
        ca_file=dict(type="path"),
        check_hostname=dict(type="bool", default=True),
        fail_on=dict(type="str", default="critical", choices=list(FAIL_ON_STATUSES)),
    )
    argument_spec.update(EXPIRY_THRESHOLD_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not params["paths"] and not params["endpoints"]:
        module.fail_json(msg="nothing to check: give paths, endpoints or both")
    if params["critical_days"] > params["warn_days"]:
        module.fail_json(msg="critical_days (%d) must not be above warn_days (%d)" % (params["critical_days"], params["warn_days"]))
    if params["concurrency"] < 1 or params["timeout"] <= 0:
        module.fail_json(msg="concurrency must be 1 or more and timeout above 0")
    try:
        endpoints = [parse_endpoint(spec, params["timeout"]) for spec in params["endpoints"]]
    except ValueError as error:
        module.fail_json(msg=str(error))
    if CRYPTOGRAPHY_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)

    certificates, skipped = Check(module).run(endpoints)
    summary = dict((status, 0) for status in CERTIFICATE_STATUSES)
    for certificate in certificates:
        summary[certificate["status"]] += certificate.get("count", 1)
    entries = [contract_entry(certificate) for certificate in certificates]
    remaining = [certificate["days_remaining"] for certificate in certificates if certificate["days_remaining"] is not None]
    overview = result_entry(
        "cert_expiry", "certificates", "ok",
        "%s checked: %s%s" % (
            plural(sum(summary.values()), "certificate"), ", ".join("%d %s" % (count, status) for status, count in summary.items() if count) or "none",
            "; fewest days remaining %d" % min(remaining) if remaining else ""),
        metrics=dict(summary, certificates=sum(summary.values()), **(dict(min_days_remaining=min(remaining)) if remaining else {})),
        # What was checked, so that a report can tell one host's endpoints from another's.
        details=dict(endpoints=sorted(set(certificate["source"] for certificate in certificates
                                          if certificate["kind"] == "endpoint"))))
    result = dict(changed=False, certificates=certificates, summary=summary, skipped_files=skipped,
                  upkeep_results=[overview] + [entry for entry in entries if entry["status"] != "ok"])
    failing = failing_entries(entries, params["fail_on"])
    if failing:
        module.fail_json(msg="%s need attention: %s" % (
            plural(len(failing), "certificate"), "; ".join(entry["target"] + ": " + entry["summary"] for entry in failing[:5])), **result)
    module.exit_json(msg=overview["summary"], **result)


if __name__ == "__main__":
    main()
