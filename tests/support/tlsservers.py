"""TLS servers on loopback for the tests and benchmarks: plain TLS, and the plain-text greeting and upgrade of
SMTP, IMAP, POP3, FTP and LDAP before it; one that accepts TCP and never speaks. Each serves in a thread."""

import socket
import socketserver
import ssl
import threading

# What each protocol says before the TLS upgrade: (greeting, [(expected command prefix, reply)]).
DIALOGUES = {
    "smtp": (b"220 mail.test ESMTP ready\r\n", [
        (b"EHLO", b"250-mail.test greets you\r\n250-SIZE 1000000\r\n250 STARTTLS\r\n"),
        (b"STARTTLS", b"220 2.0.0 Ready to start TLS\r\n")]),
    "imap": (b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", [
        (b"u1 STARTTLS", b"u1 OK Begin TLS negotiation now\r\n")]),
    "pop3": (b"+OK POP3 ready\r\n", [(b"STLS", b"+OK Begin TLS\r\n")]),
    "ftp": (b"220-Welcome\r\n220 FTP ready\r\n", [(b"AUTH TLS", b"234 AUTH TLS successful\r\n")]),
}
# An LDAP ExtendedResponse (message 1) with resultCode success.
LDAP_STARTTLS_OK = bytes.fromhex("300c02010178070a010004000400")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def _handler(context, protocol):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            sock = self.request
            sock.settimeout(10)
            try:
                if protocol == "silent":
                    while sock.recv(4096):  # reads the ClientHello and answers nothing until the client gives up
                        pass
                    return
                if protocol == "ldap":
                    sock.recv(4096)
                    sock.sendall(LDAP_STARTTLS_OK)
                elif protocol in DIALOGUES:
                    greeting, steps = DIALOGUES[protocol]
                    sock.sendall(greeting)
                    reader = sock.makefile("rb")
                    for expected, reply in steps:
                        line = reader.readline()
                        if not line.upper().startswith(expected.upper()):
                            sock.sendall(b"500 unexpected\r\n")
                            return
                        sock.sendall(reply)
                with context.wrap_socket(sock, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    return Handler


class TLSServer(object):
    """A server on 127.0.0.1 presenting certificate_file (leaf first, then its chain) with key_file."""

    def __init__(self, certificate_file=None, key_file=None, protocol="tls", host="127.0.0.1"):
        context = None
        if protocol != "silent":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificate_file, key_file)
        self.host = host
        self.server = (_Server6 if ":" in host else _Server)((host, 0), _handler(context, protocol))
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs=dict(poll_interval=0.1), daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "%s:%d" % ("[%s]" % self.host if ":" in self.host else self.host, self.port)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
