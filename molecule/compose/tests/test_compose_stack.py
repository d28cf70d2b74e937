"""What the daily, weekly and monthly runs - and a weekly run that failed inside its window - did to runbook 003's
Compose stack, checked with the stack's own tools as oracles: openssl s_client against nginx, pg_restore and psql in
the database's container, tar on the volume's archive, docker for the containers and images."""

import glob
import json
import os
import re

import pytest

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def project(host):
    return "stack-" + host.backend.get_hostname().rsplit("-", 1)[-1]


def runs(run):
    """The reports of every run of that name, oldest first (converge, then idempotence, then the side effect)."""
    result = []
    for path in sorted(glob.glob(os.path.join(EPHEMERAL, "reports", run + "-*.json"))):
        with open(path) as handle:
            result.append(json.load(handle))
    return result


def entries(host, run, index=0, check=None):
    report = runs(run)[index]
    return [entry for entry in report["entries"] if entry["host"] == host.backend.get_hostname() and
            (check is None or entry["check"] == check)]


def services(host):
    """Each service's container state and health, from the labels both Compose versions give containers."""
    listing = host.check_output("docker ps --all --filter label=com.docker.compose.project=%s --format "
                                "'{{.Label \"com.docker.compose.service\"}} {{.State}} {{.Status}}'" % project(host))
    return dict((line.split()[0], line.split(None, 1)[1]) for line in listing.splitlines())


def test_each_playbook_reported_only_its_own_run(host):
    checks = set(entry["check"] for entry in entries(host, "weekly"))
    assert "maintenance_window" in checks and "host_health" not in checks, "the daily's entries are in its own report"
    assert set(entry["check"] for entry in entries(host, "daily")) >= {"host_health", "cert_expiry", "backup_verify"}


def test_the_daily_check_reports_every_container_of_the_stack(host):
    [health] = entries(host, "daily", check="host_health")
    assert "3/3 containers up, 1/1 endpoints ok" in health["summary"]
    containers = dict((container["service"], container) for container in health["details"]["containers"])
    assert sorted(containers) == ["app", "db", "web"]
    assert containers["db"]["health"] == "healthy" and containers["app"]["health"] == "healthy"
    assert all(container["state"] == "running" and container["restarts"] == 0 for container in containers.values())
    [certificate] = [entry for entry in entries(host, "daily", check="cert_expiry") if entry["status"] == "warning"][:1]
    assert "expires in 9 days" in certificate["summary"]


def test_the_daily_pruned_the_untagged_image_of_an_earlier_build_and_nothing_the_stack_uses(host):
    [prune] = entries(host, "daily", check="docker_prune")
    assert prune["status"] == "changed" and prune["metrics"]["images_bytes"] >= 1000000, prune
    dangling = host.check_output("docker images --quiet --filter dangling=true --filter label=upkeep.stack=%s",
                                 project(host))
    assert dangling == ""
    assert sorted(services(host)) == ["app", "db", "web"]


def test_the_weekly_window_stopped_only_the_application_and_started_it_healthy(host):
    windows = [entry["summary"] for entry in entries(host, "weekly", check="maintenance_window")]
    # The example inventory gives the stack's windows an hour (window_max_duration), which the opening names.
    assert re.fullmatch(r"weekly window opened: stopped %s/app; closes by %s" % (project(host), STAMP), windows[0]), windows
    assert windows[1].startswith("weekly window closed: started %s/app; 1/1 endpoints answer" % project(host))


def test_the_database_was_vacuumed_in_its_container_and_dumped_by_its_own_pg_dump(host):
    [vacuum] = entries(host, "daily", check="postgresql_vacuum")
    assert vacuum["status"] == "changed" and "dead tuples 10000 to 0" in vacuum["summary"]
    dumps = host.file("/var/backups/upkeep/shop-db").listdir()
    dump = [name for name in dumps if name.endswith(".dump")]
    assert len(dump) == 1 and "%s.sha256" % dump[0] in dumps
    listing = host.check_output("docker exec -i %s-db pg_restore --list < /var/backups/upkeep/shop-db/%s",
                                project(host), dump[0])
    assert "TABLE public orders maintenance" in listing
    [restore] = [entry for entry in entries(host, "monthly", check="backup_verify") if "shop-" in entry["summary"]]
    assert "restore_test ok" in restore["summary"]


def test_the_uploads_volume_was_archived_with_its_files(host):
    [archive] = [name for name in host.file("/var/backups/upkeep/uploads").listdir() if name.endswith(".tar.zst")]
    members = host.check_output("tar --zstd -tvf /var/backups/upkeep/uploads/%s", archive)
    assert "invoice-1.pdf" in members


def test_the_certificate_was_renewed_and_nginx_in_its_container_serves_the_new_one(host):
    [renewal] = entries(host, "weekly", check="cert_renewal")
    assert renewal["status"] == "changed" and renewal["details"]["days_remaining_before"]
    weekly = entries(host, "weekly", check="cert_expiry")
    assert [entry for entry in weekly if entry["status"] == "warning"] == [], "both the file and nginx have the renewal"
    port = host.ansible.get_variables()["stack_https_port"]
    served = host.check_output("echo | openssl s_client -connect 127.0.0.1:%s -servername localhost 2>/dev/null | "
                               "openssl x509 -noout -checkend %s && echo fresh", str(port), str(80 * 86400))
    assert served.endswith("fresh")


def test_the_monthly_prune_removed_the_old_release_image_and_kept_the_stack(host):
    # The daily prunes only untagged images: the release's tagged image waits for the monthly prune -a.
    [prune] = entries(host, "monthly", check="docker_prune")
    assert prune["status"] == "changed" and prune["metrics"]["images_bytes"] >= 2000000
    assert host.run("docker image inspect upkeep-stack-previous:%s", project(host)).rc != 0
    assert host.run("docker image inspect upkeep-stack:%s", project(host)).rc == 0
    volumes = host.check_output("docker volume ls --quiet --filter label=com.docker.compose.project=%s", project(host))
    assert sorted(volumes.split()) == ["%s_%s" % (project(host), name) for name in ("certs", "pgdata", "uploads")]


def test_the_nightly_folders_were_verified_and_those_over_90_days_deleted(host):
    [verified] = [entry for entry in entries(host, "monthly", check="backup_verify") if "backup-" in entry["summary"]]
    assert "12 backups" in verified["summary"] and "checksum ok, format ok" in verified["summary"]
    folders = sorted(host.file("/opt/stack/backups").listdir())
    assert len(folders) == 10 and all(host.file("/opt/stack/backups/" + name + "/SHA256SUMS").exists for name in folders)
    [retention] = [entry for entry in entries(host, "monthly", check="prune") if entry["status"] == "changed"]
    assert retention["summary"].startswith("deleted 2 of 12 files older than 90 d")


def test_the_placeholder_in_the_stacks_env_is_named_without_its_value(host):
    findings = entries(host, "weekly", check="security_placeholder")
    assert [entry["target"] for entry in findings] == ["/opt/stack/.env:GRAFANA_ADMIN_PASSWORD"]
    assert "CHANGE_ME_GRAFANA_PASSWORD" not in json.dumps(runs("weekly")[0])


def test_a_failure_inside_the_window_started_the_stack_again_and_was_reported_critical(host):
    with open(os.path.join(EPHEMERAL, "failed-weekly.log")) as handle:
        log = handle.read()
    assert "vault_postgresql_maintenance_password" not in log and "out-of-date" not in log
    [rollback] = entries(host, "weekly", index=-1, check="window_rollback")
    assert rollback["status"] == "critical" and "maintenance failed at " in rollback["summary"]
    assert rollback["summary"].endswith("rolled back: no database to restore; services started and endpoints answer")
    closed = entries(host, "weekly", index=-1, check="maintenance_window")[-1]
    assert closed["summary"].startswith("weekly window closed: started %s/app" % project(host)), closed["summary"]
    state = services(host)
    assert state["app"].startswith("running") and "(healthy)" in state["app"], state
    assert state["db"].startswith("running") and state["web"].startswith("running")
    count = host.check_output("docker exec --user postgres %s-db psql -At -d shop -c 'SELECT count(*) FROM orders'",
                              project(host))
    assert count == "10000"


def test_the_uploads_volume_was_put_back_from_its_archive_with_the_application_stopped_and_started(host):
    data = "/var/lib/docker/volumes/%s_uploads/_data" % project(host)
    assert host.file(data + "/invoice-1.pdf").content_string == "%PDF-1.4 an invoice\n"
    assert not host.file(data + "/stray.txt").exists
    [kept] = [name for name in host.file(os.path.dirname(data)).listdir() if name.startswith("_data.replaced-")]
    assert host.file(os.path.dirname(data) + "/" + kept + "/stray.txt").exists, "what the restore replaced is kept"
    first, second = runs("restore")[-2:]
    [restored] = [entry for entry in first["entries"] if entry["host"] == host.backend.get_hostname()
                  and entry["check"] == "backup_restore"]
    assert restored["status"] == "changed" and restored["summary"].startswith(
        "restored %s_uploads from /var/backups/upkeep/uploads/%s_uploads-" % (project(host), project(host)))
    windows = [entry["summary"] for entry in first["entries"] if entry["host"] == host.backend.get_hostname()
               and entry["check"] == "maintenance_window"]
    assert re.fullmatch(r"restore window opened: stopped %s/app; closes by %s; reason: restore uploads to latest" % (
        project(host), STAMP), windows[0]), windows
    assert windows[1].startswith("restore window closed: started %s/app" % project(host)), windows
    [again] = [entry for entry in second["entries"] if entry["host"] == host.backend.get_hostname()
               and entry["check"] == "backup_restore"]
    assert again["status"] == "ok" and "already holds" in again["summary"]
    state = services(host)
    assert state["app"].startswith("running") and "(healthy)" in state["app"], state


@pytest.mark.parametrize("run", ["daily", "weekly", "monthly"])
def test_the_second_run_changed_nothing(host, run):
    second = entries(host, run, index=1)
    # The window opens and closes on every run: it leaves the host as it found it.
    assert second and [entry["summary"] for entry in second
                       if entry["status"] == "changed" and entry["check"] != "maintenance_window"] == []
