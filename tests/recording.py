"""Recording bus events in tests, and waiting on them with a Condition (no sleeps)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from kiosk.events import Event, EventBus

#: Upper bound for an awaited condition; a pass takes milliseconds. Never a speed assertion.
WAIT_S = 15.0


class Recorder:
    """Collects every event under ``prefix`` (a role such as ``idcard``, or ``*``)."""

    def __init__(self, bus: EventBus, prefix: str = "*", timeout_s: float = WAIT_S) -> None:
        self.events: list[Event] = []
        self.timeout_s = timeout_s
        self._cond = threading.Condition()
        bus.subscribe(prefix, self._on)

    def _on(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def topics(self, exclude_state: bool = False) -> list[str]:
        """Topics so far, in order (without ``<role>.state`` when ``exclude_state``)."""
        with self._cond:
            return [e.topic for e in self.events if not (exclude_state and e.topic.endswith(".state"))]

    def data(self, topic: str) -> list:
        """The data of every event on ``topic``."""
        with self._cond:
            return [e.data for e in self.events if e.topic == topic]

    def count(self, topic: str) -> int:
        """How many events on ``topic``."""
        return len(self.data(topic))

    def mark(self) -> int:
        """A position: pass it as ``after`` to look only at later events."""
        with self._cond:
            return len(self.events)

    def wait(self, predicate: Callable[[], object], timeout_s: float | None = None) -> None:
        """Wait until ``predicate()`` holds (checked on every event); fail with the topics seen."""
        with self._cond:
            ok = self._cond.wait_for(predicate, timeout=timeout_s or self.timeout_s)
        assert ok, f"condition not met; events: {self.topics()}"

    def wait_for(self, topic: str, pred: Callable[[Event], bool] = lambda e: True, after: int = 0,
                 timeout_s: float | None = None) -> Event:
        """The first event on ``topic`` at index >= ``after`` that matches ``pred``."""
        def find():
            return next((e for e in self.events[after:] if e.topic == topic and pred(e)), None)
        with self._cond:
            found = self._cond.wait_for(find, timeout=timeout_s or self.timeout_s)
        assert found, f"no {topic} event; got {[e.topic for e in self.events[after:]]}"
        return found
