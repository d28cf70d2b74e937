"""notify against real servers: an SMTP server requiring STARTTLS and a login, one speaking TLS from the first byte, a
plain relay, HTTP webhooks that accept or fail, and tarpits that trickle their answer a byte at a time."""

import http.server
import json
import threading
import time

import pytest

from mailserver import MailServer
from pgserver import free_port
from tarpit import Tarpit


class Hook(http.server.BaseHTTPRequestHandler):
    status = 200
    received = []

    def do_POST(self):  # noqa: N802  (the name http.server calls)
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(Hook.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hook.received.clear()
    Hook.status = 200
    yield "http://127.0.0.1:%d/services/T01/B02/secret-token-123" % server.server_address[1]
    server.shutdown()


def mail(server, **options):
    return dict(dict(subject="weekly maintenance: CRITICAL", text="1 corrupt database", body="# Weekly report\n",
                     email_to=["ops@example.com"], email_from="upkeep@example.com", smtp_host="127.0.0.1",
                     smtp_port=server.port, timeout=10), **options)


def test_mail_goes_out_over_starttls_with_a_login(run_module, tmp_path):
    with MailServer(tmp_path, security="starttls") as server:
        result = run_module("notify", **mail(server, smtp_security="starttls", smtp_username="upkeep",
                                             smtp_password="s3cret-pass", ca_file=server.ca_file))
    assert result["rc"] == 0 and result["changed"] is False, result
    assert [outcome["status"] for outcome in result["notifications"]] == ["sent"]
    assert result["upkeep_results"][0]["status"] == "ok"
    [delivered] = server.mailbox.received
    assert delivered["encrypted"] and delivered["recipients"] == ["ops@example.com"]
    assert delivered["message"]["Subject"] == "weekly maintenance: CRITICAL"
    assert delivered["message"].get_content().rstrip() == "# Weekly report"
    assert "s3cret-pass" not in json.dumps(result)


def test_mail_goes_out_over_tls_from_the_first_byte(run_module, tmp_path):
    with MailServer(tmp_path, security="ssl") as server:
        result = run_module("notify", **mail(server, smtp_security="ssl", smtp_username="upkeep",
                                             smtp_password="s3cret-pass", ca_file=server.ca_file))
    assert result["notifications"][0]["status"] == "sent", result
    assert server.mailbox.received[0]["encrypted"]


def test_a_refused_login_is_a_failed_entry_that_names_no_password(run_module, tmp_path):
    with MailServer(tmp_path, security="starttls") as server:
        result = run_module("notify", **mail(server, smtp_username="upkeep", smtp_password="wrong-pass-987",
                                             ca_file=server.ca_file))
    assert result["rc"] == 0 and server.mailbox.received == []
    [entry] = result["upkeep_results"]
    assert entry["status"] == "failed" and "refused the login of upkeep" in entry["summary"]
    assert "wrong-pass-987" not in json.dumps(result)


def test_a_server_certificate_nobody_vouches_for_is_refused(run_module, tmp_path):
    with MailServer(tmp_path, security="starttls") as server:
        result = run_module("notify", **mail(server, smtp_username="upkeep", smtp_password="s3cret-pass"))
    assert server.mailbox.received == [] and server.mailbox.logins == []
    assert result["upkeep_results"][0]["status"] == "failed"
    assert "TLS with 127.0.0.1 port %d failed" % server.port in result["upkeep_results"][0]["summary"]


def test_the_password_never_crosses_an_unencrypted_connection(run_module, tmp_path):
    with MailServer(tmp_path, security="none") as server:
        refused = run_module("notify", **mail(server, smtp_username="upkeep", smtp_password="s3cret-pass"))
        required = run_module("notify", **mail(server, smtp_security="starttls"))
        relayed = run_module("notify", **mail(server))
    assert refused["notifications"][0]["status"] == "failed"
    assert "the password is not sent in clear text" in refused["notifications"][0]["message"]
    assert "does not offer STARTTLS" in required["notifications"][0]["message"]
    assert relayed["notifications"][0]["status"] == "sent"
    assert len(server.mailbox.received) == 1 and not server.mailbox.received[0]["encrypted"]


def test_the_webhook_gets_the_text_and_a_failing_one_is_reported_without_its_url(run_module, webhook):
    sent = run_module("notify", subject="weekly", text="3 findings", webhook_url=webhook)
    assert sent["notifications"][0]["status"] == "sent" and Hook.received == [{"text": "3 findings"}]
    Hook.status = 500
    failed = run_module("notify", subject="weekly", text="3 findings", webhook_url=webhook)
    assert failed["rc"] == 0 and failed["upkeep_results"][0]["status"] == "failed"
    assert failed["upkeep_results"][0]["summary"] == "the webhook answered HTTP 500"
    assert "secret-token-123" not in json.dumps(failed) and "secret-token-123" not in json.dumps(sent)
    refused = run_module("notify", subject="weekly", webhook_url="http://127.0.0.1:%d/hook/secret-token-123" % free_port())
    assert refused["upkeep_results"][0]["status"] == "failed" and "not reached" in refused["upkeep_results"][0]["summary"]
    assert "secret-token-123" not in json.dumps(refused)


@pytest.mark.parametrize("channel", ["smtp", "webhook"])
def test_a_server_that_trickles_its_answer_holds_the_task_no_longer_than_its_timeout(run_module, channel):
    greeting = b"220-mail.example.com ESMTP\r\n" if channel == "smtp" else b""
    with Tarpit(greeting=greeting, trickle=b"2" if channel == "smtp" else b"H") as tarpit:
        options = (dict(email_to=["ops@example.com"], smtp_host="127.0.0.1", smtp_port=tarpit.port) if channel == "smtp"
                   else dict(webhook_url="http://127.0.0.1:%d/hook" % tarpit.port))
        started = time.monotonic()
        result = run_module("notify", subject="weekly", timeout=2, **options)
        elapsed = time.monotonic() - started
    assert elapsed < 3 + 1.5, elapsed  # the timeout, a second, and the module's own start
    assert result["notifications"][0]["status"] == "failed"
    assert "no complete answer within 2 s" in result["notifications"][0]["message"]


def test_check_mode_sends_nothing_and_contradictions_fail_before_sending(run_module, tmp_path, webhook):
    with MailServer(tmp_path) as server:
        planned = run_module("notify", check_mode=True, webhook_url=webhook, **mail(server))
        assert [outcome["status"] for outcome in planned["notifications"]] == ["planned", "planned"]
        half = run_module("notify", smtp_username="upkeep", **mail(server))
        port = run_module("notify", **mail(server, smtp_port=70000))
    assert server.mailbox.received == [] and Hook.received == []
    assert half["failed"] and "smtp_password" in half["msg"]
    assert port["failed"] and port["msg"] == "smtp_port must be 1 to 65535, got 70000"
