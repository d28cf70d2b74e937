"""host_health and log_scan on this machine: real HTTP servers on loopback, real log files, real file systems."""

import http.server
import json
import os
import threading
import time

import pytest

from tarpit import Tarpit


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802  (the name http.server calls)
        if self.path == "/slow":
            time.sleep(0.6)
        code = 503 if self.path == "/down" else 200
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def test_endpoints_are_checked_concurrently_against_status_and_budget(run_module, web, tmpfs):
    started = time.monotonic()
    result = run_module("host_health", endpoints=[
        web + "/health", dict(url=web + "/slow", max_seconds=0.2), dict(url=web + "/slow", max_seconds=0.2),
        web + "/down", "http://127.0.0.1:9/closed"], timeout=2)
    elapsed = time.monotonic() - started

    assert result["rc"] == 0 and result["changed"] is False, result
    assert [endpoint["status"] for endpoint in result["endpoints"]] == ["ok", "warning", "warning", "critical", "critical"]
    assert result["endpoints"][3]["message"].startswith("answered 503, 200 expected")
    assert result["endpoints"][4]["message"].startswith("no answer")
    assert elapsed < 3, "the two slow endpoints are requested at the same time"
    checks = sorted(entry["check"] for entry in result["findings"])
    assert checks[:4] == ["health_endpoint"] * 4


def test_disks_memory_and_load_with_thresholds(run_module, tmpfs):
    full = tmpfs("4m")
    with open(os.path.join(str(full), "filler"), "wb") as handle:
        handle.write(b"\0" * (3800 * 1024))

    result = run_module("host_health", mounts=[str(full)], fail_on="never")
    [disk] = result["disks"]
    assert disk["used_percent"] > 90 and disk["status"] == "critical"
    assert result["memory"]["total"] > 0 and 0 <= result["memory"]["used_percent"] <= 100
    assert result["load"]["cores"] == os.cpu_count()
    assert [entry["target"] for entry in result["findings"] if entry["check"] == "health_disk"] == [str(full)]

    failed = run_module("host_health", mounts=[str(full)], fail_on="critical")
    assert failed["rc"] == 1 and "% full" in failed["msg"]

    relaxed = run_module("host_health", mounts=[str(full)], disk_warning=99, disk_critical=100, memory_warning=100,
                         memory_critical=100, load_warning=1000, load_critical=1000)
    assert relaxed["findings"] == [] and relaxed["upkeep_results"][0]["summary"].endswith("no findings")


def test_services_without_systemd_are_asked_through_their_init_scripts(run_module):
    result = run_module("host_health", services=["no-such-service"], service_manager="sysvinit")
    assert result["services"] == [dict(name="no-such-service", state="not-found", status="critical")]


def window_record(tmp_path, deadline_in):
    moment = time.time()
    record = tmp_path / "window.json"
    record.write_text(json.dumps(dict(
        name="weekly", opened=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment - 600)),
        deadline=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment + deadline_in)), services=["app"], compose=[])))
    return str(record)


def test_what_an_open_window_stopped_is_expected_and_a_window_past_its_deadline_expects_nothing(run_module, web, tmp_path):
    checks = dict(services=["app", "worker"], service_manager="sysvinit", endpoints=[web + "/down"], timeout=2,
                  load_warning=1000, load_critical=1000, memory_warning=100, memory_critical=100, mounts=[str(tmp_path)])
    during = run_module("host_health", window_state_file=window_record(tmp_path, 3600), **checks)
    # The window stopped app and raised the maintenance page; worker is down for a reason of its own.
    assert [(service["name"], service["status"]) for service in during["services"]] == [("app", "ok"), ("worker", "critical")]
    assert [entry["target"] for entry in during["findings"]] == ["worker"]
    [opened] = [entry for entry in during["upkeep_results"] if entry["check"] == "window_open"]
    assert opened["status"] == "ok" and opened["metrics"] == dict(window_open=1)
    assert opened["details"]["expected"] == ["app", web + "/down"]
    assert during["window"]["name"] == "weekly" and during["window"]["past_deadline"] is False

    overrun = run_module("host_health", window_state_file=window_record(tmp_path, -60), **checks)
    assert [service["status"] for service in overrun["services"]] == ["critical", "critical"]
    assert sorted((entry["check"], entry["status"]) for entry in overrun["findings"]) == [
        ("health_endpoint", "critical"), ("health_service", "critical"), ("health_service", "critical"),
        ("window_open", "critical")]

    closed = run_module("host_health", window_state_file=str(tmp_path / "no-window.json"), **checks)
    assert closed["window"] is None and len(closed["findings"]) == 3
    assert not [entry for entry in closed["upkeep_results"] if entry["check"] == "window_open"]


def write_log(path, lines):
    with open(str(path), "w") as handle:
        handle.write("\n".join(lines) + "\n")


def stamp(hours_ago, form="iso"):
    moment = time.time() - hours_ago * 3600
    if form == "iso":
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
    if form == "syslog":
        return time.strftime("%b %e %H:%M:%S", time.localtime(moment))
    return time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(moment))


def test_log_scan_counts_only_matches_inside_the_window(run_module, tmp_path):
    app = tmp_path / "app.log"
    write_log(app, [
        stamp(30) + " ERROR old failure",
        stamp(5) + " ERROR password=hunter2 rejected",
        "Traceback (most recent call last):",
        "  ERROR inside a stack trace",
        stamp(4) + " INFO fine",
        stamp(1) + " CRITICAL disk",
    ])
    syslog = tmp_path / "syslog"
    write_log(syslog, [stamp(2, "syslog") + " host app[1]: ERROR one", stamp(40, "syslog") + " host app[1]: ERROR old"])
    access = tmp_path / "access.log"
    write_log(access, ['10.0.0.1 - - %s "GET / HTTP/1.1" 500 0' % stamp(3, "access")] * 12)
    plain = tmp_path / "plain.log"
    write_log(plain, ["ERROR no time stamps here"] * 3)

    result = run_module("log_scan", files=[str(app), str(syslog), dict(path=str(access), patterns=['" 5\\d\\d '], warning=10),
                                           str(tmp_path / "plain*.log"), str(tmp_path / "missing.log")], window="24h")

    found = dict((entry["path"], (entry["matches"], entry["status"])) for entry in result["files"])
    assert found[str(app)] == (3, "ok")
    assert found[str(syslog)] == (1, "ok")
    assert found[str(access)] == (12, "warning")
    assert found[str(plain)] == (3, "ok")
    assert found[str(tmp_path / "missing.log")] == (None, "failed")
    assert "hunter2" not in json.dumps(result)


def test_host_health_counts_the_logs_error_lines_in_the_same_call_and_refuses_a_bad_pattern_first(run_module, tmp_path):
    app = tmp_path / "app.log"
    write_log(app, [stamp(30) + " ERROR old", stamp(2) + " ERROR new", stamp(1) + " ERROR newer"])
    result = run_module("host_health", logs=[str(app), dict(path=str(tmp_path / "*.jsonl"), patterns=["."])],
                        log_warning=1, load_warning=1000, load_critical=1000)
    assert result["rc"] == 0, result
    assert [(log["path"], log["matches"], log["status"]) for log in result["logs"]] == [(str(app), 2, "warning")]
    [entry] = [entry for entry in result["upkeep_results"] if entry["check"] == "log_errors"]
    assert entry["summary"] == "2 matching lines in 24 h (warning above 1, critical above 100)"

    refused = run_module("host_health", logs=[dict(path=str(app), patterns=["(unclosed"])])
    assert refused["failed"] and "bad pattern" in refused["msg"] and "services" not in refused


def test_an_endpoint_that_trickles_its_answer_is_cut_off_at_the_timeout(run_module):
    """Each read of a trickled answer is short; the whole request still ends at the timeout."""
    with Tarpit(greeting=b"HTTP/1.1 200 OK\r\n", trickle=b"X", interval=0.2) as tarpit:
        started = time.monotonic()
        result = run_module("host_health", endpoints=["http://127.0.0.1:%d/health" % tarpit.port], timeout=2,
                            load_warning=1000, load_critical=1000, fail_on="never")
        elapsed = time.monotonic() - started
    [endpoint] = result["endpoints"]
    assert elapsed < 2 + 1.5, elapsed
    assert endpoint["status"] == "critical" and endpoint["message"] == "no answer: no complete answer within 2 s"


@pytest.mark.parametrize("endpoint, message", [
    (dict(url="ftp://example.test/"), "every endpoint needs an http:// or https:// url"),
    (dict(url="http://example.test/", status="two hundred"), "status must be a number"),
    (dict(url="http://example.test/", status=700), "status must be an HTTP status (100 to 599)"),
    (dict(url="http://example.test/", max_seconds=-1), "max_seconds above 0"),
])
def test_impossible_endpoints_are_refused_before_anything_runs(run_module, endpoint, message):
    result = run_module("host_health", endpoints=[endpoint])
    assert result["failed"] and message in result["msg"], result["msg"]
