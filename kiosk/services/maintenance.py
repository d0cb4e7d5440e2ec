"""The terminal's own state for staff and operators: health (devices, network, outbox; never any
citizen data), the test page, and whether the central network is reachable.

The maintenance screen, telemetry (kiosk.runtime) and a remote ``print.test`` command all read or
print through this one service, so the report staff see and the one operators receive cannot
disagree. It holds the devices and the gateway; screens see only its methods.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.clock import Clock
from kiosk.devices.base import DeviceUnavailable
from kiosk.services import tickets
from kiosk.services.session import SessionManager

if TYPE_CHECKING:  # the gateway's link imports paho: services load without it
    from kiosk.network.gateway import Gateway


class Terminal(Protocol):
    """What health and the test page read of the terminal (kiosk.services.facade.TerminalInfo, which
    imports this module: a Protocol keeps the two out of an import cycle)."""

    @property
    def terminal_id(self) -> str: ...
    @property
    def hall(self) -> str: ...
    @property
    def version(self) -> str: ...


class MaintenanceService:
    """Health, test page and the network's state of one terminal."""

    def __init__(self, info: Terminal, gateway: Gateway, devices: Mapping[str, Any], clock: Clock, *,
                 follow_url: str = tickets.DEFAULT_FOLLOW_URL, started_at: float | None = None,
                 sessions: SessionManager | None = None) -> None:
        self.info, self.gateway, self.devices, self.clock = info, gateway, devices, clock
        self.sessions = sessions   # a card forgotten on a reader (presence only)
        self.follow_url = follow_url
        self.started_at = time.time() if started_at is None else started_at

    @property
    def online(self) -> bool:
        """Whether the central network is reachable now."""
        return bool(self.gateway and self.gateway.online)

    @property
    def has_printer(self) -> bool:
        """Whether a printer is configured (the test page needs one)."""
        return self.devices.get("printer") is not None

    def health(self) -> dict[str, Any]:
        """Devices, network and outbox: never any citizen data."""
        gw = self.gateway
        outbox: dict[str, Any] = getattr(gw, "outbox_health", dict)()  # a test's stand-in may have none
        return {
            "terminal": self.info.terminal_id,
            "version": self.info.version,
            "uptime_s": round(time.time() - self.started_at, 1),
            "online": bool(gw.online),
            "outbox_depth": gw.outbox_depth(),
            # Rows set aside because the central service's answers could not be read, the newest
            # few, and the outbox's disk alarms (full, read-only, corrupt file kept aside).
            "dead_letters": outbox.get("dead_letters", 0),
            "recent_dead_letters": outbox.get("recent_dead_letters", []),
            "outbox_alarms": outbox.get("alarms", []),
            "devices": {role: d.health().to_dict() for role, d in self.devices.items()},
            # Own topics the broker refused (SUBACK 0x87): the terminal is missing on the broker side.
            "refused_subscriptions": [d["topic"] for d in gw.refused_subscriptions()],
            # Seconds a citizen's card has lain on a reader since staff were alerted of it (its
            # session long over: kiosk.services.session.CARD_FORGOTTEN_S), else None.
            "card_forgotten_s": self.sessions.card_forgotten_s() if self.sessions is not None else None,
        }

    def not_ready(self) -> list[str]:
        """The roles of the devices that are not ready (the self-test's verdict; empty = all ready)."""
        return [role for role, d in self.health().get("devices", {}).items() if d.get("state") != "ready"]

    def self_test(self) -> list[str]:
        """The self-test: every device that can be asked now is asked (``probe``: the printer's
        status), then the verdict (:meth:`not_ready`). Slow: call it off the UI thread."""
        for device in self.devices.values():
            probe = getattr(device, "probe", None)
            if callable(probe):
                probe()
        return self.not_ready()

    def test_print(self) -> None:
        """Print the test page (slow: call it off the UI thread); raises the printer's DeviceError
        (DeviceUnavailable where no printer is configured)."""
        printer = self.devices.get("printer")
        if printer is None:
            raise DeviceUnavailable("no printer configured", action="configure devices.printer")
        printer.print_ticket(tickets.test_page(hall=self.info.hall, terminal=self.info.terminal_id,
                                               when=self.clock.now(), follow_url=self.follow_url))
