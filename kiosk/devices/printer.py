"""The ESC/POS ticket printer driver (role "printer", registry name "printer.escpos").

Owns the link to one printer (tcp://host:9100, a serial port or pty, usb://VID:PID) and the rule
that a ticket counts as printed only when the printer says so: ESC/POS has no delivery receipt,
so the driver asks DLE EOT status before a job (paper out, cover open, offline -> a typed error,
nothing sent) and after it (paper ran out mid-job -> :class:`PaperOut`, not printed). Bytes come
from ``firmware_bridge.escpos.encoder``; status bytes are decoded by ``firmware_bridge.escpos.status``.

Events: ``printer.state`` (from the base class), ``printer.printed`` (job size and status, never
ticket content: it may carry a citizen's data) and ``printer.error`` once per fault. A lost link
or a fault wakes the driver's link thread (the skeleton's, :mod:`kiosk.devices.skeleton`), which
retries as the shared reconnect supervisor says (:class:`Backoff`: capped, full jitter) until the
printer can print again; a print in between also tries to reopen the link once.

Known limit: a real printer answers DLE EOT as soon as it receives it, possibly before the job in
its buffer is on paper; the after-job check therefore catches a fault that is already reported
when the job has been received (paper end mid-job on the simulator and on buffered clones).
"""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import serial

from firmware_bridge.escpos.document import PROFILES, TicketDoc, get_profile
from firmware_bridge.escpos.encoder import encode
from firmware_bridge.escpos.status import FULL_REQUEST, KINDS, PrinterStatus, StatusError, decode_status
from kiosk.config import Field
from kiosk.devices import transport
from kiosk.devices.base import Backoff, DeviceError, DeviceState, DeviceTimeout, DeviceUnavailable, Health
from kiosk.devices.skeleton import ThreadedDevice
from kiosk.events import EventBus


class PrinterFault(DeviceError):
    """The printer is reachable but cannot print."""

    code = "printer.fault"
    citizen_message = "打印机暂时无法打印，请联系工作人员"


class PaperOut(PrinterFault):
    """No paper (before the job, or it ran out during the job)."""

    code = "printer.paper_out"
    citizen_message = "打印机缺纸，请联系工作人员"


class CoverOpen(PrinterFault):
    """The roll cover is open."""

    code = "printer.cover_open"
    citizen_message = "打印机盖未关好，请联系工作人员"


class PrinterOffline(PrinterFault):
    """The printer reports itself offline or in error (cutter jam, overheated head...)."""

    code = "printer.offline"
    citizen_message = "打印机暂时无法使用，请联系工作人员"


@dataclass(frozen=True)
class PrintResult:
    """What happened to one job. ``confirmed`` is False when status checks are off."""

    job_id: str
    printed: bool
    confirmed: bool
    bytes_sent: int
    status: PrinterStatus | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (no ticket content)."""
        return {"job_id": self.job_id, "printed": self.printed, "confirmed": self.confirmed,
                "bytes_sent": self.bytes_sent,
                "status": self.status.to_dict() if self.status else None}


def fault_for(status: PrinterStatus, during_job: bool = False) -> PrinterFault | None:
    """The typed error a status calls for, or None when the printer can print."""
    when = "during the job" if during_job else "before the job"
    consequence = "the ticket was not printed completely" if during_job else "nothing was printed"
    if status.paper_out:
        return PaperOut(f"printer reports paper out {when}", consequence=consequence,
                        action="staff: load a new paper roll and close the cover")
    if status.cover_open:
        return CoverOpen(f"printer reports its cover open {when}", consequence=consequence,
                         action="staff: close the printer cover firmly")
    if status.error:
        detail = "cutter error" if status.cutter_error else (
            "unrecoverable error" if status.unrecoverable else "recoverable error")
        return PrinterOffline(f"printer reports a {detail} {when}", consequence=consequence,
                              action="staff: clear any paper jam at the cutter, then power-cycle the printer")
    if not status.online:
        return PrinterOffline(f"printer reports offline {when}", consequence=consequence,
                              action="staff: check the printer's panel lights and press FEED once")
    return None


class _UsbPipe:
    """python-escpos's Usb printer behind the byte-pipe interface the driver uses."""

    def __init__(self, url: str, timeout_s: float) -> None:
        try:
            import usb.core  # noqa: F401  (pyusb is optional: only USB printers need it)
        except ImportError:
            raise DeviceUnavailable(f"{url}: USB printers need pyusb, which is not installed",
                                    action="install pyusb (pip install pyusb) and libusb-1.0-0, "
                                           "or connect the printer by network or serial") from None
        from escpos.printer import Usb
        try:
            vid, pid = (int(x, 16) for x in url[len("usb://"):].split(":"))
        except ValueError:
            raise DeviceUnavailable(f"{url}: expected usb://VID:PID in hex, e.g. usb://0416:5011",
                                    action="fix devices.printer.url") from None
        self._p = Usb(vid, pid, timeout=int(timeout_s * 1000))
        self._p.open()
        self.timeout = timeout_s

    def write(self, data: bytes) -> int:
        self._p._raw(data)
        return len(data)

    def read(self, n: int) -> bytes:
        return bytes(self._p._read())[:n]

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        pass

    def close(self) -> None:
        self._p.close()


class EscPosPrinter(ThreadedDevice):
    """An ESC/POS ticket printer over TCP, serial/pty or USB."""

    role = "printer"
    driver_name = "printer.escpos"
    #: Reconnect delays (s): a printer out of paper waits for staff, so the cap is long.
    RECONNECT_BASE_S = 0.5
    RECONNECT_CAP_S = 30.0
    CONNECT_IN_START = True
    OPTIONS = {
        "profile": Field(str, "default-80mm", choices=tuple(PROFILES),
                         doc="printer profile: paper width, native QR, code page"),
        "status_timeout_s": Field(float, 1.0, min=0.05, max=30.0,
                                  doc="how long to wait for the DLE EOT status answer (s)"),
        "check_status": Field(bool, True,
                              doc="ask DLE EOT before and after each job; false for one-way links"),
    }

    def __init__(self, url: str, options: Mapping[str, Any], bus: EventBus, *,
                 backoff: Backoff | None = None) -> None:
        super().__init__(url, options, bus, backoff=backoff)
        opts = self.options
        self.profile = get_profile(opts["profile"])
        self.status_timeout_s = float(opts["status_timeout_s"])
        self.check_status = bool(opts["check_status"])
        # Why: stop() waits for an attempt already on the wire: two status exchanges (a stale link
        # is reopened once) and a TCP connect.
        self.JOIN_TIMEOUT_S = 2 * self.status_timeout_s + 5.0
        self._lock = threading.RLock()  # one job or status exchange on the wire at a time
        self._port: Any = None
        self._fault_code: str | None = None
        self._last_status: PrinterStatus | None = None
        self._faulted = threading.Event()  # wakes the thread: a job or a status found a fault

    # -- lifecycle (kiosk.devices.skeleton) --------------------------------------------------------
    # The link thread checks the printer when it starts (in start() itself: a ticket may be printed
    # the next instant), then sleeps until a job or a status query finds a fault; it then retries
    # until the printer can print again. Jobs never wait for it: they open the link themselves.
    def _connect(self) -> bool:
        with self._lock:
            if self._state != DeviceState.READY:  # else a job in between already found it ready
                self._check_ready()
            self._faulted.clear()
            return True

    def _serve(self, link: bool) -> None:
        while not self._stop.is_set():
            self._faulted.wait()
            self._faulted.clear()
            error = self._error
            if self._state == DeviceState.ERROR and error is not None and not self._stop.is_set():
                raise error.with_traceback(None)  # the fault a job found, raised here afresh

    def _failed(self, error: DeviceError) -> None:
        with self._lock:
            self._fail(error)

    _lost = _failed

    def _interrupt(self) -> None:
        self._faulted.set()

    def _stopped(self) -> None:
        with self._lock:
            self._close()
            self._fault_code = None  # after a restart a fault is reported again

    def health(self) -> Health:
        """Health with the profile and the last status read."""
        h = super().health()
        h.detail = {"profile": self.profile.name,
                    "status": self._last_status.to_dict() if self._last_status else None}
        return h

    # -- public API -----------------------------------------------------------------------------
    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1..4) and return its status."""
        with self._lock:
            try:
                self._open()
                return self._query()
            except DeviceError as e:
                self._fail(e)
                raise

    def probe(self) -> DeviceState:
        """Ask the printer now (DLE EOT) and take its answer as the state: READY when it can print,
        ERROR with the fault when not. Why: after a fault the link thread asks again only when its
        backoff allows (up to RECONNECT_CAP_S); staff who have just loaded paper and run the
        self-test were told the printer was still out of paper. Never raises."""
        with self._lock:
            if self._stop.is_set():
                return self.state
            try:
                self._check_ready()
            except DeviceError as e:
                self._fail(e)
        return self.state

    def print_ticket(self, doc: TicketDoc) -> PrintResult:
        """Print one ticket; raise PaperOut / CoverOpen / PrinterOffline / DeviceUnavailable."""
        data = encode(doc, self.profile)  # a TicketError here is the service's bug: state unchanged
        job_id = uuid.uuid4().hex[:12]
        with self._lock:
            if self._stop.is_set():
                raise DeviceUnavailable("the printer driver is stopped", action="start the runtime")
            try:
                if self.check_status:
                    self._check_ready()
                else:
                    self._open()
                self._set_state(DeviceState.BUSY)
                self._write(data)
                after = self._query() if self.check_status else None
            except DeviceError as e:
                self._fail(e)
                raise
            if after is not None:
                fault = fault_for(after, during_job=True)
                if fault is not None:
                    self._fail(fault)
                    raise fault
            result = PrintResult(job_id, True, after is not None, len(data), after)
            self._ok()
        self.bus.publish("printer.printed", result.to_dict(), source=self.role)
        return result

    def test_page(self) -> PrintResult:
        """Print a test page: Chinese text in two sizes and a QR code."""
        doc = (TicketDoc()
               .text("打印机测试页", size=2, bold=True, align="center")
               .text(f"配置：{self.profile.name}，纸宽 {self.profile.paper_mm} 毫米", align="center")
               .rule()
               .text("中文字符测试：政务服务 一网通办")
               .qr("kiosk-printer-test-page", size=6)
               .feed(1)
               .cut())
        return self.print_ticket(doc)

    # -- internals (called with self._lock held) -------------------------------------------------
    def _open(self) -> None:
        if self._port is not None:
            return
        if self.url.startswith("usb://"):
            self._port = _UsbPipe(self.url, self.status_timeout_s)
        else:
            self._port = transport.open_url(self.url, timeout_s=self.status_timeout_s)

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (OSError, serial.SerialException):
                pass  # closing a dead link may fail; it is closed either way

    def _check_ready(self) -> PrinterStatus | None:
        """Open if needed and make sure the printer can print; reopen once on a stale link."""
        for attempt in (1, 2):
            try:
                self._open()
                if not self.check_status:
                    self._ok()
                    return None
                status = self._query()
                break
            except DeviceUnavailable:
                # Why retry once: a TCP link idle since the last job may have been cut (printer
                # power-save, switch restart); nothing was sent yet, so reopening is safe.
                self._close()
                if attempt == 2:
                    raise
        fault = fault_for(status)
        if fault is not None:
            raise fault
        self._ok()
        return status

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except (OSError, serial.SerialException) as e:
            self._close()
            raise DeviceUnavailable(f"link to the printer lost while sending: {e}",
                                    consequence="the ticket may be incomplete",
                                    action="check the printer's cable or network, then print again") from e

    def _query(self) -> PrinterStatus:
        """One DLE EOT 1..4 exchange: four requests, four answer bytes."""
        port = self._port
        try:
            port.reset_input_buffer()  # a stale answer must not be read as this one's
            port.write(FULL_REQUEST)
            port.flush()
            answer = b""
            deadline = time.monotonic() + self.status_timeout_s
            while len(answer) < len(KINDS):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                port.timeout = remaining
                answer += port.read(len(KINDS) - len(answer))
        except (OSError, serial.SerialException) as e:
            self._close()
            raise DeviceUnavailable(f"link to the printer lost: {e}",
                                    action="check the printer's power, cable or network") from e
        if len(answer) < len(KINDS):
            self._close()
            raise DeviceTimeout(f"printer gave {len(answer)} of {len(KINDS)} status bytes "
                                f"within {self.status_timeout_s} s",
                                action="check the printer is on; for a one-way link set check_status = false")
        try:
            status = decode_status(answer)
        except StatusError as e:
            self._close()
            raise DeviceUnavailable(e.reason, action=e.action) from e
        self._last_status = status
        return status

    def _ok(self) -> None:
        self._fault_code = None
        self._reconnect.connected()
        self._set_state(DeviceState.READY)

    def _fail(self, error: DeviceError) -> None:
        """Enter ERROR with ``error``; publish printer.error once per fault; wake the link thread."""
        if error.code != self._fault_code:
            self._fault_code = error.code
            self.bus.publish("printer.error", error.to_dict(), source=self.role)
            with self._state_lock:  # a different fault while already in ERROR: show the new one
                if self._state == DeviceState.ERROR:
                    self._error = error
        self._set_state(DeviceState.ERROR, error)
        self._faulted.set()
