"""prune on real folders: ages, keep and min_keep, compression, archiving, symbolic links out of the root, and the
deletion as the scan goes (nothing protected) against the deletion after it."""

import gzip
import os
import shutil
import subprocess
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def make_files(folder, count, hours_apart=24, size=1000, name="app-%02d.db"):
    """count files, the newest modified an hour ago and each older one hours_apart before it; oldest first."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = folder / (name % number)
        path.write_bytes(os.urandom(size))
        moment = time.time() - 3600 - (count - 1 - number) * hours_apart * 3600
        os.utime(str(path), (moment, moment))
        paths.append(str(path))
    return paths


def names(folder):
    return sorted(os.listdir(str(folder)))


def test_when_every_file_is_too_old_the_newest_min_keep_stay(run_module, tmp_path):
    folder = tmp_path / "backups"
    paths = make_files(folder, 10, hours_apart=24)
    for path in paths:  # the backup job stopped 40 days ago; each backup has its checksum sidecar
        with open(path + ".sha256", "w") as sidecar:
            sidecar.write("0" * 64 + "  " + os.path.basename(path) + "\n")
        moment = os.stat(path).st_mtime - 40 * 86400
        os.utime(path, (moment, moment))
        os.utime(path + ".sha256", (moment, moment))

    planned = run_module("prune", check_mode=True, path=str(folder), patterns=["app-*"], age="30d", min_keep=3)
    assert planned["changed"] is True and planned["counts"] == dict(matched=10, kept=3, pruned=7, left_alone=0)
    assert len(names(folder)) == 20

    result = run_module("prune", path=str(folder), patterns=["app-*"], age="30d", min_keep=3)
    assert result["rc"] == 0 and result["counts"]["pruned"] == 7
    assert names(folder) == ["app-07.db", "app-07.db.sha256", "app-08.db", "app-08.db.sha256", "app-09.db",
                             "app-09.db.sha256"]
    assert result["bytes_freed"] == 7 * (1000 + 76) and [f["path"] for f in result["files"]] == paths[:7]
    assert result["upkeep_results"][0]["metrics"]["bytes_reclaimed"] == 7 * 1076

    again = run_module("prune", path=str(folder), patterns=["app-*"], age="30d", min_keep=3)
    assert again["changed"] is False and again["counts"]["pruned"] == 0

    by_data_name = run_module("prune", path=str(folder), patterns=["app-*.db"], keep=1, min_keep=1)
    assert by_data_name["counts"]["pruned"] == 2, "sidecars go with their backups whatever the patterns"
    assert names(folder) == ["app-09.db", "app-09.db.sha256"]


def test_a_sidecar_goes_with_its_file_and_one_whose_file_is_gone_is_pruned_like_any_file(run_module, tmp_path):
    folder = tmp_path / "backups" / "nightly"
    old = make_files(folder, 2, name="old-%02d.db")
    new = make_files(folder, 1, name="new-%02d.db")
    for path in old + new:
        with open(path + ".sha256", "w") as sidecar:
            sidecar.write("0" * 64 + "\n")
    os.unlink(old[1])  # its sidecar stays behind, an orphan
    month_ago = time.time() - 30 * 86400
    for path in (old[0], old[0] + ".sha256", old[1] + ".sha256"):
        os.utime(path, (month_ago, month_ago))

    result = run_module("prune", path=str(tmp_path / "backups"), recurse=True, age="7d", min_keep=0)
    assert result["counts"] == dict(matched=3, kept=1, pruned=2, left_alone=0), result["counts"]
    assert names(folder) == ["new-00.db", "new-00.db.sha256"]
    assert sorted(entry["path"] for entry in result["files"]) == [old[0], old[1] + ".sha256"]


def test_a_companion_suffix_with_a_slash_ends_no_file_name_with_or_without_find(run_module, tmp_path):
    for name, env in (("found", None), ("scanned", dict(PATH=str(tmp_path)))):
        (tmp_path / name / "logx").mkdir(parents=True)
        old = tmp_path / name / "logx" / "y"
        old.write_bytes(b"a month old")
        month_ago = time.time() - 30 * 86400
        os.utime(str(old), (month_ago, month_ago))
        result = run_module("prune", path=str(tmp_path / name), recurse=True, age="7d", min_keep=0,
                            companions=[".sha256", "x/y"], env=env)
        assert result["counts"] == dict(matched=1, kept=0, pruned=1, left_alone=0), (name, result["counts"])
        assert names(tmp_path / name / "logx") == []


def test_keep_counts_across_folders_and_the_oldest_pruned_are_listed(run_module, tmp_path):
    ages = {}  # hours back of each file, spread over three folders so that no folder holds the newest or oldest alone
    for number in range(30):
        path = tmp_path / ("host-%d" % (number % 3)) / ("app-%02d.log" % number)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x" * 100)
        moment = time.time() - (number * 7 % 30 + 1) * 3600
        os.utime(str(path), (moment, moment))
        ages[str(path)] = moment
    by_age = sorted(ages, key=ages.get)

    result = run_module("prune", path=str(tmp_path), recurse=True, keep=4, max_listed=5)
    left = sorted(os.path.join(folder, name) for folder, _subfolders, files in os.walk(str(tmp_path)) for name in files)
    assert left == sorted(by_age[-4:])
    assert [entry["path"] for entry in result["files"]] == by_age[:5] and result["files_truncated"] is True
    assert result["counts"] == dict(matched=30, kept=4, pruned=26, left_alone=0)


def test_keep_and_age_together_and_patterns(run_module, tmp_path):
    folder = tmp_path / "backups"
    make_files(folder, 10, hours_apart=24)
    (folder / "notes.txt").write_text("not a backup")

    result = run_module("prune", path=str(folder), patterns=["app-*.db"], keep=4, age="6d")
    # Beyond the newest 4 are 6 files, of which the ones older than 6 days (5 of them, at 7..10 days) go.
    assert result["counts"] == dict(matched=10, kept=6, pruned=4, left_alone=0), result["counts"]
    assert "notes.txt" in names(folder) and "app-05.db" in names(folder)

    several = run_module("prune", check_mode=True, path=str(folder), patterns=["app-0[45].db", "notes.*"], keep=0,
                         min_keep=0)
    assert sorted(os.path.basename(entry["path"]) for entry in several["files"]) == ["app-04.db", "app-05.db", "notes.txt"]

    nothing = run_module("prune", path=str(folder), patterns=[], keep=0, min_keep=0)
    assert nothing["counts"]["matched"] == 0 and len(names(folder)) == 7, "no pattern matches no file"


def test_symbolic_links_out_of_the_root_are_never_followed(run_module, tmp_path):
    outside = tmp_path / "outside"
    precious = make_files(outside, 3, hours_apart=24 * 60, name="precious-%02d.db")
    folder = tmp_path / "backups"
    make_files(folder, 2, hours_apart=24 * 60)
    os.symlink(str(outside), str(folder / "linked-folder"))
    os.symlink(precious[0], str(folder / "app-99.db"))

    result = run_module("prune", path=str(folder), patterns=["*.db"], recurse=True, age="1d", min_keep=0)

    assert [os.path.exists(path) for path in precious] == [True, True, True]
    assert names(folder) == ["app-01.db", "app-99.db", "linked-folder"]
    assert result["left_alone"] == [dict(path=str(folder / "app-99.db"), reason="symbolic link")]


def test_compress_keeps_times_and_content_and_archive_moves_into_dated_folders(run_module, tmp_path):
    logs = tmp_path / "logs"
    paths = make_files(logs, 4, hours_apart=48, size=50000, name="app.log.%d")
    with open(paths[0], "wb") as handle:
        handle.write(b"line\n" * 10000)
    modified = os.stat(paths[0]).st_mtime
    os.utime(paths[0], (modified - 86400, modified - 86400))
    modified = os.stat(paths[0]).st_mtime
    os.chown(paths[0], 65534, 65534)  # the application's user, as logrotate leaves its files

    result = run_module("prune", path=str(logs), patterns=["app.log.*"], age="1d", min_keep=1, action="compress")

    assert result["counts"]["pruned"] == 3 and names(logs) == ["app.log.0.gz", "app.log.1.gz", "app.log.2.gz", "app.log.3"]
    with gzip.open(str(logs / "app.log.0.gz")) as handle:
        assert handle.read() == b"line\n" * 10000
    compressed = os.stat(str(logs / "app.log.0.gz"))
    assert compressed.st_mtime == modified and (compressed.st_uid, compressed.st_gid) == (65534, 65534)
    assert result["bytes_freed"] > 49000 - 1000
    assert run_module("prune", path=str(logs), patterns=["app.log.*"], age="1d", min_keep=1,
                      action="compress")["changed"] is False

    zstd = run_module("prune", path=str(logs), patterns=["app.log.*"], age="1m", min_keep=0, action="compress",
                      compression="zstd")
    assert zstd["counts"]["pruned"] == 1
    assert subprocess.run(["zstd", "-t", "-q", str(logs / "app.log.3.zst")], check=False).returncode == 0

    archived = run_module("prune", path=str(logs), patterns=["*.gz"], age="1d", min_keep=0, action="archive")
    assert archived["counts"]["pruned"] == 3
    moved = dict((os.path.basename(entry["path"]), entry) for entry in archived["files"])
    day = moved["app.log.0.gz"]["modified"][:10]
    assert moved["app.log.0.gz"]["result"] == str(logs / "archive" / day / "app.log.0.gz")
    assert os.path.exists(moved["app.log.0.gz"]["result"]) and names(logs) == ["app.log.3.zst", "archive"]
    assert run_module("prune", path=str(logs), patterns=["*.gz"], age="1d", min_keep=0, action="archive",
                      recurse=True)["changed"] is False, "files already archived are never considered again"


def test_bad_options_fail_with_one_line(run_module, tmp_path):
    assert run_module("prune", path=str(tmp_path))["msg"] == "one of the following is required: age, keep"
    assert run_module("prune", path=str(tmp_path), age="soon")["msg"].startswith("'soon' is not a duration")
    assert run_module("prune", path=str(tmp_path / "missing"), keep=3)["msg"] == "%s is not a folder" % (tmp_path / "missing")
    tolerated = run_module("prune", path=str(tmp_path / "missing"), keep=3, ignore_missing=True)
    assert tolerated["rc"] == 0 and tolerated["changed"] is False and tolerated["counts"]["matched"] == 0


class _SwapAfterScan(object):
    """prune's retention with a folder replaced between its scan and its deletions, as another process could."""

    def __init__(self, root, replace):
        from ansible_collections.upkeep.maintenance.plugins.modules import prune

        class Swapped(prune.Retention):
            def select(self, found, protected):
                replace()
                return super().select(found, protected)

        # min_keep 1: the files are selected once the scan is done, and deleted after
        params = dict(path=str(root), patterns=["*.log"], recurse=True, units="files", keep=None, min_keep=1,
                      action="delete", compression="gzip", archive_dir=None, companions=[".sha256"], max_listed=100)
        module = type("Module", (), dict(params=params, check_mode=False))()
        self.result = Swapped(module, 86400).run()


def test_a_folder_replaced_after_the_scan_is_not_deleted_from(tmp_path):
    root = tmp_path / "logs"
    make_files(root / "app", 1, name="old-%02d.log")
    make_files(root, 1, name="new-%02d.log")  # the newest, kept by min_keep
    os.utime(str(root / "app" / "old-00.log"), (time.time() - 10 * 86400,) * 2)
    elsewhere = tmp_path / "elsewhere"
    make_files(elsewhere, 1, name="old-%02d.log")
    twin = tmp_path / "twin"
    make_files(twin, 1, name="old-%02d.log")

    def by_a_link():
        (root / "app").rename(tmp_path / "moved")
        os.symlink(str(elsewhere), str(root / "app"))

    linked = _SwapAfterScan(root, by_a_link).result
    assert names(elsewhere) == ["old-00.log"] and names(tmp_path / "moved") == ["old-00.log"]
    assert linked["counts"]["pruned"] == 0 and linked["left_alone"][0]["path"] == str(root / "app" / "old-00.log")

    os.unlink(str(root / "app"))
    (tmp_path / "moved").rename(root / "app")

    def by_another_folder():
        (root / "app").rename(tmp_path / "moved")
        twin.rename(root / "app")

    replaced = _SwapAfterScan(root, by_another_folder).result
    assert names(root / "app") == ["old-00.log"] and names(tmp_path / "moved") == ["old-00.log"]
    assert replaced["counts"]["pruned"] == 0
    assert replaced["left_alone"][0]["reason"].endswith("%s was replaced since the scan" % (root / "app"))


NAMES = st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=24) \
    .filter(lambda name: name not in (".", "..", "d1", "d2", "newest") and not name.endswith(".sha256"))
# (folder, name, hours old, sidecar: none, beside its file, or left alone after its file went)
FILES = st.lists(st.tuples(st.sampled_from(["", "d1", "d1/d2", "d2"]), NAMES, st.integers(0, 96),
                           st.sampled_from(["none", "beside", "orphan"])),
                 max_size=30, unique_by=lambda spec: (spec[0], spec[1]))


def lay_out(root, files, now):
    os.makedirs(root)
    for folder, name, hours, sidecar in files:
        path = os.path.join(root, folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as stream:
            stream.write(b"x" * (len(name) + hours))
        if sidecar != "none":
            with open(path + ".sha256", "w") as stream:
                stream.write("0" * 64 + "\n")
            os.utime(path + ".sha256", (now - hours * 3600,) * 2)
        if sidecar == "orphan":
            os.unlink(path)
        else:
            os.utime(path, (now - hours * 3600 - 60,) * 2)


def tree(root):
    return sorted(os.path.relpath(os.path.join(folder, name), root) for folder, _subfolders, names in os.walk(root)
                  for name in names)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=FILES)
def test_deleting_as_found_by_find_or_the_scan_prunes_what_deleting_after_the_scan_does(run_module, tmp_path, files):
    """With nothing protected, GNU find deletes the files as it meets them, or without it the scan does; with
    min_keep 1 (and a file newer than all, which it keeps) they are selected after the scan. All must leave the same
    files and say the same, down to the oldest three listed, and check mode must say it too while leaving everything in
    place."""
    now = time.time()
    as_found, scanned, after, expected = (tmp_path / name for name in ("as-found", "scanned", "after", "expected"))
    for root in (as_found, scanned, after, expected):
        shutil.rmtree(str(root), ignore_errors=True)
        lay_out(str(root), files, now)
    with open(str(after / "newest"), "w") as stream:
        stream.write("kept by min_keep")
    os.utime(str(after / "newest"), (now + 3600,) * 2)
    for folder, name, hours, sidecar in files:  # older than 2 days: the file goes, and its sidecar, or the orphan
        if hours * 3600 + 60 > 2 * 86400:
            for doomed in (name, name + ".sha256"):
                path = expected / folder / doomed
                if path.exists():
                    path.unlink()

    planned = run_module("prune", path=str(as_found), recurse=True, age="2d", min_keep=0, check_mode=True, max_listed=3)
    assert tree(str(as_found)) == tree(str(scanned))
    first = run_module("prune", path=str(as_found), recurse=True, age="2d", min_keep=0, max_listed=3)
    without_find = run_module("prune", path=str(scanned), recurse=True, age="2d", min_keep=0, max_listed=3,
                              env=dict(PATH=str(tmp_path)))
    second = run_module("prune", path=str(after), recurse=True, age="2d", min_keep=1, max_listed=3)
    assert tree(str(as_found)) == tree(str(expected)) == tree(str(scanned)) == \
        [name for name in tree(str(after)) if name != "newest"]
    assert [first[key] for key in ("counts", "bytes_freed", "left_alone")] == \
        [without_find[key] for key in ("counts", "bytes_freed", "left_alone")]
    assert [entry["path"] for entry in first["files"]] == \
        [entry["path"].replace(str(scanned), str(as_found)) for entry in without_find["files"]]
    assert planned["counts"]["pruned"] == first["counts"]["pruned"] + first["counts"]["left_alone"]
    assert planned["counts"]["matched"] == first["counts"]["matched"]
    assert first["bytes_freed"] == second["bytes_freed"] and first["changed"] == second["changed"]
    assert first["counts"] == dict(second["counts"], matched=second["counts"]["matched"] - 1,
                                   kept=second["counts"]["kept"] - 1)
    assert [os.path.relpath(entry["path"], str(as_found)) for entry in first["files"]] == \
        [os.path.relpath(entry["path"], str(after)) for entry in second["files"]]
