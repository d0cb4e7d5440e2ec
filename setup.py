"""The terminal's build, beyond what pyproject.toml declares: the touchscreens' message catalogues
compiled into the wheel (every ``LC_MESSAGES/*.po`` under ``kiosk/`` -> its ``.mo``, through Babel,
as ``python -m tools.i18n compile`` makes them for a checkout: fuzzy entries left out).

Why at build time: the .mo files are made from the .po files, so they are not committed (each new
message touched two binary files that said nothing a reviewer could read; docs/ARCHITECTURE.md
"Languages"). The terminal reads .mo files with Python's gettext and needs neither Babel nor the
.po parser at run time. Self-contained on purpose: an sdist carries no ``tools/``.
"""
from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def compile_catalogues(root: Path) -> list[Path]:
    """Compile every ``kiosk/**/LC_MESSAGES/*.po`` under ``root``; the .mo files written."""
    from babel.messages.mofile import write_mo  # a build requirement (pyproject.toml), not a runtime one
    from babel.messages.pofile import read_po
    written = []
    for po in sorted(Path(root).glob("kiosk/**/LC_MESSAGES/*.po")):
        with open(po, "rb") as f:
            catalog = read_po(f)
        with open(po.with_suffix(".mo"), "wb") as f:
            write_mo(f, catalog)
        written.append(po.with_suffix(".mo"))
    return written


class BuildPyWithCatalogues(build_py):
    """build_py, then the catalogues compiled beside their .po files in the build directory."""

    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):   # an editable install reads the checkout's own
            compile_catalogues(Path(self.build_lib))


if __name__ == "__main__":   # setuptools runs this file as __main__; tests import compile_catalogues
    setup(cmdclass={"build_py": BuildPyWithCatalogues})
