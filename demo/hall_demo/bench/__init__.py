"""The benchmark suite (issue 8): measured speed, each figure beside a baseline from the same run.

Why same-run baselines: this machine is shared and noisy, so absolute times drift between runs
while ratios to a baseline measured minutes apart on the same core hold. One module per area
(:mod:`.qr`, :mod:`.idcard`, :mod:`.mqtt`, :mod:`.central`, :mod:`.startup`), :mod:`.machine`
describes the machine, :mod:`.report` turns figures into the human table and the JSON object.
``kiosk bench [--json] [--quick]`` and ``make bench`` call :func:`main`.
"""
from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """``kiosk bench`` entry point (imports the areas lazily: ``kiosk --help`` stays fast)."""
    from hall_demo.bench.runner import main as _main
    return _main(argv)
