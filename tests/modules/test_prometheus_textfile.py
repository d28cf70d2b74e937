"""prometheus_textfile on this machine: the file node_exporter reads appears whole, in a folder made for it."""

import os

METRICS = 'upkeep_maintenance_status{run="weekly",check="sqlite_vacuum"} 1\n'


def test_metrics_are_written_whole_into_a_new_folder_and_left_alone_when_unchanged(run_module, tmp_path):
    path = tmp_path / "node-exporter" / "upkeep_weekly.prom"
    first = run_module("prometheus_textfile", path=str(path), content=METRICS)
    assert first["rc"] == 0 and first["changed"]
    assert path.read_text() == METRICS and (path.stat().st_mode & 0o777) == 0o644
    assert os.listdir(str(tmp_path / "node-exporter")) == ["upkeep_weekly.prom"], "no temporary file is left behind"
    again = run_module("prometheus_textfile", path=str(path), content=METRICS)
    assert again["rc"] == 0 and not again["changed"]


def test_check_mode_and_a_name_the_collector_would_ignore(run_module, tmp_path):
    planned = run_module("prometheus_textfile", check_mode=True, path=str(tmp_path / "m" / "upkeep.prom"), content=METRICS)
    assert planned["changed"] and not (tmp_path / "m").exists()
    ignored = run_module("prometheus_textfile", path=str(tmp_path / "upkeep.txt"), content=METRICS)
    assert ignored["rc"] != 0 and "reads only files ending in .prom" in ignored["msg"]
