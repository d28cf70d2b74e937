"""Certificates made for the tests and benchmarks with cryptography: a CA, an intermediate, leaves with chosen
validity and names, written as PEM or DER."""

import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)


class Issued(object):
    def __init__(self, certificate, key):
        self.certificate = certificate
        self.key = key

    @property
    def pem(self):
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self):
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self):
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def write(self, path, chain=(), with_key=False):
        """PEM of this certificate, then the chain, and the key when asked (as a combined file would hold)."""
        with open(str(path), "wb") as handle:
            handle.write(self.pem + b"".join(issued.pem for issued in chain) + (self.key_pem if with_key else b""))
        return str(path)

    def write_key(self, path):
        with open(str(path), "wb") as handle:
            handle.write(self.key_pem)
        return str(path)


def issue(common_name, issuer=None, days=90, starts_in_days=-1, names=None, ca=False, key=None, path_length=None,
          extensions=()):
    """A certificate valid from starts_in_days to days from now, signed by issuer (self-signed without one), with
    extra (extension, critical) pairs, which may be malformed (x509.UnrecognizedExtension with a known OID)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.certificate.subject if issuer else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW + datetime.timedelta(days=starts_in_days))
               .not_valid_after(NOW + datetime.timedelta(days=days, hours=1)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
    else:
        alternatives = []
        for name in names if names is not None else [common_name]:
            try:
                alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternatives.append(x509.DNSName(name))
        if alternatives:
            builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def authority():
    """A root CA and an intermediate it signed."""
    root = issue("Upkeep Test Root", days=3650, ca=True)
    intermediate = issue("Upkeep Test Intermediate", issuer=root, days=1825, ca=True)
    return root, intermediate


def demo(folder):
    """The demo estate's certificates: a site with its chain, an API certificate 20 days from expiry, a
    legacy one that expired three days ago, the key beside them."""
    os.makedirs(folder, exist_ok=True)
    root, intermediate = authority()
    root.write(os.path.join(folder, "ca.pem"))
    site = issue("www.demo.test", issuer=intermediate, days=200, names=["www.demo.test", "demo.test"])
    site.write(os.path.join(folder, "site.pem"), chain=[intermediate])
    site.write_key(os.path.join(folder, "site.key"))
    issue("api.demo.test", issuer=intermediate, days=20).write(os.path.join(folder, "api.pem"), chain=[intermediate])
    issue("legacy.demo.test", issuer=intermediate, days=-3, starts_in_days=-400).write(
        os.path.join(folder, "legacy.pem"), chain=[intermediate])
    return folder


if __name__ == "__main__":
    print("demo certificates in %s" % demo(sys.argv[1]))
