"""The house (docs/ARCHITECTURE.md "Layers"), checked on every `make test`: the layer contracts of
pyproject.toml hold (import-linter: packages point down, the runtime's layers, no import cycle),
and no module grows past 500 lines."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
