"""docker_prune on this machine's Docker engine: a dangling image, stopped containers and a network made for the test,
an anonymous volume it must keep, and container logs with and without rotation. The prunes are limited to the label
the test gives what it makes, so nothing else of the machine goes; a container labelled keep is spared by !keep."""

import json
import subprocess
import time
import uuid

import pytest

from conftest import docker


@pytest.fixture
def leftovers(docker_image):
    run = uuid.uuid4().hex[:8]
    label = "upkeep-test=%s" % run
    tag = "upkeep-prune-test:%s" % run
    for marker in ("first", "second"):  # the second build under the same tag leaves the first dangling
        subprocess.run(["docker", "build", "--quiet", "--label", label, "--tag", tag, "-"],
                       input="FROM %s\nRUN echo %s > /marker\n" % (docker_image, marker), text=True, capture_output=True,
                       check=True)
    dangling = docker("images", "--quiet", "--filter", "dangling=true", "--filter", "label=" + label, "--no-trunc").split()
    stopped = docker("create", "--label", label, docker_image)
    kept = docker("create", "--label", label, "--label", "keep", docker_image)
    network = docker("network", "create", "--label", label, "upkeep-prune-%s" % run)
    volume = docker("volume", "create", "--label", label)
    named = docker("volume", "create", "--label", label, "upkeep-prune-data-%s" % run)
    noisy = docker("run", "--detach", "--log-driver", "json-file", docker_image, "sh", "-c",
                   "head -c 2000000 /dev/zero | tr '\\0' x; echo; sleep infinity")
    quiet = docker("run", "--detach", "--log-driver", "json-file", "--log-opt", "max-size=1m", docker_image, "sh", "-c",
                   "head -c 3000000 /dev/zero | tr '\\0' y; echo; sleep infinity")
    time.sleep(2)
    yield dict(labels=[label, "!keep"], tag=tag, dangling=dangling, stopped=stopped, kept=kept, network=network,
               volume=volume, named=named, noisy=noisy, quiet=quiet)
    docker("rm", "--force", noisy, quiet, stopped, kept, check=False)
    docker("network", "rm", network, check=False)
    docker("volume", "rm", volume, named, check=False)
    docker("rmi", tag, check=False)


def exists(kind, name):
    return subprocess.run(["docker", kind, "inspect", name], capture_output=True, check=False).returncode == 0


def test_what_is_old_and_unused_goes_volumes_stay_and_unrotated_logs_are_found(run_module, leftovers):
    limits = dict(containers_until="1s", networks_until="1s", images_until="1s", build_cache=False, labels=leftovers["labels"])
    planned = run_module("docker_prune", check_mode=True, log_size_warning="1M", **limits)
    assert planned["changed"] is False and exists("container", leftovers["stopped"])

    result = run_module("docker_prune", log_size_warning="1M", **limits)
    assert result["rc"] == 0 and result["changed"] is True, result
    assert not exists("container", leftovers["stopped"]) and not exists("network", leftovers["network"])
    assert exists("container", leftovers["kept"]), "!keep spares what is labelled keep"
    assert not any(exists("image", image) for image in leftovers["dangling"]) and exists("image", leftovers["tag"])
    assert exists("volume", leftovers["volume"]), "a volume can be the only copy of data"
    assert set(result["pruned"]) == {"containers", "networks", "images"}
    logs = dict((log["container"], log) for log in result["logs"])
    names = dict((json.loads(docker("inspect", container))[0]["Name"].lstrip("/"), container)
                 for container in (leftovers["noisy"], leftovers["quiet"]))
    noisy = [name for name, container in names.items() if container == leftovers["noisy"]][0]
    quiet = [name for name, container in names.items() if container == leftovers["quiet"]][0]
    assert logs[noisy]["size"] > 1000000 and logs[noisy]["rotated"] is False and logs[quiet]["rotated"] is True
    warnings = [entry["target"] for entry in result["upkeep_results"] if entry["check"] == "docker_log"]
    assert noisy in warnings and quiet not in warnings

    again = run_module("docker_prune", log_size_warning="1G", **limits)
    assert again["changed"] is False and again["upkeep_results"][0]["status"] == "ok"

    with_volumes = run_module("docker_prune", containers_until="", networks_until="", images="none", build_cache=False,
                              volumes=True, labels=leftovers["labels"])
    assert not exists("volume", leftovers["volume"]) and set(with_volumes["pruned"]) == {"volumes"}
    assert with_volumes["changed"] is True and exists("volume", leftovers["named"]), "named volumes are never pruned"


def test_a_docker_without_its_daemon_is_a_warning_not_a_failure(run_module, docker_image):
    result = run_module("docker_prune", env=dict(DOCKER_HOST="unix:///nonexistent/docker.sock"))
    assert result["rc"] == 0 and result["changed"] is False and result["pruned"] == {}, result
    [entry] = result["upkeep_results"]
    assert entry["status"] == "warning" and entry["summary"].startswith("Docker's daemon does not answer, nothing pruned")


def test_an_empty_label_is_refused_before_docker_is_asked(run_module):
    result = run_module("docker_prune", labels=["!"], env=dict(DOCKER_HOST="unix:///nonexistent/docker.sock"))
    assert result["rc"] == 1 and "an empty label matches nothing" in result["msg"]
