"""Writes to standard output, in the format docker load reads, the image a previous release of the stack left behind:
one small layer, labelled as the stack's, created long ago - what the monthly prune -a of unused images must remove.
With --untagged, the image an earlier build left without a name - what the daily prune of dangling images removes.
docker build cannot date an image in the past, hence the image is written by hand.
Usage: previous_release.py STACK_PROJECT [--untagged] | docker load"""
import hashlib
import io
import json
import sys
import tarfile

CREATED = "2025-01-01T00:00:00Z"


def tar_bytes(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1735689600
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def main(project, untagged=False):
    if untagged:
        layer = tar_bytes([("build", b"an earlier build of %s\n" % project.encode()), ("assets", b"\1" * 2 ** 20)])
    else:
        layer = tar_bytes([("release", b"2025.01 of %s\n" % project.encode()), ("assets", b"\0" * 2 ** 21)])
    config = json.dumps(dict(
        architecture="amd64", os="linux", created=CREATED,
        config=dict(Cmd=["/release"], Labels={"upkeep.stack": project}),
        rootfs=dict(type="layers", diff_ids=["sha256:" + hashlib.sha256(layer).hexdigest()]),
        history=[dict(created=CREATED, created_by="the stack's release of January 2025")])).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    tags = None if untagged else ["upkeep-stack-previous:%s" % project]
    manifest = json.dumps([dict(Config=config_name, RepoTags=tags, Layers=["layer/layer.tar"])]).encode()
    sys.stdout.buffer.write(tar_bytes([("layer/layer.tar", layer), (config_name, config), ("manifest.json", manifest)]))


if __name__ == "__main__":
    main(sys.argv[1], "--untagged" in sys.argv[2:])
