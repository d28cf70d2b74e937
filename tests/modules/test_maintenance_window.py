"""maintenance_window on this machine, and the weekly playbook's window with a real SQLite application behind a real
HTTP health endpoint: a database broken in the middle of the window is put back by the rollback."""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import estate
import pgserver
from ansible_collections.upkeep.maintenance.plugins.filter.results import upkeep_markdown, upkeep_report

TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support")


@pytest.fixture
def application(tmp_path):
    """The application of tests/support/webapp.py on a free loopback port, serving tmp_path/data/app.db."""
    database = str(tmp_path / "data" / "app.db")
    os.makedirs(os.path.dirname(database))
    port = pgserver.free_port()
    process = subprocess.Popen([sys.executable, os.path.join(TESTS, "webapp.py"), database, str(port)])
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the application did not start"
            time.sleep(0.05)
    yield dict(database=database, url="http://127.0.0.1:%d/health" % port)
    process.kill()
    process.wait()


def window_args(tmp_path, **args):
    return dict(dict(name="weekly", state_file=str(tmp_path / "state" / "window.json"),
                     flag_file=str(tmp_path / "www" / "maintenance.flag"), max_load=0), **args)


def test_window_raises_the_flag_and_lowers_it_once_the_endpoint_answers(run_module, tmp_path, application):
    database = application["database"]
    estate.make_database(database, rows=100)
    opened = run_module("maintenance_window", state="open", **window_args(tmp_path, flag_content="back at 04:00\n"))
    assert opened["rc"] == 0 and opened["changed"], opened
    assert (tmp_path / "www" / "maintenance.flag").read_text() == "back at 04:00\n"
    record = json.loads((tmp_path / "state" / "window.json").read_text())
    assert record["name"] == "weekly" and record["opened"] == opened["opened"]
    assert opened["upkeep_results"][0]["check"] == "maintenance_window"

    closed = run_module("maintenance_window", state="closed", endpoints=[application["url"]], **window_args(tmp_path))
    assert closed["rc"] == 0 and closed["changed"], closed
    assert [answer["status_code"] for answer in closed["endpoints"]] == [200]
    assert not (tmp_path / "www" / "maintenance.flag").exists() and not (tmp_path / "state" / "window.json").exists()
    assert closed["window_seconds"] >= 0 and "flag %s removed" % (tmp_path / "www" / "maintenance.flag") in closed["msg"]

    again = run_module("maintenance_window", state="closed", endpoints=[application["url"]], **window_args(tmp_path))
    assert again["rc"] == 0 and not again["changed"]


def test_the_closing_entry_compares_the_endpoints_answer_times_before_and_after_the_window(run_module, tmp_path):
    delay = {"seconds": 0.4}

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (the name http.server calls)
            time.sleep(delay["seconds"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/health" % server.server_address[1]
    try:
        opened = run_module("maintenance_window", state="open", endpoints=[url], **window_args(tmp_path))
        assert opened["rc"] == 0 and opened["upkeep_results"][0]["details"]["endpoints_before"][0]["status_code"] == 200
        delay["seconds"] = 0
        closed = run_module("maintenance_window", state="closed", endpoints=[url], **window_args(tmp_path))
    finally:
        server.shutdown()
    metrics = closed["upkeep_results"][0]["metrics"]
    assert metrics["response_seconds_before"] >= 0.4 > metrics["response_seconds_after"], metrics
    report = upkeep_report({"web1": {"upkeep_results": closed["upkeep_results"]}}, ["web1"], "weekly", "2030-01-01T00:00:00Z")
    assert "| web1 | maintenance_window | weekly | response_seconds |" in upkeep_markdown(report)


def test_flag_stays_up_while_the_endpoint_fails(run_module, tmp_path, application):
    database = application["database"]
    estate.make_not_database(database)
    run_module("maintenance_window", state="open", **window_args(tmp_path))
    started = time.monotonic()
    closed = run_module("maintenance_window", state="closed", endpoints=[application["url"]], wait_timeout=2,
                        **window_args(tmp_path))
    assert closed["rc"] != 0 and time.monotonic() - started >= 2
    assert "%s answered 500, 200 expected" % application["url"] in closed["msg"] and "flag stays up" in closed["msg"]
    assert (tmp_path / "www" / "maintenance.flag").exists() and (tmp_path / "state" / "window.json").exists()
    assert closed["upkeep_results"][0]["status"] == "critical"


def test_preflight_without_room_for_the_backups_changes_nothing(run_module, tmp_path):
    database = estate.make_database(str(tmp_path / "app.db"), rows=2000)
    result = run_module("maintenance_window", state="open", min_free="1000T", **window_args(
        tmp_path, space=[dict(dest=str(tmp_path / "backups"), sources=[database])]))
    assert result["rc"] != 0
    assert result["msg"].startswith("preflight failed, the window was not opened and nothing was changed: ")
    assert "the window's backups need 1000.0 TiB" in result["msg"]
    [need] = result["preflight"]["space"]
    assert need["sources"] == [database] and need["needed"] > 1000 * 1024 ** 4
    assert [entry["check"] for entry in result["upkeep_results"]] == ["window_preflight"]
    assert not (tmp_path / "www").exists() and not (tmp_path / "state").exists()


def test_a_service_that_does_not_exist_stops_the_window_before_it_opens(run_module, tmp_path):
    result = run_module("maintenance_window", state="open", services=["no-such-service"], service_manager="sysvinit",
                        **window_args(tmp_path))
    assert result["rc"] != 0 and "service no-such-service does not exist" in result["msg"]
    assert not (tmp_path / "www").exists() and not (tmp_path / "state").exists()


def test_a_window_left_open_by_a_crashed_run_is_resumed(run_module, tmp_path):
    first = run_module("maintenance_window", state="open", **window_args(tmp_path))
    second = run_module("maintenance_window", state="open", **window_args(tmp_path))
    assert second["resumed"]["opened"] == first["opened"] == second["opened"]
    assert second["upkeep_results"][0]["status"] == "warning"
    assert "never closed" in second["msg"]


def test_check_mode_plans_without_writing(run_module, tmp_path):
    result = run_module("maintenance_window", state="open", check_mode=True, **window_args(tmp_path))
    assert result["rc"] == 0 and result["changed"]
    assert not (tmp_path / "www").exists() and not (tmp_path / "state").exists()


def test_endpoint_without_url_fails_before_anything_is_written(run_module, tmp_path):
    result = run_module("maintenance_window", state="open", endpoints=[dict(status=200)], **window_args(tmp_path))
    assert result["rc"] != 0 and "every endpoint needs an http:// or https:// url" in result["msg"]
    assert not (tmp_path / "state").exists()


INVENTORY = """
sqlite_apps:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


def run_weekly(tmp_path, collections_path, application, *options, **variables):
    root = str(tmp_path)
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    extra = dict(
        sqlite_databases=[dict(path=application["database"])], sqlite_backup_dir=root + "/backups",
        window_flag_file=root + "/www/maintenance.flag", window_state_file=root + "/state/window.json",
        window_endpoints=[application["url"]], window_wait_timeout=3, window_max_load=0,
        report_dir=root + "/reports", report_textfile_dir=root + "/metrics",
        cleanup_paths=[], cleanup_package_cache=False, cleanup_docker=False, updates_refresh_cache=False)
    extra.update(variables)
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           str(tmp_path / "inventory.yml"), "-e", json.dumps(extra), "upkeep.maintenance.weekly"] + list(options),
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))


def latest_report(tmp_path):
    names = sorted(name for name in os.listdir(str(tmp_path / "reports")) if name.endswith(".json"))
    return json.loads((tmp_path / "reports" / names[-1]).read_text())


def test_weekly_window_rolls_back_a_database_broken_mid_window(tmp_path, collections_path, application):
    database = application["database"]
    estate.make_bloated(database, rows=20000)
    rows = estate.row_count(database)
    saboteur = subprocess.Popen([sys.executable, os.path.join(TESTS, "saboteur.py"), database,
                                 str(tmp_path / "backups" / database.strip("/").replace("/", "_")), "120"])
    try:
        process = run_weekly(tmp_path, collections_path, application)
    finally:
        saboteur.kill()
    output = process.stdout + process.stderr
    assert process.returncode != 0, output
    assert "rescued=1" in output

    # The database is back as it was when the window opened, the broken file kept beside it.
    assert estate.row_count(database) == rows
    kept = [name for name in os.listdir(os.path.dirname(database)) if name.startswith("app.db.replaced-")]
    assert len(kept) == 1 and open(os.path.join(os.path.dirname(database), kept[0])).read().startswith("not a")
    # The site left maintenance mode only once the application answered again.
    assert not (tmp_path / "www" / "maintenance.flag").exists() and not list((tmp_path / "state").glob("*.json"))
    report = latest_report(tmp_path)
    # The vacuum that met the broken database failed; the rollback it caused is critical.
    assert report["status"] == "failed"
    [failure] = [entry for entry in report["entries"] if entry["status"] == "failed"]
    assert failure["check"] == "sqlite_vacuum" and failure["target"] == database
    [rollback] = [entry for entry in report["entries"] if entry["check"] == "window_rollback"]
    assert rollback["status"] == "critical"
    assert "rolled back: restored %s; services started and endpoints answer" % database in rollback["summary"]
    metrics = (tmp_path / "metrics" / "upkeep_weekly.prom").read_text()
    assert 'upkeep_maintenance_status{run="weekly",check="window_rollback"} 3' in metrics


def test_weekly_window_without_trouble_is_idempotent(tmp_path, collections_path, application):
    database = application["database"]
    estate.make_bloated(database, rows=20000)
    first = run_weekly(tmp_path, collections_path, application)
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_weekly(tmp_path, collections_path, application)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "changed=0" in second.stdout, second.stdout
    assert not (tmp_path / "www" / "maintenance.flag").exists()
    window = [entry for entry in latest_report(tmp_path)["entries"] if entry["check"] == "maintenance_window"]
    assert [entry["summary"].split(":")[0] for entry in window] == ["weekly window opened", "weekly window closed"]

    reports = sorted(os.listdir(str(tmp_path / "reports")))
    checked = run_weekly(tmp_path, collections_path, application, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "report: %s/reports/weekly-" % tmp_path in checked.stdout
    # Check mode leaves the host and the controller as they were: no flag, no record, no new report.
    assert not (tmp_path / "www" / "maintenance.flag").exists() and not list((tmp_path / "state").glob("*.json"))
    assert sorted(os.listdir(str(tmp_path / "reports"))) == reports


def test_watching_after_the_window_holds_when_nothing_regresses(run_module, tmp_path, application):
    estate.make_database(application["database"], rows=100)
    assert run_module("maintenance_window", state="open", **window_args(tmp_path))["rc"] == 0
    closed = run_module("maintenance_window", state="closed", endpoints=[application["url"]], watch=3, watch_interval=1,
                        **window_args(tmp_path))
    assert closed["rc"] == 0 and closed["watch"]["regressions"] == [] and closed["watch"]["looks"] >= 3
    [watched] = [entry for entry in closed["upkeep_results"] if entry["check"] == "window_watch"]
    assert watched["status"] == "ok"


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802  (the name http.server calls)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_endpoint_that_fails_and_errors_in_the_logs_after_the_window_are_a_critical_regression(run_module, tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/health" % server.server_address[1]
    log = tmp_path / "app.log"
    an_hour_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    log.write_text("%s ERROR an old error, before the window\n" % an_hour_ago)

    def regress():
        with open(str(log), "a") as handle:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            handle.write("".join("%s ERROR payment %d failed\n" % (stamp, number) for number in range(12)))
        server.shutdown()
        server.server_close()

    assert run_module("maintenance_window", state="open", **window_args(tmp_path))["rc"] == 0
    timer = threading.Timer(2.0, regress)
    timer.start()
    closed = run_module("maintenance_window", state="closed", endpoints=[url], watch=6, watch_interval=1,
                        watch_logs=[str(tmp_path / "*.log")], **window_args(tmp_path))
    timer.join()
    assert closed["rc"] == 0, closed
    assert not (tmp_path / "www" / "maintenance.flag").exists(), "a regression after closing reopened nothing"
    [watched] = [entry for entry in closed["upkeep_results"] if entry["check"] == "window_watch"]
    assert watched["status"] == "critical" and watched["metrics"]["log_errors"] == 12
    assert any(line.startswith(url) for line in closed["watch"]["regressions"]), closed["watch"]
    assert "12 error lines in the logs since the window closed (more than 10)" in closed["watch"]["regressions"]
