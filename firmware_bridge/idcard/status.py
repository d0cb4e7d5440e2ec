"""The SW3 status table of the SAM/GB reader protocol: one place, as data.

Each answer from the reader carries SW1 SW2 SW3; SW1 and SW2 are 00 00 on every reader seen,
SW3 is the status. Meanings follow the public description of the GB SAM module interface;
vendors agree on the common codes and differ on a few rare ones, so an unknown code maps to a
typed "unknown" entry instead of an exception.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusInfo:
    """One status: the byte, a stable name, what it means, what to do, and whether it is success."""

    sw3: int
    name: str
    reason: str
    action: str
    ok: bool = False


_RETRY = "ask the citizen to place the card flat on the reader again"
_TECH = "check the reader: power-cycle it; if it repeats, replace the SAM module"

#: sw3 -> (name, reason, action, ok); ok defaults to False
_TABLE: tuple[tuple[int, str, str, str] | tuple[int, str, str, str, bool], ...] = (
    (0x90, "ok", "operation succeeded", "", True),
    (0x9F, "card_found", "a card was found in the field", "", True),
    (0x91, "no_content", "the card holds no such content (e.g. no additional address)", "", False),
    (0x10, "checksum_error", "the reader received a frame with a bad checksum",
     "check the cable and the baud rate"),
    (0x11, "length_error", "the reader received a frame with a bad length",
     "check the cable and the baud rate"),
    (0x21, "command_error", "the reader rejected the command's values", "report a driver bug"),
    (0x23, "unauthorised", "the operation is not authorised", _TECH),
    (0x24, "unrecognised", "the reader did not recognise the command", "check the reader model"),
    (0x31, "card_auth_reader_failed", "the card failed to authenticate the reader", _RETRY),
    (0x32, "reader_auth_card_failed", "the reader failed to authenticate the card (forged or damaged card?)",
     "verify the card by hand"),
    (0x33, "verification_failed", "the card's information did not verify", "verify the card by hand"),
    (0x37, "fingerprint_verification_failed", "the fingerprint data did not verify", _RETRY),
    (0x3F, "content_length_error", "the card's content has a wrong length", _RETRY),
    (0x40, "no_card_content", "the card has no readable content or an unknown card type", _RETRY),
    (0x41, "read_failed", "reading the card failed", _RETRY),
    (0x47, "insufficient_rights", "insufficient rights for this operation", _TECH),
    (0x60, "sam_self_test_failed", "the SAM module failed its self-test and accepts no commands", _TECH),
    (0x66, "sam_not_authorised", "the SAM module is not authorised", _TECH),
    (0x80, "find_failed", "no card found in the field", ""),
    (0x81, "select_failed", "the card could not be selected", _RETRY),
)

STATUSES: dict[int, StatusInfo] = {row[0]: StatusInfo(*row) for row in _TABLE}

OK = 0x90
CARD_FOUND = 0x9F
NO_CONTENT = 0x91
FIND_FAILED = 0x80
SELECT_FAILED = 0x81
READ_FAILED = 0x41
SAM_SELF_TEST_FAILED = 0x60


def status_info(sw3: int) -> StatusInfo:
    """The table entry for ``sw3`` (an ``unknown_0xNN`` entry for codes not in the table)."""
    info = STATUSES.get(sw3)
    if info is None:
        info = StatusInfo(sw3, f"unknown_0x{sw3:02X}", f"unknown reader status 0x{sw3:02X}",
                          "note the code and check the reader model's manual")
    return info
