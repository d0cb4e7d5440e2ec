"""The staff PIN of the maintenance screen: its check and its lock-out, for the terminal's whole run.

The PIN is checked against ``ui.maintenance_pin_hash`` (kiosk.pin: PBKDF2-SHA256, compared in
constant time). After MAX_FAILURES wrong PINs it locks for LOCK_S seconds, each further lockout
twice as long (kiosk.trust.ratelimit.PinLimiter): a 4-6 digit PIN must not be guessable by trying
at the terminal.

Why a service and not the screen: screens are dropped when a session ends and the kiosk is back
home (kiosk.screens.kioskapp), so a limiter the screen held began again at zero each time someone
left the staff screen and came back (three guesses a visit, as many visits as wanted). This one is
built once by the runtime. Its state (failure and lockout counts, the lock's end in wall-clock
seconds; never a PIN) is also kept in the state directory, ``staff_pin.json``, so that restarting
the kiosk does not lift a lock either.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from kiosk.clock import Clock
from kiosk.pin import verify_pin
from kiosk.trust.ratelimit import PinLimiter

log = logging.getLogger("kiosk.services.staff_pin")

#: The maintenance screen is stricter than the limiter's defaults: a kiosk stands in a public hall.
MAX_FAILURES = 3
LOCK_S = 60.0
#: The file in the state directory.
STATE_FILE = "staff_pin.json"


class PinGate:
    """Checks the staff PIN through the limiter; times on the runtime's clock (monotonic for the
    lock while running, wall-clock seconds in the file: monotonic time starts anew at boot)."""

    def __init__(self, stored_hash: str, clock: Clock | None = None, state_dir: str | Path | None = None) -> None:
        self.stored_hash = stored_hash
        self.clock = clock or Clock()
        self.limiter = PinLimiter(failures_before_lock=MAX_FAILURES, first_lock_s=LOCK_S)
        self.path = Path(state_dir) / STATE_FILE if state_dir else None
        self._load()

    def locked_s(self) -> float:
        """Seconds left of the lock (0 when open)."""
        return self.limiter.locked_for_s(self.clock.monotonic())

    def check(self, pin: str) -> bool:
        """Verify ``pin`` unless locked; a failure counts towards the lock."""
        now = self.clock.monotonic()
        if not self.stored_hash or not self.limiter.allowed(now):
            return False
        if verify_pin(pin, self.stored_hash):
            self.limiter.success()
            self._save()
            return True
        lock_s = self.limiter.failure(now)
        if lock_s:
            log.warning("maintenance PIN locked after wrong PINs", extra={"lock_s": lock_s, "locks": self.limiter.locks})
        self._save()
        return False

    # -- the state directory -------------------------------------------------------------------
    def _save(self) -> None:
        if self.path is None:
            return
        lim = self.limiter
        left = lim.locked_for_s(self.clock.monotonic())
        data = {"failures": lim.failures, "locks": lim.locks,
                "locked_until": self.clock.now().timestamp() + left if left else 0.0}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as e:   # the lock still holds for this run; only a restart would lift it
            log.warning("staff PIN state not saved", extra={"path": str(self.path), "error": str(e)})

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            failures, locks = int(data["failures"]), int(data["locks"])
            until = float(data["locked_until"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("staff PIN state unreadable, starting afresh", extra={"path": str(self.path), "error": str(e)})
            return
        lim = self.limiter
        lim.failures, lim.locks = max(0, failures), max(0, locks)
        # Why capped: a wall clock set back (or a file from the future) must not lock staff out
        # for longer than the longest lock the limiter ever gives.
        left = min(lim.max_lock_s, max(0.0, until - self.clock.now().timestamp()))
        lim.locked_until_s = self.clock.monotonic() + left if left else 0.0
