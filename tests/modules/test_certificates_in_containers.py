"""The certificates role for a web server in Docker, as runbook 001 runs nginx and certbot: nginx in a container
serving a certificate 10 days from expiry from a mounted folder, a renewal command that writes a new one, the role
reloading nginx in its container with a signal, and the second check seeing, through the published port, what nginx
now serves."""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

import certs
import findings
import pgserver
from conftest import docker

NGINX_SITE = """
server {
    listen 443 ssl;
    server_name localhost;
    ssl_certificate /certs/site.pem;
    ssl_certificate_key /certs/site.key;
    location / { return 200 "ok"; }
}
"""

RENEW = """import sys
sys.path.insert(0, %r)
import certs
root = certs.issue("Renewal Test CA", days=365, ca=True)
leaf = certs.issue("localhost", issuer=root, days=90, names=["localhost", "127.0.0.1"])
leaf.write(%r)
leaf.write_key(%r)
"""


@pytest.fixture
def web(tmp_path, docker_image):
    folder = tmp_path / "certs"
    folder.mkdir()
    soon = certs.issue("localhost", days=10, names=["localhost", "127.0.0.1"])
    soon.write(folder / "site.pem")
    soon.write_key(folder / "site.key")
    (tmp_path / "site.conf").write_text(NGINX_SITE)
    port = pgserver.free_port()
    name = "upkeep-web-%s" % uuid.uuid4().hex[:8]
    docker("run", "--detach", "--name", name, "--publish", "127.0.0.1:%d:443" % port,
           "--volume", "%s:/certs:ro" % folder, "--volume", "%s:/etc/nginx/sites-enabled/default:ro" % (tmp_path / "site.conf"),
           docker_image, "/usr/bin/tini", "--", "nginx", "-g", "daemon off;")
    deadline = time.monotonic() + 30
    while subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port], input=b"", capture_output=True,
                         timeout=10, check=False).returncode != 0:
        assert time.monotonic() < deadline, docker("logs", name)
        time.sleep(0.3)
    yield dict(name=name, port=port, folder=folder)
    docker("rm", "--force", name, check=False)


def served_days(port):
    """Days left on the certificate the server presents, by openssl, the peer of reference."""
    pem = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost"],
                         input=b"", capture_output=True, timeout=10, check=True).stdout
    end = subprocess.run(["openssl", "x509", "-noout", "-enddate"], input=pem, capture_output=True, check=True).stdout
    stamp = end.decode().strip().split("=", 1)[1]
    return (time.mktime(time.strptime(stamp, "%b %d %H:%M:%S %Y %Z")) - time.mktime(time.gmtime())) / 86400


def test_renewal_reloads_nginx_in_its_container_and_the_second_check_sees_the_new_certificate(tmp_path, web, collections_path):
    assert served_days(web["port"]) < 11
    renew = tmp_path / "renew.py"
    renew.write_text(RENEW % (os.path.dirname(os.path.abspath(certs.__file__)), str(web["folder"] / "site.pem"),
                              str(web["folder"] / "site.key")))
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([dict(
        name="Certificates", hosts="localhost", connection="local", gather_facts=False,
        vars=dict(ansible_python_interpreter=sys.executable, certificates_mode="renew", certificates_renew=True,
                  certificates_renew_paths=[str(web["folder"] / "site.pem")],
                  certificates_renew_command=[sys.executable, str(renew)],
                  certificates_reload_containers=[dict(container=web["name"])],
                  certificates_endpoints=["127.0.0.1:%d" % web["port"]], certificates_check_hostname=False),
        roles=["upkeep.maintenance.certificates"],
        post_tasks=[{"name": "Keep the results", "ansible.builtin.copy": dict(
            content=findings.entries_template(), dest=str(tmp_path / "results.json"), mode="0600")}])]))
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                              str(playbook)], capture_output=True, text=True, check=False,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
    assert process.returncode == 0, process.stdout[-3000:]
    assert "RUNNING HANDLER [upkeep.maintenance.certificates : Reload the containers that use the certificates]" in process.stdout
    assert served_days(web["port"]) > 85
    results = json.loads((tmp_path / "results.json").read_text())
    assert [entry["status"] for entry in results if entry["check"] == "cert_renewal"] == ["changed"]
    endpoint = [entry for entry in results if entry["check"] == "cert_expiry" and entry["target"] == "certificates"]
    assert endpoint[-1]["metrics"]["min_days_remaining"] >= 85, endpoint
