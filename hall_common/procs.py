"""Stopping the child processes the simulators, the demo and the tools start (broker, Xvfb, pcscd,
the central service)."""
from __future__ import annotations

import subprocess
from typing import Any


def stop_process(proc: subprocess.Popen[Any] | None, timeout_s: float = 5.0) -> None:
    """SIGTERM, wait ``timeout_s``; then SIGKILL and reap. Safe on None or an exited process."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout_s)
