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
import re
import socket
import ssl
import struct
import traceback

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
    from cryptography.x509.oid import ExtensionOID, NameOID
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    x509 = None
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

# Thresholds shared by the certificate modules (doc fragment upkeep.maintenance.certificates).
EXPIRY_THRESHOLD_ARGUMENT_SPEC = dict(
    warn_days=dict(type="int", default=30),
    critical_days=dict(type="int", default=7),
)

CERTIFICATE_STATUSES = ("ok", "warning", "critical", "expired", "not_yet_valid", "error")

# How a certificate's status reads in the results contract.
CONTRACT_STATUS = dict(ok="ok", warning="warning", critical="critical", expired="critical", not_yet_valid="critical",
                       error="failed")

PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
STARTTLS_PROTOCOLS = ("smtp", "imap", "pop3", "ftp", "postgres", "ldap")
DEFAULT_PORTS = dict(smtp=25, imap=143, pop3=110, ftp=21, postgres=5432, ldap=389)


class CertificateError(Exception):
    """A certificate that cannot be read or fetched, reported as an entry with status error."""


def utc(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def validity(certificate):
    before = getattr(certificate, "not_valid_before_utc", None) or utc(certificate.not_valid_before)
    after = getattr(certificate, "not_valid_after_utc", None) or utc(certificate.not_valid_after)
    return before, after


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def certificates_in(data):
    """(position, certificate or CertificateError) for every certificate in PEM or DER data; other PEM blocks
    (keys, parameters) are skipped. Positions count certificates from 1."""
    if b"-----BEGIN" not in data:
        if data[:1] == b"\x30":
            try:
                return [(1, x509.load_der_x509_certificate(data))]
            except ValueError as error:
                return [(1, CertificateError("not a DER certificate: %s" % error))]
        return []
    found = []
    for block in PEM_BLOCK.finditer(data):
        if block.group(1) not in (b"CERTIFICATE", b"TRUSTED CERTIFICATE", b"X509 CERTIFICATE"):
            continue
        position = len(found) + 1
        try:
            der = base64.b64decode(b"".join(block.group(2).split()), validate=True)
            found.append((position, x509.load_der_x509_certificate(der)))
        except (ValueError, binascii.Error) as error:
            found.append((position, CertificateError("malformed PEM certificate: %s" % str(error).splitlines()[0])))
    return found


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
        not_before=iso(before),
        not_after=iso(after),
        self_signed=certificate.issuer == certificate.subject,
    )


def judge(certificate, now, warn_days, critical_days):
    """(status, days_remaining): whole days left, negative once expired."""
    before, after = validity(certificate)
    days = int((after - now).total_seconds() // 86400)
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


def signed_by(certificate, issuer):
    """Whether issuer's key made certificate's signature (RSA PKCS#1 v1.5, ECDSA, Ed25519, Ed448)."""
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(),
                       certificate.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(certificate.signature, certificate.tbs_certificate_bytes,
                       ec.ECDSA(certificate.signature_hash_algorithm))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(certificate.signature, certificate.tbs_certificate_bytes)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def load_trust_store(ca_file):
    """The certificates of a CA file, or of the system store when ca_file is None."""
    path = ca_file or ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
    with open(path, "rb") as handle:
        return [certificate for _position, certificate in certificates_in(handle.read())
                if not isinstance(certificate, CertificateError)]


def verify_chain(certificate, intermediates, trusted, now):
    """(valid, message): a path from the certificate through the intermediates to a trusted certificate,
    every signature checked and every certificate on the path valid now."""
    current = certificate
    seen = set()
    for _depth in range(10):
        before, after = validity(current)
        if not before <= now < after:
            return False, "%s is outside its validity period" % current.subject.rfc4514_string()
        if any(current == anchor for anchor in trusted):
            return True, "trusted"
        candidates = [issuer for issuer in trusted if issuer.subject == current.issuer and signed_by(current, issuer)]
        if candidates:
            return True, "chains to %s" % candidates[0].subject.rfc4514_string()
        if current.issuer == current.subject:
            return False, "self-signed and not trusted"
        parents = [issuer for issuer in intermediates
                   if issuer.subject == current.issuer and issuer.fingerprint(hashes.SHA256()) not in seen]
        parent = next((issuer for issuer in parents if signed_by(current, issuer)), None)
        if parent is None:
            return False, "issuer %s not found%s" % (
                current.issuer.rfc4514_string(), " (a certificate of that name did not sign it)" if parents else "")
        seen.add(parent.fingerprint(hashes.SHA256()))
        current = parent
    return False, "chain longer than 10 certificates"


# Endpoints

def parse_endpoint(spec, default_timeout):
    """An endpoint from ``host:port`` (``[v6]:port``) or a dict; returns a dict with every key set."""
    if isinstance(spec, dict):
        endpoint = dict(spec)
    else:
        text = str(spec).strip()
        match = re.match(r"^\[([^\]]+)\](?::(\d+))?$", text) or re.match(r"^([^:]+)(?::(\d+))?$", text)
        if not match:
            raise ValueError("endpoint %r is not host:port" % text)
        endpoint = dict(host=match.group(1), port=int(match.group(2)) if match.group(2) else None)
    unknown = set(endpoint) - {"host", "port", "server_name", "starttls", "timeout"}
    if unknown:
        raise ValueError("endpoint %r has unknown keys: %s" % (spec, ", ".join(sorted(unknown))))
    if not endpoint.get("host"):
        raise ValueError("endpoint %r has no host" % (spec,))
    starttls = endpoint.get("starttls")
    if starttls and starttls not in STARTTLS_PROTOCOLS:
        raise ValueError("endpoint %r: starttls must be one of %s" % (spec, ", ".join(STARTTLS_PROTOCOLS)))
    port = endpoint.get("port") or DEFAULT_PORTS.get(starttls, 443)
    try:
        ipaddress.ip_address(endpoint["host"])
        default_name = None
    except ValueError:
        default_name = endpoint["host"]
    return dict(host=endpoint["host"], port=int(port), server_name=endpoint.get("server_name") or default_name,
                starttls=starttls, timeout=float(endpoint.get("timeout") or default_timeout))


def endpoint_label(endpoint):
    host = "[%s]" % endpoint["host"] if ":" in endpoint["host"] else endpoint["host"]
    label = "%s:%d" % (host, endpoint["port"])
    if endpoint["starttls"]:
        label += " (starttls %s)" % endpoint["starttls"]
    return label


class Conversation(object):
    """The plain-text dialogue before a STARTTLS upgrade."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def line(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(4096)
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
        self.sock.sendall(text.encode("ascii") + b"\r\n")


LDAP_STARTTLS = (b"\x30\x1d\x02\x01\x01\x77\x18\x80\x16" + b"1.3.6.1.4.1.1466.20037")


def starttls(sock, protocol):
    talk = Conversation(sock)
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
        sock.sendall(struct.pack("!ii", 8, 80877103))
        answer = sock.recv(1)
        if answer != b"S":
            raise CertificateError("the PostgreSQL server does not offer SSL (answered %r)" % answer)
    elif protocol == "ldap":
        sock.sendall(LDAP_STARTTLS)
        answer = sock.recv(4096)
        if b"\x0a\x01\x00" not in answer[:16]:
            raise CertificateError("the LDAP server refused StartTLS")


def handshake(endpoint, context):
    """Connect, upgrade if asked, complete a TLS handshake; returns the server's certificate in DER."""
    step = "connecting"
    try:
        sock = socket.create_connection((endpoint["host"], endpoint["port"]), timeout=endpoint["timeout"])
    except socket.timeout:
        raise CertificateError("timed out after %gs connecting" % endpoint["timeout"])
    except socket.gaierror as error:
        raise CertificateError("cannot resolve %s: %s" % (endpoint["host"], error.strerror))
    except OSError as error:
        raise CertificateError("cannot connect: %s" % (error.strerror or error))
    try:
        if endpoint["starttls"]:
            step = "in the STARTTLS dialogue"
            starttls(sock, endpoint["starttls"])
        step = "in the TLS handshake"
        with context.wrap_socket(sock, server_hostname=endpoint["server_name"]) as tls:
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
