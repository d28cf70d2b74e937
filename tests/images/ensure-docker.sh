#!/usr/bin/env bash
# Makes sure what builds and runs the test images is here: debootstrap, a Docker engine that answers (Debian's
# docker.io, with dockerd started, when none does), and Compose.
set -euo pipefail
missing=()
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
docker info >/dev/null 2>&1 || command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
# Compose, for the tests of Compose projects: v2 where the engine has it, else Debian's docker-compose (v1 on Debian 12).
{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; } || missing+=(docker-compose)
if [ "${#missing[@]}" -gt 0 ] || ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Building the test images needs ${missing[*]:-a running Docker engine}, and installing or starting it needs root: run 'make test' as root, or install debootstrap, start Docker and add yourself to the docker group." >&2
    exit 1
  fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  log=/var/log/upkeep-dockerd.log
  # A dockerd killed with the session that started it leaves its pid file, and the next one refuses to start.
  pidfile=/var/run/docker.pid
  if [ -f "$pidfile" ] && ! ps -p "$(cat "$pidfile")" -o comm= 2>/dev/null | grep -qx dockerd; then
    rm -f "$pidfile"
  fi
  nohup dockerd >"$log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 1
  done
  echo "dockerd did not answer within 60 s; its log is $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
