"""Service calls off Kivy's main thread: run in a worker, hand the result back with Clock.

Network I/O (requests to the central service, durable submits waiting for an acknowledgement)
would freeze the touchscreen if run on the UI thread. ``run_async`` starts a daemon worker,
counts it in :data:`BUSY` (the busy overlay binds to it) and calls ``on_done(result)`` or
``on_error(exc)`` on the main thread. Callbacks are dropped when their ``token`` became stale (the
session ended meanwhile), so a late answer never paints a new citizen's screen with old data.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock

log = logging.getLogger("kiosk.screens.async")


class Busy:
    """How many calls are running; ``listeners`` are called on the main thread on each change."""

    def __init__(self) -> None:
        self.count = 0
        self.listeners: list[Callable[[int], None]] = []
        self._lock = threading.Lock()

    def _change(self, delta: int) -> None:
        with self._lock:
            self.count += delta
            n = self.count
        Clock.schedule_once(lambda dt: [f(n) for f in list(self.listeners)])


BUSY = Busy()
_threads: list[threading.Thread] = []


def run_async(fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None,
              valid: Callable[[], bool] | None = None, name: str = "kiosk-ui-call") -> threading.Thread:
    """Run ``fn(*args)`` in a worker thread; deliver the outcome on the main thread."""
    def deliver(cb, value) -> None:
        def on_main(dt) -> None:
            if valid is not None and not valid():
                log.info("stale result dropped", extra={"call": name})
                return
            if cb is not None:
                cb(value)
        Clock.schedule_once(on_main)

    def work() -> None:
        try:
            result = fn(*args)
        except BaseException as e:  # every failure goes to on_error, never lost
            deliver(on_error, e)
        else:
            deliver(on_done, result)
        finally:
            BUSY._change(-1)

    BUSY._change(+1)
    t = threading.Thread(target=work, name=name, daemon=True)
    _threads[:] = [w for w in _threads if w.is_alive()]  # finished ones: nothing to join, don't pile up all day
    _threads.append(t)
    t.start()
    return t


def join_all(timeout_s: float = 5.0) -> None:
    """Wait for the workers started so far (app shutdown, tests)."""
    for t in list(_threads):
        t.join(timeout_s)
    _threads.clear()
