#!/usr/bin/env bash
# Creates the peers' virtual environments used by benchmarks/peers/run.py (`make bench-peers`).
# Idempotent: a venv that finished installing (it has .installed, newer than its requirements
# file) is skipped. Only Dagster: Prefect 3 cannot run a flow without an API server (with no
# PREFECT_API_URL it starts a temporary uvicorn server subprocess), see README.md.
#
#   bash benchmarks/peers/setup.sh          # PYTHON=python3.11 to choose the interpreter
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"

make_venv() {  # make_venv NAME MODULE: .venv-NAME from requirements-NAME.txt, checked by importing MODULE
    local name="$1" module="$2"
    local venv="$here/.venv-$name" requirements="$here/requirements-$name.txt"
    if [ -f "$venv/.installed" ] && [ "$venv/.installed" -nt "$requirements" ]; then
        echo "setup: $venv exists, skipped"
        return
    fi
    echo "setup: creating $venv (about 1–2 minutes)"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    # pip's output goes to a log, shown only on failure
    if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip \
        && "$venv/bin/python" -m pip install --disable-pip-version-check -r "$requirements"; } \
        >"$venv/pip.log" 2>&1; then
        tail -n 40 "$venv/pip.log" >&2
        echo "setup: installing $name failed (full log: $venv/pip.log)" >&2
        exit 1
    fi
    "$venv/bin/python" -c "import $module; print('setup: $name', $module.__version__)"
    touch "$venv/.installed"
}

make_venv dagster dagster
