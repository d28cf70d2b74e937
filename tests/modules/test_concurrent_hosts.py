"""Twenty hosts of one machine (local connections, as the install test's AWX slices and a controller's reports are)
run every module that writes at the same moment, each into one shared folder that does not exist yet: folders are
made together, files are named per host or written atomically, and no host fails because another was first."""

import os
import re
import subprocess
import sys

import yaml

HOSTS = ["host%02d" % number for number in range(1, 21)]


def shared_tasks(root, shared):
    """Per module, what each host writes into the shared folders from its own files (Jinja, rendered per host)."""
    own = "%s/own/{{ inventory_hostname }}" % root
    return [
        ("prometheus_textfile", dict(path="%s/metrics/upkeep_{{ inventory_hostname }}.prom" % shared,
                                     content="upkeep_test{host=\"{{ inventory_hostname }}\"} 1\n")),
        ("sqlite_backup", dict(path=own + "/app.db", dest="%s/sqlite/" % shared)),
        ("backup_create", dict(kind="folder", src=own + "/files", dest="%s/archives" % shared)),
        # backup_create names an archive after its source folder.
        ("backup_restore", dict(src="%s/archives" % shared, dest="%s/restored/{{ inventory_hostname }}" % shared,
                                pattern=(own + "/files").strip("/").replace("/", "_") + "-*.tar*")),
        ("prune", dict(path=own + "/logs", patterns=["*.log.*"], age="1d", min_keep=0, action="archive",
                       archive_dir="%s/log-archive/{{ inventory_hostname }}" % shared)),
        ("maintenance_window", dict(state="open", name="concurrent", max_load=0,
                                    state_file="%s/windows/{{ inventory_hostname }}.json" % shared,
                                    flag_file="%s/flags/{{ inventory_hostname }}.flag" % shared)),
        ("maintenance_window", dict(state="closed", name="concurrent",
                                    state_file="%s/windows/{{ inventory_hostname }}.json" % shared,
                                    flag_file="%s/flags/{{ inventory_hostname }}.flag" % shared)),
    ]


def lay_out(root, make_estate):
    for number, host in enumerate(HOSTS):
        own = root / "own" / host
        (own / "files").mkdir(parents=True)
        (own / "files" / "config.yml").write_text("host: %s\n" % host)
        # The same path on every host, as a fleet has it, and contents of each host's own.
        make_estate.make_database(str(own / "app.db"), rows=50 + number)
        (own / "logs").mkdir()
        old = own / "logs" / "app.log.1"
        old.write_text("old line of %s\n" % host)
        make_estate.age_file(str(old), 3)
    # A restore needs the parent of the folder it puts back.
    (root / "shared" / "restored").mkdir(parents=True)


def test_twenty_hosts_write_into_one_new_folder_at_once(tmp_path, make_estate, collections_path):
    lay_out(tmp_path, make_estate)
    shared = tmp_path / "shared"
    planned = shared_tasks(tmp_path, shared)
    play = dict(name="every writing module on twenty hosts at once", hosts="all", gather_facts=False,
                tasks=[{"name": "%d %s" % (index, module), "upkeep.maintenance." + module: args}
                       for index, (module, args) in enumerate(planned)])
    (tmp_path / "play.yml").write_text(yaml.safe_dump([play]))
    inventory = dict(all=dict(hosts=dict((host, None) for host in HOSTS), vars=dict(
        ansible_connection="local", ansible_python_interpreter=sys.executable)))
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "--forks", "20",
                              "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml")],
                             capture_output=True, text=True, check=False,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
    assert process.returncode == 0, process.stdout[-6000:] + process.stderr
    recap = dict((host, dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", counts)))
                 for host, counts in re.findall(r"^(host\d+)\s+: (ok=.*)$", process.stdout, re.M))
    assert sorted(recap) == HOSTS
    assert all(counts["failed"] == 0 and counts["changed"] == len(planned) for counts in recap.values()), recap

    assert sorted(os.listdir(str(shared / "metrics"))) == ["upkeep_%s.prom" % host for host in HOSTS]
    sqlite_backups = [name for name in os.listdir(str(shared / "sqlite")) if name.endswith(".db")]
    assert len(sqlite_backups) == len(HOSTS)
    archives = [name for name in os.listdir(str(shared / "archives")) if name.endswith(".tar.zst")]
    assert len(archives) == len(HOSTS)
    for host in HOSTS:
        assert (shared / "restored" / host / "config.yml").read_text() == "host: %s\n" % host
        archived = [os.path.join(folder, name) for folder, _dirs, names in os.walk(str(shared / "log-archive" / host))
                    for name in names]
        assert [os.path.basename(path) for path in archived] == ["app.log.1"], archived
    # Each window was recorded and its flag raised in the folders made together, then closed.
    assert os.listdir(str(shared / "windows")) == [] and os.listdir(str(shared / "flags")) == []
    assert not [name for folder in ("metrics", "sqlite", "archives") for name in os.listdir(str(shared / folder))
                if name.endswith(".tmp")]
