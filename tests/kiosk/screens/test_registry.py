"""kiosk.screens.registry: the kiosk's screens are found by their ``SCREENS`` tables, not listed.
Run in a child process on the session's Xvfb: finding them imports every module of the package,
the app's too, and importing Kivy's Window opens a window."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.kiosk.screens.conftest import ROOT

pytestmark = pytest.mark.ui

FIND = "import json; from kiosk.screens import registry; print(json.dumps(registry.screen_modules()))"


def _found(display: str) -> dict:
    out = subprocess.run([sys.executable, "-c", FIND], cwd=ROOT, env=dict(os.environ, DISPLAY=display),
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_every_screen_module_is_found_with_its_screens_and_nothing_else(display):
    found = _found(display)
    # every .kv but the app's root and the shared widgets' rules is a screen module's twin
    assert set(found.values()) == {kv.stem for kv in (ROOT / "kiosk" / "screens").glob("*.kv")} - {"app", "widgets"}
    assert {"home", "identify", "checkin", "ticket", "message", "progress", "guide", "walkin", "feedback", "book",
            "maintenance"} <= set(found.values())
    assert found["home"] == "home" and found["book_slot"] == "book" and found["consult"] == "feedback"
    assert all((ROOT / "kiosk" / "screens" / f"{module}.kv").exists() for module in found.values())


def test_a_screen_named_by_two_modules_is_refused(tmp_path, monkeypatch):
    from kiosk.screens import registry
    pkg = tmp_path / "screens_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for mod in ("one", "two"):
        (pkg / f"{mod}.py").write_text("SCREENS = {'same': object}\n")
    (pkg / "helper.py").write_text("X = 1\n")   # no SCREENS table: not a screen module
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "PACKAGE", "screens_pkg")
    monkeypatch.setattr(registry, "HERE", pkg)
    with pytest.raises(LookupError, match="'same' is in both one and two"):
        registry.screen_modules()
    (pkg / "two.py").write_text("SCREENS = {'other': object}\n")
    monkeypatch.delitem(sys.modules, "screens_pkg.two", raising=False)
    assert registry.screen_modules() == {"same": "one", "other": "two"}
