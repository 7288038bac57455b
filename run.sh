#!/usr/bin/env bash
# OwnTrace quick start: `./run.sh demo` runs the demo, `./run.sh test` runs the test suite.
# Each installs what it needs first: Debian packages (xvfb, openbox, xdotool, xterm, chromium,
# age) and a virtualenv in .venv with OwnTrace and its pinned dependencies.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(xvfb xauth openbox xdotool xterm x11-utils chromium age fonts-dejavu-core fonts-liberation strace python3-venv)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" && continue
  [ "$pkg" = chromium ] && command -v chromium-browser >/dev/null && continue
  need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # Ubuntu ships Chromium as chromium-browser (a snap behind a deb), Debian as chromium
  if [[ " ${need_apt[*]} " == *" chromium "* ]] && ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [^(]'; then
    need_apt=("${need_apt[@]/#chromium/chromium-browser}")
  fi
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: OwnTrace needs Python 3.11 or newer"; exit 1; }
  # an isolated venv: the install below must bring everything, as on a fresh machine
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c 'import recorder, redaction, pytest, playwright' 2>/dev/null || [ pyproject.toml -nt .venv/.installed ]; then
  echo "installing OwnTrace and its Python dependencies into .venv"
  log=$(mktemp)  # pip's own output: shown only if the install fails
  if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e '.[test]'; } >"$log" 2>&1; then
    tail -40 "$log"; rm -f "$log"; echo "error: installing the Python dependencies failed (see above)"; exit 1
  fi
  rm -f "$log"
  touch .venv/.installed
fi

cmd=${1:-demo}; shift || true
case "$cmd" in
  demo) exec .venv/bin/owntrace demo "$@" ;;
  test) exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@" ;;
  *) echo "usage: ./run.sh demo|test [args]"; exit 2 ;;
esac
