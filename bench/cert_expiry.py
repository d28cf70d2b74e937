"""Benchmark (not a test): one cert_expiry call against loops of community.crypto modules.

Writes --files certificate files (expiring between 1 and 400 days from now) and starts --endpoints TLS servers on
loopback (tests/tlsservers.py), then prints, in one run, the wall time of an ansible-playbook run on localhost that
  - loops community.crypto.x509_certificate_info over the files and community.crypto.get_certificate over the
    endpoints (the baseline; both ship in the ansible package), and
  - makes one upkeep.maintenance.cert_expiry call for the files' folder and all endpoints,
with the number of certificates each found expiring within 30 days, and the time of the cert_expiry module alone.
Target: at least 20 times faster than the loops.

Usage: python bench/cert_expiry.py [--files 500] [--endpoints 100]
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from harness import ROOT, collections_path, run_module

sys.path.insert(0, os.path.join(ROOT, "tests"))

import certs  # noqa: E402  (tests/certs.py, found through the path set above)
import tlsservers  # noqa: E402

PLAY = """
- name: {name}
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
{tasks}
"""

LOOPS = """
    - name: Read every certificate file
      community.crypto.x509_certificate_info:
        path: "{{ item }}"
      loop: "{{ lookup('ansible.builtin.file', folder + '/files.json') | from_json }}"
      register: files
    - name: Fetch every endpoint's certificate
      community.crypto.get_certificate:
        host: 127.0.0.1
        port: "{{ item }}"
      loop: "{{ lookup('ansible.builtin.file', folder + '/ports.json') | from_json }}"
      register: endpoints
    - name: Count the certificates expiring within 30 days
      ansible.builtin.copy:
        content: >-
          {{ (files.results | map(attribute='not_after') | list + endpoints.results | map(attribute='not_after') | list)
             | select('lt', in_30_days) | list | length }}
        dest: "{{ folder }}/loops-expiring"
        mode: "0644"
"""

ONE_CALL = """
    - name: Check every file and endpoint at once
      upkeep.maintenance.cert_expiry:
        paths: ["{{ folder }}/certs"]
        endpoints: "{{ lookup('ansible.builtin.file', folder + '/endpoints.json') | from_json }}"
        fail_on: never
      register: checked
    - name: Count the certificates expiring within 30 days
      ansible.builtin.copy:
        content: "{{ checked.summary.warning + checked.summary.critical }}"
        dest: "{{ folder }}/one-call-expiring"
        mode: "0644"
"""


def playbook(folder, name, tasks, collections):
    # ASN.1 times, as both community.crypto modules return them, compare as strings.
    in_30_days = (certs.NOW + datetime.timedelta(days=30)).strftime("%Y%m%d%H%M%SZ")
    path = os.path.join(folder, name + ".yml")
    with open(path, "w") as handle:
        handle.write(PLAY.format(name=name, tasks=tasks))
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                    "-e", "folder=" + folder, "-e", "in_30_days=" + in_30_days, path], check=True, stdout=subprocess.DEVNULL, env=environment)
    elapsed = time.monotonic() - started
    with open(os.path.join(folder, name + "-expiring")) as handle:
        return elapsed, int(handle.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--endpoints", type=int, default=100)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="upkeep-bench-")
    servers = []
    try:
        collections = collections_path(folder)
        os.mkdir(os.path.join(folder, "certs"))
        root, intermediate = certs.authority()
        files = [certs.issue("host%03d.test" % number, issuer=intermediate, days=1 + number * 400 // args.files).write(
            os.path.join(folder, "certs", "host%03d.pem" % number)) for number in range(args.files)]
        leaf = certs.issue("localhost", issuer=intermediate, days=20, names=["localhost", "127.0.0.1"])
        chain = leaf.write(os.path.join(folder, "served.pem"), chain=[intermediate])
        key = leaf.write_key(os.path.join(folder, "served.key"))
        servers = [tlsservers.TLSServer(chain, key) for _number in range(args.endpoints)]
        for name, content in (("files", files), ("ports", [server.port for server in servers]),
                              ("endpoints", [server.address for server in servers])):
            with open(os.path.join(folder, name + ".json"), "w") as handle:
                json.dump(content, handle)
        print("%d certificate files, %d TLS endpoints on loopback" % (args.files, args.endpoints), flush=True)

        loops, loops_found = playbook(folder, "loops", LOOPS, collections)
        one_call, one_call_found = playbook(folder, "one-call", ONE_CALL, collections)
        module_alone, result = run_module(collections, "cert_expiry", paths=[os.path.join(folder, "certs")],
                                          endpoints=[server.address for server in servers], fail_on="never")

        print("community.crypto loops (x509_certificate_info, get_certificate) %7.2f s  (baseline), %d expiring within 30 days" % (
            loops, loops_found))
        print("one cert_expiry task                                           %7.2f s  %.0fx faster (target >= 20x), %d expiring" % (
            one_call, loops / one_call, one_call_found))
        print("cert_expiry module alone                                       %7.2f s  %d certificates, %s" % (
            module_alone, len(result["certificates"]), result["summary"]))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
