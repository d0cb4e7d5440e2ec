"""The device roles: the one list of what a terminal may have, and what each role's drivers promise.

A role is a kind of device the terminal uses (the resident ID-card reader, the ticket printer...),
named by its config table (``[devices.<role>]``) and by the prefix of the events its driver
publishes (``idcard.identity``, ``printer.error``). :data:`ROLES` is read by every part that must
know the roles: config validation (unknown roles are errors), the CLI (``kiosk doctor --device``),
the doctor (a required role missing, the default driver of a probe, the read event it waits
for, what a URL names), the session (which reads identify a citizen and which removals end
their session) and the UI (which events mean "a card is being read" and "a code was scanned").
The drivers themselves are registered by name in ``pyproject.toml`` (entry points
``kiosk.drivers``, read by :mod:`kiosk.devices.registry`); each role has an in-memory driver,
``<role>.virtual`` (:mod:`kiosk.devices.virtual`), for tests and for a terminal without that
hardware.

The interfaces are :class:`typing.Protocol` classes: what services and the doctor call on a
driver of the role, beyond the lifecycle every driver has (:class:`Driver`). The contract test
(tests/kiosk/devices/test_driver_contract.py) holds every registered driver to its role's.
Standard library only: config, at the bottom of the runtime, reads this module.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Camera", "Driver", "IdCardReader", "Printer", "ROLES", "Role", "Scanner", "SmartCardReader",
           "by_name", "names"]


@runtime_checkable
class Driver(Protocol):
    """What every driver has: its names, its options, the lifecycle and its health."""

    role: str
    driver_name: str
    OPTIONS: Mapping[str, Any]

    @property
    def state(self) -> Any:
        """A :class:`kiosk.devices.base.DeviceState`."""

    def start(self) -> None:
        """Open the device and start its thread; returns at once and never raises for a missing
        device (the state goes to ERROR and the driver keeps retrying). Twice is the same as once."""

    def stop(self) -> None:
        """Stop the thread and close the device (state CLOSED). Twice is the same as once."""

    def health(self) -> Any:
        """A :class:`kiosk.devices.base.Health` (no citizen data)."""


@runtime_checkable
class IdCardReader(Driver, Protocol):
    """Publishes ``idcard.presented``, ``idcard.identity`` (an Identity, in memory only) and
    ``idcard.removed``."""

    def read_once(self, timeout_s: float = 10.0) -> Any:
        """The technician's probe: wait for a card and return its identity."""


@runtime_checkable
class SmartCardReader(Driver, Protocol):
    """Publishes ``smartcard.inserted``, ``smartcard.read`` (the card profile's fields) and
    ``smartcard.removed``."""

    def read_once(self, timeout_s: float = 10.0) -> Any:
        """The technician's probe: wait for a card and return what was read (with ``masked()``)."""


@runtime_checkable
class Scanner(Driver, Protocol):
    """Publishes ``scanner.scan`` (a classified :class:`kiosk.trust.payload.Payload`)."""

    def forget(self) -> None:
        """Forget recent codes (a session ended: the next citizen may scan the same one)."""


@runtime_checkable
class Camera(Driver, Protocol):
    """Publishes ``camera.scan`` (a classified Payload); gives stills for staff document photos."""

    def forget(self) -> None:
        """Forget recent codes."""

    def capture_still(self, timeout_s: float = 2.0) -> Any:
        """A copy of the next frame (in memory only)."""


@runtime_checkable
class Printer(Driver, Protocol):
    """Prints tickets and slips; publishes ``printer.printed`` and ``printer.error``."""

    def status(self) -> Any:
        """Ask the printer for its status (paper, cover, online)."""

    def print_ticket(self, doc: Any) -> Any:
        """Print one document; a typed PrinterFault or DeviceUnavailable when it cannot."""

    def test_page(self) -> Any:
        """Print a test page."""


#: What ``devices.<role>.url`` names (the doctor checks each kind its own way without opening it).
PORT = "port"        # a serial port, pty or input node: it must exist and be readable and writable
READER = "reader"    # a PC/SC reader's name (a substring; "" = the first reader): nothing to look at
SOURCE = "source"    # a camera index, a device node, a video file, an image folder or a stream URL
LINK = "link"        # tcp://host:port, a serial path or usb://VID:PID


@dataclass(frozen=True)
class Role:
    """One row of the roles table."""

    name: str                 # the config table [devices.<name>] and the events' prefix
    title: str                # what it is, for a technician
    interface: type           # the Protocol its drivers implement
    required: bool            # a hall kiosk (terminal.profile = "kiosk") is incomplete without it
    driver: str               # the usual driver: `kiosk doctor --device <name>` builds it
    url: str                  # what its url names: PORT, READER, SOURCE or LINK
    reads: str = ""           # what one read carries: "identity" (a citizen's card), "code" (a scanned text), ""
    read_event: str = ""      # the event of one read
    presented_event: str = ""  # a card arrived, before its read (the screen shows "reading")
    removed_event: str = ""   # the card left: a session its read began ends

    @property
    def virtual(self) -> str:
        """The in-memory driver's registry name (kiosk/devices/virtual.py)."""
        return f"{self.name}.virtual"

    @property
    def state_event(self) -> str:
        """The event every driver publishes on a state change (kiosk.devices.base.Device._set_state)."""
        return f"{self.name}.state"


#: Every role, in the order the doctor checks them. Why idcard and printer are required: a hall
#: kiosk's first flow is "place your ID card, take your ticket"; without either, staff must know.
ROLES: tuple[Role, ...] = (
    Role("idcard", "resident ID-card reader (SAM module)", IdCardReader, True, "idcard.sam-serial", PORT,
         reads="identity", read_event="idcard.identity", presented_event="idcard.presented",
         removed_event="idcard.removed"),
    Role("smartcard", "PC/SC smart-card reader (social security card, staff card)", SmartCardReader, False,
         "smartcard.pcsc", READER, reads="identity", read_event="smartcard.read",
         presented_event="smartcard.inserted", removed_event="smartcard.removed"),
    Role("scanner", "QR/barcode scanner (serial or keyboard wedge)", Scanner, False, "scanner.serial", PORT,
         reads="code", read_event="scanner.scan"),
    Role("camera", "camera reading QR codes and taking document photos", Camera, False, "camera.opencv",
         SOURCE, reads="code", read_event="camera.scan"),
    Role("printer", "ESC/POS ticket printer", Printer, True, "printer.escpos", LINK),
)

_BY_NAME: dict[str, Role] = {r.name: r for r in ROLES}


def names() -> tuple[str, ...]:
    """Every role's name."""
    return tuple(_BY_NAME)


def by_name(name: str) -> Role:
    """The role called ``name`` (KeyError if there is none)."""
    return _BY_NAME[name]
