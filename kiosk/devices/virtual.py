"""The in-memory driver of every role (``<role>.virtual``): for tests, and for a terminal without
that hardware (``driver = "printer.virtual"``).

Each is a real driver on the skeleton (:class:`kiosk.devices.skeleton.ThreadedDevice`): the same
states, the same events (``idcard.identity``, ``printer.printed``...) and the same typed errors as
the role's hardware drivers, from what its caller hands it instead of a wire: a card placed, a code
shown, paper running out. ``unplug()`` and ``plug()`` take the device away and give it back, so the
reconnect path is exercised too. Nothing leaves memory: a citizen's identity handed to a virtual
reader is published like a real read and kept only while "on the reader".
"""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from firmware_bridge.escpos.document import PROFILES, TicketDoc, get_profile
from firmware_bridge.escpos.encoder import encode
from firmware_bridge.escpos.status import PrinterStatus
from kiosk.config import Field
from kiosk.devices.base import DeviceError, DeviceState, DeviceTimeout, DeviceUnavailable
from kiosk.devices.printer import PrintResult, fault_for
from kiosk.devices.skeleton import ThreadedDevice
from kiosk.events import EventBus
from kiosk.trust.payload import Deduper, classify

#: Whether the virtual device is there when it starts (false: ERROR until ``plug()``).
PRESENT = Field(bool, True, doc="the device is there at start; false = unplugged until plug()")
#: Reader name the virtual smart-card reader reports.
VIRTUAL_READER = "Virtual PC/SC reader"


class VirtualDevice(ThreadedDevice):
    """What every virtual driver shares: present or unplugged, on the skeleton's reconnect loop."""

    #: In memory there is nothing to wait for: READY the moment start() returns.
    CONNECT_IN_START = True
    #: Why short: a test that plugs a virtual device back waits at most this for READY.
    RECONNECT_BASE_S = 0.02
    RECONNECT_CAP_S = 0.2
    OPTIONS: Mapping[str, Field] = {"present": PRESENT}

    def __init__(self, url: str, options: Mapping[str, Any] | None, bus: EventBus) -> None:
        super().__init__(url, options, bus)
        self._present = bool(self.options["present"])
        self._changed = threading.Event()
        self._cond = threading.Condition()  # what a caller handed over (a card, a frame) is guarded by it

    def plug(self) -> None:
        """The device is back: READY at the next reconnect attempt."""
        self._present = True
        self._changed.set()

    def unplug(self) -> None:
        """The device is gone: ERROR with :class:`DeviceUnavailable`, as a pulled cable."""
        self._present = False
        self._changed.set()

    def _unavailable(self) -> DeviceUnavailable:
        return DeviceUnavailable(f"the virtual {self.role} is unplugged",
                                 action=f"plug() it back, or configure a real {self.role} driver")

    def _ready(self) -> None:
        """Raise the typed error a real driver would when it cannot act now."""
        if not self._present:
            raise self._unavailable()
        if self._stop.is_set():
            raise DeviceUnavailable(f"the {self.role} driver is stopped", action="start the runtime")

    # -- the link (kiosk.devices.skeleton) -------------------------------------------------------
    def _connect(self) -> bool:
        if not self._present:
            raise self._unavailable()
        return True

    def _serve(self, link: bool) -> None:
        while not self._stop.is_set():
            self._changed.wait()
            self._changed.clear()
            if not self._present and not self._stop.is_set():
                raise self._unavailable()

    def _interrupt(self) -> None:
        self._changed.set()
        with self._cond:
            self._cond.notify_all()


class _VirtualCardReader(VirtualDevice):
    """A card reader: a card is placed (presented, then read) and removed."""

    def __init__(self, url: str, options: Mapping[str, Any] | None, bus: EventBus) -> None:
        super().__init__(url, options, bus)
        self._card: Any = None

    def remove(self) -> None:
        """Take the card away (``<role>.removed``); nothing if there is none."""
        with self._cond:
            card, self._card = self._card, None
        if card is not None:
            self._removed()

    def read_once(self, timeout_s: float = 10.0) -> Any:
        """The card on the reader, waiting up to ``timeout_s`` for one."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._card is not None or not self._present, timeout_s):
                raise DeviceTimeout(f"no card presented within {timeout_s:g} s", action="place a card")
            if self._card is None:
                raise self._unavailable()
            return self._card

    def _place(self, card: Any) -> None:
        with self._cond:
            self._card = card
            self._cond.notify_all()
        self._set_state(DeviceState.BUSY)
        self._set_state(DeviceState.READY)

    def _removed(self, **extra: Any) -> None:
        raise NotImplementedError

    def _lost(self, error: DeviceError) -> None:
        with self._cond:
            card, self._card = self._card, None
            self._cond.notify_all()
        if card is not None:
            self._removed(reason="device lost")
        super()._lost(error)

    def _stopped(self) -> None:
        with self._cond:
            self._card = None


class VirtualIdCardReader(_VirtualCardReader):
    """An ID-card reader: ``place(identity)`` publishes ``idcard.presented`` then ``idcard.identity``."""

    role = "idcard"
    driver_name = "idcard.virtual"

    def place(self, identity: Any) -> None:
        """A card with ``identity`` (a firmware_bridge.idcard Identity, or the same fields) is placed."""
        self._ready()
        self.remove()  # a different card replaced the first
        self.bus.publish("idcard.presented", None, source=self.role)
        self._place(identity)
        self.log.info("card read", extra={"card_type": getattr(identity, "card_type", "")})
        self.bus.publish("idcard.identity", identity, source=self.role)

    def _removed(self, **extra: Any) -> None:
        self.bus.publish("idcard.removed", None, source=self.role, **extra)


class VirtualSmartCardReader(_VirtualCardReader):
    """A PC/SC reader: ``insert(fields)`` publishes ``smartcard.inserted`` then ``smartcard.read``."""

    role = "smartcard"
    driver_name = "smartcard.virtual"
    OPTIONS = {"present": PRESENT,
               "profile": Field(str, "social-security", doc="the profile name its reads report")}

    def insert(self, fields: Mapping[str, Any], *, atr: str = "3B00", uid: str | None = None) -> None:
        """A card whose profile fields are ``fields`` is inserted and read."""
        self._ready()
        self.remove()
        info = {"reader": VIRTUAL_READER, "atr": atr, "uid": uid, "protocol": "T=1"}
        self.bus.publish("smartcard.inserted", info, source=self.role)
        data = dict(fields)
        self._place(data)
        self.bus.publish("smartcard.read", data, source=self.role, reader=VIRTUAL_READER,
                         profile=self.options["profile"], atr=atr, uid=uid)

    def _removed(self, **extra: Any) -> None:
        self.bus.publish("smartcard.removed", {"reader": VIRTUAL_READER}, source=self.role)


class _VirtualCodeReader(VirtualDevice):
    """A code reader: a shown code is classified and published once per ``dedupe_s``."""

    OPTIONS = {"present": PRESENT,
               "dedupe_s": Field(float, 2.0, min=0, max=60, doc="the same code again within this is ignored (s)")}

    def __init__(self, url: str, options: Mapping[str, Any] | None, bus: EventBus) -> None:
        super().__init__(url, options, bus)
        self._dedupe = Deduper(float(self.options["dedupe_s"]))

    def _code(self, text: str) -> bool:
        self._ready()
        with self._cond:
            if not self._dedupe.is_new(text, time.monotonic()):
                return False
        payload = classify(text)
        self.log.info("scan", extra={"device": self.role, "kind": payload.kind, "chars": len(text)})
        self.bus.publish(f"{self.role}.scan", payload, source=self.role)
        return True

    def forget(self) -> None:
        """Forget recent codes (a session ended)."""
        with self._cond:
            self._dedupe.clear()


class VirtualScanner(_VirtualCodeReader):
    """A QR/barcode scanner: ``scan(text)`` publishes ``scanner.scan``."""

    role = "scanner"
    driver_name = "scanner.virtual"

    def scan(self, text: str) -> bool:
        """A code is scanned; False if it repeats one within ``dedupe_s``."""
        return self._code(text)


class VirtualCamera(_VirtualCodeReader):
    """A camera: ``show(text)`` publishes ``camera.scan``; ``frame(image)`` is its next still."""

    role = "camera"
    driver_name = "camera.virtual"

    def __init__(self, url: str, options: Mapping[str, Any] | None, bus: EventBus) -> None:
        super().__init__(url, options, bus)
        self._frame: Any = None

    def show(self, text: str) -> bool:
        """A code is held in front of the camera; False if it repeats one within ``dedupe_s``."""
        return self._code(text)

    def frame(self, image: Any) -> None:
        """The camera sees ``image`` (a numpy array, in memory only)."""
        with self._cond:
            self._frame = image
            self._cond.notify_all()

    def capture_still(self, timeout_s: float = 2.0) -> Any:
        """A copy of the frame it sees, waiting up to ``timeout_s`` for one."""
        self._ready()
        with self._cond:
            if not self._cond.wait_for(lambda: self._frame is not None, timeout_s):
                raise DeviceTimeout(f"no frame from the camera within {timeout_s} s",
                                    action="check the camera; try again")
            return self._frame.copy() if hasattr(self._frame, "copy") else self._frame

    def _stopped(self) -> None:
        with self._cond:
            self._frame = None


class VirtualPrinter(VirtualDevice):
    """A ticket printer that keeps what it prints (``printed``: the documents, in memory) and
    refuses with the real driver's typed errors while out of paper or open."""

    role = "printer"
    driver_name = "printer.virtual"
    OPTIONS = {"present": PRESENT,
               "profile": Field(str, "default-80mm", choices=tuple(PROFILES), doc="paper width and capabilities")}

    def __init__(self, url: str, options: Mapping[str, Any] | None, bus: EventBus) -> None:
        super().__init__(url, options, bus)
        self.profile = get_profile(self.options["profile"])
        self.printed: list[TicketDoc] = []
        self._status = PrinterStatus()
        self._fault_code: str | None = None

    def set_paper_out(self, on: bool) -> None:
        """The roll runs out (or staff load a new one)."""
        self._set_status(paper_out=on)

    def set_cover_open(self, on: bool) -> None:
        """The cover is opened (or closed)."""
        self._set_status(cover_open=on)

    def status(self) -> PrinterStatus:
        """The printer's status."""
        self._ready()
        return self._status

    def print_ticket(self, doc: TicketDoc) -> PrintResult:
        """Keep ``doc`` as printed; PaperOut / CoverOpen / DeviceUnavailable when it cannot print."""
        data = encode(doc, self.profile)  # a TicketError here is the service's bug, as with the real one
        self._ready()
        fault = fault_for(self._status)
        if fault is not None:
            raise fault
        with self._cond:
            self.printed.append(doc)
        result = PrintResult(uuid.uuid4().hex[:12], True, True, len(data), self._status)
        self.bus.publish("printer.printed", result.to_dict(), source=self.role)
        return result

    def test_page(self) -> PrintResult:
        """Print a test page."""
        return self.print_ticket(TicketDoc().text("打印机测试页", size=2, bold=True, align="center").cut())

    def _set_status(self, **flags: bool) -> None:
        with self._cond:
            self._status = PrinterStatus(**{**self._status.to_dict(), **flags})
        fault = fault_for(self._status)
        if fault is None:
            self._fault_code = None
            if self._present and self.state == DeviceState.ERROR:
                self._set_state(DeviceState.READY)
            return
        if fault.code != self._fault_code:
            self._fault_code = fault.code
            self.bus.publish("printer.error", fault.to_dict(), source=self.role)
        if self.state != DeviceState.CLOSED:
            self._set_state(DeviceState.ERROR, fault)

    def _connected(self, link: bool) -> None:
        self._reconnect.connected()
        fault = fault_for(self._status)  # plugged back in while still out of paper: ERROR at once
        self._set_state(DeviceState.READY if fault is None else DeviceState.ERROR, fault)
