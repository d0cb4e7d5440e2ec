"""The one object a touchscreen holds: every service of the terminal, the event bus, and the UI's
heartbeat; plus :class:`UiSettings`, what the UI takes from the config.

The composition root (kiosk.runtime) builds both and hands them to the app; the app never gets
the runtime, the config, a driver or the gateway (an import-linter contract keeps kiosk.screens
away from those packages).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kiosk.events import EventBus
from kiosk.services.checkin import CheckinService, PrintOutcome
from kiosk.services.flows import (
    BookingService,
    FeedbackService,
    GuideService,
    ProgressService,
    StaffService,
    WalkinService,
)
from kiosk.services.maintenance import MaintenanceService
from kiosk.services.scans import ScanReader
from kiosk.services.session import SessionManager
from kiosk.services.staff_pin import PinGate
from kiosk.watchdog import UiHeartbeat

if TYPE_CHECKING:  # the screens import this module; the config and the clock are not theirs to import
    from kiosk.clock import Clock
    from kiosk.config import Config


@dataclass
class TerminalInfo:
    """Who this terminal is (shown on the home and maintenance screens)."""

    terminal_id: str
    name: str
    hall: str
    hall_code: str
    profile: str
    regions: list[str]
    version: str
    name_en: str = ""     # the terminal's and the hall's names in English sessions
    hall_en: str = ""

    def names(self, lang: str) -> tuple[str, str]:
        """(hall, terminal) as shown in ``lang`` (the Chinese where no English is configured)."""
        en = lang == "en"
        return (self.hall_en if en and self.hall_en else self.hall), (self.name_en if en and self.name_en else self.name)


@dataclass(frozen=True)
class UiSettings:
    """What a touchscreen takes from the terminal's config (``ui.*``, ``runtime.state_dir``)."""

    width: int = 1280
    height: int = 800
    fullscreen: bool = False
    font: str = ""              # ui.font: a CJK font file; "" = find Noto Sans CJK SC
    state_dir: str = "var"      # where the prepared font faces are cached (<state_dir>/cache/fonts)
    speech: bool = True         # spoken prompts in elder mode

    @classmethod
    def from_config(cls, cfg: Config) -> UiSettings:
        """The settings of a loaded :class:`kiosk.config.Config`."""
        return cls(width=cfg.get("ui.width"), height=cfg.get("ui.height"), fullscreen=bool(cfg.get("ui.fullscreen")),
                   font=cfg.get("ui.font", ""), state_dir=cfg.get("runtime.state_dir", "var"),
                   speech=bool(cfg.get("ui.speech", True)))


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
    maintenance: MaintenanceService
    scans: ScanReader
    bus: EventBus               # the screens subscribe here (and hand events to Kivy's main thread)
    heartbeat: UiHeartbeat      # the UI beats it; the runtime feeds the systemd watchdog from it
    #: The staff's door-to-door flows (kiosk.services.mobile.MobileService) in the mobile profile
    #: (``terminal.profile = "mobile"``); None on a hall kiosk.
    mobile: Any = None
    staff_pin: PinGate | None = None  # the maintenance PIN and its lock-out: outlives the screen, and restarts

    @property
    def clock(self) -> Clock:
        """The terminal's clock (hall time; the demo's can be moved)."""
        return self.sessions.clock

    def health(self) -> dict[str, Any]:
        """Devices, network, outbox depth: for the maintenance screen and telemetry."""
        return self.maintenance.health()

    def end_visit(self) -> None:
        """The citizen left (session ended, or back home): no later request reuses the
        idempotency key of one of theirs (kiosk.services.attempts)."""
        self.checkin.attempts.reset()

    def print_guide(self, code: str) -> PrintOutcome:
        """Print the service guide of item ``code`` (a PrintOutcome; faults reported, never raised)."""
        return self.guide.print_guide(code, self.checkin)

    @property
    def online(self) -> bool:
        """Whether the central network is reachable now."""
        return self.maintenance.online
