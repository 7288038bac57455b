"""Installing OwnTrace as a new user would: run.sh's install branch against this machine's real
apt, and a plain (non-editable) pip or pipx install used from a folder outside the checkout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recorder.export.verify import verify_bundle

REPO = Path(__file__).resolve().parents[2]


def _shim(folder: Path, name: str, script: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n" + script)
    (folder / name).chmod(0o755)


def _run_sh(tmp_path: Path, shims: dict[str, str]) -> subprocess.CompletedProcess:
    """run.sh with dpkg-query reporting every package missing, in apt dry-run mode."""
    bin_dir = tmp_path / "bin"
    _shim(bin_dir, "dpkg-query", "exit 1\n")
    for name, script in shims.items():
        _shim(bin_dir, name, script)
    env = {"PATH": f"{bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": str(tmp_path), "LANG": "C.UTF-8", "OWNTRACE_APT_DRY_RUN": "1"}
    return subprocess.run(["bash", str(REPO / "run.sh"), "test"], env=env, capture_output=True, text=True, timeout=120)


def _candidate(pkg: str) -> bool:
    policy = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True).stdout
    return re.search(r"Candidate: [^(\s]", policy) is not None


def test_run_sh_installs_only_packages_this_machines_apt_can_install(tmp_path: Path) -> None:
    proc = _run_sh(tmp_path, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("apt-get install "))
    packages = line.split()[2:]
    assert packages and all(_candidate(p) for p in packages), packages
    distro = Path("/etc/os-release").read_text()
    browser = "chromium-browser" if re.search(r"^ID=ubuntu$", distro, re.M) else "chromium"
    assert browser in packages and {"xvfb", "openbox", "xdotool", "xterm", "age"} <= set(packages)


def test_run_sh_names_a_package_apt_cannot_install_in_one_line(tmp_path: Path) -> None:
    no_xterm = ('[ "$1 $2" = "policy xterm" ] && { printf "xterm:\\n  Installed: (none)\\n  Candidate: (none)\\n"; exit 0; }\n'
                'exec /usr/bin/apt-cache "$@"\n')
    proc = _run_sh(tmp_path, {"apt-cache": no_xterm})
    assert proc.returncode == 1
    errors = [x for x in (proc.stdout + proc.stderr).splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and "xterm" in errors[0] and "hint:" in errors[0], proc.stdout + proc.stderr
    assert "apt-get install" not in proc.stdout


@pytest.mark.skipif(shutil.which("sudo") is not None, reason="this machine has sudo")
def test_run_sh_without_root_or_sudo_says_what_to_do(tmp_path: Path) -> None:
    proc = _run_sh(tmp_path, {"id": '[ "$1" = "-u" ] && { echo 1000; exit 0; }\nexec /usr/bin/id "$@"\n'})
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and re.search(r"^error: missing Debian packages .* no sudo.*hint: ", out, re.M), out


def _outside_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment with nothing of this checkout or its venv in it."""
    keep = ("LANG", "PIP_CERT", "PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT", "SSL_CERT_FILE", "SSL_CERT_DIR",
            "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), PATH="/usr/local/bin:/usr/bin:/bin",
               PIP_CACHE_DIR=str(Path(os.environ.get("PIP_CACHE_DIR", Path.home() / ".cache" / "pip"))))
    return env


def _use_outside_the_checkout(owntrace: Path, tmp_path: Path, env: dict[str, str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    doctor = subprocess.run([str(owntrace), "doctor"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in doctor.stderr, doctor.stderr
    assert "tesseract" in doctor.stdout.lower() or "ocr" in doctor.stdout.lower(), doctor.stdout
    out = elsewhere / "bundle"
    demo = subprocess.run([str(owntrace), "demo", "--export", str(out)], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=400)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    result = verify_bundle(out)
    assert result.ok, result.problems
    steps = [json.loads(x) for x in result.files["steps.jsonl"].decode().splitlines()]
    assert {"click", "type"} <= {s["action"]["type"] for s in steps}


@pytest.mark.x11
def test_plain_pip_install_works_outside_the_checkout(tmp_path: Path) -> None:
    # a copy, so that nothing of the checkout's own build or venv can leak into the install
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv", "*.egg-info", "build", "__pycache__"))
    env = _outside_env(tmp_path)
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(src)], env=env, capture_output=True,
                         text=True, timeout=1200)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-3000:]
    shutil.rmtree(src)  # the install must carry everything it reads
    _use_outside_the_checkout(venv / "bin" / "owntrace", tmp_path, env)


@pytest.mark.x11
@pytest.mark.skipif(shutil.which("pipx") is None, reason="pipx is not installed (run.sh installs it)")
def test_pipx_install_gives_a_working_owntrace(tmp_path: Path) -> None:
    env = _outside_env(tmp_path)
    env.update(PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "pipx-bin"))
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv", "*.egg-info", "build", "__pycache__"))
    proc = subprocess.run(["pipx", "install", str(src)], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    shutil.rmtree(src)
    exe = tmp_path / "pipx-bin" / "owntrace"
    doctor = subprocess.run([str(exe), "doctor"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in doctor.stderr and doctor.stdout, doctor.stdout + doctor.stderr
