"""The report role run by ansible-playbook: JSON and Markdown reports, node_exporter metrics, a real webhook server
and a real SMTP server receiving the notifications, the failure asked for at the end, and a report written whatever
happens to its notifications."""

import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

from mailserver import MailServer

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
    status = 200

    def do_POST(self):  # noqa: N802  (the name http.server calls)
        Webhook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(Webhook.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receivers(tmp_path):
    webhook = http.server.HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    Webhook.received.clear()
    Webhook.status = 200
    with MailServer(tmp_path) as mail:
        yield "http://127.0.0.1:%d/hook" % webhook.server_address[1], mail
    webhook.shutdown()


def run_playbook(tmp_path, collections_path, *options, **variables):
    playbook = tmp_path / "run.yml"
    playbook.write_text(PLAYBOOK)
    extra = json.dumps(dict(variables, report_dir=str(tmp_path / "reports"), report_textfile_dir=str(tmp_path / "metrics"),
                            report_run_name="weekly"))
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-e", extra, str(playbook)] + list(options), capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))


def test_reports_metrics_and_notifications(tmp_path, collections_path, receivers):
    webhook, mail = receivers
    process = run_playbook(tmp_path, collections_path, report_webhook_url=webhook, report_email_to=["ops@example.com"],
                           report_smtp_host="127.0.0.1", report_smtp_port=mail.port)
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
    assert payload["text"].startswith("weekly maintenance: CRITICAL on 1 host\n")
    assert "cert_expiry" not in payload["text"] and "database is corrupt" in payload["text"]
    [delivered] = mail.mailbox.received
    assert delivered["recipients"] == ["ops@example.com"]
    assert delivered["message"]["Subject"] == "weekly maintenance: CRITICAL"
    assert delivered["message"].get_content().startswith("# Weekly maintenance report")
    assert not [entry for entry in report["entries"] if entry["check"] == "notification"]


def test_no_notification_without_findings_of_the_chosen_severities_and_the_failure_asked_for(tmp_path, collections_path,
                                                                                             receivers):
    webhook, _mail = receivers
    quiet = run_playbook(tmp_path, collections_path, report_webhook_url=webhook, report_notify_on=["failed"])
    assert quiet.returncode == 0 and Webhook.received == []

    failing = run_playbook(tmp_path, collections_path, report_fail_on="critical")
    assert failing.returncode == 2 and "weekly maintenance ended critical" in failing.stdout


def test_the_report_is_written_when_its_notifications_fail_and_says_so_without_the_secrets(tmp_path, collections_path,
                                                                                           receivers):
    webhook, _mail = receivers
    Webhook.status = 500
    with MailServer(tmp_path, security="starttls") as secured:
        process = run_playbook(
            tmp_path, collections_path, "-vvv", report_webhook_url=webhook + "/T123/Xsecret-hook-456",
            report_email_to=["ops@example.com"], report_smtp_host="127.0.0.1", report_smtp_port=secured.port,
            report_smtp_username="upkeep", report_smtp_password="Wrong-Pass-789", report_notify_ca_file=secured.ca_file)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr
    assert len(Webhook.received) == 1 and secured.mailbox.received == []
    output = process.stdout + process.stderr
    assert "Xsecret-hook-456" not in output and "Wrong-Pass-789" not in output

    [report_json] = [name for name in os.listdir(str(tmp_path / "reports")) if name.endswith(".json")]
    report = json.loads((tmp_path / "reports" / report_json).read_text())
    failed = dict((entry["target"], entry["summary"]) for entry in report["entries"] if entry["check"] == "notification")
    assert failed == {"webhook": "the webhook answered HTTP 500",
                      "email to ops@example.com": "127.0.0.1 port %d refused the login of upkeep: "
                                                  "5.7.8 Authentication credentials invalid" % secured.port}
    assert report["status"] == "failed" and report["counts"]["failed"] == 2
    assert "Xsecret-hook-456" not in json.dumps(report)
    markdown = (tmp_path / "reports" / report_json.replace(".json", ".md")).read_text()
    assert "## Findings: failed checks" in markdown and "**controller** `notification` webhook" in markdown


def test_a_login_over_starttls_delivers_the_report(tmp_path, collections_path):
    with MailServer(tmp_path, security="starttls") as secured:
        process = run_playbook(
            tmp_path, collections_path, report_email_to=["ops@example.com"], report_smtp_host="127.0.0.1",
            report_smtp_port=secured.port, report_smtp_security="starttls", report_smtp_username="upkeep",
            report_smtp_password="s3cret-pass", report_notify_ca_file=secured.ca_file)
    assert process.returncode == 0, process.stdout + process.stderr
    [delivered] = secured.mailbox.received
    assert delivered["encrypted"] and delivered["message"]["Subject"] == "weekly maintenance: CRITICAL"
