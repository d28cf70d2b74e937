"""backup_restore puts a folder or a Docker volume back from the archive backup_create wrote of it, checked against GNU
tar as the oracle: the restored tree equals what tar extracts of the same archive, with modes, owners, links and
special files; a second run changes nothing; hostile archives stop before anything is touched."""

import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import uuid

import pytest

from conftest import docker


def tree(folder):
    """Each path of a tree with its kind, mode, owner and, for files and links, their content, as find and tar see them."""
    listing = subprocess.run(["find", str(folder), "-mindepth", "1", "-printf", r"%P\0%y %m %U:%G %l\0"],
                             capture_output=True, check=True).stdout.split(b"\0")
    result = {}
    for path, facts in zip(listing[0::2], listing[1::2]):
        full = os.path.join(os.fsencode(str(folder)), path)
        content = b""
        if facts.startswith(b"f"):
            with open(full, "rb") as handle:
                content = handle.read()
        result[path] = (facts, content)
    return result


@pytest.fixture
def estate(tmp_path):
    """A folder with what a volume may hold: nested folders, a file only its owner reads, a folder without write
    permission, links inside and out, a hard link, a FIFO, an empty folder and names that are not UTF-8."""
    folder = tmp_path / "appdata"
    (folder / "uploads" / "2026").mkdir(parents=True)
    (folder / "uploads" / "2026" / "invoice-1.pdf").write_bytes(os.urandom(200000))
    (folder / "config.yml").write_text("db: shop\n")
    os.chmod(str(folder / "config.yml"), 0o640)
    (folder / "sealed").mkdir()
    (folder / "sealed" / "key").write_text("k")
    os.chmod(str(folder / "sealed"), 0o500)
    (folder / "empty").mkdir()
    os.symlink("uploads/2026/invoice-1.pdf", str(folder / "latest.pdf"))
    os.symlink("/etc/hostname", str(folder / "outside"))
    os.link(str(folder / "config.yml"), str(folder / "config.yml.hard"))
    os.mkfifo(str(folder / "queue"))
    with open(os.path.join(os.fsencode(str(folder)), b"caf\xe9 \nnotes.txt"), "wb") as handle:
        handle.write(b"latin-1 name")
    if os.geteuid() == 0:
        os.chown(str(folder / "config.yml"), 1234, 2345)
    return folder


def archived(run_module, folder, dest):
    result = run_module("backup_create", kind="folder", src=str(folder), dest=str(dest))
    assert result["rc"] == 0 and result["outcome"] == "created", result["msg"]
    return result["path"]


def oracle(archive, tmp_path):
    """What GNU tar extracts of the archive, owners and modes kept."""
    target = tmp_path / ("tar-" + uuid.uuid4().hex[:6])
    target.mkdir()
    subprocess.run(["tar", "--zstd", "--extract", "--same-owner", "--same-permissions", "--file", archive,
                    "--directory", str(target)], check=True)
    [top] = os.listdir(str(target))
    return target / top


def test_a_folder_is_put_back_as_tar_extracts_it_and_what_it_replaces_is_kept(run_module, tmp_path, estate):
    archive = archived(run_module, estate, tmp_path / "backups")
    before = tree(estate)
    (estate / "uploads" / "2026" / "invoice-1.pdf").unlink()
    (estate / "config.yml").write_text("db: damaged\n")
    (estate / "stray.tmp").write_text("added after the backup")

    planned = run_module("backup_restore", check_mode=True, src=str(tmp_path / "backups"), dest=str(estate))
    assert planned["changed"] is True and planned["archive"] == archive, planned
    assert planned["differences"] == dict(missing=["uploads/2026/invoice-1.pdf"], added=["stray.tmp"],
                                          changed=["config.yml", "config.yml.hard"])
    assert (estate / "stray.tmp").exists(), "check mode changes nothing"

    result = run_module("backup_restore", src=str(tmp_path / "backups"), dest=str(estate))
    assert result["rc"] == 0 and result["changed"] is True, result
    assert tree(estate) == before == tree(oracle(archive, tmp_path))
    assert os.stat(str(estate / "config.yml")).st_ino == os.stat(str(estate / "config.yml.hard")).st_ino
    assert stat.S_ISFIFO(os.lstat(str(estate / "queue")).st_mode)
    replaced = result["replaced"]
    assert replaced.startswith(str(estate) + ".replaced-") and (tmp_path / replaced / "stray.tmp").read_text() == "added after the backup"
    [entry] = result["upkeep_results"]
    assert entry["check"] == "backup_restore" and entry["status"] == "changed" and entry["metrics"]["files"] == 5
    assert [name for name in os.listdir(str(tmp_path)) if ".restoring-" in name] == []

    again = run_module("backup_restore", src=archive, dest=str(estate))
    assert again["changed"] is False and again["upkeep_results"][0]["status"] == "ok", again


def test_a_missing_folder_is_made_and_keep_replaced_false_leaves_nothing_beside_it(run_module, tmp_path, estate):
    archive = archived(run_module, estate, tmp_path / "backups")
    before = tree(estate)
    target = tmp_path / "elsewhere"
    made = run_module("backup_restore", src=archive, dest=str(target))
    assert made["rc"] == 0 and made["changed"] and made["replaced"] is None and tree(target) == before
    (target / "config.yml").write_text("changed")
    replaced = run_module("backup_restore", src=archive, dest=str(target), keep_replaced=False)
    assert replaced["changed"] and replaced["replaced"] is None and tree(target) == before
    assert sorted(os.listdir(str(tmp_path))) == ["appdata", "backups", "elsewhere"]


def test_an_archive_that_does_not_match_its_checksum_is_not_restored(run_module, tmp_path, estate):
    archive = archived(run_module, estate, tmp_path / "backups")
    before = tree(estate)
    (estate / "config.yml").write_text("current")
    current = tree(estate)
    with open(archive, "r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    result = run_module("backup_restore", src=archive, dest=str(estate))
    assert result["rc"] == 1 and "does not match its checksum sidecar" in result["msg"], result
    assert tree(estate) == current != before
    from_set = run_module("backup_restore", src=str(tmp_path / "backups"), dest=str(estate))
    assert from_set["rc"] == 1 and "has a checksum that holds" in from_set["msg"]


def test_a_restore_that_does_not_fit_or_would_replace_the_root_folder_is_refused_untouched(
        run_module, tmp_path, estate, tmpfs):
    archive = archived(run_module, estate, tmp_path / "backups")
    small = tmpfs("64k")
    (small / "appdata").mkdir()
    (small / "appdata" / "kept.txt").write_text("current")
    result = run_module("backup_restore", src=archive, dest=str(small / "appdata"))
    assert result["rc"] == 1 and "do not fit in the" in result["msg"] and "left as it was" in result["msg"], result
    assert os.listdir(str(small)) == ["appdata"] and (small / "appdata" / "kept.txt").read_text() == "current"
    root = run_module("backup_restore", src=archive, dest="/")
    assert root["rc"] == 1 and "the root folder is never replaced" in root["msg"]


def with_sidecar(path):
    """The archive with a .sha256 sidecar that matches it, as one who can write the backups could leave it."""
    digest = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]
    with open(str(path) + ".sha256", "w") as handle:
        handle.write("%s  %s\n" % (digest, os.path.basename(str(path))))
    return str(path)


def hostile_archive(path, members):
    """A tar.gz of (name, kind, data or link target) members under a top folder, as an attacker could write it."""
    with tarfile.open(str(path), "w:gz") as archive:
        top = tarfile.TarInfo("appdata")
        top.type, top.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(top)
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(value)
                archive.addfile(info, io.BytesIO(value))
                continue
            info.type, info.linkname = dict(symlink=tarfile.SYMTYPE, hardlink=tarfile.LNKTYPE)[kind], value
            archive.addfile(info)
    return with_sidecar(path)


@pytest.mark.parametrize("members, said", [
    ([("appdata/../../escaped", "file", b"x")], "would be written outside the folder"),
    ([("/tmp/upkeep-absolute-%s" % uuid.uuid4().hex[:6], "file", b"x")], "would be written outside the folder"),
    ([("appdata/door", "symlink", "/tmp"), ("appdata/door/planted", "file", b"x")], "lies under door, which is not a folder"),
    ([("appdata/passwd", "hardlink", "/etc/passwd")], "not to a file before it"),
    ([("appdata/passwd", "hardlink", "appdata/../../../etc/passwd")], "not to a file before it"),
], ids=["dot-dot", "absolute", "under-a-link", "hard-link-out", "hard-link-climbing"])
def test_a_hostile_archive_stops_before_anything_is_touched(run_module, tmp_path, estate, members, said):
    archive = hostile_archive(tmp_path / "hostile.tar.gz", [("appdata/ok.txt", "file", b"fine")] + members)
    before = tree(estate)
    result = run_module("backup_restore", src=archive, dest=str(estate))
    assert result["rc"] == 1 and said in result["msg"] and "not restored" in result["msg"], result
    assert tree(estate) == before
    assert sorted(os.listdir(str(tmp_path))) == ["appdata", "hostile.tar.gz", "hostile.tar.gz.sha256"]
    assert not os.path.lexists("/tmp/planted") and not os.path.lexists(str(tmp_path.parent / "escaped"))


def test_the_restore_test_of_backup_verify_extracts_the_archive(run_module, tmp_path, estate):
    archived(run_module, estate, tmp_path / "backups")
    verified = run_module("backup_verify", path=str(tmp_path / "backups"), restore_test=True, temp_dir=str(tmp_path),
                          fail_on="never")
    checks = dict((check["name"], check) for check in verified["checks"])
    assert checks["restore_test"]["status"] == "ok" and "files = 5" in checks["restore_test"]["message"], checks
    assert sorted(os.listdir(str(tmp_path))) == ["appdata", "backups"], "the scratch folder is removed"
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    hostile_archive(hostile / "appdata-20260101T000000Z.tar.gz", [("appdata/../../escaped", "file", b"x")])
    refused = run_module("backup_verify", path=str(hostile), restore_test=True, temp_dir=str(tmp_path), fail_on="never")
    checks = dict((check["name"], check) for check in refused["checks"])
    assert checks["restore_test"]["status"] == "critical" and "outside the folder" in checks["restore_test"]["message"]


def test_a_volume_in_use_is_refused_then_put_back_once_its_container_stops(run_module, tmp_path, docker_image):
    volume = docker("volume", "create", "upkeep-restore-%s" % uuid.uuid4().hex[:6])
    container = None
    try:
        docker("run", "--rm", "--volume", "%s:/data" % volume, docker_image, "sh", "-c",
               "mkdir -p /data/uploads && echo invoice > /data/uploads/a.txt && chown -R 999:999 /data/uploads")
        taken = run_module("backup_create", kind="volume", src=volume, dest=str(tmp_path / "volumes"))
        assert taken["rc"] == 0, taken["msg"]
        container = docker("run", "--detach", "--volume", "%s:/data" % volume, docker_image, "sh", "-c",
                           "rm /data/uploads/a.txt; echo stray > /data/stray; exec sleep infinity")
        refused = run_module("backup_restore", src=str(tmp_path / "volumes"), volume=volume)
        assert refused["rc"] == 1 and "in use by the running container" in refused["msg"], refused
        docker("stop", "--time", "0", container)
        result = run_module("backup_restore", src=str(tmp_path / "volumes"), volume=volume)
        assert result["rc"] == 0 and result["changed"] is True, result
        seen = docker("run", "--rm", "--volume", "%s:/data" % volume, docker_image, "sh", "-c",
                      "cat /data/uploads/a.txt; stat -c %u:%g /data/uploads/a.txt; ls /data")
        assert seen.split("\n") == ["invoice", "999:999", "uploads"]
        again = run_module("backup_restore", src=str(tmp_path / "volumes"), volume=volume)
        assert again["changed"] is False
    finally:
        if container:
            docker("rm", "--force", container, check=False)
        docker("volume", "rm", volume, check=False)


def test_an_archive_with_data_after_its_end_is_not_restored(run_module, tmp_path, estate):
    """tar stops silently at a damaged header; what follows the end of the archive must be zeros."""
    archive = tmp_path / "appdata.tar"
    subprocess.run(["tar", "--create", "--file", str(archive), "--directory", str(tmp_path), "appdata"], check=True)
    with open(str(archive), "ab") as handle:
        handle.write(b"\0" * 1024 + b"ustar, but damaged" + b"\0" * 1000)
    before = tree(estate)
    result = run_module("backup_restore", src=with_sidecar(archive), dest=str(estate))
    assert result["rc"] == 1 and "data follows the end of the archive" in result["msg"], result
    assert tree(estate) == before


class Zeros(object):
    """A gigabyte of zeros to read, none of it in memory."""

    def __init__(self, size):
        self.left = size

    def read(self, size=-1):
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


def test_a_small_archive_refused_at_its_first_member_is_not_read_on_into_memory(run_module_measured, tmp_path, estate):
    """A 33 KB tar.zst: a member that climbs out, then a gigabyte of zeros, which zstd packs to nothing."""
    plain = tmp_path / "bomb.tar"
    with tarfile.open(str(plain), "w") as archive:
        for name, size in (("appdata", None), ("appdata/../escaped", 1), ("appdata/zeros", 1024 ** 3)):
            info = tarfile.TarInfo(name)
            if size is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = size
                archive.addfile(info, Zeros(size))
    subprocess.run(["zstd", "-q", "--rm", str(plain)], check=True)
    bomb = with_sidecar(str(plain) + ".zst")
    assert os.path.getsize(bomb) < 100 * 1024
    before = tree(estate)
    result, peak = run_module_measured("backup_restore", src=bomb, dest=str(estate))
    assert result["failed"] and "would be written outside the folder" in result["msg"], result
    assert peak < 100, "the refusal took %d MiB" % peak
    assert tree(estate) == before


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_a_cut_archive_whose_checksum_holds_is_refused_with_the_target_untouched(run_module, tmp_path, estate, compression):
    archive = tmp_path / ("appdata.tar." + dict(zstd="zst", gzip="gz")[compression])
    subprocess.run(["tar", "--create", "--" + compression, "--file", str(archive), "--directory", str(tmp_path), "appdata"],
                   check=True)
    with open(str(archive), "r+b") as handle:
        handle.truncate(os.path.getsize(str(archive)) // 2)
    before = tree(estate)
    result = run_module("backup_restore", src=with_sidecar(archive), dest=str(estate))
    assert result["rc"] == 1 and "not restored" in result["msg"] and "Traceback" not in result["msg"], result
    assert tree(estate) == before and sorted(os.listdir(str(tmp_path)))[0] == "appdata"


def test_a_plain_tar_cut_inside_a_header_is_refused_not_restored_in_part(run_module, tmp_path):
    folder = tmp_path / "appdata"
    folder.mkdir()
    for number in range(10):
        (folder / ("file-%d" % number)).write_bytes(os.urandom(20000))
    archive = tmp_path / "appdata.tar"
    subprocess.run(["tar", "--create", "--file", str(archive), "--directory", str(tmp_path), "--sort=name", "appdata"],
                   check=True)
    # Into the header of the second file: the first is whole, tar stops without a word.
    with open(str(archive), "r+b") as handle:
        handle.truncate(512 + 512 + 20480 + 100)
    (folder / "file-0").write_text("changed since the backup")
    before = tree(folder)
    result = run_module("backup_restore", src=with_sidecar(archive), dest=str(folder))
    assert result["rc"] == 1 and "cut" in result["msg"], result
    assert tree(folder) == before and not [name for name in os.listdir(str(tmp_path)) if ".replaced-" in name]


def test_an_archive_without_a_sidecar_is_restored_only_when_asked(run_module, tmp_path, estate):
    archive = tmp_path / "appdata.tar"
    subprocess.run(["tar", "--create", "--file", str(archive), "--directory", str(tmp_path), "appdata"], check=True)
    (estate / "config.yml").write_text("changed\n")
    refused = run_module("backup_restore", src=str(archive), dest=str(estate))
    assert refused["rc"] == 1 and "has no .sha256 sidecar" in refused["msg"], refused
    restored = run_module("backup_restore", src=str(archive), dest=str(estate), checksum=False)
    assert restored["rc"] == 0 and restored["changed"], restored
    assert (estate / "config.yml").read_text() == "db: shop\n"


def test_names_that_are_not_utf8_come_back_in_a_result_ansible_takes(tmp_path, estate, run_module, collections_path):
    """The result names what differs, and ansible-core refuses a result whose text is not UTF-8."""
    archive = archived(run_module, estate, tmp_path / "sets")
    latin = os.path.join(os.fsencode(str(estate)), b"caf\xe9 \nnotes.txt")
    with open(latin, "wb") as handle:
        handle.write(b"changed since the backup")
    playbook = tmp_path / "restore.yml"
    playbook.write_text(json.dumps([dict(
        name="restore", hosts="localhost", connection="local", gather_facts=False,
        vars=dict(ansible_python_interpreter=sys.executable),
        tasks=[{"upkeep.maintenance.backup_restore": dict(src=archive, dest=str(estate)), "register": "restored"},
               {"ansible.builtin.copy": dict(content="{{ restored | to_json }}", dest=str(tmp_path / "result.json"))}])]))
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                              str(playbook)], capture_output=True, text=True, check=False,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["differences"]["changed"] == ["caf\\xe9 \nnotes.txt"]
    with open(latin, "rb") as handle:
        assert handle.read() == b"latin-1 name"


def test_a_round_trip_keeps_extended_attributes_holes_and_times_and_the_next_backup_is_identical(
        run_module, tmp_path, tmpfs):
    """Restored onto a file system smaller than the sparse file's size: only its data must fit."""
    disk = tmpfs("16m")
    folder = disk / "appdata"
    folder.mkdir()
    (folder / "data.bin").write_bytes(os.urandom(4096))
    for number in range(4):
        os.setxattr(str(folder / "data.bin"), "user.tag%d" % number, b"value-%d" % number)
    os.setxattr(str(folder), "user.owner", b"\xff\x00 app")
    with open(str(folder / "disk.img"), "wb") as handle:
        handle.seek(64 * 1024 * 1024)
        handle.write(os.urandom(1024))
    os.mkfifo(str(folder / "queue"))
    os.utime(str(folder / "queue"), (1700000000, 1700000000))
    first = archived(run_module, folder, tmp_path / "sets")
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    folder.mkdir()
    (folder / "stray").write_text("replaced by the restore")

    restored = run_module("backup_restore", src=first, dest=str(folder), keep_replaced=False)
    assert restored["rc"] == 0 and restored["changed"], restored
    assert sorted(os.listxattr(str(folder / "data.bin"))) == ["user.tag%d" % number for number in range(4)]
    assert os.getxattr(str(folder / "data.bin"), "user.tag3") == b"value-3"
    assert os.getxattr(str(folder), "user.owner") == b"\xff\x00 app"
    image = os.stat(str(folder / "disk.img"))
    assert image.st_size == 64 * 1024 * 1024 + 1024 and image.st_blocks * 512 < 1024 * 1024
    assert os.stat(str(folder / "queue")).st_mtime == 1700000000
    again = run_module("backup_create", kind="folder", src=str(folder), dest=str(tmp_path / "sets"))
    assert again["outcome"] == "identical", again
    assert run_module("backup_restore", src=first, dest=str(folder))["changed"] is False
