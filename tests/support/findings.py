"""What a play's roles found, as the report role reads it: each host's recorded results and the registered results
roles/report/vars/main.yml names, for a test play to dump."""

import json
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def entries_template(hosts=("localhost",)):
    """A Jinja expression of the hosts' entries as JSON."""
    with open(os.path.join(ROOT, "roles", "report", "vars", "main.yml")) as stream:
        registered = yaml.safe_load(stream)["__report_registered"]
    return "{{ (hostvars | upkeep.maintenance.upkeep_report(%s, 'test', '2030-01-01T00:00:00Z', %s)).entries | to_json }}" % (
        json.dumps(list(hosts)), json.dumps(registered))
