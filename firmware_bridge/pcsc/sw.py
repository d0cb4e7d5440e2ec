"""ISO 7816-4 status words: the ONE table that says what SW1SW2 means and which typed error it raises.

Every card answer ends in two status bytes. This module owns their meaning: :data:`TABLE` maps an
exact status word (``0x6A82``) or a SW1 family (``0x61``: more data) to a :class:`SwInfo`, and
:func:`check` turns a failing status word into a typed :class:`CardError` subclass that carries a
technician's reason and what the citizen should do. The protocol-level answers (61xx "more data",
6Cxx "wrong Le") are not errors: :func:`firmware_bridge.pcsc.apdu.transceive` handles them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hall_common.errors import DeviceError


class CardError(DeviceError):
    """The card (not the reader) refused or failed a command."""

    code = "smartcard.card"
    citizen_message = "无法读取此卡，请确认插入的是社会保障卡，或联系工作人员。"

    def __init__(self, reason: str, *, action: str = "", sw: int | None = None, **kw: Any) -> None:
        super().__init__(reason, action=action or "check that the right card is inserted", **kw)
        self.sw = sw


class StatusWordError(CardError):
    """A command ended with a failing status word; ``sw`` holds it."""

    code = "smartcard.sw"


class FileNotFound(StatusWordError):
    """6A82/6A83: the application, file or record is not on this card (often: a different card)."""

    code = "smartcard.sw.not_found"
    citizen_message = "此卡不是本机支持的卡片，请换一张卡。"


class WrongParameters(StatusWordError):
    """6A86/6B00/6A81/6A80: the terminal sent parameters the card rejects (a profile mistake)."""

    code = "smartcard.sw.parameters"


class SecurityNotSatisfied(StatusWordError):
    """6982/6983/6984: the data needs a PIN or key, or the PIN is blocked."""

    code = "smartcard.sw.security"
    citizen_message = "此卡需要密码或已锁定，请到人工窗口办理。"


class ConditionsNotSatisfied(StatusWordError):
    """6985/6986: the card is in a state where the command is not allowed."""

    code = "smartcard.sw.conditions"


class NotSupported(StatusWordError):
    """6D00/6E00/6A81: the card does not know this instruction or class."""

    code = "smartcard.sw.unsupported"
    citizen_message = "此卡不是本机支持的卡片，请换一张卡。"


class WrongLength(StatusWordError):
    """6700: Lc/Le length rejected (a profile or codec mistake)."""

    code = "smartcard.sw.length"


class CardFault(StatusWordError):
    """6F00/64xx/65xx: the card reports an internal or memory fault."""

    code = "smartcard.sw.fault"
    citizen_message = "卡片可能已损坏，请到人工窗口办理。"


@dataclass(frozen=True)
class SwInfo:
    """What a status word means: ``kind`` is ok, warning, more, resend or error."""

    name: str
    meaning: str
    kind: str = "error"
    error: type[StatusWordError] | None = None
    action: str = ""


# Exact status words first, then SW1 families (key < 0x100). Why both: 61xx/6Cxx/63Cx carry a
# count in SW2, while 6A82 and 6A86 are distinct meanings under the same SW1.
TABLE: dict[int, SwInfo] = {
    0x9000: SwInfo("OK", "normal processing", "ok"),
    # 6282: READ BINARY past the end returns what there is; the data is still valid.
    0x6282: SwInfo("END_OF_FILE", "end of file reached before Le bytes", "warning"),
    0x6283: SwInfo("FILE_INVALIDATED", "selected file invalidated", "warning"),
    0x6700: SwInfo("WRONG_LENGTH", "wrong length (Lc or Le)", error=WrongLength,
                   action="check the card profile's lengths"),
    0x6981: SwInfo("INCOMPATIBLE_FILE", "command incompatible with file structure",
                   error=ConditionsNotSatisfied, action="check the profile: record vs binary file"),
    0x6982: SwInfo("SECURITY_STATUS", "security status not satisfied", error=SecurityNotSatisfied,
                   action="the data needs a PIN or a SAM; read it at a staffed counter"),
    0x6983: SwInfo("AUTH_BLOCKED", "authentication method blocked", error=SecurityNotSatisfied,
                   action="the card's PIN is blocked; the citizen must unblock it at the issuer"),
    0x6984: SwInfo("DATA_INVALID", "referenced data invalidated", error=SecurityNotSatisfied,
                   action="the card's key or PIN is invalidated; refer to the issuer"),
    0x6985: SwInfo("CONDITIONS", "conditions of use not satisfied", error=ConditionsNotSatisfied,
                   action="re-insert the card and try again"),
    0x6986: SwInfo("NO_CURRENT_EF", "command not allowed (no current EF)", error=ConditionsNotSatisfied,
                   action="check the profile selects a file before reading"),
    0x6A80: SwInfo("WRONG_DATA", "incorrect data field", error=WrongParameters,
                   action="check the card profile"),
    0x6A81: SwInfo("FUNC_NOT_SUPPORTED", "function not supported", error=NotSupported,
                   action="this card does not support the command (e.g. no UID)"),
    0x6A82: SwInfo("FILE_NOT_FOUND", "file or application not found", error=FileNotFound,
                   action="insert a card of the configured type"),
    0x6A83: SwInfo("RECORD_NOT_FOUND", "record not found", error=FileNotFound,
                   action="check the profile's record numbers for this card generation"),
    0x6A86: SwInfo("WRONG_P1P2", "incorrect parameters P1-P2", error=WrongParameters,
                   action="check the card profile"),
    0x6A88: SwInfo("DATA_NOT_FOUND", "referenced data not found", error=FileNotFound,
                   action="check the card profile"),
    0x6B00: SwInfo("WRONG_OFFSET", "wrong parameters (offset outside the file)", error=WrongParameters,
                   action="check the profile's offsets"),
    0x6D00: SwInfo("INS_NOT_SUPPORTED", "instruction not supported", error=NotSupported,
                   action="insert a card of the configured type"),
    0x6E00: SwInfo("CLA_NOT_SUPPORTED", "class not supported", error=NotSupported,
                   action="insert a card of the configured type"),
    0x6F00: SwInfo("NO_DIAGNOSIS", "card error, no precise diagnosis", error=CardFault,
                   action="try another card; if every card fails, check the reader"),
    # SW1 families (SW2 is a count or a detail).
    0x61: SwInfo("MORE_DATA", "SW2 more bytes available: GET RESPONSE", "more"),
    0x6C: SwInfo("WRONG_LE", "wrong Le: resend with Le = SW2", "resend"),
    0x62: SwInfo("WARNING_UNCHANGED", "warning, memory unchanged", "warning"),
    0x63: SwInfo("WARNING_CHANGED", "warning, memory changed (63Cx: x tries left)", error=SecurityNotSatisfied,
                 action="a verification failed; see SW2 for the tries left"),
    0x64: SwInfo("EXEC_ERROR", "execution error, memory unchanged", error=CardFault,
                 action="try again; replace the card if it persists"),
    0x65: SwInfo("MEMORY_FAILURE", "execution error, memory changed", error=CardFault,
                 action="the card's memory failed; the citizen needs a replacement card"),
    0x67: SwInfo("WRONG_LENGTH", "wrong length", error=WrongLength, action="check the profile"),
    0x68: SwInfo("CLA_FUNCTION", "function in CLA not supported", error=NotSupported,
                 action="insert a card of the configured type"),
    0x69: SwInfo("NOT_ALLOWED", "command not allowed", error=ConditionsNotSatisfied,
                 action="re-insert the card and try again"),
    0x6A: SwInfo("WRONG_PARAMS", "wrong parameters", error=WrongParameters, action="check the profile"),
}

_UNKNOWN = SwInfo("UNKNOWN", "unknown status word", error=StatusWordError,
                  action="note the status word and report it with the card type")


def lookup(sw: int) -> SwInfo:
    """The table entry for ``sw`` (exact match, then its SW1 family, else UNKNOWN)."""
    return TABLE.get(sw) or TABLE.get(sw >> 8) or _UNKNOWN


def is_ok(sw: int) -> bool:
    """True for 9000 and the warnings whose data is still usable."""
    return lookup(sw).kind in ("ok", "warning")


def error_for(sw: int, context: str = "") -> StatusWordError:
    """The typed error for a failing ``sw`` (``context`` says which command, for the reason)."""
    info = lookup(sw)
    cls = info.error or StatusWordError
    where = f"{context}: " if context else ""
    return cls(f"{where}card answered {sw:04X} ({info.name}: {info.meaning})", action=info.action, sw=sw)


def check(sw: int, context: str = "") -> None:
    """Raise the typed error for ``sw`` unless it means success."""
    if not is_ok(sw):
        raise error_for(sw, context)
