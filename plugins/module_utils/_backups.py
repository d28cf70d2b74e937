# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the backup modules share: durations and sizes as people write them, backup sets, and format checks
that read a backup by its content, not its name, to the last byte."""

import fnmatch
import gzip
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import zlib

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import CHUNK, FormatError, gnu_command, open_regular, sha256_stream
from ansible_collections.upkeep.maintenance.plugins.module_utils._pgclient import PgClient, last_line_of

SIDECAR_SUFFIXES = (".sha256", ".sha256sum", ".md5", ".tmp", ".partial")
MANIFEST_NAMES = ("SHA256SUMS", "sha256sums.txt", "MANIFEST.sha256")
PG_DUMP_TRAILER = b"-- PostgreSQL database dump complete"


def is_pg_directory_dump(path):
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "toc.dat"))


def backup_set(path, pattern):
    """The members of a backup set, oldest first: files (and pg_dump directory dumps) in ``path`` matching
    ``pattern``, without checksum sidecars, manifests and hidden temporary files. ``path`` may be one file."""
    if os.path.isfile(path) or is_pg_directory_dump(path):
        return [path]
    members = []
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if name.startswith(".") or name.endswith(SIDECAR_SUFFIXES) or name in MANIFEST_NAMES:
            continue
        if not fnmatch.fnmatch(name, pattern):
            continue
        if os.path.isfile(full) or is_pg_directory_dump(full):
            members.append(full)
    return sorted(members, key=lambda member: (os.stat(member).st_mtime, member))


def backup_folders(path, pattern):
    """The members of a backup set made of folders (backup-20261101/ holding the dumps and archives of one night),
    oldest first by their newest content. Symbolic links are never members."""
    members = []
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if name.startswith(".") or not fnmatch.fnmatch(name, pattern):
            continue
        if os.path.isdir(full) and not os.path.islink(full):
            members.append(full)
    return sorted(members, key=lambda member: (unit_time(member), member))


def unit_time(path):
    """When a backup was written: a file's modification time; for a folder, that of the newest file in it (adding
    or removing an entry changes the folder's own time, not when the backup was taken)."""
    if not os.path.isdir(path):
        return os.stat(path).st_mtime
    times = [os.lstat(os.path.join(folder, name)).st_mtime for folder, _folders, files in os.walk(path) for name in files]
    return max(times) if times else os.stat(path).st_mtime


def folder_files(path):
    """The regular files of a folder backup, its manifests and checksum sidecars excepted, in name order."""
    found = []
    for folder, folders, files in os.walk(path):
        folders.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            if name in MANIFEST_NAMES or name.endswith(SIDECAR_SUFFIXES) or os.path.islink(full):
                continue
            if stat.S_ISREG(os.lstat(full).st_mode):
                found.append(full)
    return found


def set_size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(folder, name)) for folder, _dirs, files in os.walk(path) for name in files)
    return os.path.getsize(path)


def read_manifest(path):
    """{file name: digest} from a sha256sum-style manifest file next to the backups."""
    digests = {}
    with open_regular(path) as stream:
        for line in stream:
            match = re.match(r"^([0-9a-fA-F]{64})\s+\*?(.+?)\s*$", line.decode("utf-8", "surrogateescape"))
            if match:
                digests[os.path.basename(match.group(2))] = match.group(1).lower()
    return digests


def sniff(head):
    """The format a file starts with."""
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"PGDMP"):
        return "pg_custom"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    if head and b"\x00" not in head[:4096]:
        return "sql" if re.search(rb"(?im)^(--|create |insert |begin|set |copy |select )", head[:4096]) else "text"
    return "unknown"


def detect_format(path):
    """The format of a backup by its content; compressed files are named after what they hold (tar.gz, sql.zst)."""
    if is_pg_directory_dump(path):
        return "pg_directory"
    with open(path, "rb") as stream:
        head = stream.read(4096)
    outer = sniff(head)
    if outer not in ("gzip", "zstd"):
        return outer
    inner = b""
    try:
        if outer == "gzip":
            with gzip.open(path, "rb") as stream:
                inner = stream.read(4096)
        else:
            inner = zstd_head(path)
    except (OSError, EOFError, zlib.error):
        return outer
    kind = sniff(inner)
    return "%s.%s" % (kind, "gz" if outer == "gzip" else "zst") if kind in ("tar", "sql", "sqlite", "pg_custom") else outer


def zstd_command():
    command = shutil.which("zstd")
    if not command:
        raise FormatError("reading zstd needs the zstd command: install the zstd package")
    return command


def zstd_head(path):
    process = subprocess.Popen([zstd_command(), "-dc", "--", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        return process.stdout.read(4096)
    finally:
        process.stdout.close()
        process.kill()
        process.wait()


class ZstdStream(object):
    """A zstd file decompressed by the zstd command, read as a stream; its exit status is checked once it is read to
    its end. Closed before, the command is stopped: what is left is never read, however large it would be."""

    def __init__(self, path):
        self.path = path
        self.ended = False
        self.process = subprocess.Popen([zstd_command(), "-dc", "--", path], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)

    def read(self, size=-1):
        data = self.process.stdout.read(size)
        if not data and size != 0:
            self.ended = True
            errors = self.process.stderr.read().decode("utf-8", "replace").strip()
            if self.process.wait() != 0:
                raise FormatError("zstd stream broken: %s" % (errors.splitlines()[-1] if errors else "zstd failed"))
        return data

    def close(self):
        if not self.ended:
            self.process.kill()
        self.process.stdout.close()
        self.process.stderr.close()
        self.process.wait()


def open_stream(path, compression):
    if compression == "gz":
        return gzip.open(path, "rb")
    if compression == "zst":
        return ZstdStream(path)
    return open(path, "rb")


def read_to_end(stream):
    """(bytes read, first bytes, last bytes), reading every block."""
    total, head, tail = 0, b"", b""
    for block in iter(lambda: stream.read(CHUNK), b""):
        if total < 4096:
            head = (head + block)[:4096]
        total += len(block)
        tail = (tail + block)[-4096:]
    return total, head, tail


def check_stream(path, compression, kind):
    """Read a plain or compressed file to the end (CRC and length checked by the decompressor); a pg_dump SQL
    script must end with pg_dump's closing line."""
    stream = open_stream(path, compression)
    try:
        total, head, tail = read_to_end(stream)
    except (OSError, EOFError, zlib.error) as error:
        raise FormatError("%s stream broken: %s" % ({"gz": "gzip", "zst": "zstd"}.get(compression, "file"), error))
    finally:
        stream.close()
    details = dict(uncompressed_bytes=total)
    if kind == "sql" and b"PostgreSQL database dump" in head:
        if PG_DUMP_TRAILER not in tail:
            raise FormatError("the pg_dump script ends early: its closing line is missing")
        details["pg_dump"] = True
    return details


class TarStream(object):
    """A tar stream as tarfile reads it, remembering the bytes of its last reads: tarfile stops without a word at a
    header cut short or damaged, as at the end-of-archive blocks, and the end it stopped at is then checked here."""

    KEEP = 64 * 1024  # more than tarfile reads ahead (a record of 10 KiB)

    def __init__(self, stream):
        self.stream = stream
        self.position = 0
        self.window = b""

    def read(self, size=-1):
        data = self.stream.read(size)
        self.position += len(data)
        self.window = (self.window + data)[-self.KEEP:]
        return data

    def read_since(self, offset):
        """The bytes from offset to the current position, already read."""
        start = self.position - len(self.window)
        if offset < start:
            raise FormatError("the archive's end lies %d bytes behind what was read" % (self.position - offset))
        return self.window[offset - start:]


def check_tar_end(stream, members, end):
    """The archive ends where tarfile stopped (end, the offset of the header it could not read): two zero blocks
    there, then nothing but zeros to the stream's end, read in full so that gzip checks its CRC and length and zstd
    its frame checksum. A header cut short or damaged, an archive cut at a header or a lone zero block are refused."""
    zeros = len(stream.read_since(end))
    if stream.read_since(end).strip(b"\0"):
        raise FormatError("a damaged or cut header after %d members" % members)
    for block in iter(lambda: stream.read(CHUNK), b""):
        if block.strip(b"\0"):
            raise FormatError("data follows the end of the archive after %d members: a damaged header" % members)
        zeros += len(block)
    if zeros < 2 * tarfile.BLOCKSIZE:
        raise FormatError("the archive is cut after %d members: it lacks tar's two end blocks" % members)


def check_tar(path, compression):
    """List every member and read every byte of a tar, tar.gz or tar.zst."""
    raw = open_stream(path, compression)
    stream = TarStream(raw)
    members = 0
    total = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                members += 1
                if member.isfile():
                    content = archive.extractfile(member)
                    size, _head, _tail = read_to_end(content)
                    if size != member.size:
                        raise FormatError("member %s is cut short (%d of %d bytes)" % (member.name, size, member.size))
                    total += size
            check_tar_end(stream, members, archive.offset)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise FormatError("tar archive broken after %d members: %s" % (members, error))
    finally:
        raw.close()
    if members == 0:
        raise FormatError("the tar archive holds no members")
    return dict(members=members, member_bytes=total)


def check_pg_archive(path, client=None):
    """pg_restore reads the whole table of contents (--list), then every data block (a restore into /dev/null). A
    client in a container reads a custom archive from its standard input."""
    client = client or PgClient(dict(os.environ))
    piped = bool(client.container)
    if piped and os.path.isdir(path):
        raise FormatError("a directory dump is read by the host's pg_restore: install postgresql-client")
    rc, out, err = client.run("pg_restore", ["--list"] + ([] if piped else [path]), source=path if piped else None)
    if rc != 0:
        raise FormatError("pg_restore --list failed: %s" % last_line_of(err))
    entries = [line for line in out.splitlines() if line and not line.startswith(";")]
    rc, _out, err = client.run("pg_restore", ["--file", "/dev/null"] + ([] if piped else [path]),
                               source=path if piped else None)
    if rc != 0:
        raise FormatError("pg_restore could not read the data: %s" % last_line_of(err))
    return dict(toc_entries=len(entries))


def check_format(path, fmt, sqlite_check, pg_client=None):
    """Details of a backup that reads as its format; FormatError when it does not. sqlite_check(path) checks a
    SQLite file (on a copy, done by the caller); pg_client reads pg_dump archives (the host's by default)."""
    if fmt == "sqlite":
        return sqlite_check(path)
    if fmt in ("pg_custom", "pg_directory"):
        return check_pg_archive(path, pg_client)
    base, _dot, compression = fmt.partition(".")
    if base == "tar":
        return check_tar(path, compression)
    if base in ("sql", "text"):
        return check_stream(path, compression, base)
    if fmt in ("gzip", "zstd"):
        return check_stream(path, "gz" if fmt == "gzip" else "zst", "data")
    if base in ("sqlite", "pg_custom"):
        return check_stream(path, compression, "data")
    raise FormatError("unrecognised content: not SQLite, a pg_dump archive, SQL, tar, gzip or zstd")


def feed_command(command, source, environment, temp_dir=None):
    """Run command with source streamed to its standard input; (exit status, standard error)."""
    with tempfile.TemporaryFile(dir=temp_dir) as error_file:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=error_file,
                                   env=environment)
        try:
            shutil.copyfileobj(source, process.stdin, CHUNK)
        except BrokenPipeError:
            pass  # the command stopped early, which its exit status reports
        finally:
            process.stdin.close()
        status = process.wait()
        error_file.seek(0)
        return status, error_file.read().decode("utf-8", "replace")


def tar_arguments(folder, name):
    """GNU tar's arguments for a folder's archive, its members under name: POSIX format with the extended attributes,
    members in name order and no access or change times, so that the same folder gives the same bytes. The members'
    names are renamed, and their hard links' targets, not what their symbolic links point to."""
    replacement = name.replace("\\", "\\\\").replace("&", "\\&").replace("|", "\\|")
    return ["--create", "--file=-", "--directory=" + folder, "--format=posix", "--sort=name", "--xattrs",
            "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime", "--transform=s|^\\.|%s|S" % replacement,
            "."]


def write_tar(folder, output, compression, name=None):
    """A tar of folder, its members under name (the folder's own by default), compressed with zstd or gzip into the
    open file output; its SHA-256, taken from the stream as it is written. GNU tar and the compressor run as
    processes of their own where GNU tar is installed, else Python's tarfile writes a GNU-format tar (without the
    extended attributes)."""
    name = name or os.path.basename(folder.rstrip("/")) or "root"
    tar = gnu_command("tar", b"GNU tar")  # its archives keep extended attributes
    compress = [zstd_command(), "-q", "-c"] if compression == "zstd" else ["gzip", "-n", "-c"]
    if tar is None:
        return _write_tar_with_tarfile(folder, output, compress, name)
    with tempfile.TemporaryFile() as errors:
        archiver = subprocess.Popen([tar] + tar_arguments(folder, name), stdout=subprocess.PIPE, stderr=errors)
        compressor = subprocess.Popen(compress, stdin=archiver.stdout, stdout=subprocess.PIPE)
        archiver.stdout.close()
        digest = hashlib.sha256()
        for block in iter(lambda: compressor.stdout.read(CHUNK), b""):
            digest.update(block)
            output.write(block)
        compressor.stdout.close()
        # tar's 1 is "a file changed as it was read": the archive holds each file whole, as tar read it.
        if archiver.wait() not in (0, 1):
            errors.seek(0)
            lines = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise FormatError("tar failed on %s: %s" % (folder, lines[-1] if lines else "no message"))
        if compressor.wait() != 0:
            raise FormatError("%s failed while compressing %s" % (compress[0], folder))
    return digest.hexdigest()


def _write_tar_with_tarfile(folder, output, compress, name):
    start = output.tell()
    compressor = subprocess.Popen(compress, stdin=subprocess.PIPE, stdout=output)
    try:
        with tarfile.open(fileobj=compressor.stdin, mode="w|", format=tarfile.GNU_FORMAT) as archive:
            archive.add(folder, arcname=name)
    finally:
        compressor.stdin.close()
        if compressor.wait() != 0:
            raise FormatError("%s failed while compressing %s" % (compress[0], folder))
    output.flush()
    output.seek(start)
    return sha256_stream(output)[0]
