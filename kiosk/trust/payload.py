"""Classification of scanned text (QR codes, barcodes): the one gate every scan passes first.

Pure, no I/O. A scanner or the camera hands the decoded text to :func:`classify`, which returns a
:class:`Payload` with one ``kind``; nothing acts on a scan before this. Kinds and their rules:

- ``appointment``: the check-in token the central service prints on booking slips,
  ``KQ1:`` followed by base64url (``A-Z a-z 0-9 - _``, optional ``=`` padding) or base45
  (RFC 9285, the QR alphanumeric alphabet) text. The runtime plugs the signature check in with
  :func:`set_token_verifier` (kiosk.trust.codes); a token that fails it becomes ``unknown``.
- ``application_number``: the number a citizen gets when an application is filed, as the central
  service issues it: ``SQ`` (申请) followed by 14 to 18 digits (date ``YYYYMMDD`` + the
  region code of the accepting office + a serial), upper case. Scanned from a receipt, it comes
  as a signed ``KQ1:`` receipt code: the value is then the number inside, ``detail["receipt"]``
  the code itself (the citizen's proof of holding the receipt, e.g. to rate the service). Where a
  verifier is installed (every production terminal), a bare number in a QR code is refused: only
  the keypad takes a bare number, and what it shows grants nothing more.
- ``url``: ``http://`` or ``https://`` with a host. Classified only: a kiosk never opens a
  scanned URL by itself (phishing codes stuck over real ones are a known trick).
- ``id_number``: an 18-character resident ID number (GB 11643) with a valid birth date and check
  character. ``Payload.__repr__`` masks it, so a log line can never carry it in clear.
- ``unknown``: anything else, with a ``reason`` (forged token, bad check digit, garbage...).
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from hall_common import privacy

APPOINTMENT = "appointment"
APPLICATION_NUMBER = "application_number"
URL = "url"
ID_NUMBER = "id_number"
UNKNOWN = "unknown"
KINDS = (APPOINTMENT, APPLICATION_NUMBER, URL, ID_NUMBER, UNKNOWN)

#: The ``typ`` of a signed receipt code (kiosk.trust.codes.RECEIPT; not imported: this module is pure).
RECEIPT_TYPE = "rcp"
#: Token prefix: "KQ" (kiosk queue) + format version 1. A new version gets a new prefix.
TOKEN_PREFIX = "KQ1:"
#: Bounds of the token body (characters). 16 chars ~ 12 bytes is less than any real signed
#: token can be; 1024 keeps a QR readable by a 720p camera at arm's length.
TOKEN_MIN_CHARS = 16
TOKEN_MAX_CHARS = 1024
#: Longest text we look at all: a QR code holds at most ~4 KB; more is a fault or an attack.
MAX_TEXT_CHARS = 4096

_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INDEX = {c: i for i, c in enumerate(_B45_ALPHABET)}
_APPLICATION_RE = re.compile(r"^SQ\d{14,18}$")
_ID_RE = re.compile(r"^\d{17}[\dX]$")
#: GB 11643-1999 weights (2**(17-i) mod 11) and the check character for each remainder.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
#: Oldest birth year we accept: older dates on a "new" 18-digit number are forged.
_ID_MIN_YEAR = 1900
#: Control characters a legitimate payload may carry: GS, RS, EOT appear in GS1 / ISO 15434 data.
_ALLOWED_CONTROLS = {"\x1d", "\x1e", "\x04"}


@dataclass(frozen=True)
class Payload:
    """A classified scan: ``kind`` (one of :data:`KINDS`), the normalised ``value``, a ``reason``
    when ``kind`` is ``unknown``, and ``detail`` (non-personal facts such as a URL's host)."""

    kind: str
    value: str
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def masked(self) -> str:
        """The value as a screen or a log may show it."""
        if self.kind == ID_NUMBER:
            return privacy.mask_id(self.value)
        if self.kind == UNKNOWN:
            return f"<{len(self.value)} chars>"
        return self.value

    def __repr__(self) -> str:
        # Why: event data ends up in log lines and test output; the clear value must not.
        return f"Payload(kind={self.kind!r}, value={self.masked()!r}, reason={self.reason!r})"


class TokenRejected(Exception):
    """Raised by a token verifier to reject a token; the message becomes the payload's reason."""


#: The signature-verification hook: called with (token_text, decoded_body_bytes); returns the
#: verified code (an object with ``typ`` and ``claims``, see kiosk.trust.codes.Code) or raises
#: :class:`TokenRejected` (or any exception) to reject. ``None`` on a development terminal.
TokenVerifier = Callable[[str, bytes], object]
_token_verifier: TokenVerifier | None = None


def set_token_verifier(verifier: TokenVerifier | None) -> None:
    """Install (or with ``None`` remove) the appointment-token signature verifier."""
    global _token_verifier
    _token_verifier = verifier


def verifier_installed() -> bool:
    """True when scanned codes are signature-checked (a terminal with a trust root)."""
    return _token_verifier is not None


def classify(text: object) -> Payload:
    """Classify scanned text; never raises, garbage becomes ``unknown`` with a reason."""
    if not isinstance(text, str):
        return Payload(UNKNOWN, "", "not text")
    if len(text) > MAX_TEXT_CHARS:
        return Payload(UNKNOWN, text[:MAX_TEXT_CHARS], "too long")
    s = text.strip()
    if not s:
        return Payload(UNKNOWN, "", "empty")
    if any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in s):
        return Payload(UNKNOWN, s, "control characters")
    if s.startswith(TOKEN_PREFIX):
        return _classify_token(s)
    upper = s.upper()
    if upper.startswith(("HTTP://", "HTTPS://")):
        return _classify_url(s)
    if _APPLICATION_RE.match(s):
        if _token_verifier is not None:
            # Why: a QR code is read by the machine, not the citizen: a forged sticker over a
            # receipt could carry any number. Receipts carry signed codes; the keypad remains.
            return Payload(UNKNOWN, s, "receipt: unsigned application number (type it on the keypad)")
        return Payload(APPLICATION_NUMBER, s)
    if len(s) == 18 and _ID_RE.match(upper):
        problem = id_number_problem(upper)
        if problem:
            return Payload(UNKNOWN, s, problem)
        return Payload(ID_NUMBER, upper)
    return Payload(UNKNOWN, s, "no known format")


def id_number_problem(id_number: str) -> str:
    """Why an 18-character ID number is invalid, or ``""`` if its date and check character fit."""
    if not _ID_RE.match(id_number):
        return "id number: not 17 digits and a check character"
    try:
        born = _dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return "id number: impossible birth date"
    if born.year < _ID_MIN_YEAR or born > _dt.date.today():
        return "id number: birth date out of range"
    total = sum(int(d) * w for d, w in zip(id_number[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != id_number[17]:
        return "id number: wrong check character"
    return ""


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for 17 digits (simulators and tests build valid numbers)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def _classify_token(s: str) -> Payload:
    body = s[len(TOKEN_PREFIX):]
    if not TOKEN_MIN_CHARS <= len(body) <= TOKEN_MAX_CHARS:
        return Payload(UNKNOWN, s, f"token: body must be {TOKEN_MIN_CHARS}-{TOKEN_MAX_CHARS} chars")
    raw, encoding = _decode_token_body(body)
    if raw is None:
        return Payload(UNKNOWN, s, "token: body is neither base64url nor base45")
    verifier = _token_verifier
    detail = {"encoding": encoding, "bytes": len(raw), "verified": verifier is not None}
    if verifier is not None:
        try:
            code = verifier(s, raw)
        except Exception as e:  # any failure of the verifier rejects: fail closed
            return Payload(UNKNOWN, s, f"token: rejected ({e})" if str(e) else "token: rejected")
        if getattr(code, "typ", None) == RECEIPT_TYPE:
            number = cast(Any, code).claims.get("app")  # a Code: a verifier returns typ and claims
            if not isinstance(number, str) or not _APPLICATION_RE.match(number):
                return Payload(UNKNOWN, s, "token: receipt without a valid application number")
            return Payload(APPLICATION_NUMBER, number, detail={**detail, "receipt": s})
    return Payload(APPOINTMENT, s, detail=detail)


def _decode_token_body(body: str) -> tuple[bytes | None, str]:
    """Decode the token body; base45 first when the text fits its alphabet (why: a QR code in
    alphanumeric mode carries base45 more densely, so the central service prefers it there)."""
    if all(c in _B45_INDEX for c in body):
        raw = b45decode(body)
        if raw is not None:
            return raw, "base45"
    if _B64URL_RE.match(body):
        padded = body.rstrip("=")
        if len(padded) % 4 == 1:  # no base64 text has this length: truncated or forged
            return None, ""
        try:
            return base64.urlsafe_b64decode(padded + "=" * (-len(padded) % 4)), "base64url"
        except (binascii.Error, ValueError):
            return None, ""
    return None, ""


def b45decode(text: str) -> bytes | None:
    """Decode RFC 9285 base45; ``None`` if the text is not valid base45."""
    out = bytearray()
    try:
        values = [_B45_INDEX[c] for c in text]
    except KeyError:
        return None
    if len(values) % 3 == 1:
        return None
    for i in range(0, len(values), 3):
        chunk = values[i:i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 45 * 45
            if n > 0xFFFF:
                return None
            out += n.to_bytes(2, "big")
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                return None
            out.append(n)
    return bytes(out)


def b45encode(data: bytes) -> str:
    """Encode bytes as RFC 9285 base45 (for simulators and tests)."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += [_B45_ALPHABET[c], _B45_ALPHABET[d], _B45_ALPHABET[e]]
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += [_B45_ALPHABET[c], _B45_ALPHABET[d]]
    return "".join(out)


def _classify_url(s: str) -> Payload:
    try:
        parts = urllib.parse.urlsplit(s)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return Payload(UNKNOWN, s, "url: malformed")
    if parts.scheme.lower() not in ("http", "https") or not host:
        return Payload(UNKNOWN, s, "url: no host")
    if any(c.isspace() for c in s):
        return Payload(UNKNOWN, s, "url: contains spaces")
    # userinfo ("https://gov.cn@evil.example/") hides the real host from a reader: flag it.
    detail = {"scheme": parts.scheme.lower(), "host": host, "userinfo": bool(parts.username)}
    return Payload(URL, s, detail=detail)


class Deduper:
    """Suppress a text seen again within ``window_s`` (sliding: a code held in front of a reader
    for a minute is reported once; it must be away for ``window_s`` to count as a new scan)."""

    def __init__(self, window_s: float, max_entries: int = 256) -> None:
        self.window_s = window_s
        self.max_entries = max_entries  # bound memory: a hall sees few distinct codes a minute
        self._seen: dict[str, float] = {}

    def is_new(self, text: str, now_s: float) -> bool:
        """Record a sighting at ``now_s``; True if it should be reported."""
        last = self._seen.get(text)
        self._seen[text] = now_s
        if len(self._seen) > self.max_entries:
            cutoff = now_s - self.window_s
            self._seen = {k: v for k, v in self._seen.items() if v >= cutoff}
        return last is None or now_s - last > self.window_s or now_s < last

    def clear(self) -> None:
        """Forget every sighting (end of a citizen session)."""
        self._seen.clear()
