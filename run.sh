#!/usr/bin/env bash
# OwnTrace quick start: `./run.sh demo` runs the demo, `./run.sh test` runs the test suite.
# Each installs what it needs first: Debian packages and a virtualenv in .venv with OwnTrace and
# its pinned dependencies.
set -euo pipefail
cd "$(dirname "$0")"

cmd=${1:-demo}; shift || true
case "$cmd" in demo|test) ;; *) echo "usage: ./run.sh demo|test [args]"; exit 2 ;; esac
# The demo: a virtual X display with a window manager, the apps it records, age. gcc, libc6-dev,
# linux-libc-dev and python3-dev: pip builds evdev (pynput's Linux dependency) from source, as
# PyPI has no wheel of it.
APT_PACKAGES=(xvfb xauth openbox xdotool xterm x11-utils chromium age fonts-dejavu-core fonts-liberation
              python3-venv gcc libc6-dev linux-libc-dev python3-dev)
# The tests, besides: strace (no-connection checks), pipx (an install test), and a headless Wayland
# desktop (sway with the screen-cast portal on PipeWire, Wayland apps, a notification daemon).
TEST_PACKAGES=(strace pipx sway foot wtype grim xdg-desktop-portal xdg-desktop-portal-wlr pipewire wireplumber
               gstreamer1.0-pipewire gstreamer1.0-tools gstreamer1.0-plugins-base dbus-daemon mako-notifier dunst
               libnotify-bin gtk-3-examples)
[ "$cmd" = test ] && APT_PACKAGES+=("${TEST_PACKAGES[@]}")

# A package is installable when apt-cache names a candidate version. The policy text is read
# whole into a variable (no `| grep -q`, whose early exit kills apt-cache with SIGPIPE and makes
# the pipeline fail under pipefail).
installable() {
  local policy
  policy=$(apt-cache policy "$1" 2>/dev/null) || return 1
  [[ "$policy" =~ Candidate:\ [^\(] ]]
}
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  installed "$pkg" && continue
  [ "$pkg" = chromium ] && installed chromium-browser && continue
  need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: missing Debian packages (${need_apt[*]}) and no sudo to install them; hint: ask an administrator to run: apt-get install ${need_apt[*]}"; exit 1; }
    sudo_cmd=(sudo)
  fi
  command -v apt-get >/dev/null || { echo "error: missing packages (${need_apt[*]}) and no apt-get; hint: install them with your system's package manager"; exit 1; }
  # OWNTRACE_APT_DRY_RUN: print the install line and stop (the tests check what it would install)
  [ -n "${OWNTRACE_APT_DRY_RUN:-}" ] || "${sudo_cmd[@]}" apt-get update -qq
  resolved=()
  for pkg in "${need_apt[@]}"; do
    # Debian ships Chromium as chromium; Ubuntu as chromium-browser (a snap behind a deb)
    if [ "$pkg" = chromium ] && ! installable chromium && installable chromium-browser; then pkg=chromium-browser; fi
    installable "$pkg" || { echo "error: Debian package $pkg has no installation candidate here; hint: enable the distribution's main/universe repositories, or install $pkg by hand"; exit 1; }
    resolved+=("$pkg")
  done
  echo "apt-get install ${resolved[*]}"
  [ -n "${OWNTRACE_APT_DRY_RUN:-}" ] && exit 0
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${resolved[@]}" >/dev/null
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

case "$cmd" in
  demo) exec .venv/bin/owntrace demo "$@" ;;
  test) exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@" ;;
esac
