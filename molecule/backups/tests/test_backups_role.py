"""What the backups role's monthly run leaves behind: verified backups of each set, retention that kept the last
good copies, no scratch database."""

import glob
import json
import os


def backups(host, folder, suffix):
    return sorted(name for name in host.file(folder).listdir() if name.endswith(suffix))


def test_each_set_has_backups_whose_checksums_verify(host):
    for folder, suffix in (("/var/backups/upkeep/app-db", ".db"), ("/var/backups/upkeep/app-pg", ".dump"),
                           ("/var/backups/upkeep/nginx", ".tar.zst")):
        names = backups(host, folder, suffix)
        assert names, folder
        for name in names:
            assert host.run("cd %s && sha256sum -c --strict %s.sha256" % (folder, name)).rc == 0, name
            assert host.file("%s/%s" % (folder, name)).mode == 0o600
    assert host.file("/var/backups/upkeep/app-pg").user == "postgres"


def test_retention_kept_the_newest_three_of_the_old_backups_and_the_new_one(host):
    names = backups(host, "/var/backups/upkeep/app-db", ".db")
    assert len(names) == 3, names
    sidecars = backups(host, "/var/backups/upkeep/app-db", ".sha256")
    assert sidecars == [name + ".sha256" for name in names]


def test_no_scratch_database_is_left(host):
    databases = host.check_output("runuser -u postgres -- psql -X -At -c 'SELECT datname FROM pg_database'")
    assert "upkeep_restore_test" not in databases


def test_the_report_has_restore_tests_and_retention(host):
    reports = sorted(glob.glob(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports", "monthly-*.json")))
    with open(reports[0]) as handle:
        entries = [entry for entry in json.load(handle)["entries"] if entry["host"] == host.backend.get_hostname()]
    verified = [entry for entry in entries if entry["check"] == "backup_verify"]
    assert len(verified) == 3 and all("restore_test ok" in entry["summary"] or "nginx" in entry["target"]
                                      for entry in verified), verified
    assert not [entry for entry in entries if entry["status"] in ("warning", "critical", "failed")], entries
    pruned = [entry for entry in entries if entry["check"] == "prune" and entry["status"] == "changed"]
    assert [entry["metrics"]["files_pruned"] for entry in pruned] == [8]
