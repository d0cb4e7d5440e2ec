"""Start ``python -m hall_central`` as a real process and wait for its ready line: one helper for
the tests that drive the central service's command line (tests/security/test_central_cli.py,
tests/hall_central/test_front.py)."""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Why 60 s: a TLS handshake and a seeded database on a loaded 2-core machine.
READY_TIMEOUT_S = 60


def start(args: list[str], new_session: bool = False) -> tuple[subprocess.Popen, queue.Queue]:
    """Start the command line with ``args`` (plus ``--log-level warning``); its stdout lines arrive
    on the queue, then None at its end. ``new_session``: its own process group (for tests that
    signal the group)."""
    p = subprocess.Popen([sys.executable, "-m", "hall_central", *args, "--log-level", "warning"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=new_session)
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        assert p.stdout is not None  # PIPE
        for line in p.stdout:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=pump, daemon=True).start()
    return p, lines


def await_ready(proc: subprocess.Popen, lines: queue.Queue) -> None:
    """Wait for the service's ready line, failing with what the process did instead."""
    try:
        ready = lines.get(timeout=READY_TIMEOUT_S)
    except queue.Empty:
        ready = None
    assert ready and json.loads(ready)["ready"], (ready, proc.poll())
