#!/usr/bin/env bash
# galaxy-importer (the checker behind Galaxy and Automation Hub) on a built tarball, offline, with ansible-lint on and
# ansible-test off, as Galaxy runs it. Any ERROR or WARNING it prints fails the check: the importer itself reports
# success in spite of them.
# Usage: tests/install/galaxy-importer.sh IMPORTER_VENV TARBALL
set -euo pipefail
venv=$(cd "$1" && pwd)
tarball=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export PATH="$venv/bin:$PATH" HOME="$work" GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP="$work/ansible-tmp"
unset ANSIBLE_COLLECTIONS_PATH
"$venv/bin/python" -m galaxy_importer.main "$tarball" >"$work/output" 2>&1 || { cat "$work/output"; exit 1; }
if grep -E '(^|[^a-z])(ERROR|WARNING)' "$work/output"; then
  echo "galaxy-importer: the lines above would be shown to users of Galaxy or Automation Hub" >&2
  exit 1
fi
grep -q 'Importer processing completed successfully' "$work/output" || { cat "$work/output"; exit 1; }
echo "galaxy-importer: $(basename "$tarball") imports without an error or a warning"
