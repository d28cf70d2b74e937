"""Endpoints that hosts ask to have checked from the controller: every host's are checked, with that host's own
thresholds, and the report gives each host its own, as a run over a whole inventory (AWX's job templates run without
--limit) must."""

import json
import os
import subprocess
import sys

import yaml

import certs
import tlsservers

PLAYBOOK = """
- name: The daily certificate checks of two systems, from the controller
  hosts: all
  gather_facts: false
  tasks:
    - name: Check
      ansible.builtin.include_role:
        name: upkeep.maintenance.certificates
        tasks_from: check
    - name: Report
      ansible.builtin.include_role:
        name: upkeep.maintenance.report
"""


def test_each_hosts_endpoints_are_checked_from_the_controller_with_its_own_thresholds(tmp_path, collections_path):
    _root, intermediate = certs.authority()
    servers = []
    for name, days in (("db1", 40), ("orders1", 10)):
        leaf = certs.issue("localhost", issuer=intermediate, days=days, names=["127.0.0.1"])
        servers.append(tlsservers.TLSServer(leaf.write(tmp_path / (name + ".pem")), leaf.write_key(tmp_path / (name + ".key"))))
    try:
        hosts = dict(
            # The first host asks for nothing from the controller: the others' checks must not depend on it.
            hub1=dict(certificates_endpoints=[]),
            db1=dict(certificates_endpoints=[servers[0].address], certificates_warn_days=45),
            orders1=dict(certificates_endpoints=[servers[1].address], certificates_warn_days=30,
                         certificates_critical_days=14))
        inventory = dict(all=dict(hosts=hosts, vars=dict(
            ansible_connection="local", ansible_python_interpreter=sys.executable, certificates_endpoints_from="controller",
            certificates_check_hostname=False, report_dir=str(tmp_path / "reports"), report_textfile_dir="",
            report_run_name="daily")))
        (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
        (tmp_path / "run.yml").write_text(PLAYBOOK)
        process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-b",
                                  "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "run.yml")],
                                 capture_output=True, text=True, check=False,
                                 env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
        assert process.returncode == 0, process.stdout[-4000:] + process.stderr
    finally:
        for server in servers:
            server.stop()
    [name] = [name for name in os.listdir(str(tmp_path / "reports")) if name.endswith(".json")]
    report = json.loads((tmp_path / "reports" / name).read_text())
    found = sorted((entry["host"], entry["target"], entry["status"]) for entry in report["entries"]
                   if entry["check"] == "cert_expiry" and entry["target"] != "certificates")
    # db1's has 40 days against its warning at 45; orders1's 10 days against its critical at 14.
    assert found == [("db1", servers[0].address, "warning"), ("orders1", servers[1].address, "critical")], found
