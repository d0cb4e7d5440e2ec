"""UI test helpers: one private Xvfb per test session, tours run in child processes.

Kivy creates its window once per process, so each scenario is a child process
(``python -m kiosk.screens.testrun``) on the shared Xvfb display.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def display():
    """A private Xvfb display (:N) for the whole test session."""
    from tools.xvfb import Xvfb
    x = Xvfb(1920, 1080).start()
    try:
        yield x.display
    finally:
        x.stop()


@pytest.fixture(scope="session")
def tour():
    """``tour(display, out, tour_name, langs, size)`` -> (exit code, result.json, output)."""
    return run_tour


@pytest.fixture(scope="session")
def real_png():
    """``real_png(path, (w, h))`` asserts a real screenshot."""
    return assert_real_png


def run_tour(display: str, out: Path, tour: str = "foundation", langs: str = "zh_CN",
             size: str = "1280x800", timeout_s: float = 120) -> tuple[int, dict, str]:
    """Run one tour in a child process; returns (exit code, result.json, output)."""
    env = dict(os.environ, DISPLAY=display, KIVY_NO_ARGS="1", KIVY_USE_DEFAULTCONFIG="1",
               KIVY_NO_CONSOLELOG="1", KIVY_WINDOW="sdl2", KIOSK_FONT_CACHE=str(out.parent / "fontcache"))
    proc = subprocess.run([sys.executable, "-m", "kiosk.screens.testrun", "--tour", tour, "--out", str(out),
                           "--langs", langs, "--size", size], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout_s)
    result_file = out / "result.json"
    result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else {}
    return proc.returncode, result, proc.stdout + proc.stderr


def assert_real_png(path: str, size: tuple[int, int]) -> None:
    """The file is a PNG of the window's size with real content (not one flat colour)."""
    from PIL import Image
    with Image.open(path) as img:
        assert img.format == "PNG", path
        assert img.size == size, (path, img.size)
        colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is None or len(colours) > 50, f"{path}: almost blank ({len(colours)} colours)"
