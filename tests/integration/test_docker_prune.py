"""docker_prune on this machine's Docker engine: a dangling image, a stopped container and a network made for the test,
an anonymous volume it must keep, and container logs with and without rotation. Only what the test made is old
enough to go (their age limit is a second); images in use, the test images among them, are never touched."""

import json
import subprocess
import time
import uuid

import pytest

from conftest import docker


@pytest.fixture
def leftovers(docker_image):
    tag = "upkeep-prune-test:%s" % uuid.uuid4().hex[:8]
    for marker in ("first", "second"):  # the second build under the same tag leaves the first dangling
        subprocess.run(["docker", "build", "--quiet", "--tag", tag, "-"], input="FROM %s\nRUN echo %s > /marker\n" % (
            docker_image, marker), text=True, capture_output=True, check=True)
    dangling = docker("images", "--quiet", "--filter", "dangling=true", "--no-trunc").split()
    stopped = docker("create", "--label", "upkeep-test=prune", docker_image)
    network = docker("network", "create", "upkeep-prune-%s" % uuid.uuid4().hex[:6])
    volume = docker("volume", "create")
    named = docker("volume", "create", "upkeep-prune-data-%s" % uuid.uuid4().hex[:6])
    noisy = docker("run", "--detach", "--log-driver", "json-file", docker_image, "sh", "-c",
                   "head -c 2000000 /dev/zero | tr '\\0' x; echo; sleep infinity")
    quiet = docker("run", "--detach", "--log-driver", "json-file", "--log-opt", "max-size=1m", docker_image, "sh", "-c",
                   "head -c 3000000 /dev/zero | tr '\\0' y; echo; sleep infinity")
    time.sleep(2)
    yield dict(tag=tag, dangling=dangling, stopped=stopped, network=network, volume=volume, named=named, noisy=noisy,
               quiet=quiet)
    docker("rm", "--force", noisy, quiet, stopped, check=False)
    docker("network", "rm", network, check=False)
    docker("volume", "rm", volume, named, check=False)
    docker("rmi", tag, check=False)


def exists(kind, name):
    return subprocess.run(["docker", kind, "inspect", name], capture_output=True, check=False).returncode == 0


def test_what_is_old_and_unused_goes_volumes_stay_and_unrotated_logs_are_found(run_module, leftovers):
    planned = run_module("docker_prune", check_mode=True, containers_until="1s", networks_until="1s", images_until="1s",
                         build_cache=False, log_size_warning="1M")
    assert planned["changed"] is False and exists("container", leftovers["stopped"])

    result = run_module("docker_prune", containers_until="1s", networks_until="1s", images_until="1s", build_cache=False,
                        log_size_warning="1M")
    assert result["rc"] == 0 and result["changed"] is True, result
    assert not exists("container", leftovers["stopped"]) and not exists("network", leftovers["network"])
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

    again = run_module("docker_prune", containers_until="1s", networks_until="1s", images_until="1s", build_cache=False,
                       log_size_warning="1G")
    assert again["changed"] is False and again["upkeep_results"][0]["status"] == "ok"

    with_volumes = run_module("docker_prune", containers_until="", networks_until="", images="none", build_cache=False,
                              volumes=True)
    assert not exists("volume", leftovers["volume"]) and set(with_volumes["pruned"]) == {"volumes"}
    assert with_volumes["changed"] is True and exists("volume", leftovers["named"]), "named volumes are never pruned"
