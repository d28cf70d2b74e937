"""The report role run by ansible-playbook: JSON and Markdown reports, node_exporter metrics, a real webhook server
and a real SMTP server receiving the notifications, the failure asked for at the end, and a report written whatever
happens to its notifications."""

import http.server
import json
import os
import re
import socket
import time
import urllib.request
import subprocess
import sys
import threading

import pytest
import yaml

from mailserver import MailServer
from prerequisites import missing

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
          - "{{ 'backup written' | upkeep.maintenance.upkeep_entry('sqlite_backup', '/srv/app.db', 'changed',
                                                                   {'bytes_reclaimed': 2048, 'duration_seconds': 1.5}) }}"
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


def run_playbook(tmp_path, collections_path, *options, text=PLAYBOOK, **variables):
    playbook = tmp_path / "run.yml"
    playbook.write_text(text)
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
    assert 'upkeep_task_duration_seconds{run="weekly",check="sqlite_backup"} 1.5' in metrics
    assert "| sqlite_backup | 1.5 |" in markdown

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


def test_each_channel_hears_its_severities_and_an_overrun_window_is_always_notified(
        tmp_path, collections_path, receivers):
    webhook, mail = receivers
    warnings_only = PLAYBOOK.replace(
        """          - "{{ 'database is corrupt' | upkeep.maintenance.upkeep_entry('sqlite_integrity', '/srv/inv.db', 'critical') }}"
""", """          - "{{ 'the weekly window passed its deadline' | upkeep.maintenance.upkeep_entry('window_deadline', 'weekly',
                                                                                          'warning') }}"
""")
    process = run_playbook(tmp_path, collections_path, text=warnings_only, report_webhook_url=webhook,
                           report_email_to=["ops@example.com"], report_smtp_host="127.0.0.1", report_smtp_port=mail.port,
                           report_webhook_notify_on=["critical", "failed"], report_email_notify_on=["warning", "critical"])
    assert process.returncode == 0, process.stdout + process.stderr
    # The chat hears of the overrun alone, the warning it is always sent; the mail carries every warning.
    [payload] = Webhook.received
    assert "WARNING localhost weekly: the weekly window passed its deadline" in payload["text"]
    assert "cert_expiry" not in payload["text"]
    [delivered] = mail.mailbox.received
    assert delivered["message"]["Subject"] == "weekly maintenance: WARNING"

    Webhook.received.clear()
    mail.mailbox.received.clear()
    unasked = run_playbook(tmp_path, collections_path, text=warnings_only, report_webhook_url=webhook,
                           report_notify_checks=[])
    assert unasked.returncode == 0 and Webhook.received == []


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


class Endpoint(http.server.BaseHTTPRequestHandler):

    def do_GET(self):  # noqa: N802  (the name http.server calls)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_the_pulse_alerts_once_when_a_state_changes_not_on_every_run(tmp_path, collections_path, receivers):
    webhook, _mail = receivers
    endpoint = http.server.HTTPServer(("127.0.0.1", 0), Endpoint)
    port = endpoint.server_address[1]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": dict(
        ansible_connection="local", ansible_python_interpreter=sys.executable,
        health_endpoints=["http://127.0.0.1:%d/health" % port], health_mounts=[str(tmp_path)],
        health_disk_warning=100, health_disk_critical=100, health_memory_warning=100, health_memory_critical=100,
        health_load_warning=1000, health_load_critical=1000,
        report_dir=str(tmp_path / "reports"), report_textfile_dir=str(tmp_path / "metrics"), report_webhook_url=webhook)}}}))

    def pulse(first=False):
        process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                                  "upkeep.maintenance.pulse"], capture_output=True, text=True, check=False,
                                 env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
        assert process.returncode == 0, process.stdout + process.stderr
        # The first run creates the report folder; after it, a pulse changes nothing.
        assert ("changed=1" if first else "changed=0") in process.stdout and "failed=0" in process.stdout, process.stdout
        sent = list(Webhook.received)
        Webhook.received.clear()
        return sent

    serving = threading.Thread(target=endpoint.serve_forever, daemon=True)
    serving.start()
    assert pulse(first=True) == []
    endpoint.shutdown()
    endpoint.server_close()
    down = pulse()
    assert len(down) == 1 and "CRITICAL localhost http://127.0.0.1:%d/health" % port in down[0]["text"], down
    assert pulse() == [], "a state that did not change was notified again"
    endpoint = http.server.HTTPServer(("127.0.0.1", port), Endpoint)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    try:
        up = pulse()
    finally:
        endpoint.shutdown()
    assert len(up) == 1 and "RESOLVED localhost http://127.0.0.1:%d/health" % port in up[0]["text"], up
    reports = sorted(os.listdir(str(tmp_path / "reports")))
    assert len(reports) == 4 and all(name.startswith("pulse-") and name.endswith(".json") for name in reports), reports
    with open(str(tmp_path / "reports" / reports[-1])) as handle:
        latest = json.load(handle)
    assert [(entry["check"], entry["previous_status"]) for entry in latest["changes"]["resolved"]] == [
        ("health_endpoint", "critical")]
    metrics = (tmp_path / "metrics" / "upkeep_pulse.prom").read_text()
    assert 'upkeep_maintenance_status{run="pulse",check="host_health"} 0' in metrics
    assert 'check="health_endpoint"' not in metrics, "the metrics still carry the endpoint's finding"


PROMETHEUS_BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".build",
                              "prometheus", "usr", "bin")
RULES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles", "report",
                     "files", "upkeep.rules.yml")


def prometheus_tool(name):
    path = os.path.join(PROMETHEUS_BIN, name)
    if not os.path.exists(path):
        missing("%s is not unpacked in .build/prometheus (make pytest does it)" % name)
    return path


def test_the_alert_rules_pass_their_promtool_tests():
    promtool = prometheus_tool("promtool")
    for command in (["check", "rules", RULES],
                    ["test", "rules", os.path.join(os.path.dirname(RULES), "..", "..", "..", "tests", "prometheus",
                                                   "upkeep.rules.test.yml")]):
        process = subprocess.run([promtool] + command, capture_output=True, text=True, check=False)
        assert process.returncode == 0 and "SUCCESS" in process.stdout, process.stdout + process.stderr


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_node_exporter_serves_the_metrics_and_the_rules_alert_on_what_it_serves(tmp_path, collections_path):
    process = run_playbook(tmp_path, collections_path)
    assert process.returncode == 0, process.stdout + process.stderr
    port = free_port()
    exporter = subprocess.Popen([prometheus_tool("prometheus-node-exporter"), "--web.listen-address=127.0.0.1:%d" % port,
                                 "--collector.disable-defaults", "--collector.textfile",
                                 "--collector.textfile.directory=%s" % (tmp_path / "metrics")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _attempt in range(50):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as response:
                    scraped = response.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("node_exporter did not answer: %s" % exporter.stderr.read1().decode())
    finally:
        exporter.terminate()
        exporter.wait()
    assert "node_textfile_scrape_error 0" in scraped
    served = [line for line in scraped.splitlines() if line.startswith("upkeep_")]
    assert 'upkeep_findings{check="sqlite_integrity",run="weekly",severity="critical"} 1' in served, served

    # The rules, evaluated by promtool on the series as Prometheus would store them from this node_exporter.
    series = [dict(series=re.sub(r"\{", '{instance="web1:9100",job="node",', line.rsplit(" ", 1)[0], count=1),
                   values="%sx15" % line.rsplit(" ", 1)[1]) for line in served]
    test = dict(rule_files=[RULES], evaluation_interval="1m", tests=[dict(
        interval="1m", input_series=series, alert_rule_test=[
            dict(eval_time="10m", alertname="UpkeepCriticalFindings", exp_alerts=[dict(
                exp_labels=dict(severity="critical", instance="web1:9100", job="node", run="weekly", check="sqlite_integrity"),
                exp_annotations=dict(summary="1 critical sqlite_integrity finding(s) on web1:9100 (weekly run)",
                                     description="The run's report says what and what to do about it."))]),
            dict(eval_time="10m", alertname="UpkeepMaintenanceFailed", exp_alerts=[])])])
    (tmp_path / "served.test.yml").write_text(yaml.safe_dump(test))
    evaluated = subprocess.run([prometheus_tool("promtool"), "test", "rules", str(tmp_path / "served.test.yml")],
                               capture_output=True, text=True, check=False)
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr


def test_a_scheduled_window_is_announced_once_within_its_notice_with_hosts_services_and_duration(tmp_path, collections_path,
                                                                                                 receivers):
    webhook, _mail = receivers
    inventory = tmp_path / "inventory.yml"
    common = dict(ansible_connection="local", ansible_python_interpreter=sys.executable)
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": dict(report_dir=str(tmp_path / "reports"), report_webhook_url=webhook),
        "hosts": {
            # Every hour on the hour: always within an hour's notice.
            "orders1": dict(common, window_calendar={"minute": 0}, window_notice_before="1h",
                            window_services=["orders"], window_max_duration="4h"),
            "hub1": dict(common, window_calendar={"minute": 0}, window_notice_before="1h",
                         window_compose_projects=[{"project_dir": "/opt/hub", "services": ["api"]}]),
            # Once a year, on the 1st of January: not within a day's notice (unless it is the 31st of December).
            "stack1": dict(common, window_calendar={"month": 1, "day": 1, "hour": 0}, window_notice_before="1d"),
            "dev1": common}}}))

    def notice():
        process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                                  "upkeep.maintenance.window_notice"], capture_output=True, text=True, check=False,
                                 env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
        assert process.returncode == 0, process.stdout[-3000:] + process.stderr
        sent = list(Webhook.received)
        Webhook.received.clear()
        return sent

    [first] = notice()
    text = first["text"]
    assert re.match(r"Maintenance window \d{4}-\d{2}-\d{2} \d{2}:00:00 UTC \(in [01] h\):", text), text
    assert "- orders1: orders stopped, up to 4h" in text and "- hub1: hub/api stopped" in text
    if time.strftime("%m-%d", time.gmtime()) != "12-31":
        assert "stack1" not in text
    assert "dev1" not in text
    announced = json.loads((tmp_path / "reports" / "window-notices.json").read_text())
    assert sorted(announced) == ["hub1", "orders1"] and announced["orders1"].endswith("Z")
    assert notice() == [], "the same window was announced twice"
