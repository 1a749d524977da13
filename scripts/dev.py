#!/usr/bin/env python3
"""Bootstrap for a fresh machine: needs only Python 3.11+ (standard library only).

    python3 scripts/dev.py run              install, then start the platform (quick start)
    python3 scripts/dev.py test [ARGS...]   install with the test extras, then run pytest ARGS

Both create `.venv` when missing and reinstall the project only when pyproject.toml changed
since the last install, so a second run starts at once.
"""

from __future__ import annotations

import ctypes.util
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PYTHON = BIN / "python"
STAMP = VENV / ".relais-install.json"
TRANSLATIONS = ROOT / "relais_platform" / "translations"
CHROMIUM = Path("/usr/bin/chromium")


def say(message: str) -> None:
    print(f"[relais] {message}", flush=True)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(*packages: str) -> bool:
    """Install Debian packages when we are root on a Debian-like system; True on success."""
    if not (is_root() and shutil.which("apt-get")):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    say(f"apt-get install {' '.join(packages)}")
    update = subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
    install = subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        env=env, stdout=subprocess.DEVNULL,
    )
    return update.returncode == 0 and install.returncode == 0


def ensure_venv() -> None:
    if PYTHON.exists():
        return
    say(f"creating {VENV.relative_to(ROOT)} with {sys.executable}")
    if subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode == 0:
        return
    # Debian and Ubuntu ship venv's pip bootstrap in a separate package.
    shutil.rmtree(VENV, ignore_errors=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if apt_install(f"{version}-venv") and subprocess.run(
        [sys.executable, "-m", "venv", str(VENV)]
    ).returncode == 0:
        return
    shutil.rmtree(VENV, ignore_errors=True)
    sys.exit(f"Could not create a virtual environment: install {version}-venv "
             f"(e.g. `sudo apt-get install {version}-venv`) and try again.")


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _installed() -> dict:
    try:
        return json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}


def ensure_installed(with_tests: bool) -> None:
    stamp = _installed()
    fresh = stamp.get("pyproject") == _fingerprint()
    if fresh and (stamp.get("test") or not with_tests):
        return
    target = ".[test]" if with_tests else "."
    say(f"pip install -e {target} (first run: a minute or two)")
    command = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        sys.exit("pip install failed (see above).")
    STAMP.write_text(json.dumps({"pyproject": _fingerprint(), "test": with_tests}))


def compile_translations() -> None:
    if not any(TRANSLATIONS.glob("*/LC_MESSAGES/*.po")):
        return
    result = subprocess.run(
        [str(BIN / "pybabel"), "-q", "compile", "-d", str(TRANSLATIONS)], cwd=ROOT
    )
    if result.returncode != 0:
        sys.exit("pybabel compile failed (see above).")


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def ensure_pango() -> None:
    """WeasyPrint (PDF exports) loads Pango from the system, not from PyPI, and the receipts
    in Arabic, Dari and Ukrainian need a font with those scripts (DejaVu)."""
    if ctypes.util.find_library("pangoft2-1.0") and DEJAVU.exists():
        return
    if apt_install("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"):
        return
    say("Pango or the DejaVu fonts are missing: install them (`sudo apt-get install "
        "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core`) for the PDF exports.")


def ensure_chromium() -> None:
    """End-to-end tests drive Debian's Chromium: never a browser downloaded by a tool."""
    if CHROMIUM.exists():
        return
    if apt_install("chromium", "fonts-liberation") and CHROMIUM.exists():
        return
    say(f"{CHROMIUM} is missing: install Debian's chromium package (`sudo apt-get install "
        "chromium`) to run the end-to-end tests.")


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 (run by whatever python3 the machine has)
        sys.exit("Relais Platform needs Python 3.11 or newer.")
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command not in ("run", "test"):
        print(__doc__.strip())
        return 2
    ensure_venv()
    ensure_installed(with_tests=command == "test")
    compile_translations()
    ensure_pango()
    os.chdir(ROOT)
    if command == "run":
        os.execv(BIN / "relais-platform", [str(BIN / "relais-platform"), "run", *args])
    ensure_chromium()
    return subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
