"""The resident ID-card reader driver (SAM/GB serial protocol): role ``idcard``, ``idcard.sam-serial``.

One thread owns the port: it opens the URL (which may be a by-id symlink that later points at a
new device), checks the SAM (11 FF), then polls find (20 01) -> select (20 02) -> read (30 01 or
30 10) and publishes ``idcard.presented``, ``idcard.identity`` (data: an Identity, in memory
only), ``idcard.removed`` and ``idcard.error`` (data: the typed error, once per fault), plus
``idcard.state`` through :meth:`Device._set_state`. A missing or vanished reader never raises: the
state goes to ERROR and the thread reopens the URL as the shared reconnect supervisor says
(:class:`hall_common.reconnect.ReconnectSupervisor`: capped backoff with full jitter).

Presence: most readers answer "find failed" to 20 01 for a card that stays after it was read, so
a tracked card is considered present while 20 02 still selects it; readers that keep finding
it are recognised by the select serial and, after a read, by the ID number kept in memory.
"""
from __future__ import annotations

import termios
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import serial

from firmware_bridge.idcard import codec, status
from firmware_bridge.idcard.errors import IdentityError, ProtocolError, StatusError
from firmware_bridge.idcard.identity import Identity, parse_text
from kiosk.config import Field
from kiosk.devices.base import Backoff, DeviceError, DeviceState, DeviceTimeout, DeviceUnavailable, Health
from kiosk.devices.skeleton import ThreadedDevice
from kiosk.devices.transport import open_url
from kiosk.errors import ConfigError, KioskError
from kiosk.events import EventBus

#: pyserial read timeout per chunk: bounds how long stop() waits for the thread.
CHUNK_TIMEOUT_S = 0.05
#: Commands other than the card read answer within milliseconds on every reader seen; a longer
#: silence means the reader is gone.
COMMAND_TIMEOUT_S = 0.5
#: Why 3: one silent poll is not a lost reader. A starved process (the terminal's own CPU busy
#: drawing, or, in the demo, a simulator sharing two cores with a loaded machine) misses a 0.5 s
#: answer now and then, and treating that as "device lost" ended the citizen's session as if the
#: card had been pulled. A pulled card is an answer ("no card"), never a silence, so waiting for
#: three silent polls in a row delays only the report of a reader that is really gone (1.5 s).
LOST_AFTER_SILENT_POLLS = 3

#: Default pause between card polls (s). The protocol has no "card placed" signal: a card waits
#: for the next find, on average half this pause. At 0.3 s that added 150 ms on average to a read
#: whose wire time is 118 ms at 115200 baud (bench: 294 ms placed -> identity); at 0.05 s the
#: median is within wire time + 50 ms. A find and its answer take ~1.6 ms on the wire, so the
#: link stays ~3% busy, and each poll is one short write and read for the thread.
POLL_INTERVAL_S = 0.05

#: Photo decoder hooks by name: ``fn(wlt_bytes) -> decoded image`` (in memory; never to disk).
PHOTO_DECODERS: dict[str, Callable[[bytes], Any]] = {}


def register_photo_decoder(name: str, fn: Callable[[bytes], Any]) -> None:
    """Register a WLT photo decoder plug-in under ``name`` (selected by the photo_decoder option)."""
    PHOTO_DECODERS[name] = fn


class IdCardError(DeviceError):
    """A card-level fault: the reader works, this card's read did not."""

    code = "idcard.read"
    citizen_message = "读卡失败，请将身份证平放在读卡区，不要移动。"


class CardReadFailed(IdCardError):
    """The reader reported a failed read (e.g. SW3 0x41) or the card's data did not verify."""

    code = "idcard.read_failed"


class CardPulledMidRead(IdCardError):
    """The answer stopped half way: the card was taken away while it was being read."""

    code = "idcard.pulled_mid_read"


class SamFault(DeviceError):
    """The reader's SAM module refuses to work (self-test failed, not authorised)."""

    code = "idcard.sam"


class SamSerialReader(ThreadedDevice):
    """A SAM/GB ID-card reader on a serial or USB-CDC port."""

    role = "idcard"
    driver_name = "idcard.sam-serial"
    #: Reconnect delays: first retry within 0.1 s (a replug is usually instant), capped at 3 s so a
    #: technician who plugs the reader back sees it ready almost at once.
    RECONNECT_BASE_S = 0.1
    RECONNECT_CAP_S = 3.0
    OPTIONS = {
        "baudrate": Field(int, 115200, min=1200, max=921600, doc="serial speed (baud), 8N1"),
        "poll_interval_s": Field(float, POLL_INTERVAL_S, min=0.02, max=10, doc="pause between card polls (s)"),
        "read_timeout_s": Field(float, 2.0, min=0.1, max=30, doc="longest wait for a card read answer (s)"),
        "read_fingerprint": Field(bool, False, doc="read with 30 10 (text + photo + fingerprint)"),
        "photo_decoder": Field(str, "", doc="name of a registered WLT photo decoder hook; empty = off"),
    }

    def __init__(self, url: str, options: Mapping[str, Any], bus: EventBus, *,
                 backoff: Backoff | None = None) -> None:
        super().__init__(url, options, bus, backoff=backoff)
        name = self.options["photo_decoder"]
        if name and name not in PHOTO_DECODERS:
            raise ConfigError("<config>", "devices.idcard.options.photo_decoder",
                              "a registered photo decoder (" + ", ".join(sorted(PHOTO_DECODERS)) + ")", name)
        self._port: serial.Serial | None = None
        self._io_lock = threading.RLock()
        self._decoder = codec.Decoder("response")
        self.sam_id = ""
        # Presence tracking (in memory only; forgotten on removal).
        self._present = False
        self._serial: bytes | None = None
        self._id_number: str | None = None
        self._last_fault: str | None = None
        self._silent_polls = 0   # unanswered polls in a row (LOST_AFTER_SILENT_POLLS)

    # -- lifecycle (kiosk.devices.skeleton) ------------------------------------------------------
    def _stopped(self) -> None:
        """Close the port, forget the card."""
        self._close()
        self._forget()

    def health(self) -> Health:
        """Health with the SAM id (a module id, not personal data)."""
        h = super().health()
        h.detail = {"sam_id": self.sam_id} if self.sam_id else {}
        return h

    # -- the technician's probe -----------------------------------------------------------------
    def read_once(self, timeout_s: float = 10.0) -> Identity:
        """Wait up to ``timeout_s`` for a card and return its identity (opens the port if needed)."""
        deadline = time.monotonic() + timeout_s
        with self._io_lock:
            opened_here = self._port is None
            if opened_here:
                self._open()
            try:
                while True:
                    # Find wakes a fresh card; a card already read (halted) fails find but still selects.
                    self._transact(codec.FIND_CARD)
                    if self._transact(codec.SELECT_CARD).ok:
                        return self._read_identity()
                    if time.monotonic() >= deadline:
                        raise DeviceTimeout(f"no card presented within {timeout_s:g} s",
                                            action="place the ID card flat on the reader")
                    self._stop.wait(min(self.options["poll_interval_s"], max(0.0, deadline - time.monotonic())))
            finally:
                if opened_here:
                    self._close()

    # -- the thread -----------------------------------------------------------------------------
    def _connect(self) -> serial.Serial:
        with self._io_lock:
            if self._port is None:  # read_once() may have opened it already
                return self._open()
            return self._port

    def _serve(self, port: serial.SerialBase) -> None:
        self._silent_polls = 0
        while not self._stop.is_set():
            try:
                with self._io_lock:
                    self._poll_once()
                self._silent_polls = 0
            except (DeviceUnavailable, DeviceTimeout, SamFault) as e:
                if self._stop.is_set():  # stop() cut the transaction short: not a lost device
                    return
                if isinstance(e, DeviceTimeout) and self._silent_polls + 1 < LOST_AFTER_SILENT_POLLS:
                    self._silent_polls += 1
                    self._drop_late_answer()
                    self.log.debug("idcard poll unanswered", extra={"silent_polls": self._silent_polls})
                    self._stop.wait(self.options["poll_interval_s"])
                    continue
                raise
            except KioskError as e:  # a card-level fault: report once, keep polling
                self._report(e)
            except Exception as e:  # why: the thread must survive a bug; never a silent death
                error = IdCardError(f"internal error: {type(e).__name__}", action="report a driver bug",
                                    code="idcard.internal")
                if error.code != self._last_fault:
                    self.log.exception("idcard poll failed")
                self._report(error)
            self._stop.wait(self.options["poll_interval_s"])

    def _disconnect(self, port: serial.SerialBase) -> None:
        self._close()

    def _lost(self, error: DeviceError) -> None:
        if self._present:
            self.bus.publish("idcard.removed", None, source=self.role, reason="device lost")
        self._forget()
        super()._lost(error)

    def _open(self) -> serial.Serial:
        """Open the port and check the SAM; the open port (also in ``self._port``)."""
        port = open_url(self.url, baudrate=self.options["baudrate"], timeout_s=CHUNK_TIMEOUT_S)
        self._port = port
        self._decoder.reset()
        try:
            sam = self._transact(codec.SAM_STATUS)
            if not sam.ok:
                raise SamFault(f"SAM status 0x{sam.sw3:02X} ({sam.status.name}): {sam.status.reason}",
                               action=sam.status.action or "power-cycle the reader")
            sam_id = self._transact(codec.READ_SAM_ID)
            self.sam_id = codec.format_sam_id(sam_id.data) if sam_id.ok else ""
        except (DeviceError, ProtocolError) as e:
            self._close()
            if isinstance(e, DeviceError):
                raise
            raise DeviceUnavailable(f"the reader's answers are garbled at open: {e.reason}",
                                    action="check the baud rate and the cable") from e
        return port

    def _close(self) -> None:
        with self._io_lock:
            port, self._port = self._port, None
            if port is not None:
                try:
                    port.close()
                except (serial.SerialException, OSError):
                    pass

    def _drop_late_answer(self) -> None:
        """After a silent poll: whatever arrives late belongs to it, not to the next command."""
        with self._io_lock:
            self._decoder.reset()
            if self._port is not None:
                try:
                    self._port.reset_input_buffer()
                except (serial.SerialException, OSError, AttributeError):
                    pass

    def _forget(self) -> None:
        self._present, self._serial, self._id_number, self._last_fault = False, None, None, None

    def _report(self, error: KioskError) -> None:
        # Once per fault: the same fault on the next poll (same card) is not news.
        if error.code == self._last_fault:
            return
        self._last_fault = error.code
        self.log.warning("idcard fault", extra={"code": error.code, "reason": error.reason})
        self.bus.publish("idcard.error", error, source=self.role)

    # -- protocol steps -------------------------------------------------------------------------
    def _poll_once(self) -> None:
        find = self._transact(codec.FIND_CARD)
        if find.sw3 == status.CARD_FOUND:
            sel = self._transact(codec.SELECT_CARD)
            if not sel.ok:
                return  # found then lost at once: the card is moving; try again next poll
            if self._id_number is not None and sel.data == self._serial:
                return  # the same card, already reported
            self._card_there(sel.data)
        elif find.sw3 == status.FIND_FAILED:
            if not self._present:
                return
            sel = self._transact(codec.SELECT_CARD)
            if sel.ok:
                if self._id_number is None:  # present but unread (the last read failed): retry
                    self._card_there(sel.data)
                return
            self.bus.publish("idcard.removed", None, source=self.role)
            self._forget()
        else:
            raise StatusError(find.status)

    def _card_there(self, serial_no: bytes) -> None:
        if not self._present:
            self._present = True
            self.bus.publish("idcard.presented", None, source=self.role)
        self._set_state(DeviceState.BUSY)
        try:
            identity = self._read_identity()
        finally:
            self._set_state(DeviceState.READY)
        if identity.id_number == self._id_number:
            self._serial = serial_no  # same card, re-found by a reader that does not halt it
            return
        if self._id_number is not None:  # a different card replaced the first between two polls
            self.bus.publish("idcard.removed", None, source=self.role)
        self._serial, self._id_number, self._last_fault = serial_no, identity.id_number, None
        self.log.info("card read", extra={"card_type": identity.card_type})
        self.bus.publish("idcard.identity", identity, source=self.role, **self._decode_photo(identity))

    def _read_identity(self) -> Identity:
        fingerprint = self.options["read_fingerprint"]
        cmd = codec.READ_BASE_FINGERPRINT if fingerprint else codec.READ_BASE
        try:
            resp = self._transact(cmd, timeout_s=self.options["read_timeout_s"], reading=True)
        except DeviceTimeout as e:
            raise CardPulledMidRead("the reader stopped answering during the read", action=e.action) from e
        if not resp.ok:
            raise CardReadFailed(f"the reader reported 0x{resp.sw3:02X} ({resp.status.name})",
                                 action=resp.status.action or "ask the citizen to place the card again")
        try:
            payload = codec.parse_read_data(resp.data, fingerprint=fingerprint)
            return parse_text(payload.text, payload.photo, payload.fingerprint)
        except (ProtocolError, IdentityError) as e:
            raise CardReadFailed(f"the card's data is not valid: {e.reason}", action=e.action) from e

    def _decode_photo(self, identity: Identity) -> dict[str, Any]:
        name = self.options["photo_decoder"]
        if not name:
            return {}
        try:
            return {"photo_image": PHOTO_DECODERS[name](identity.photo)}
        except Exception as e:  # a plug-in must not lose the identity; its data stays out of logs
            self.log.warning("photo decoder failed", extra={"decoder": name, "error": type(e).__name__})
            return {}

    def _transact(self, command: tuple[int, int], data: bytes = b"", timeout_s: float = COMMAND_TIMEOUT_S,
                  reading: bool = False) -> codec.Response:
        """Send one command, return its answer; typed errors for silence, garbling and I/O faults."""
        port = self._port
        if port is None:
            raise DeviceUnavailable("the reader is not open", action="wait for the reader to reconnect")
        self._decoder.reset()
        try:
            port.reset_input_buffer()  # a late half-answer from before must not pass for this one
            port.write(codec.encode_command(*command, data))
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and not self._stop.is_set():
                chunk = port.read(max(1, port.in_waiting))
                for item in self._decoder.feed(chunk) if chunk else ():
                    if isinstance(item, ProtocolError):
                        raise item
                    if isinstance(item, codec.Command):  # a response decoder yields none
                        raise TypeError(f"not a response: {item!r}")
                    return item
        except (serial.SerialException, OSError, termios.error) as e:
            # termios.error: tcflush on a pty whose master is gone (EIO), not an OSError subclass.
            raise DeviceUnavailable(f"the reader's port failed: {type(e).__name__}",
                                    action="check the USB cable; the driver reconnects by itself") from e
        if self._decoder.in_frame() and reading:
            self._decoder.flush()
            raise CardPulledMidRead("the card's answer stopped half way (card taken away during the read)",
                                    action="ask the citizen to place the card again and keep it still")
        if self._decoder.in_frame():
            self._decoder.flush()
            raise DeviceTimeout(f"truncated answer to command {command[0]:02X} {command[1]:02X}",
                                action="check the cable; the driver reconnects by itself")
        raise DeviceTimeout(f"no answer to command {command[0]:02X} {command[1]:02X} within {timeout_s:g} s",
                            action="check the reader's power and cable; the driver reconnects by itself")
