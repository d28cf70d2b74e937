"""The maintenance window and the health check with a real Docker Compose project on this machine's engine: a
database-like service with a healthcheck and an application that depends on it being healthy, from the test image
(no registry needed), driven by whichever Compose the machine has (v2 plugin, else v1)."""

import json
import os
import shutil
import sqlite3
import subprocess

import pytest
from estate import make_bloated
from prerequisites import missing

COMPOSE_FILE = """
services:
  db:
    image: {image}
    command: ["/usr/bin/tini", "--", "python3", "-m", "http.server", "8000", "--directory", "/tmp"]
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')"]
      interval: 1s
      timeout: 3s
      retries: 60
  app:
    image: {image}
    volumes:
      - data:/srv/data
    depends_on:
      db:
        condition: service_healthy
volumes:
  data:
"""

PROJECT = "upkeep-shop-test"


def compose_command():
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.fixture(scope="module")
def stack(tmp_path_factory, docker_image):
    if not compose_command():
        missing("no Compose is installed (make images installs one)")
    folder = tmp_path_factory.mktemp("shop")
    (folder / "docker-compose.yml").write_text(COMPOSE_FILE.format(image=docker_image))
    # The project is named by its .env, as runbook 003's is, not by its folder: the modules must find it by that name.
    (folder / ".env").write_text('# the stack\nexport COMPOSE_PROJECT_NAME="%s"\n' % PROJECT)
    up = subprocess.run(compose_command() + ["up", "-d", "--wait"] if compose_command()[0] == "docker" else
                        compose_command() + ["up", "-d"], cwd=str(folder), capture_output=True, text=True, check=False)
    assert up.returncode == 0, up.stderr
    yield folder
    subprocess.run(compose_command() + ["down", "--volumes", "--timeout", "1"], cwd=str(folder), capture_output=True,
                   check=False)


def states(project):
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=%s" % project],
                         capture_output=True, text=True, check=True).stdout.split()
    inspected = json.loads(subprocess.run(["docker", "inspect"] + ids, capture_output=True, text=True, check=True).stdout)
    return dict((item["Config"]["Labels"]["com.docker.compose.service"],
                 (item["State"]["Status"], (item["State"].get("Health") or {}).get("Status"))) for item in inspected)


def window(tmp_path, stack, **options):
    return dict(dict(name="weekly", state_file=str(tmp_path / "window.json"), flag_file=str(tmp_path / "maintenance.flag"),
                     max_load=0, compose_projects=[dict(project_dir=str(stack))], wait_timeout=60), **options)


def test_the_window_stops_a_compose_project_and_starts_it_healthy(run_module, tmp_path, stack):
    project = PROJECT
    assert states(project)["app"][0] == "running"
    opened = run_module("maintenance_window", state="open", **window(tmp_path, stack))
    assert opened["rc"] == 0, opened["msg"]
    assert opened["compose_stopped"] == {project: ["app", "db"]}
    assert [state for state, _health in states(project).values()] == ["exited", "exited"]
    record = json.loads((tmp_path / "window.json").read_text())
    assert record["compose"][0]["services"] == ["app", "db"] and "stopped %s/app, %s/db" % (project, project) in opened["msg"]

    closed = run_module("maintenance_window", state="closed", **window(tmp_path, stack))
    assert closed["rc"] == 0, closed["msg"]
    assert states(project) == {"app": ("running", None), "db": ("running", "healthy")}
    assert not (tmp_path / "maintenance.flag").exists() and not (tmp_path / "window.json").exists()


def test_a_window_a_crashed_run_left_open_starts_the_project_when_the_next_closes(run_module, tmp_path, stack):
    project = PROJECT
    run_module("maintenance_window", state="open", **window(tmp_path, stack))
    resumed = run_module("maintenance_window", state="open", **window(tmp_path, stack))
    assert resumed["rc"] == 0 and resumed["resumed"]["compose"][0]["services"] == ["app", "db"]
    closed = run_module("maintenance_window", state="closed", **window(tmp_path, stack))
    assert closed["rc"] == 0 and closed["compose_started"] == {project: ["app", "db"]}
    assert states(project)["db"] == ("running", "healthy")


def test_a_project_that_cannot_be_asked_stops_the_window_before_it_opens(run_module, tmp_path, stack):
    missing = run_module("maintenance_window", state="open",
                         **window(tmp_path, stack, compose_projects=[dict(project_dir=str(tmp_path / "nowhere"))]))
    assert missing["rc"] == 1 and "preflight failed" in missing["msg"] and "compose project nowhere" in missing["msg"]
    assert not (tmp_path / "maintenance.flag").exists() and not (tmp_path / "window.json").exists()


def container_of(project, service):
    return subprocess.run(["docker", "ps", "--all", "--format", "{{.Names}}", "--filter",
                           "label=com.docker.compose.project=%s" % project, "--filter",
                           "label=com.docker.compose.service=%s" % service],
                          capture_output=True, text=True, check=True).stdout.split()[0]


def test_the_health_check_reports_each_container_with_health_restarts_and_exit_code(run_module, stack):
    project = PROJECT
    healthy = run_module("host_health", compose_projects=[project], load_warning=1000, load_critical=1000)
    containers = dict((item["service"], item) for item in healthy["containers"])
    assert containers["db"]["health"] == "healthy" and containers["db"]["state"] == "running"
    assert containers["app"]["restarts"] == 0 and containers["app"]["health"] is None
    assert not [entry for entry in healthy["upkeep_results"] if entry["check"] == "health_container"]
    assert "0/0 services up, 2/2 containers up, " in healthy["msg"]
    subprocess.run(["docker", "kill", "--signal", "KILL", container_of(project, "app")], capture_output=True, check=True)
    try:
        stopped = run_module("host_health", compose_projects=[project], load_warning=1000, load_critical=1000)
        findings = [entry for entry in stopped["upkeep_results"] if entry["check"] == "health_container"]
        assert [entry["status"] for entry in findings] == ["critical"]
        assert findings[0]["target"] == "%s/app" % project and "is exited (exit code 137)" in findings[0]["summary"]
        assert "1/2 containers up" in stopped["msg"]
    finally:
        subprocess.run(compose_command() + ["start"], cwd=str(stack), capture_output=True, check=False)


def test_a_sqlite_file_on_the_volume_of_a_stopped_container_is_vacuumed_in_the_window(run_module, tmp_path, stack):
    """As n8n or Open WebUI keep theirs: the application's SQLite file on a named volume, maintained on the host
    while the window holds the application stopped, then read by the application again."""
    volume = subprocess.run(["docker", "volume", "inspect", "--format", "{{.Mountpoint}}", "%s_data" % PROJECT],
                            capture_output=True, text=True, check=True).stdout.strip()
    database = os.path.join(volume, "app.db")
    make_bloated(database)
    rows = sqlite3.connect(database).execute("SELECT count(*) FROM items").fetchone()[0]
    assert run_module("maintenance_window", state="open", **window(tmp_path, stack))["rc"] == 0
    try:
        assert states(PROJECT)["app"][0] == "exited"
        backup = run_module("sqlite_backup", path=database, dest=str(tmp_path / "backups"))
        assert backup["rc"] == 0 and backup["changed"] is True, backup
        vacuumed = run_module("sqlite_vacuum", path=database)
        assert vacuumed["rc"] == 0 and vacuumed["changed"] is True and vacuumed["bytes_reclaimed"] > 0, vacuumed
    finally:
        assert run_module("maintenance_window", state="closed", **window(tmp_path, stack))["rc"] == 0
    counted = subprocess.run(["docker", "exec", container_of(PROJECT, "app"), "python3", "-c",
                              "import sqlite3; print(sqlite3.connect('/srv/data/app.db').execute("
                              "'PRAGMA integrity_check').fetchone()[0], sqlite3.connect('/srv/data/app.db')"
                              ".execute('SELECT count(*) FROM items').fetchone()[0])"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert counted == ["ok", str(rows)]
