"""Typed errors of the ID-card protocol layer: framing, status words and the card's identity text.

All derive from :class:`firmware_bridge.errors.CodecError` (the codecs' own base, so the codec stays pure) and carry a
technician's ``reason`` and ``action``; the citizen sees ``citizen_message``. None of them ever
carries citizen data in its reason (they end up in logs and telemetry).
"""
from __future__ import annotations

from firmware_bridge.errors import CodecError
from firmware_bridge.idcard.status import StatusInfo


class ProtocolError(CodecError):
    """A frame on the wire could not be used (bad length, checksum, truncated, bad payload)."""

    code = "idcard.protocol"
    citizen_message = "读卡失败，请重新放置身份证。"


class FrameLengthError(ProtocolError):
    """The length field is below the minimum body or above the cap."""

    code = "idcard.protocol.length"


class FrameChecksumError(ProtocolError):
    """The XOR checksum does not match: bytes were corrupted on the wire."""

    code = "idcard.protocol.checksum"


class FrameTruncated(ProtocolError):
    """A frame started but its remaining bytes never arrived (timeout, card or cable pulled)."""

    code = "idcard.protocol.truncated"


class PayloadError(ProtocolError):
    """A well-framed answer whose data does not have the documented structure."""

    code = "idcard.protocol.payload"


class StatusError(CodecError):
    """The reader answered with a non-success SW3 status (see :mod:`.status`)."""

    code = "idcard.status"
    citizen_message = "读卡失败，请重新放置身份证。"

    def __init__(self, info: StatusInfo) -> None:
        super().__init__(f"reader status 0x{info.sw3:02X} ({info.name}): {info.reason}",
                         action=info.action, code=f"idcard.status.{info.name}")
        self.info = info

    @property
    def sw3(self) -> int:
        """The raw SW3 byte."""
        return self.info.sw3


class IdentityError(CodecError):
    """The card's text block is not a valid identity (encoding, dates, check digit, codes)."""

    code = "idcard.identity"
    citizen_message = "无法识别此证件，请联系工作人员。"

    def __init__(self, reason: str, *, field: str = "", action: str = "") -> None:
        super().__init__(reason, action=action or "ask the citizen to present the card again; "
                         "if it repeats, verify the card by hand")
        self.field = field
