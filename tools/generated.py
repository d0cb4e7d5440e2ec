"""One command line for every generated, committed file (docs/asyncapi.yaml, kiosk/network/
operations.py): write it, or with ``--check`` say whether the committed copy is current (exit 1
when stale; the tests run the check so a generator and its output cannot drift)."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def main(out: Path, render: Callable[[], str], description: str, regenerate: str) -> int:
    """Write ``render()`` to ``out``, or with --check compare; ``regenerate`` is the command to advise."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = render()
    if args.check:
        ok = out.exists() and out.read_text(encoding="utf-8") == text
        print(f"{out.name} is current" if ok else f"{out.name} is stale: run {regenerate}")
        return 0 if ok else 1
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0
