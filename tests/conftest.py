"""Test hygiene for the whole suite: no leaked threads, and shared fixtures for real parts.

A test that leaves a non-daemon thread running fails (pymodbus's conftest idea): leaked threads
are how a driver that "works" hangs a kiosk at shutdown.
"""
from __future__ import annotations

import os
import threading
import time

import pytest

# Kivy reads these at import; the UI tests import it in subprocesses, but be safe everywhere.
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_USE_DEFAULTCONFIG", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")


@pytest.fixture(scope="session", autouse=True)
def catalogues_compiled():
    """The touchscreens' .mo catalogues made from the .po files before any test runs: they are
    build outputs, not committed, so a fresh clone or worktree has none and an edited .po makes
    the old one stale (a no-op when they are current; written atomically, so sessions that run at
    once do not read half a file)."""
    from tools import i18n
    i18n.compile_all()


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves a new non-daemon thread behind (after a short grace period)."""
    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 3.0
    while True:
        leaked = [t for t in threading.enumerate()
                  if t.ident not in before and t.is_alive() and not t.daemon]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"leaked threads: {[t.name for t in leaked]}"


@pytest.fixture(autouse=True)
def logging_levels_restored():
    """Put the root logger's level and handlers back after each test: in-process CLI commands
    (``kiosk doctor`` sets the root to CRITICAL so only its own lines print) must not silence
    the logs later tests read), and every named logger's level (``kiosk bench`` sets ``kiosk`` to
    ERROR, which silenced the debug lines test_logs reads when a bench test ran first)."""
    import logging
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    named = {name: lg.level for name, lg in logging.root.manager.loggerDict.items()
             if isinstance(lg, logging.Logger)}
    yield
    root.setLevel(level)
    for name, lg in list(logging.root.manager.loggerDict.items()):
        if isinstance(lg, logging.Logger) and lg.level != named.get(name, logging.NOTSET):
            lg.setLevel(named.get(name, logging.NOTSET))
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    for h in handlers:
        if h not in root.handlers:
            root.addHandler(h)


@pytest.fixture
def broker(tmp_path):
    """A private Mosquitto on a free port (real broker, our config, TCP_NODELAY on)."""
    from hall_demo.broker import Broker
    b = Broker(workdir=tmp_path / "broker").start()
    yield b
    b.cleanup()
