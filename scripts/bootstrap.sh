#!/usr/bin/env bash
# Idempotent set-up shared by scripts/run.sh and scripts/test.sh: a venv with pinned packages, and (for tests)
# the npm emulators and Debian's chromium. Safe to run again: each step is skipped when already done.
# Prints the venv directory on stdout (everything else goes to stderr).
#   PYTHON=python3.13 bash scripts/test.sh    # any supported interpreter; default python3
# The default interpreter uses .venv; an explicit PYTHON uses .venv-<major.minor>, so switching back and forth
# reinstalls nothing. A venv whose Python differs from the one asked for is recreated.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -V >/dev/null 2>&1 && command -v pyenv >/dev/null 2>&1; then
  # pyenv shims answer only for the global version; use an installed one by its name (python3.13 → 3.13.x).
  want=${PY##*python}
  ver=$(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.[0-9]+)?$" | sort -V | tail -1 || true)
  if [ -n "$ver" ]; then PY="$(pyenv root)/versions/$ver/bin/python${want}"; fi
fi
pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || { echo "no interpreter '$PY'" >&2; exit 1; }
"$PY" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else
          "Python 3.11 to 3.13 is required (Azure Functions supports 3.10-3.13; this app needs 3.11+)")'

venv=.venv
[ -n "${PYTHON:-}" ] && venv=.venv-$pyver
if [ -e "$venv" ] && [ "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$pyver" ]; then
  echo "recreating $venv for Python $pyver" >&2
  rm -rf "$venv"
fi
[ -x "$venv/bin/python" ] || "$PY" -m venv "$venv" >&2

req_file=${1:-requirements.txt}
stamp=$venv/.installed-$(cat requirements.txt "$req_file" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req_file" >&2
  touch "$stamp"
fi

if [ "${2:-}" = "--test-tools" ]; then
  # Keyed on the lock file's content, not its mtime: a fresh checkout (or a git worktree sharing node_modules)
  # is newer than the install without being different, and `npm ci` would wipe and refetch everything.
  lock_sha=$(sha256sum package-lock.json | cut -c1-16)
  if [ "$(cat node_modules/.lock-sha 2>/dev/null)" != "$lock_sha" ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$lock_sha" > node_modules/.lock-sha
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; } >&2
  fi
  bash scripts/install-checkov.sh
fi
echo "$venv"
