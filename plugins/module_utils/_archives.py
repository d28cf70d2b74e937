# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A folder's archive (tar, tar.gz or tar.zst, as backup_create writes them) compared with a folder and put back
into one. The archive's members are taken as data, never as instructions: a name that is absolute, climbs out with
.., or lies under a symbolic link of the archive itself, and a hard link to anything but a file already restored,
stop the restore before anything outside the new folder is touched."""

import decimal
import errno
import hashlib
import os
import posixpath
import stat
import tarfile
import zlib

from ansible_collections.upkeep.maintenance.plugins.module_utils._backups import (
    FormatError,
    TarStream,
    check_tar_end,
    detect_format,
    open_stream,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._files import CHUNK, sha256_stream

MEMBER_KINDS = ((tarfile.TarInfo.isdir, "dir"), (tarfile.TarInfo.isfile, "file"), (tarfile.TarInfo.issym, "link"),
                (tarfile.TarInfo.islnk, "hardlink"), (tarfile.TarInfo.isfifo, "fifo"), (tarfile.TarInfo.ischr, "chr"),
                (tarfile.TarInfo.isblk, "blk"))


def tar_compression(path):
    """The compression of a tar archive by its content: '' for a plain tar, gz or zst."""
    fmt = detect_format(path)
    if fmt not in ("tar", "tar.gz", "tar.zst"):
        raise FormatError("%s is not a tar archive but %s" % (path, fmt))
    return fmt.partition(".")[2]


def member_path(name):
    """A member's path inside the folder: the archive's first component is the folder itself (backup_create names it
    after the folder or the volume), so it is dropped; '' is the folder."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise FormatError("member %r would be written outside the folder" % name)
    return "/".join(parts[1:])


# The namespaces of the extended attributes compared and put back: those of users, and of root (trusted) when root
# restores. Others (security.selinux, say) belong to the host's policy, not to the folder's contents.
XATTR_NAMESPACES = ("user.", "trusted.")
XATTR_PREFIX = "SCHILY.xattr."
# Zero runs at least this long are left as holes: a sparse file comes back sparse.
HOLE = 64 * 1024


def member_xattrs(member):
    """The extended attributes GNU tar keeps in a member's PAX headers, as (name, bytes), sorted."""
    return tuple(sorted((key[len(XATTR_PREFIX):], value.encode("utf-8", "surrogateescape"))
                        for key, value in member.pax_headers.items()
                        if key.startswith(XATTR_PREFIX) and key[len(XATTR_PREFIX):].startswith(XATTR_NAMESPACES)))


def path_xattrs(path):
    """A path's extended attributes of those namespaces, never following a link; none where the file system has
    none."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
        return tuple(sorted((name, os.getxattr(path, name, follow_symlinks=False))
                            for name in names if name.startswith(XATTR_NAMESPACES)))
    except OSError:
        return ()


def _entry(kind, mode, uid, gid, owners, extra=None, xattrs=()):
    """What is compared of one path: its kind, permissions (not of links), owner when owners count, content and
    extended attributes."""
    return (kind, None if kind == "link" else stat.S_IMODE(mode), (uid, gid) if owners else None, extra, xattrs)


READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)


class _Content(object):
    """A member's content, whose reads say a cut or broken archive as a FormatError, wherever they are read."""

    def __init__(self, path, member, stream):
        self.path, self.member, self.stream = path, member, stream

    def read(self, size=-1):
        try:
            return self.stream.read(size)
        except READ_ERRORS as error:
            raise FormatError("cannot read the archive %s in member %s: %s" % (self.path, self.member.name, error))


def _members(path):
    """(member, path inside the folder, kind, file object of a file's content or None) of each member, in order;
    then the end of the archive checked (check_tar_end). Left before its end, the archive is closed unread."""
    raw = open_stream(path, tar_compression(path))
    stream = TarStream(raw)
    members = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                members += 1
                kind = next((name for test, name in MEMBER_KINDS if test(member)), None)
                if kind is None:
                    raise FormatError("member %s is of a kind tar cannot restore here" % member.name)
                yield member, member_path(member.name), kind, \
                    _Content(path, member, archive.extractfile(member)) if kind == "file" else None
            check_tar_end(stream, members, archive.offset)
    except READ_ERRORS as error:
        raise FormatError("cannot read the archive %s: %s" % (path, error))
    finally:
        raw.close()


def _linked(table, member):
    """What table holds of the path a hard link member points to; None when it points outside the folder."""
    try:
        return table.get(member_path(member.linkname))
    except FormatError:
        return None


def _allocated(content):
    """(SHA-256, bytes, bytes that are not in zero runs of HOLE) of a member's content: what a restore that leaves
    the zero runs as holes writes to the disk."""
    digest, size, allocated = hashlib.sha256(), 0, 0
    for block in iter(lambda: content.read(CHUNK), b""):
        digest.update(block)
        size += len(block)
        allocated += sum(len(part) for part in (block[start:start + HOLE] for start in range(0, len(block), HOLE))
                         if part.strip(b"\0"))
    return digest.hexdigest(), size, allocated


def archive_state(path, owners):
    """{path inside the folder: what is compared} of the archive, the bytes of its files, and the bytes a restore
    writes of them (their zero runs left as holes)."""
    state, total, allocated = {}, 0, 0
    for member, inside, kind, content in _members(path):
        parent = inside
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if state.get(parent, ("dir",))[0] != "dir":
                raise FormatError("member %s lies under %s, which is not a folder" % (inside, parent))
        if kind == "hardlink":
            target = _linked(state, member)
            if not target or target[0] != "file":
                raise FormatError("member %s is a hard link to %s, not to a file before it" % (member.name, member.linkname))
            state[inside] = target
            continue
        extra = None
        if kind == "file":
            extra, size, written = _allocated(content)
            total += size
            allocated += written
        elif kind == "link":
            extra = member.linkname
        elif kind in ("chr", "blk"):
            extra = (member.devmajor, member.devminor)
        state[inside] = _entry(kind, member.mode, member.uid, member.gid, owners, extra,
                               () if kind == "link" else member_xattrs(member))
    if "" not in state:
        raise FormatError("the archive %s holds no folder" % path)
    return state, total, allocated


def _raise(error):
    raise error


def folder_state(folder, owners):
    """{path inside the folder: what is compared} of a folder on disk, never following a link and never opening
    anything but regular files."""
    info = os.lstat(folder)
    state = {"": _entry("dir", info.st_mode, info.st_uid, info.st_gid, owners, xattrs=path_xattrs(folder))}
    for root, folders, files in os.walk(folder, onerror=_raise):
        inside_root = os.path.relpath(root, folder)
        for name in folders + files:
            path = os.path.join(root, name)
            inside = name if inside_root == "." else posixpath.join(inside_root, name)
            info = os.lstat(path)
            mode, extra = info.st_mode, None
            if stat.S_ISDIR(mode):
                kind = "dir"
            elif stat.S_ISLNK(mode):
                kind, extra = "link", os.readlink(path)
            elif stat.S_ISREG(mode):
                kind = "file"
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
                with os.fdopen(fd, "rb") as stream:
                    extra = sha256_stream(stream)[0]
            elif stat.S_ISFIFO(mode):
                kind = "fifo"
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                kind, extra = "chr" if stat.S_ISCHR(mode) else "blk", (os.major(info.st_rdev), os.minor(info.st_rdev))
            else:
                continue  # a socket, which tar does not archive
            state[inside] = _entry(kind, mode, info.st_uid, info.st_gid, owners, extra,
                                   () if kind == "link" else path_xattrs(path))
    return state


def differences(expected, found):
    """Paths missing, added and changed in found against expected."""
    return dict(missing=sorted(set(expected) - set(found)), added=sorted(set(found) - set(expected)),
                changed=sorted(path for path in set(expected) & set(found) if expected[path] != found[path]))


def _real_folder(root, inside):
    """The folder of inside's parent in root, made when the archive did not list it; refused when a component is
    not a real folder (a symbolic link of the archive, so that nothing is written through it)."""
    current = root
    for part in inside.split("/")[:-1]:
        current = os.path.join(current, part)
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current, 0o700)
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise FormatError("member %s lies under %s, which is not a folder" % (inside, part))
    return current


def _own(path, member, owners, fd=None):
    if owners:
        if fd is not None:
            os.fchown(fd, member.uid, member.gid)
        else:
            os.lchown(path, member.uid, member.gid)


def _times(member):
    """(mtime, mtime) in nanoseconds, to the precision GNU tar's PAX header keeps: a float would round it, and the
    next archive of the restored folder would differ from the one it was restored from."""
    nanoseconds = int(decimal.Decimal(member.pax_headers.get("mtime", int(member.mtime))) * 10 ** 9)
    return nanoseconds, nanoseconds


def _put_xattrs(path, member):
    """The member's extended attributes on path; those the file system or the user may not have are left out."""
    for name, value in member_xattrs(member):
        try:
            os.setxattr(path, name, value, follow_symlinks=False)
        except OSError as error:
            if error.errno not in (errno.ENOTSUP, errno.EPERM):
                raise


def _write_sparse(content, output):
    """A member's content into output, its zero runs of HOLE left as holes; the bytes."""
    total = 0
    for block in iter(lambda: content.read(CHUNK), b""):
        for start in range(0, len(block), HOLE):
            part = block[start:start + HOLE]
            if part.strip(b"\0"):
                output.write(part)
            else:
                output.seek(len(part), os.SEEK_CUR)
        total += len(block)
    output.truncate(total)
    return total


def extract(path, folder, owners):
    """The archive written into the new, empty folder: files, folders, links, FIFOs and devices, with their modes,
    owners (when owners) and times. Returns (files, bytes)."""
    files, total, folders, restored = 0, 0, [], {}
    for member, inside, kind, content in _members(path):
        if inside == "":
            folders.append((folder, member))
            continue
        target = os.path.join(_real_folder(folder, inside), inside.rsplit("/", 1)[-1])
        if kind == "dir":
            os.mkdir(target, 0o700)
            folders.append((target, member))
        elif kind == "file":
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as output:
                total += _write_sparse(content, output)
                output.flush()
                _put_xattrs(target, member)
                _own(target, member, owners, output.fileno())
                os.fchmod(output.fileno(), stat.S_IMODE(member.mode))
                os.utime(output.fileno(), ns=_times(member))
            files += 1
            restored[inside] = target
        elif kind == "hardlink":
            source = _linked(restored, member)
            if source is None:
                raise FormatError("member %s is a hard link to %s, not to a file before it" % (member.name, member.linkname))
            os.link(source, target, follow_symlinks=False)
            files += 1
        elif kind == "link":
            os.symlink(member.linkname, target)
            _own(target, member, owners)
            os.utime(target, ns=_times(member), follow_symlinks=False)
        else:
            kind_bits = dict(fifo=stat.S_IFIFO, chr=stat.S_IFCHR, blk=stat.S_IFBLK)[kind]
            os.mknod(target, kind_bits | stat.S_IMODE(member.mode), os.makedev(member.devmajor, member.devminor))
            _put_xattrs(target, member)
            _own(target, member, owners)
            os.chmod(target, stat.S_IMODE(member.mode))
            os.utime(target, ns=_times(member))
    # Last, and deepest first, so that a folder without write permission is filled before it gets it.
    for target, member in reversed(folders):
        _put_xattrs(target, member)
        _own(target, member, owners)
        os.chmod(target, stat.S_IMODE(member.mode))
        os.utime(target, ns=_times(member))
    return files, total


def volume_folder(module, name, docker=None):
    """Where a Docker volume's files are on this host (docker volume inspect)."""
    docker = docker or module.get_bin_path("docker")
    if not docker:
        raise FormatError("volume %s: the docker command is not installed" % name)
    rc, out, err = module.run_command([docker, "volume", "inspect", "--format", "{{.Mountpoint}}", name])
    if rc != 0:
        raise FormatError("volume %s: %s" % (name, (err.strip() or out.strip()).splitlines()[-1]))
    return out.strip()
