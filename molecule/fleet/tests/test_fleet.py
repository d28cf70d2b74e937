"""What two weekly rollouts over three hosts leave behind: the first maintained every host; in the second, the
second host's database broke inside its window, the host was rolled back, and the third host was not reached."""

import calendar
import glob
import json
import os
import re
import time

import pytest

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]


def reports():
    """The JSON reports of the two rollouts, oldest first."""
    paths = sorted(glob.glob(os.path.join(EPHEMERAL, "reports", "weekly-*.json")))
    assert len(paths) == 2, paths
    result = []
    for path in paths:
        with open(path) as handle:
            result.append(json.load(handle))
    return result


def recap(run):
    with open(os.path.join(EPHEMERAL, "%s-rollout.log" % run)) as handle:
        return dict(re.findall(r"^(upkeep-fleet-\d)\s+: (.*)$", handle.read(), re.MULTILINE))


def test_the_first_rollout_maintained_every_host_one_at_a_time():
    first = recap("first")
    assert sorted(first) == ["upkeep-fleet-1", "upkeep-fleet-2", "upkeep-fleet-3"]
    assert all("failed=0" in line and "rescued=0" in line for line in first.values()), first
    report = reports()[0]
    assert report["hosts_not_reached"] == []
    vacuumed = [entry["host"] for entry in report["entries"] if entry["check"] == "sqlite_vacuum" and entry["status"] == "changed"]
    assert vacuumed == ["upkeep-fleet-1", "upkeep-fleet-2", "upkeep-fleet-3"]
    windows = [entry for entry in report["entries"] if entry["check"] == "maintenance_window"]
    assert [entry["summary"].split(":")[0] for entry in windows] == ["weekly window opened", "weekly window closed"] * 3
    # One host at a time: each window closed before the next one opened.
    assert [entry["timestamp"] for entry in windows] == sorted(entry["timestamp"] for entry in windows)


def test_the_second_rollout_rolled_back_the_second_host_and_stopped():
    second = recap("second")
    assert "failed=0" in second["upkeep-fleet-1"]
    assert "failed=1" in second["upkeep-fleet-2"] and "rescued=1" in second["upkeep-fleet-2"]
    assert "upkeep-fleet-3" not in second or "ok=0" in second["upkeep-fleet-3"]
    report = reports()[1]
    assert report["hosts_not_reached"] == ["upkeep-fleet-3"]
    [rollback] = [entry for entry in report["entries"] if entry["check"] == "window_rollback"]
    assert rollback["host"] == "upkeep-fleet-2" and rollback["status"] == "critical"
    assert "rolled back: restored /srv/app/data/app.db; services started and endpoints answer" in rollback["summary"]
    markdown = open(sorted(glob.glob(os.path.join(EPHEMERAL, "reports", "weekly-*.md")))[-1]).read()
    assert "| Not reached | upkeep-fleet-3 |" in markdown
    assert "- **upkeep-fleet-2** `window_rollback` upkeep-fleet-2: weekly maintenance failed at " in markdown


def test_the_webhook_heard_the_windows_and_the_rollback():
    with open(os.path.join(EPHEMERAL, "webhook.jsonl")) as handle:
        texts = [json.loads(line)["text"] for line in handle]
    opened = [text for text in texts if ": weekly window opened: " in text]
    assert [text.split(":")[0] for text in opened] == ["upkeep-fleet-1", "upkeep-fleet-2", "upkeep-fleet-3",
                                                       "upkeep-fleet-1", "upkeep-fleet-2"]
    assert any(text.startswith("upkeep-fleet-2: weekly maintenance failed at ") and "rolled back: restored" in text
               for text in texts), texts
    [report] = [text for text in texts if text.startswith("weekly maintenance: ")]
    assert "CRITICAL upkeep-fleet-2 upkeep-fleet-2: weekly maintenance failed at" in report
    assert "upkeep-fleet-1" not in report


def hostname(host):
    return host.backend.get_hostname()


def test_the_database_is_sound_and_the_application_serves_it(host):
    rows = host.check_output("sqlite3 /srv/app/data/app.db 'SELECT count(*) FROM items'")
    assert host.check_output("sqlite3 /srv/app/data/app.db 'PRAGMA integrity_check'") == "ok"
    assert host.run("/etc/init.d/demo-app status").rc == 0
    page = host.run("python3 -c \"import urllib.request; print(urllib.request.urlopen('http://localhost/').read().decode())\"")
    assert page.rc == 0 and page.stdout.strip() == "%s items" % rows
    assert not host.file("/var/www/maintenance.flag").exists
    assert not host.file("/var/lib/upkeep/maintenance-window.json").exists


def test_the_rolled_back_host_has_its_database_as_before_the_window(host):
    if hostname(host) != "upkeep-fleet-2":
        pytest.skip("only the second host was rolled back")
    rows = host.check_output("sqlite3 /srv/app/data/app.db 'SELECT count(*) FROM items'")
    assert rows == host.file("/srv/app/rows-before-fault").content_string.strip()
    kept = [name for name in host.file("/srv/app/data").listdir() if name.startswith("app.db.replaced-")]
    assert len(kept) == 1 and host.file("/srv/app/data/" + kept[0]).content_string.startswith("not a database")
    metrics = host.file("/var/lib/prometheus/node-exporter/upkeep_weekly.prom").content_string
    assert 'upkeep_maintenance_status{run="weekly",check="window_rollback"} 3' in metrics
    assert 'upkeep_findings{run="weekly",check="window_rollback",severity="critical"} 1' in metrics


def test_the_other_hosts_were_compacted_and_the_third_left_alone_by_the_second_rollout(host):
    if hostname(host) == "upkeep-fleet-2":
        pytest.skip("the second host was rolled back")
    before = int(host.file("/srv/app/app-size-before").content_string)
    assert host.file("/srv/app/data/app.db").size < before / 2
    metrics = host.file("/var/lib/prometheus/node-exporter/upkeep_weekly.prom").content_string
    finished = int(re.search(r'upkeep_maintenance_last_run_timestamp_seconds\{run="weekly"\} (\d+)', metrics).group(1))
    second_started = calendar.timegm(time.strptime(reports()[1]["started"], "%Y-%m-%dT%H:%M:%SZ"))
    if hostname(host) == "upkeep-fleet-3":
        assert finished < second_started, "the second rollout stopped before the third host"
    else:
        assert finished >= second_started
