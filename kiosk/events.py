"""The in-process event bus: devices and the gateway publish, services subscribe.

Dispatch is synchronous on the publisher's thread and never lets a subscriber's exception reach
the publisher (a device thread must not die because a screen failed). Subscribers that touch
widgets hand over to Kivy's main thread themselves (kiosk/screens does it with Clock).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("kiosk.events")


@dataclass(frozen=True)
class Event:
    """One event: a dotted topic (``idcard.identity``), the source role and a payload."""

    topic: str
    source: str = ""
    data: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Event], None]


class EventBus:
    """Topic-prefix publish/subscribe (``idcard`` matches ``idcard.removed``; ``*`` matches all)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[tuple[str, Handler]] = []

    def subscribe(self, prefix: str, handler: Handler) -> Callable[[], None]:
        """Register ``handler`` for topics starting with ``prefix``; returns an unsubscribe function."""
        entry = (prefix, handler)
        with self._lock:
            self._subs.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)
        return unsubscribe

    def publish(self, topic: str, data: Any = None, source: str = "", **extra: Any) -> Event:
        """Deliver an event to every matching subscriber, in subscription order."""
        event = Event(topic, source, data, extra)
        with self._lock:
            subs = list(self._subs)
        for prefix, handler in subs:
            if prefix == "*" or topic == prefix or topic.startswith(prefix + "."):
                try:
                    handler(event)
                except Exception:
                    log.exception("event handler failed", extra={"topic": topic})
        return event
