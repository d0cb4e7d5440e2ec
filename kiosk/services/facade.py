"""The one object screens hold: every service of the terminal, and the terminal's health."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.services.checkin import CheckinService
from kiosk.services.flows import (BookingService, FeedbackService, GuideService, ProgressService,
                                  StaffService, WalkinService)
from kiosk.services.session import SessionManager
from kiosk.services.staff_pin import PinGate


@dataclass
class TerminalInfo:
    """Who this terminal is (shown on the home and maintenance screens)."""

    terminal_id: str
    name: str
    hall: str
    hall_code: str
    profile: str
    regions: list
    version: str
    name_en: str = ""     # the terminal's and the hall's names in English sessions
    hall_en: str = ""

    def names(self, lang: str) -> tuple[str, str]:
        """(hall, terminal) as shown in ``lang`` (the Chinese where no English is configured)."""
        en = lang == "en"
        return (self.hall_en if en and self.hall_en else self.hall), (self.name_en if en and self.name_en else self.name)


@dataclass
class Services:
    """Everything a screen may call. Screens never reach drivers or the gateway directly."""

    info: TerminalInfo
    sessions: SessionManager
    checkin: CheckinService
    progress: ProgressService
    guide: GuideService
    booking: BookingService
    walkin: WalkinService
    feedback: FeedbackService
    staff: StaffService
    staff_pin: PinGate   # the maintenance PIN and its lock-out: outlives the screen, and restarts
    runtime: Any  # for health(), devices' self-test and the maintenance screen

    def health(self) -> dict:
        """Devices, network, outbox depth: for the maintenance screen and telemetry."""
        return self.runtime.health()

    def end_visit(self) -> None:
        """The citizen left (session ended, or back home): no later request reuses the
        idempotency key of one of theirs (kiosk.services.attempts)."""
        self.checkin.attempts.reset()

    def print_guide(self, code: str):
        """Print the service guide of item ``code`` (a PrintOutcome; faults reported, never raised)."""
        return self.guide.print_guide(code, self.checkin)

    @property
    def online(self) -> bool:
        """Whether the central network is reachable now."""
        return bool(self.runtime.gateway and self.runtime.gateway.online)
