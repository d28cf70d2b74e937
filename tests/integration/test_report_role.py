"""The report role run by ansible-playbook: JSON and Markdown reports, node_exporter metrics, a real webhook server
and a real SMTP server receiving the notifications, and the failure asked for at the end."""

import asyncore
import email
import email.policy
import http.server
import json
import os
import smtpd  # noqa: F401  (the standard library's SMTP server, for a real mail delivery)
import subprocess
import sys
import threading
import warnings

import pytest

import pgserver

PLAYBOOK = """
- name: A run with findings
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Findings of the roles
      ansible.builtin.set_fact:
        upkeep_results:
          - "{{ 'backup written' | upkeep.maintenance.upkeep_entry('sqlite_backup', '/srv/app.db', 'changed', {'bytes_reclaimed': 2048}) }}"
          - "{{ 'database is corrupt' | upkeep.maintenance.upkeep_entry('sqlite_integrity', '/srv/inv.db', 'critical') }}"
          - "{{ 'expires in 20 days' | upkeep.maintenance.upkeep_entry('cert_expiry', '/etc/ssl/a.pem', 'warning') }}"

- name: Report
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  roles:
    - role: upkeep.maintenance.report
"""


class Webhook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802  (the name http.server calls)
        Webhook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Mailbox(smtpd.SMTPServer):
    received = []

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        Mailbox.received.append(dict(sender=mailfrom, recipients=rcpttos, data=data.decode()))


@pytest.fixture
def receivers():
    webhook = http.server.HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    smtp_port = pgserver.free_port()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mailbox = Mailbox(("127.0.0.1", smtp_port), None, decode_data=False)
    loop = threading.Thread(target=asyncore.loop, kwargs=dict(timeout=0.1), daemon=True)
    loop.start()
    Webhook.received.clear()
    Mailbox.received.clear()
    yield "http://127.0.0.1:%d/hook" % webhook.server_address[1], smtp_port
    webhook.shutdown()
    mailbox.close()


def run_playbook(tmp_path, collections_path, **variables):
    playbook = tmp_path / "run.yml"
    playbook.write_text(PLAYBOOK)
    extra = json.dumps(dict(variables, report_dir=str(tmp_path / "reports"), report_textfile_dir=str(tmp_path / "metrics"),
                            report_run_name="weekly"))
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-e", extra, str(playbook)], capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))


def test_reports_metrics_and_notifications(tmp_path, collections_path, receivers):
    webhook, smtp_port = receivers
    process = run_playbook(tmp_path, collections_path, report_webhook_url=webhook, report_email_to=["ops@example.com"],
                           report_smtp_host="127.0.0.1", report_smtp_port=smtp_port)
    assert process.returncode == 0, process.stdout + process.stderr

    [report_json] = [name for name in os.listdir(str(tmp_path / "reports")) if name.endswith(".json")]
    report = json.loads((tmp_path / "reports" / report_json).read_text())
    assert report["status"] == "critical" and report["bytes_reclaimed"] == 2048
    markdown = (tmp_path / "reports" / report_json.replace(".json", ".md")).read_text()
    assert markdown.startswith("# Weekly maintenance report") and "## Findings: critical" in markdown
    assert "- Investigate the corrupt database" in markdown

    metrics = (tmp_path / "metrics" / "upkeep_weekly.prom").read_text()
    assert 'upkeep_maintenance_status{run="weekly",check="sqlite_integrity"} 3' in metrics
    assert 'upkeep_findings{run="weekly",check="cert_expiry",severity="warning"} 1' in metrics
    assert "upkeep_maintenance_last_run_timestamp_seconds{run=\"weekly\"} " in metrics

    [payload] = Webhook.received
    assert payload["text"].startswith("weekly maintenance: CRITICAL on 1 hosts")
    assert "cert_expiry" not in payload["text"] and "database is corrupt" in payload["text"]
    [mail] = Mailbox.received
    message = email.message_from_string(mail["data"], policy=email.policy.default)
    assert mail["recipients"] == ["ops@example.com"] and message["Subject"] == "weekly maintenance: CRITICAL"
    body = [part.get_payload(decode=True).decode() for part in message.walk() if part.get_content_type() == "text/plain"]
    assert body[0].startswith("# Weekly maintenance report")


def test_no_notification_without_findings_of_the_chosen_severities_and_the_failure_asked_for(tmp_path, collections_path,
                                                                                             receivers):
    webhook, _smtp_port = receivers
    quiet = run_playbook(tmp_path, collections_path, report_webhook_url=webhook, report_notify_on=["failed"])
    assert quiet.returncode == 0 and Webhook.received == []

    failing = run_playbook(tmp_path, collections_path, report_fail_on="critical")
    assert failing.returncode == 2 and "weekly maintenance ended critical" in failing.stdout
