"""QR/barcode scanner drivers (role ``scanner``): serial (``scanner.serial``) and keyboard wedge
(``scanner.wedge``).

Both turn what the scanner sends into texts, classify every text with
:func:`kiosk.trust.payload.classify` and publish, on the bus:

- ``scanner.scan``  data = :class:`~kiosk.trust.payload.Payload` (a repeat within ``dedupe_s``
  is dropped; nothing acts on a scan before classification);
- ``scanner.error`` data = a typed error (a garbled frame; the scanner stays READY);
- ``scanner.state`` published by :class:`~kiosk.devices.base.Device` on every state change.

Both run on the driver skeleton (:mod:`kiosk.devices.skeleton`). Serial: its link thread owns the
port (pyserial), decodes with
:class:`firmware_bridge.scanner.codec.ScanCodec` and, after an unplug, reopens the URL as the
shared reconnect supervisor says (capped backoff with full jitter; use a ``/dev/serial/by-id/...``
URL: the device comes back under a new tty name). Wedge: the Kivy layer calls :meth:`WedgeScanner.feed` from ``Window.on_key_down``; if
``device`` names an evdev node and the optional ``evdev`` package is installed, the link thread
reads that keyboard directly (and grabs it, so scans do not also type into the UI); fed by the UI,
it is READY when started and its thread only waits for the stop. Scanned texts are
never logged: only their kind and length.
"""
from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import serial

from firmware_bridge.scanner.codec import ENCODINGS, TERMINATORS, ScanCodec, ScanCodecError
from firmware_bridge.scanner.wedge import EV_KEY, KeyTranslator, WedgeClassifier
from kiosk.config import Field
from kiosk.devices.base import DeviceUnavailable, Health
from kiosk.devices.skeleton import ThreadedDevice
from kiosk.devices.transport import open_url
from kiosk.events import EventBus
from kiosk.trust.payload import Deduper, classify

#: Serial read timeout (s): bounds how long stop() waits for the reader thread, and is the idle
#: gap that ends a frame when the scanner sends no terminator.
READ_TIMEOUT_S = 0.1
#: What a wedge fed by the UI has for a link: nothing to open.
_UI_FED = "ui"


def _wire_bytes(text: str) -> bytes:
    """Config string -> bytes: latin-1, so TOML "\\u0002" (STX) is the single byte 0x02."""
    return text.encode("latin-1")


class _ScannerBase(ThreadedDevice):
    role = "scanner"
    #: Reconnect backoff after an unplug (s): first delay bound and cap.
    RECONNECT_BASE_S = 0.1
    RECONNECT_CAP_S = 5.0
    #: How long stop() waits for the thread (s); every loop wakes at least every READ_TIMEOUT_S.
    JOIN_TIMEOUT_S = 2.0

    def __init__(self, url: str, options: Mapping[str, Any], bus: EventBus, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(url, options, bus)
        self._clock = clock
        self._dedupe = Deduper(float(self.options.get("dedupe_s", 2.0)))
        self._dedupe_lock = threading.Lock()
        self.scans = 0  # texts published (health detail)
        self.errors = 0  # frames rejected

    def _emit_text(self, text: str) -> None:
        with self._dedupe_lock:
            if not self._dedupe.is_new(text, self._clock()):
                return
        payload = classify(text)
        self.scans += 1
        self.log.info("scan", extra={"device": self.role, "kind": payload.kind, "chars": len(text)})
        self.bus.publish("scanner.scan", payload, source=self.role)

    def _emit_error(self, error: ScanCodecError) -> None:
        self.errors += 1
        self.log.info("scan rejected", extra={"device": self.role, "code": error.code})
        self.bus.publish("scanner.error", error, source=self.role)

    def forget(self) -> None:
        """Forget recent scans (a citizen session ended: the next one may scan the same code)."""
        with self._dedupe_lock:
            self._dedupe.clear()

    def health(self) -> Health:
        """Health with scan counters."""
        h = super().health()
        h.detail.update(scans=self.scans, errors=self.errors)
        return h


class SerialScanner(_ScannerBase):
    """A scanner on a serial port (USB-CDC, RS-232, a pty), reconnecting after an unplug."""

    driver_name = "scanner.serial"
    OPTIONS = {
        "baudrate": Field(int, 9600, min=300, max=921600, doc="serial speed (baud)"),
        "prefix": Field(str, "", doc="bytes the scanner sends before a code (latin-1; \\u0002 = STX)"),
        "suffix": Field(str, "", doc="bytes the scanner sends after a code (latin-1; \\u0003 = ETX)"),
        "terminator": Field(str, "CR", choices=tuple(TERMINATORS),
                            doc="end of a scan; NONE = a pause of 0.1 s ends it"),
        "encoding": Field(str, "utf-8", choices=ENCODINGS, doc="text encoding set in the scanner"),
        "dedupe_s": Field(float, 2.0, min=0, max=60, doc="the same code again within this is ignored (s)"),
        "max_length": Field(int, 4096, min=16, max=65536, doc="longest accepted scan (bytes)"),
    }

    def __init__(self, url: str, options: Mapping[str, Any], bus: EventBus, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(url, options, bus, clock=clock)
        opts = self.options
        self.codec = ScanCodec(prefix=_wire_bytes(opts["prefix"]), suffix=_wire_bytes(opts["suffix"]),
                               terminator=opts["terminator"], encoding=opts["encoding"],
                               max_length=opts["max_length"])

    # -- the link (kiosk.devices.skeleton) -------------------------------------------------------
    def _connect(self) -> serial.Serial:
        return open_url(self.url, baudrate=self.options["baudrate"], timeout_s=READ_TIMEOUT_S)

    def _connected(self, port: serial.SerialBase) -> None:
        self.codec.reset()
        super()._connected(port)

    def _serve(self, port: serial.Serial) -> None:
        try:
            self._read_loop(port)
        except (serial.SerialException, OSError) as e:
            # pyserial#341: after an unplug reads fail ("readiness to read but returned no
            # data" or EIO); the port must be closed and opened again.
            raise DeviceUnavailable(f"scanner connection lost: {e}", action="check the scanner's USB cable",
                                    consequence="codes cannot be scanned until it is back") from e

    def _disconnect(self, port: serial.SerialBase) -> None:
        try:
            port.close()
        except Exception:  # closing a dead port may fail; it is gone either way
            pass

    def _read_loop(self, port: serial.Serial) -> None:
        while not self._stop.is_set():
            data = port.read(1)  # blocks up to READ_TIMEOUT_S
            if data:
                waiting = port.in_waiting
                if waiting:
                    data += port.read(waiting)
                results = self.codec.feed(data)
            else:
                results = self.codec.flush()  # idle gap: ends a frame only for terminator NONE
            for r in results:
                if isinstance(r, str):
                    self._emit_text(r)
                else:
                    self._emit_error(r)


class WedgeScanner(_ScannerBase):
    """A keyboard-wedge scanner: key events from Kivy (:meth:`feed`) or an evdev node."""

    driver_name = "scanner.wedge"
    OPTIONS = {
        "max_interkey_ms": Field(float, 30.0, min=1, max=500,
                                 doc="largest gap between a scanner's keys (ms); slower is a person"),
        "min_length": Field(int, 4, min=1, max=256, doc="shortest scan (chars)"),
        "device": Field(str, "", doc="evdev node of the scanner (/dev/input/by-id/...-kbd); "
                                     "empty = key events come from the UI"),
        "dedupe_s": Field(float, 2.0, min=0, max=60, doc="the same code again within this is ignored (s)"),
    }

    def __init__(self, url: str, options: Mapping[str, Any], bus: EventBus, *,
                 clock: Callable[[], float] = time.monotonic,
                 input_opener: Callable[[str], Any] | None = None) -> None:
        super().__init__(url, options, bus, clock=clock)
        self.device_path = self.options["device"] or url
        # Why the first attempt in start(): fed by the UI there is nothing to open, and the UI may
        # feed keys the moment the runtime has started.
        self.CONNECT_IN_START = not self.device_path
        self._ui = self._classifier()
        self._ui_lock = threading.Lock()
        # Why injectable: evdev is optional; tests pass a fake input device with a pipe fd.
        self._input_opener = input_opener

    def _classifier(self) -> WedgeClassifier:
        return WedgeClassifier(float(self.options["max_interkey_ms"]), int(self.options["min_length"]))

    def feed(self, char: str, t_s: float | None = None) -> bool:
        """One key from the UI (Kivy ``on_key_down``: the codepoint, or "\\r" for Enter) at time
        ``t_s`` (default: now); True if it completed a scan (the UI should then drop the key)."""
        with self._ui_lock:
            text = self._ui.feed(char, self._clock() if t_s is None else t_s)
        if text is None:
            return False
        self._emit_text(text)
        return True

    def _open_input(self) -> Any:  # an evdev.InputDevice (evdev is untyped and optional)
        if self._input_opener is not None:
            return self._input_opener(self.device_path)
        try:
            import evdev  # optional dependency: only terminals with a wedge on evdev need it
        except ImportError:
            raise DeviceUnavailable("the evdev package is not installed",
                                    action="pip install evdev, or leave options.device empty "
                                           "to take key events from the UI") from None
        try:
            dev = evdev.InputDevice(self.device_path)
        except OSError as e:
            raise DeviceUnavailable(f"cannot open {self.device_path}: {e}",
                                    action="check the scanner's cable and read access to /dev/input") from e
        try:
            dev.grab()  # keep scans out of the desktop's keyboard input
        except OSError:
            pass  # another reader holds the grab; we still read, the UI may see keys too
        return dev

    # -- the link (kiosk.devices.skeleton): the evdev node, or nothing when the UI feeds keys ------
    def _connect(self) -> Any:
        return self._open_input() if self.device_path else _UI_FED

    def _serve(self, dev: Any) -> None:
        if dev is _UI_FED:
            self._stop.wait()
            return
        keys, classifier = KeyTranslator(), self._classifier()
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([dev.fd], [], [], READ_TIMEOUT_S)
                if not ready:
                    continue
                for ev in dev.read():
                    if ev.type != EV_KEY:
                        continue
                    char = keys.key(ev.code, ev.value)
                    if char is not None:
                        text = classifier.feed(char, ev.timestamp())
                        if text is not None:
                            self._emit_text(text)
        except OSError as e:
            raise DeviceUnavailable(f"scanner keyboard lost: {e}", action="check the scanner's USB cable") from e

    def _disconnect(self, dev: Any) -> None:
        if dev is _UI_FED:
            return
        try:
            dev.close()
        except Exception:  # a vanished device may fail to close; it is gone either way
            pass
