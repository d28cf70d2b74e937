#!/usr/bin/env bash
# Builds the Debian test images without a registry: debootstrap (minbase) piped into `docker import`.
# The tag carries a hash of this script and the package list, so an image is rebuilt only when they change.
# Usage: tests/images/build.sh SUITE...   (prints the image reference of each suite)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mirror=${UPKEEP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
hash=$(cat "$here/build.sh" "$here/packages.txt" | sha256sum | cut -c1-12)

for suite in "$@"; do
  # A package line may name the suites it is for (Debian 13 splits the Docker command out of docker.io).
  mapfile -t packages < <(awk -v suite="$suite" '!/^#/ && NF && (NF == 1 || index(" " $0 " ", " " suite " ")) { print $1 }' \
    "$here/packages.txt")
  image="upkeep-test:${suite}-${hash}"
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    continue
  fi
  rootfs=$(mktemp -d "/var/tmp/upkeep-rootfs-${suite}.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "building $image (debootstrap $suite, a few minutes)" >&2
  # debootstrap resolves dependency alternatives naively (trixie's cron then fails on systemd),
  # so it lays the minimal base and apt inside the chroot installs the packages. Images start no services of their
  # own: the tests start what they need; tini runs as PID 1 so that the processes services leave behind are reaped.
  # The steps are chained with && because set -e does not apply inside a list whose status is tested: a failed
  # install must never be tagged with the hash, which every later run would reuse. The last step proves every
  # package is installed.
  {
    debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" &&
      printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" &&
      chmod 0755 "$rootfs/usr/sbin/policy-rc.d" &&
      chroot "$rootfs" apt-get update &&
      chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" &&
      chroot "$rootfs" apt-get clean &&
      chroot "$rootfs" dpkg-query --show "${packages[@]}"
  } >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["/usr/bin/tini", "--", "sleep", "infinity"]' \
    --change 'ENV LANG=C.UTF-8' \
    - "$image" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  trap - EXIT
  echo "$image"
done
