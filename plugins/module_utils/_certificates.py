# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading X.509 certificates from files and from TLS endpoints (with STARTTLS), and judging their validity.

Works with the cryptography releases of current distributions (Debian 12 ships 38): no API newer than that is
required, and newer ones are used where they exist.
"""

import base64
import binascii
import datetime
import ipaddress
import math
import re
import select
import socket
import ssl
import struct
import subprocess
import tempfile
import traceback

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtensionOID, NameOID
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    x509 = None
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.upkeep.maintenance.plugins.module_utils._network import Deadline
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import utc_stamp

# Thresholds shared by the certificate modules (doc fragment upkeep.maintenance.certificates).
EXPIRY_THRESHOLD_ARGUMENT_SPEC = dict(
    warn_days=dict(type="int", default=30),
    critical_days=dict(type="int", default=7),
)

CERTIFICATE_STATUSES = ("ok", "warning", "critical", "expired", "not_yet_valid", "error")

# How a certificate's status reads in the results contract.
CONTRACT_STATUS = dict(ok="ok", warning="warning", critical="critical", expired="critical", not_yet_valid="critical",
                       error="failed")

PEM_BEGIN = b"-----BEGIN "
PEM_DASHES = b"-----"
CERTIFICATE_LABELS = (b"CERTIFICATE", b"TRUSTED CERTIFICATE", b"X509 CERTIFICATE")
STARTTLS_PROTOCOLS = ("smtp", "imap", "pop3", "ftp", "postgres", "ldap")
DEFAULT_PORTS = dict(smtp=25, imap=143, pop3=110, ftp=21, postgres=5432, ldap=389)


class CertificateError(Exception):
    """A certificate that cannot be read or fetched, reported as an entry with status error."""


class NotACertificate(CertificateError):
    """Data that is not a certificate at all: an error where a certificate was named, nothing where one was looked
    for among other files."""


def utc(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def validity(certificate):
    before = getattr(certificate, "not_valid_before_utc", None) or utc(certificate.not_valid_before)
    after = getattr(certificate, "not_valid_after_utc", None) or utc(certificate.not_valid_after)
    return before, after


def pem_blocks(data):
    """(label, body or None) for each PEM block, in one pass over the data: None is a block cut off before its END
    line (by the end of the data or by the next BEGIN). Each search stops at the next BEGIN, so that data full of
    BEGIN lines without END costs time in proportion to its size."""
    blocks = []
    begin = data.find(PEM_BEGIN)
    while begin != -1:
        label_start = begin + len(PEM_BEGIN)
        label_end = data.find(PEM_DASHES, label_start, label_start + 64)
        following = data.find(PEM_BEGIN, label_start)
        limit = following if following != -1 else len(data)
        if label_end != -1 and label_end < limit:
            label = data[label_start:label_end]
            end = data.find(b"-----END " + label + PEM_DASHES, label_end, limit)
            blocks.append((label, data[label_end + len(PEM_DASHES):end] if end != -1 else None))
        begin = following
    return blocks


def certificates_in(data):
    """(position, certificate or CertificateError) for every certificate in PEM or DER data; other PEM blocks
    (keys, parameters) are skipped. Positions count certificates from 1. Data that is neither holds none."""
    if PEM_BEGIN not in data:
        if data[:1] == b"\x30":
            try:
                return [(1, x509.load_der_x509_certificate(data))]
            except ValueError as error:
                return [(1, NotACertificate("not a DER certificate: %s" % first_line(error)))]
        return []
    found = []
    for label, body in pem_blocks(data):
        if label not in CERTIFICATE_LABELS:
            continue
        position = len(found) + 1
        if body is None:
            found.append((position, CertificateError("PEM certificate %d is cut off before its END line" % position)))
            continue
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
            found.append((position, x509.load_der_x509_certificate(der)))
        except (ValueError, binascii.Error) as error:
            found.append((position, CertificateError("malformed PEM certificate: %s" % first_line(error))))
    return found


def first_line(error):
    return (str(error).splitlines() or [type(error).__name__])[0]


def subject_alternative_names(certificate):
    try:
        extension = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return [], []
    names = extension.value
    return names.get_values_for_type(x509.DNSName), [str(address) for address in names.get_values_for_type(x509.IPAddress)]


def describe(certificate):
    dns, addresses = subject_alternative_names(certificate)
    before, after = validity(certificate)
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    return dict(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        common_name=", ".join(attribute.value for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)),
        sans=["DNS:%s" % name for name in dns] + ["IP:%s" % address for address in addresses],
        serial="%x" % certificate.serial_number,
        fingerprint_sha256=":".join(fingerprint[index:index + 2] for index in range(0, len(fingerprint), 2)).upper(),
        not_before=utc_stamp(before),
        not_after=utc_stamp(after),
        self_signed=certificate.issuer == certificate.subject,
    )


def judge(certificate, now, warn_days, critical_days):
    """(status, days_remaining): whole days left, negative once expired, rounded toward zero as check_ssl_cert and
    OpenSSL's -checkend count them (expired 36 hours ago is -1)."""
    before, after = validity(certificate)
    days = int((after - now).total_seconds() / 86400)
    if now < before:
        return "not_yet_valid", days
    if now >= after:
        return "expired", days
    if days < critical_days:
        return "critical", days
    if days < warn_days:
        return "warning", days
    return "ok", days


def matches_hostname(certificate, hostname):
    """RFC 6125 matching against the subject alternative names: exact names, a wildcard for the left-most label
    only, IP addresses against IP entries. The common name is used only when there are no SANs."""
    dns, addresses = subject_alternative_names(certificate)
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        address = None
    if address is not None:
        return str(address) in [str(ipaddress.ip_address(entry)) for entry in addresses]
    if not dns and not addresses:
        dns = [attribute.value for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    wanted = hostname.rstrip(".").lower()
    for name in dns:
        name = name.rstrip(".").lower()
        if name == wanted:
            return True
        if name.startswith("*.") and "." in wanted:
            label, rest = wanted.split(".", 1)
            if label and rest == name[2:]:
                return True
    return False


def verify_with_openssl(openssl, certificate, intermediates, ca_file):
    """(valid, message) from ``openssl verify``: the certificate, the intermediates as untrusted helpers, and the CA
    file (the system store without one). OpenSSL, not a walk of our own, makes the trust decision: basic
    constraints, key usage, path length, validity and signatures."""
    command = [openssl, "verify"] + (["-CAfile", ca_file] if ca_file else [])
    leaf = certificate.public_bytes(serialization.Encoding.PEM)
    with tempfile.NamedTemporaryFile(suffix=".pem") as helpers:
        if intermediates:
            helpers.write(b"".join(other.public_bytes(serialization.Encoding.PEM) for other in intermediates))
            helpers.flush()
            command += ["-untrusted", helpers.name]
        try:
            process = subprocess.run(command, input=leaf, capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return False, "openssl verify did not run: %s" % error
    output = (process.stdout + process.stderr).decode("utf-8", "replace")
    if process.returncode == 0 and re.search(r"^stdin: OK$", output, re.M):
        return True, "trusted"
    subject = ""
    for line in output.splitlines():
        found = re.match(r"^error (\d+) at (\d+) depth lookup: (.*)$", line)
        if found:
            return False, "%s (depth %s%s)" % (found.group(3).strip(), found.group(2), ": " + subject if subject else "")
        subject = line.strip()
    return False, (output.strip().splitlines() or ["openssl verify failed"])[-1]


# Endpoints

def parse_endpoint(spec, default_timeout):
    """An endpoint from ``host:port`` (``[v6]:port``) or a dict; returns a dict with every key set. ValueError, naming
    the endpoint as given, for anything else."""
    if isinstance(spec, dict):
        endpoint = dict(spec)
    else:
        text = str(spec).strip()
        match = re.match(r"^\[([^\]]+)\](?::([^:]*))?$", text) or re.match(r"^([^:\[\]]+)(?::([^:]*))?$", text)
        if not match:
            raise ValueError("endpoint %r is not host:port ([address]:port for IPv6)" % text)
        endpoint = dict(host=match.group(1), port=match.group(2))
    unknown = set(endpoint) - {"host", "port", "server_name", "starttls", "timeout"}
    if unknown:
        raise ValueError("endpoint %r has unknown keys: %s" % (spec, ", ".join(sorted(unknown))))
    host = str(endpoint.get("host") or "").strip()
    if not host or any(character.isspace() for character in host):
        raise ValueError("endpoint %r has no host" % (spec,))
    starttls = endpoint.get("starttls")
    if starttls and starttls not in STARTTLS_PROTOCOLS:
        raise ValueError("endpoint %r: starttls must be one of %s" % (spec, ", ".join(STARTTLS_PROTOCOLS)))
    port = endpoint.get("port")
    if port is None or port == "":
        port = DEFAULT_PORTS.get(starttls, 443)
    if isinstance(port, bool) or not re.match(r"^\d{1,5}$", str(port).strip()) or not 0 < int(port) < 65536:
        raise ValueError("endpoint %r: the port must be a number from 1 to 65535" % (spec,))
    timeout = endpoint.get("timeout")
    try:
        timeout = float(default_timeout if timeout is None else timeout)
    except (TypeError, ValueError):
        timeout = -1.0
    if not math.isfinite(timeout) or timeout <= 0:
        raise ValueError("endpoint %r: the timeout must be a number of seconds above 0" % (spec,))
    try:
        ipaddress.ip_address(host)
        default_name = None
    except ValueError:
        default_name = host
    return dict(host=host, port=int(port), server_name=endpoint.get("server_name") or default_name,
                starttls=starttls, timeout=timeout)


def endpoint_address(endpoint):
    """host:port, with an IPv6 address in brackets."""
    host = "[%s]" % endpoint["host"] if ":" in endpoint["host"] else endpoint["host"]
    return "%s:%d" % (host, endpoint["port"])


def endpoint_label(endpoint):
    """The address, the server name sent when it is not the host (one port can serve certificates by name), and the
    STARTTLS protocol."""
    label = endpoint_address(endpoint)
    if endpoint["server_name"] and endpoint["server_name"] != endpoint["host"]:
        label += " (name %s)" % endpoint["server_name"]
    if endpoint["starttls"]:
        label += " (starttls %s)" % endpoint["starttls"]
    return label


class Conversation(object):
    """The plain-text dialogue before a STARTTLS upgrade, every read within what is left of the deadline."""

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""

    def line(self):
        while b"\n" not in self.buffer:
            if len(self.buffer) > 65536:
                raise CertificateError("the server sent 64 KiB without a line end during STARTTLS")
            chunk = self.deadline.bound(self.sock).recv(4096)
            if not chunk:
                raise CertificateError("the server closed the connection during STARTTLS")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.rstrip(b"\r").decode("latin-1")

    def reply(self, code):
        """A numbered reply (SMTP, FTP), multi-line replies read to their last line."""
        while True:
            line = self.line()
            if not line[:3].isdigit():
                continue
            if line[3:4] != "-":
                if not line.startswith(code):
                    raise CertificateError("STARTTLS refused: %s" % line)
                return line

    def expect(self, prefix):
        line = self.line()
        if not line.startswith(prefix):
            raise CertificateError("STARTTLS refused: %s" % line)
        return line

    def send(self, text):
        self.deadline.bound(self.sock).sendall(text.encode("ascii") + b"\r\n")


LDAP_STARTTLS = (b"\x30\x1d\x02\x01\x01\x77\x18\x80\x16" + b"1.3.6.1.4.1.1466.20037")


def starttls(sock, protocol, deadline):
    talk = Conversation(sock, deadline)
    if protocol == "smtp":
        talk.reply("220")
        talk.send("EHLO upkeep.invalid")
        talk.reply("250")
        talk.send("STARTTLS")
        talk.reply("220")
    elif protocol == "imap":
        talk.expect("* OK")
        talk.send("u1 STARTTLS")
        while True:
            line = talk.line()
            if line.startswith("u1 "):
                if not line.startswith("u1 OK"):
                    raise CertificateError("STARTTLS refused: %s" % line)
                break
    elif protocol == "pop3":
        talk.expect("+OK")
        talk.send("STLS")
        talk.expect("+OK")
    elif protocol == "ftp":
        talk.reply("220")
        talk.send("AUTH TLS")
        talk.reply("234")
    elif protocol == "postgres":
        deadline.bound(sock).sendall(struct.pack("!ii", 8, 80877103))
        answer = deadline.bound(sock).recv(1)
        if answer != b"S":
            raise CertificateError("the PostgreSQL server does not offer SSL (answered %r)" % answer)
    elif protocol == "ldap":
        deadline.bound(sock).sendall(LDAP_STARTTLS)
        answer = deadline.bound(sock).recv(4096)
        if b"\x0a\x01\x00" not in answer[:16]:
            raise CertificateError("the LDAP server refused StartTLS")


def handshake(endpoint, context):
    """Connect, upgrade if asked, complete a TLS handshake, all within the endpoint's timeout; returns the server's
    certificate in DER."""
    deadline = Deadline(endpoint["timeout"])
    step = "connecting"
    try:
        sock = socket.create_connection((endpoint["host"], endpoint["port"]), timeout=deadline.remaining())
    except socket.timeout:
        raise CertificateError("timed out after %gs connecting" % endpoint["timeout"])
    except socket.gaierror as error:
        raise CertificateError("cannot resolve %s: %s" % (endpoint["host"], error.strerror))
    except OSError as error:
        raise CertificateError("cannot connect: %s" % (error.strerror or error))
    try:
        if endpoint["starttls"]:
            step = "in the STARTTLS dialogue"
            starttls(sock, endpoint["starttls"], deadline)
        step = "in the TLS handshake"
        with context.wrap_socket(sock, server_hostname=endpoint["server_name"], do_handshake_on_connect=False) as tls:
            shake_hands(tls, deadline)
            return tls.getpeercert(binary_form=True)
    except socket.timeout:
        raise CertificateError("timed out after %gs %s" % (endpoint["timeout"], step))
    except ssl.SSLCertVerificationError:
        raise
    except ssl.SSLError as error:
        raise CertificateError("TLS handshake failed: %s" % (error.reason or error))
    except OSError as error:
        raise CertificateError("connection failed %s: %s" % (step, error.strerror or error))
    finally:
        sock.close()


def shake_hands(tls, deadline):
    """The TLS handshake step by step, each wait within what is left of the deadline: a blocking handshake gives
    every read the whole timeout, so a server trickling its handshake could hold it for ever."""
    tls.setblocking(False)
    while True:
        try:
            tls.do_handshake()
            return
        except ssl.SSLWantReadError:
            ready = select.select([tls], [], [], deadline.remaining())[0]
        except ssl.SSLWantWriteError:
            ready = select.select([], [tls], [], deadline.remaining())[1]
        if not ready:
            deadline.remaining()


def inspecting_context():
    """A client context that accepts any certificate, so that expired and self-signed ones can be read."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    return context


def verifying_context(ca_file):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    else:
        context.load_default_certs()
    return context


def fetch(endpoint, verify, ca_file):
    """(certificate, chain result or None). With verify, the server's chain is checked by OpenSSL in a first
    handshake; the certificate itself is always read with a handshake that accepts it."""
    chain = None
    if verify:
        try:
            der = handshake(endpoint, verifying_context(ca_file))
            return x509.load_der_x509_certificate(der), dict(valid=True, message="trusted")
        except ssl.SSLCertVerificationError as error:
            chain = dict(valid=False, message=error.verify_message or str(error))
    der = handshake(endpoint, inspecting_context())
    return x509.load_der_x509_certificate(der), chain
