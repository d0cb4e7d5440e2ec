"""The house (docs/ARCHITECTURE.md "Layers"), checked on every `make test`: the layer contracts of
pyproject.toml hold (import-linter: packages point down, the runtime's layers, no import cycle),
no module grows past 500 lines, and ruff and mypy ([tool.ruff], [tool.mypy]) find nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Why 500: a module a newcomer reads in one sitting, with one owner and one concern (the design
#: notes' anti-models are 5,000- and 7,000-line files).
MAX_LINES = 500
PACKAGES = ("hall_common", "firmware_bridge", "kiosk", "central/hall_central", "demo/hall_demo")


def test_the_layer_contracts_hold():
    """lint-imports on the contracts in pyproject.toml: a broken one names the import chain."""
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_no_module_over_500_lines():
    too_long = {str(p.relative_to(ROOT)): n for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"


def _tool(name: str) -> str:
    """The venv's own executable (the versions pinned in the dev extra), beside this Python."""
    return str(Path(sys.executable).with_name(name))


def test_ruff_finds_nothing():
    """ruff check on the whole tree (its rules: [tool.ruff] in pyproject.toml); a finding names
    file, line and rule. Under a second: no cache is written."""
    r = subprocess.run([_tool("ruff"), "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]


#: Why 600 s: a fresh clone has no mypy cache; the whole tree (328 files and the stubs of their
#: imports) took 13 s of CPU and 40 s of wall time on this project's 2-core machine while other
#: work ran; with its cache (.mypy_cache, kept between runs) it takes about 1.5 s.
MYPY_TIMEOUT_S = 600


@pytest.mark.timeout(MYPY_TIMEOUT_S + 60)
def test_mypy_finds_nothing():
    """mypy on the tree [tool.mypy] names (strict on the ground floor, the codecs and the runtime
    below its screens; normal checking for the screens, the central network, the demo, the tools
    and the tests); an error names file, line and code."""
    r = subprocess.run([_tool("mypy"), "--config-file", str(ROOT / "pyproject.toml")], cwd=ROOT,
                       capture_output=True, text=True, timeout=MYPY_TIMEOUT_S)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]


def test_no_merge_conflict_markers():
    """No ``<<<<<<<`` / ``>>>>>>>`` line left by a merge in any tracked file: gettext's parser read
    three catalogues' headers with them in silently (found in session 15), and a marker in code or
    data may not fail loudly either. Needs the git checkout (CI clones it)."""
    marker = "^(" + "<" * 7 + "|" + ">" * 7 + ")( |$)"
    r = subprocess.run(["git", "grep", "-n", "-I", "-E", marker], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1, r.stdout[-4000:] + r.stderr[-2000:]  # 1: nothing found; 0: found; else: error
