#!/usr/bin/env bash
# ansible-test bootstraps pip in its virtual environments with a get-pip script it downloads from a host this
# network may not reach. It first looks in its cache: put there a stand-in that runs the pip wheel bundled with
# the interpreter's ensurepip, which then installs the pinned pip from the package index.
set -euo pipefail
venv_python=${VENV_PYTHON:-.venv/bin/python}
requirements_py=$("$venv_python" -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"))')
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$requirements_py" | head -n 1)
[ -n "$pip_version" ] || { echo "cannot tell which pip ansible-test bootstraps" >&2; exit 1; }
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
cat >"$cache" <<'PY'
import ensurepip
import glob
import os
import runpy
import sys

wheel = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))[-1]
sys.path.insert(0, wheel)
sys.argv = ["pip", "install", "--upgrade", "--force-reinstall"] + [
    arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
PY
