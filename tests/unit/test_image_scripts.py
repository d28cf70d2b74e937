"""The scripts that build the test images, run with stand-ins for the system commands they call (debootstrap, chroot,
docker, apt-get), which record their calls and fail where a test says: a failure must stop the build before an
image is tagged, and a machine must get every tool the build needs."""

import os
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGES = os.path.join(ROOT, "tests", "images")


def stand_in(folder, name, body):
    path = folder / name
    path.write_text("#!/bin/bash\necho \"%s $*\" >>\"$CALLS\"\n%s\n" % (name, body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def machine(tmp_path):
    """A folder of stand-ins first on PATH, then only the basic system folders (no /usr/sbin: no real debootstrap)."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    calls = tmp_path / "calls"
    calls.write_text("")
    environment = dict(os.environ, PATH="%s:/usr/bin:/bin" % bin_folder, CALLS=str(calls))
    return bin_folder, calls, environment


def build(machine, chroot, suite="bookworm"):
    """build.sh for a suite, with no image built yet and ``chroot`` as what the chroot stand-in does."""
    bin_folder, _calls, environment = machine
    stand_in(bin_folder, "debootstrap", 'mkdir -p "$3/usr/sbin"')
    stand_in(bin_folder, "chroot", chroot)
    stand_in(bin_folder, "docker", 'case "$1 $2" in "image inspect") exit 1;; esac; cat >/dev/null; exit 0')
    return subprocess.run(["bash", os.path.join(IMAGES, "build.sh"), suite], capture_output=True, text=True,
                          env=environment, check=False)


def test_a_failed_package_install_tags_no_image(machine):
    _bin_folder, calls, _environment = machine
    # apt-get install fails; apt-get clean, which follows it, succeeds.
    process = build(machine, 'case "$*" in *" install "*) exit 100;; esac; exit 0')
    assert process.returncode == 1, process.stdout + process.stderr
    recorded = calls.read_text()
    assert "apt-get install" in recorded and "apt-get clean" not in recorded
    assert "docker import" not in recorded and process.stdout == ""


def test_an_installed_image_is_tagged_only_once_every_package_is_there(machine):
    _bin_folder, calls, _environment = machine
    missing = build(machine, 'case "$*" in *"dpkg-query"*) exit 1;; esac; exit 0')
    assert missing.returncode == 1 and "docker import" not in calls.read_text()
    built = build(machine, "exit 0")
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("upkeep-test:bookworm-") and "docker import" in calls.read_text()


@pytest.mark.parametrize("suite, docker_package, absent", [
    ("bookworm", "docker.io", "docker-cli"),
    ("trixie", "docker-cli", "docker.io"),
])
def test_each_suite_gets_the_packages_listed_for_it(machine, suite, docker_package, absent):
    _bin_folder, calls, _environment = machine
    assert build(machine, "exit 0", suite).returncode == 0
    [install] = [line for line in calls.read_text().splitlines() if " install " in line]
    packages = install.split()
    assert docker_package in packages and "docker-compose" in packages and "postgresql" in packages
    assert absent not in packages and suite not in packages


@pytest.mark.skipif(os.geteuid() != 0, reason="the script installs packages as root")
def test_debootstrap_is_installed_when_docker_already_answers(machine):
    bin_folder, calls, environment = machine
    stand_in(bin_folder, "docker", "exit 0")
    stand_in(bin_folder, "apt-get", 'case "$*" in *install*) printf "#!/bin/sh\\n" >"%s/debootstrap"; '
                                    'chmod +x "%s/debootstrap";; esac; exit 0' % (bin_folder, bin_folder))
    process = subprocess.run(["bash", os.path.join(IMAGES, "ensure-docker.sh")], capture_output=True, text=True,
                             env=environment, check=False)
    assert process.returncode == 0, process.stderr
    installs = [line for line in calls.read_text().splitlines() if line.startswith("apt-get") and "install" in line]
    assert installs == ["apt-get install -y -qq debootstrap"]
