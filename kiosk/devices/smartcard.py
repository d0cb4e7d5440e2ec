"""The PC/SC smart-card reader driver (role ``smartcard``, registry name ``smartcard.pcsc``).

Owns its monitor loop instead of pyscard's CardMonitor (PITFALLS.md: that thread dies silently when
pcscd restarts, pyscard#82/#128, and its global context stays broken, #27): one thread blocks in
``SCardGetStatusChange`` with a ``poll_interval_s`` timeout on its own context, re-establishes the
context under the shared reconnect supervisor when pcscd goes away (SCARD_E_NO_SERVICE / SERVICE_STOPPED), and publishes
deltas on the bus: ``smartcard.reader_added`` / ``reader_removed`` / ``inserted`` (ATR, UID) /
``read`` (the profile's typed fields, in memory only) / ``removed`` / ``error`` (once per fault) /
``state``. After every read the card status is checked explicitly, because a card pulled
mid-transaction can leave a connection that "succeeds" with no card (pyscard#63).

``url`` is a substring of the reader name ("" = the first reader). The card layout comes from a
profile in firmware_bridge/pcsc/profiles (option ``profile``). Only pyscard's low-level
``smartcard.scard`` module is used.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smartcard import scard

from firmware_bridge.pcsc import apdu
from firmware_bridge.pcsc.profile import CardData, load_profile, read_card
from firmware_bridge.pcsc.sw import CardError, StatusWordError
from kiosk.config import Field
from kiosk.devices.base import Backoff, DeviceError, DeviceState, DeviceTimeout, DeviceUnavailable
from kiosk.devices.skeleton import ThreadedDevice
from kiosk.events import EventBus


def _u32(hr: int) -> int:
    # Why: pyscard returns some HRESULTs as negative ints on 64-bit Linux (0x80100... as signed).
    return hr & 0xFFFFFFFF


def _codes(*names: str) -> frozenset[int]:
    return frozenset(_u32(getattr(scard, n)) for n in names)


# pcscd went away (stopped, crashed, restarted): the context is dead and must be re-established.
# SECURITY_VIOLATION ("Access denied") and RPC errors were seen here while pcscd shuts down.
_SERVICE_LOST = _codes("SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED", "SCARD_E_INVALID_HANDLE",
                       "SCARD_W_SECURITY_VIOLATION", "SCARD_F_COMM_ERROR")
# The card left the reader (or lost power) under our feet.
_CARD_GONE = _codes("SCARD_E_NO_SMARTCARD", "SCARD_W_REMOVED_CARD", "SCARD_W_UNPOWERED_CARD",
                    "SCARD_W_RESET_CARD", "SCARD_W_UNRESPONSIVE_CARD")
# Transport failures that, on a reader that still works, usually mean the card was pulled.
_MAYBE_GONE = _codes("SCARD_E_NOT_TRANSACTED", "SCARD_E_COMM_DATA_LOST")
_READER_GONE = _codes("SCARD_E_UNKNOWN_READER", "SCARD_E_READER_UNAVAILABLE")
#: How long to wait for pcscd to confirm a suspected removal (ms): its presence poll is 400 ms.
REMOVAL_CONFIRM_MS = 1000
# SCardStatus' dwState bits (pcsclite.h); pyscard does not export them.
_CARD_ABSENT, _CARD_PRESENT = 0x0002, 0x0004

_TIMEOUT = _u32(scard.SCARD_E_TIMEOUT)
_CANCELLED = _u32(scard.SCARD_E_CANCELLED)
_NO_READERS = _u32(scard.SCARD_E_NO_READERS_AVAILABLE)


class ServiceLost(DeviceUnavailable):
    """The PC/SC service (pcscd) is not running or went away."""

    code = "smartcard.service"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, action="wait: the reader reconnects by itself; if it persists, "
                                        "start pcscd (systemctl start pcscd.socket)")


class ReaderMissing(DeviceUnavailable):
    """No reader whose name matches the configured url."""

    code = "smartcard.no_reader"


class CardRemoved(CardError):
    """The card was taken out (or lost contact) while it was being read."""

    code = "smartcard.removed"
    citizen_message = "读卡过程中卡片被拔出，请重新插卡，读取完成前请勿拔卡。"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, action="insert the card again and leave it in until reading is done")


@dataclass(frozen=True)
class CardRead:
    """One card read: reader, ATR and UID (hex), protocol and the profile's typed fields."""

    reader: str
    atr: str
    uid: str | None
    protocol: str
    data: CardData

    def masked(self) -> dict[str, Any]:
        """JSON-friendly summary with citizens' data masked (for `kiosk doctor` and staff screens)."""
        fields = {k: (v if v is None or isinstance(v, (int, str)) else str(v))
                  for k, v in self.data.masked().items()}
        return {"reader": self.reader, "atr": self.atr, "uid": self.uid, "protocol": self.protocol,
                "profile": self.data.profile.name, "fields": fields}


def _check(hr: int, what: str) -> None:
    """Raise the typed error for a failed PC/SC call."""
    code = _u32(hr)
    if code == 0:
        return
    message = f"{what}: {scard.SCardGetErrorMessage(hr)} (0x{code:08X})"
    if code in _SERVICE_LOST:
        raise ServiceLost(message)
    if code in _CARD_GONE:
        raise CardRemoved(message)
    if code in _READER_GONE:
        raise ReaderMissing(message, action="check the reader's cable")
    raise DeviceError(message, action="re-insert the card; if it persists, restart the reader")


def _establish() -> int:
    try:
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)  # pyscard is untyped
    except scard.error as e:  # pyscard raises instead of returning on some failures
        raise ServiceLost(f"SCardEstablishContext: {e}") from None
    _check(hr, "SCardEstablishContext")
    context: int = ctx
    return context


def _list_readers(ctx: int) -> list[str]:
    hr, readers = scard.SCardListReaders(ctx, [])
    code = _u32(hr)
    if code == _NO_READERS:
        return []
    if code != 0:  # a context that cannot list readers is unusable whatever the reason: renew it
        raise ServiceLost(f"SCardListReaders: {scard.SCardGetErrorMessage(hr)} (0x{code:08X})")
    return list(readers)


class PcscReader(ThreadedDevice):
    """A PC/SC reader watched by our own monitor thread; reads cards with a profile."""

    role = "smartcard"
    driver_name = "smartcard.pcsc"
    OPTIONS = {
        "profile": Field(str, "social-security", doc="card profile (firmware_bridge/pcsc/profiles)"),
        "poll_interval_s": Field(float, 0.5, min=0.05, max=10,
                                 doc="longest wait in SCardGetStatusChange before rechecking readers (s)"),
    }

    def __init__(self, url: str, options: Mapping[str, Any], bus: EventBus) -> None:
        super().__init__(url, options, bus)
        self.profile = load_profile(self.options["profile"])
        self.poll_interval_s = float(self.options["poll_interval_s"])
        self._ctx: int | None = None
        self._readers: list[str] = []
        self._reader: str | None = None
        self._reader_state = scard.SCARD_STATE_UNAWARE
        self._card_present = False
        self._fault: str | None = None  # code of the device fault already reported

    # -- lifecycle (kiosk.devices.skeleton) ------------------------------------------------------
    def _backoff(self) -> Backoff:
        # Why capped at the poll interval (at least 1 s): pcscd restarts in well under a second.
        return Backoff(base_s=0.05, cap_s=max(1.0, float(self.options["poll_interval_s"])))

    def _stopped(self) -> None:
        self._fault = None  # after a restart a fault is news again (else a missing reader stayed CONNECTING)

    def _interrupt(self) -> None:
        """Cancel the monitor's blocking SCardGetStatusChange."""
        ctx = self._ctx
        if ctx is not None:
            try:
                scard.SCardCancel(ctx)
            except scard.error:
                pass

    # -- the technician's probe -------------------------------------------------------------------
    def read_once(self, timeout_s: float = 10.0) -> CardRead:
        """Wait up to ``timeout_s`` for a card on the reader and read it (no events published)."""
        ctx = _establish()
        try:
            reader = self._match(_list_readers(ctx))
            if reader is None:
                raise self._missing()
            deadline = time.monotonic() + timeout_s
            state = scard.SCARD_STATE_UNAWARE
            while True:
                remaining_ms = int((deadline - time.monotonic()) * 1000)
                if remaining_ms <= 0:
                    raise DeviceTimeout(f"no card in {reader!r} within {timeout_s:g} s",
                                        action="insert a card and probe again")
                hr, states = scard.SCardGetStatusChange(ctx, remaining_ms, [(reader, state)])
                if _u32(hr) == _TIMEOUT:
                    continue
                _check(hr, "SCardGetStatusChange")
                state = states[0][1]
                if state & scard.SCARD_STATE_PRESENT and not state & scard.SCARD_STATE_MUTE:
                    return self._read(ctx, reader)
        finally:
            scard.SCardReleaseContext(ctx)

    # -- monitor: the link is our own PC/SC context -----------------------------------------------
    def _connect(self) -> int:
        self._ctx = _establish()
        self._reader_state = scard.SCARD_STATE_UNAWARE
        return self._ctx

    def _connected(self, ctx: int) -> None:
        """The context works; READY comes when the reader is there (:meth:`_cycle`)."""
        self._reconnect.connected()

    def _serve(self, ctx: int) -> None:
        while not self._stop.is_set():
            self._cycle(ctx)

    def _disconnect(self, ctx: int) -> None:
        self._release()

    def _failed(self, error: DeviceError) -> None:
        self._report(error, device_fault=True)

    def _lost(self, error: DeviceError) -> None:
        """pcscd went away (or the monitor failed): its readers and card are gone with it."""
        self._set_reader(None)
        self._update_readers([])
        self._report(error, device_fault=True)

    def _cycle(self, ctx: int) -> None:
        """One look at the readers and the card, on the monitor's context ``ctx`` (``self._ctx``:
        only this thread releases it, in :meth:`_disconnect`)."""
        readers = _list_readers(ctx)
        self._update_readers(readers)
        target = self._match(readers)
        if target is None:
            self._set_reader(None)
            self._report(self._missing(), device_fault=True)
            self._stop.wait(self.poll_interval_s)  # serial/USB hot-plug shows up in the next listing
            return
        self._set_reader(target)
        if self._fault is not None or self.state != DeviceState.READY:
            self._fault = None
            self._set_state(DeviceState.READY)
        hr, states = scard.SCardGetStatusChange(ctx, int(self.poll_interval_s * 1000),
                                                [(target, self._reader_state)])
        code = _u32(hr)
        if code in (_TIMEOUT, _CANCELLED):
            return
        if code in _READER_GONE:
            self._reader_state = scard.SCARD_STATE_UNAWARE
            return
        if code != 0:
            # Seen while pcscd shuts down: SCARD_W_SECURITY_VIOLATION and friends. Any failure of
            # the wait itself means the context is unusable: re-establish it.
            raise ServiceLost(f"SCardGetStatusChange: {scard.SCardGetErrorMessage(hr)} (0x{code:08X})")
        event = states[0][1]
        self._reader_state = event  # keep pcsc-lite's event counter in the upper bits
        if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
            return
        present = bool(event & scard.SCARD_STATE_PRESENT)
        if present and not self._card_present:
            self._card_present = True
            if event & scard.SCARD_STATE_MUTE:
                self._report(CardError("the card does not answer (mute)",
                                       action="insert the card the right way round or try another card"),
                             device_fault=False)
            else:
                self._on_card(ctx, target)
        elif not present and self._card_present:
            self._card_present = False
            self.bus.publish("smartcard.removed", {"reader": target}, source=self.role)

    def _on_card(self, ctx: int, reader: str) -> None:
        self._set_state(DeviceState.BUSY)
        try:
            result = self._read(ctx, reader, on_inserted=self._publish_inserted)
        except ServiceLost:
            raise
        except DeviceError as e:  # a card problem: the reader itself is fine
            self._report(e, device_fault=False)
        else:
            self.bus.publish("smartcard.read", result.data, source=self.role, reader=reader,
                             profile=self.profile.name, atr=result.atr, uid=result.uid)
            self.log.info("card read", extra={"device": self.role, "profile": self.profile.name,
                                              "fields": len(result.data)})
        self._set_state(DeviceState.READY)

    def _publish_inserted(self, info: dict[str, Any]) -> None:
        self.bus.publish("smartcard.inserted", info, source=self.role)

    # -- reading one card -------------------------------------------------------------------------
    def _read(self, ctx: int, reader: str, on_inserted: Callable[[dict[str, Any]], None] | None = None) -> CardRead:
        hr, hcard, proto = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_SHARED,
                                              scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        _check(hr, "SCardConnect")
        pci = scard.SCARD_PCI_T0 if proto == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1
        protocol = "T=0" if proto == scard.SCARD_PROTOCOL_T0 else "T=1"
        try:
            atr = self._status(hcard)

            def transmit(command: bytes) -> bytes:
                hr, resp = scard.SCardTransmit(hcard, pci, list(command))
                if _u32(hr) in _MAYBE_GONE or (_u32(hr) == 0 and len(resp) < 2):
                    # pyscard#63: a pulled card can make a transmit "succeed" with nothing.
                    self._confirm_gone(ctx, reader, hcard)
                _check(hr, "SCardTransmit")
                return bytes(resp)

            uid = self._uid(transmit)
            if on_inserted:
                on_inserted({"reader": reader, "atr": atr, "uid": uid, "protocol": protocol})
            data = read_card(self.profile, transmit)
            self._status(hcard)  # pyscard#63: a pulled card can leave a read that "succeeded"
            return CardRead(reader, atr, uid, protocol, data)
        finally:
            try:
                scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)
            except scard.error:
                pass

    @staticmethod
    def _status(hcard: int) -> str:
        """The card's ATR (hex) if it is still present and powered, else :class:`CardRemoved`."""
        hr, _reader, state, _proto, atr = scard.SCardStatus(hcard)
        _check(hr, "SCardStatus")
        if not state & _CARD_PRESENT or state & _CARD_ABSENT:
            raise CardRemoved("SCardStatus: no card in the reader")
        return bytes(atr).hex().upper()

    @classmethod
    def _confirm_gone(cls, ctx: int, reader: str, hcard: int) -> None:
        """Raise :class:`CardRemoved` if the card left; waits for pcscd's removal event if needed."""
        cls._status(hcard)
        # pcscd notices a pulled card at its next presence poll (every ~400 ms): wait for that
        # event (bounded) instead of calling a half-finished read a card fault.
        hr, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        _check(hr, "SCardGetStatusChange")
        state = states[0][1]
        if state & scard.SCARD_STATE_PRESENT:
            hr, states = scard.SCardGetStatusChange(ctx, REMOVAL_CONFIRM_MS, [(reader, state)])
            if _u32(hr) == _TIMEOUT:
                return
            _check(hr, "SCardGetStatusChange")
            state = states[0][1]
        if not state & scard.SCARD_STATE_PRESENT:
            raise CardRemoved("the card left the reader during a command")

    @staticmethod
    def _uid(transmit: apdu.Transmit) -> str | None:
        """The UID via FF CA 00 00 00; None when the card or reader does not support it."""
        try:
            return apdu.transceive(transmit, apdu.get_uid(), "GET UID").data.hex().upper() or None
        except StatusWordError:
            return None

    # -- bookkeeping -------------------------------------------------------------------------------
    def _match(self, readers: list[str]) -> str | None:
        for name in readers:
            if self.url in name:
                return name
        return None

    def _missing(self) -> ReaderMissing:
        want = f"matching {self.url!r}" if self.url else "at all"
        return ReaderMissing(f"no PC/SC reader {want}", action="plug the card reader in / check its cable")

    def _update_readers(self, readers: list[str]) -> None:
        for name in readers:
            if name not in self._readers:
                self.bus.publish("smartcard.reader_added", {"reader": name}, source=self.role)
        for name in self._readers:
            if name not in readers:
                self.bus.publish("smartcard.reader_removed", {"reader": name}, source=self.role)
        self._readers = list(readers)

    def _set_reader(self, reader: str | None) -> None:
        if reader == self._reader:
            return
        if self._card_present and self._reader:
            self.bus.publish("smartcard.removed", {"reader": self._reader}, source=self.role)
        self._reader, self._reader_state, self._card_present = reader, scard.SCARD_STATE_UNAWARE, False

    def _release(self) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            try:
                scard.SCardReleaseContext(ctx)
            except scard.error:
                pass

    def _report(self, err: DeviceError, *, device_fault: bool) -> None:
        """Publish ``smartcard.error`` once per fault; device faults also set the ERROR state."""
        if device_fault:
            if self._fault == err.code:
                return
            self._fault = err.code
            self._set_state(DeviceState.ERROR, err)
        else:
            self.log.info("card not read", extra={"device": self.role, "code": err.code,
                                                  "reason": err.reason})
        self.bus.publish("smartcard.error", err, source=self.role)
