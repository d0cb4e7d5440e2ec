"""The terminal's wheel, built as pip builds it (an isolated build from pyproject.toml and setup.py):
only what a terminal needs, and the message catalogues compiled in (the .mo files are not
committed: the build makes them from the .po files). Needs the package index for the build's
own requirements (setuptools, Babel): skipped, saying so, where pip cannot reach it.

Built from a copy of what the wheel is made of, without any .mo and without the build and egg-info
directories a build leaves in a checkout: setuptools reads an old build's SOURCES.txt back, so a
build in the checkout could ship stale files, and the .mo a checkout compiled would hide a build
that compiles none."""
from __future__ import annotations

import gettext
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Why so long: the isolated build installs setuptools and Babel first (about 15 s on a quiet
#: machine with the index in reach); this bounds a hung pip, it is not a speed check.
BUILD_TIMEOUT_S = 600
#: What the terminal's distribution is made of (pyproject.toml names the packages, README and LICENSE).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "kiosk", "firmware_bridge", "hall_common")
CATALOGUES = [f"kiosk/screens/locale/{lang}/LC_MESSAGES/kiosk.mo" for lang in ("zh_CN", "en")] + [
    f"kiosk/screens/mobile/locale/{lang}/LC_MESSAGES/mobile.mo" for lang in ("zh_CN", "en")]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Iterator[zipfile.ZipFile]:
    out, src = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copyfile(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
                          cwd=out, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if proc.returncode and ("No matching distribution" in proc.stderr or "NewConnectionError" in proc.stderr):
        pytest.skip(f"pip cannot fetch the build's requirements: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (whl,) = out.glob("hall_kiosk-*.whl")
    with zipfile.ZipFile(whl) as z:
        yield z


def test_the_wheel_holds_the_terminals_packages_only(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist() if not name.startswith("hall_kiosk-")}
    assert tops == {"kiosk", "firmware_bridge", "hall_common"}


def test_the_wheel_carries_every_catalogue_compiled_from_its_po(wheel, tmp_path):
    names = set(wheel.namelist())
    assert set(CATALOGUES) <= names
    wheel.extract("kiosk/screens/locale/zh_CN/LC_MESSAGES/kiosk.mo", tmp_path)
    zh = gettext.translation("kiosk", str(tmp_path / "kiosk/screens/locale"), languages=["zh_CN"])
    assert zh.gettext("Back to home") == "返回首页"
