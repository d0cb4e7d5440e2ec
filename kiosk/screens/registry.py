"""Which screens the kiosk has: found, not listed. A screen module is a module of
``kiosk.screens`` with a ``SCREENS = {name: class}`` table (and a ``.kv`` twin beside it); a new
flow's screen is enrolled by being there. Why found: the hand-kept list in the app was one more
file to touch for every flow, and a screen left off it was only noticed when a citizen tapped it.

The phone app's screens (the ``mobile`` sub-package) are its own and are not looked at.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

PACKAGE = "kiosk.screens"
HERE = Path(__file__).parent


def screen_modules() -> dict[str, str]:
    """Screen name -> the short name of the module that builds it, for every module of the package
    that has a ``SCREENS`` table. Imports every module of the package (the app asks once, when it
    first shows a screen it has not built; no widget is made here). Raises ``LookupError`` when
    two modules name the same screen: which one the kiosk showed would depend on file order."""
    found: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if info.ispkg:
            continue
        screens = getattr(importlib.import_module(f"{PACKAGE}.{info.name}"), "SCREENS", None)
        for name in screens or {}:
            if name in found:
                raise LookupError(f"screen {name!r} is in both {found[name]} and {info.name}")
            found[name] = info.name
    return found
