#!/usr/bin/env bash
# Installs what tradewatch's tests and demo need on a fresh machine; fast and silent when everything is present.
# Node dependencies come from `npm ci` (run before this); here: Java check, the QuestDB jar, the Python client.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

need_root_pkg() { # $1 = command, $2 = Debian package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $2 (Debian package)"
    [ -n "${TW_APT_UPDATED:-}" ] || { apt-get update -qq >/dev/null; export TW_APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "setup: '$1' is missing; install the Debian package '$2' (or its equivalent) and re-run" >&2
    exit 1
  fi
}

need_root_pkg java openjdk-17-jre-headless
need_root_pkg mvn maven
need_root_pkg python3 python3
# The real Prometheus (and promtool) that the /metrics tests scrape with; only the binaries are used, not the service.
need_root_pkg prometheus prometheus
need_root_pkg promtool prometheus

# The QuestDB server jar, through Maven, cached under ~/.cache/tradewatch/questdb (or $TRADEWATCH_CACHE_DIR).
bash scripts/fetch-questdb.sh >/dev/null

# The Compose Specification's JSON schema (from the Go module that Docker Compose itself loads files with),
# for checking deploy/docker-compose.yml without a Docker engine.
[ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"
need_root_pkg go golang-go
bash scripts/fetch-compose-schema.sh >/dev/null

# The Python side: the official questdb client (cross-language contract test) and the Python SDK in editable mode
# with its pinned test tooling (pytest, mypy), pandas (backtests) and ccxt (instrumentation). Re-installed only when
# packages/python/requirements-dev.txt or pyproject.toml change.
# Installs into .venv with uv (pinned, itself from PyPI into the venv): it fetches in parallel and installs about 5x
# faster than pip on 2 cores. Bytecode is compiled at install, as pip does: with PYTHONDONTWRITEBYTECODE set (it is on
# this machine) nothing would ever cache it, and every test process would compile ccxt and pandas again (~12 s CPU).
# pip's index settings carry over; pip itself is the fallback when uv cannot be had.
UV_VERSION=0.13.8
python_install() {
  if [ "$(.venv/bin/uv --version 2>/dev/null)" != "uv $UV_VERSION" ]; then
    .venv/bin/pip install -q --disable-pip-version-check "uv==$UV_VERSION" >/dev/null 2>&1 || true
  fi
  local uv_env=()
  [ -n "${PIP_INDEX_URL:-}" ] && uv_env+=("UV_INDEX_URL=$PIP_INDEX_URL")
  [ -n "${PIP_FIND_LINKS:-}" ] && uv_env+=("UV_FIND_LINKS=$PIP_FIND_LINKS")
  if [ -x .venv/bin/uv ] && env "${uv_env[@]}" .venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python "$@"; then
    return 0
  fi
  say "uv unavailable or failed: installing with pip"
  .venv/bin/pip install -q --disable-pip-version-check "$@"
}

PY_REQS=packages/python/requirements-dev.txt
PY_STAMP=.venv/.tradewatch-python-stamp
py_want="$(cat "$PY_REQS" packages/python/pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$PY_STAMP" 2>/dev/null)" != "$py_want" ] || ! .venv/bin/python -c "import tradewatch, questdb.ingress" >/dev/null 2>&1; then
  say "installing the Python SDK (editable) and its pinned tooling into .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  python_install -r "$PY_REQS" -e packages/python
  echo "$py_want" > "$PY_STAMP"
fi
