"""A real SMTP server for the notification tests (aiosmtpd, the maintained successor of the standard library's smtpd):
plain, with STARTTLS and login required, or TLS from the first byte, on a loopback port."""

import email
import email.policy
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import certs
import pgserver


class Mailbox(object):
    def __init__(self):
        self.received = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (the name aiosmtpd calls)
        self.received.append(dict(sender=envelope.mail_from, recipients=list(envelope.rcpt_tos),
                                  message=email.message_from_bytes(envelope.content, policy=email.policy.default),
                                  encrypted=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None))
        return "250 OK"


class MailServer(object):
    """``security``: V(none) (no TLS offered), V(starttls) (STARTTLS and AUTH required), or V(ssl) (TLS from the first
    byte, AUTH required). ``ca_file`` is the authority that signed the server's certificate."""

    def __init__(self, folder, security="none", username="upkeep", password="s3cret-pass"):
        self.mailbox = Mailbox()
        self.port = pgserver.free_port()
        self.username, self.password = username, password
        options = dict(hostname="127.0.0.1", port=self.port)
        if security != "none":
            root = certs.issue("Mail Test Root", days=30, ca=True)
            leaf = certs.issue("127.0.0.1", issuer=root, days=30, names=["127.0.0.1", "localhost"])
            self.ca_file = root.write(folder / "mail-ca.pem")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(leaf.write(folder / "mail.pem"), leaf.write_key(folder / "mail.key"))
            options.update(authenticator=self.authenticate, auth_required=True)
            if security == "starttls":
                options.update(tls_context=context, require_starttls=True, auth_require_tls=True)
            else:
                # aiosmtpd does not see the TLS it was wrapped in: every byte of this server is encrypted anyway.
                options.update(ssl_context=context, auth_require_tls=False)
        self.controller = Controller(self.mailbox, **options)

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.mailbox.logins.append(mechanism)
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == (
            self.username, self.password)
        return AuthResult(success=ok, handled=False)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
