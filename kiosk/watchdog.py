"""systemd notification (``sd_notify``) with the standard library: READY, WATCHDOG, STOPPING.

systemd passes ``$NOTIFY_SOCKET`` (a unix datagram socket path, or ``@name`` for the abstract
namespace) to a ``Type=notify`` service; one datagram per message. ``WatchdogSec=`` sets
``$WATCHDOG_USEC``: the service must send ``WATCHDOG=1`` more often than that or systemd kills and
restarts it. The runtime feeds the watchdog from the same loop that drives the sessions, so a hung
core stops the feeding; a UI on top beats a :class:`UiHeartbeat` the runtime reads, so a hung UI
stops it too. Outside systemd every call is a no-op.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("kiosk.watchdog")


class Notifier:
    """Sends sd_notify datagrams to ``$NOTIFY_SOCKET`` (or nothing if it is unset)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = env.get("NOTIFY_SOCKET") or ""
        if self.address.startswith("@"):
            self.address = "\0" + self.address[1:]  # abstract namespace
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watched = usec.isdigit() and (not pid or pid == str(os.getpid()))
        #: How often to feed (s): half the watchdog period, as sd_watchdog_enabled(3) advises.
        self.interval_s = int(usec) / 2e6 if watched else None

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notify socket."""
        return bool(self.address)

    def notify(self, state: str) -> bool:
        """Send one ``KEY=VALUE`` message; False if not under systemd or the send failed."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.sendto(state.encode("utf-8"), self.address)
            return True
        except OSError as e:
            log.warning("sd_notify failed: %s", e)
            return False

    def ready(self, status: str = "") -> bool:
        """``READY=1`` (and a status line): the service has started."""
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: still alive."""
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        """``STOPPING=1``: shutting down on purpose."""
        return self.notify("STOPPING=1")


class UiHeartbeat:
    """The UI's beats, read by whoever feeds the watchdog (kiosk.runtime): the UI is handed this
    object (through the services), never the runtime. Before :meth:`attach` the core runs headless
    and counts as alive; after it, only while the UI's main loop has beaten within ``hang_s``."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        #: The last beat (monotonic s), None while no UI is attached.
        self.last: float | None = None

    def attach(self) -> None:
        """A UI runs on top: from now on it must beat."""
        self.last = self.monotonic()

    def beat(self) -> None:
        """Called by the UI from its own main loop (about once a second): the UI is alive."""
        self.last = self.monotonic()

    def alive(self, hang_s: float) -> bool:
        """No UI attached, or its last beat is less than ``hang_s`` old."""
        last = self.last
        return last is None or self.monotonic() - last < hang_s
