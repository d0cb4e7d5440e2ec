"""Signed codes the central service prints (booking slips, application receipts), verified on the
terminal offline.

Format (EU Digital COVID Certificate style, with a compact JSON payload instead of COSE/CBOR)::

    "KQ1:" + base45( zlib( signature[64] + payload ) )
    payload   = canonical JSON {"v": 1, "typ": ..., "kid": ..., "aud": ..., "iat": s, "exp": s, ...claims}
    signature = Ed25519(key[kid], b"KQ1\\0" + payload)

Two types (``typ``), each with its own audience, so one can never pass for the other:

- ``chk`` (:data:`CHECKIN`), the check-in code of a booking slip: ``apt`` = the appointment id,
  ``aud`` = the hall code of the booking (only that hall's terminals accept it), valid until the
  check-in window closes; ``day`` (YYYY-MM-DD) and ``at`` (HH:MM, hall time), when present, say
  when the appointment is (a slip scanned too early is told its date and time);
- ``rcp`` (:data:`RECEIPT`), the receipt code of an application (受理回执): ``app`` = the
  application number, ``aud`` = the region code of the city whose network handles it (any terminal
  of that city accepts it, as the citizen follows the application through the four levels), valid
  for a year past the promised deadline (long enough to collect the result and rate the service).

:func:`verify` checks, in order: the text (prefix, length, strict base45), the inflated size
(a decompression bomb stops at :data:`MAX_INFLATED_BYTES`), the structure, the key (known, not
revoked, valid now, meant for codes), the signature, then the type, the audience and the time
window. Every refusal is a :class:`CodeRejected` whose ``code`` names the reason.
"""
from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.trust.keys import KeyRejected, KeySet, TrustError, TrustStore, canonical
from kiosk.trust.payload import TOKEN_MAX_CHARS, TOKEN_PREFIX, b45decode, b45encode

CONTEXT = b"KQ1\x00"
SIG_BYTES = 64
#: Why 2 KiB: a real payload is ~150 bytes; a QR code cannot carry more than ~4 KB of text, but
#: zlib can inflate those to gigabytes. Inflation stops here.
MAX_INFLATED_BYTES = 2048
#: Why 120 s: terminals keep time by NTP but a village point may drift; codes are valid for hours.
CLOCK_SKEW_S = 120
FORMAT_VERSION = 1
#: The code types (the ``typ`` claim) and the claim each must carry.
CHECKIN = "chk"
RECEIPT = "rcp"
SUBJECT_CLAIM = {CHECKIN: "apt", RECEIPT: "app"}
_ENVELOPE = ("v", "typ", "kid", "aud", "iat", "exp")


class CodeRejected(TrustError):
    """A scanned code that is not a valid, current code for this hall; ``why`` is the reason."""

    citizen_message = "二维码无效或已过期，请向工作人员出示预约信息。"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, code=f"code.{reason}", action="ask the citizen for a current code or use the ID card")
        self.why = reason


@dataclass(frozen=True)
class Code:
    """A verified code: its type, key id, audience, times and the remaining claims (``apt``/``app``)."""

    typ: str
    kid: str
    aud: str
    iat: int
    exp: int
    claims: dict[str, Any]


def encode(key: Ed25519PrivateKey, kid: str, claims: dict[str, Any], *, aud: str, iat: int, exp: int,
           typ: str = CHECKIN) -> str:
    """Sign and encode a code of type ``typ`` (central side)."""
    payload = canonical({**claims, "v": FORMAT_VERSION, "typ": typ, "kid": kid, "aud": aud, "iat": int(iat),
                         "exp": int(exp)})
    sig = key.sign(CONTEXT + payload)
    return TOKEN_PREFIX + b45encode(zlib.compress(sig + payload, 9))


def inflate(data: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """zlib-inflate at most ``limit`` bytes; CodeRejected for a bomb, garbage or trailing data."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as e:
        raise CodeRejected("encoding", f"not zlib data: {e}") from None
    if len(out) > limit or d.unconsumed_tail:
        raise CodeRejected("too_large", f"inflates beyond {limit} bytes (decompression bomb guard)")
    if not d.eof or d.unused_data:
        raise CodeRejected("encoding", "truncated or trailing zlib data")
    return out


def verify(text: object, keyset: KeySet | None, audience: str | Iterable[str], now_s: float | None = None, *,
           typ: str = CHECKIN) -> Code:
    """Verify a scanned code of type ``typ`` offline for ``audience`` (a hall or region code, or a
    collection of them); returns the :class:`Code` or raises :class:`CodeRejected`."""
    return verify_any(text, keyset, {typ: audience}, now_s)


def verify_any(text: object, keyset: KeySet | None, audiences: Mapping[str, str | Iterable[str]],
               now_s: float | None = None) -> Code:
    """Verify a code of any type in ``audiences`` (``{typ: audience or audiences}``): the scan gate
    does not know beforehand whether a citizen holds up a booking slip or a receipt."""
    now = time.time() if now_s is None else now_s
    if not isinstance(text, str) or not text.startswith(TOKEN_PREFIX):
        raise CodeRejected("format", f"not a {TOKEN_PREFIX} code")
    body = text[len(TOKEN_PREFIX):]
    if not 1 <= len(body) <= TOKEN_MAX_CHARS:
        raise CodeRejected("format", f"code body must be 1-{TOKEN_MAX_CHARS} characters")
    raw = b45decode(body)
    if raw is None:
        raise CodeRejected("encoding", "not base45")
    blob = inflate(raw)
    if len(blob) <= SIG_BYTES:
        raise CodeRejected("malformed", "too short for a signature and a payload")
    sig, payload = blob[:SIG_BYTES], blob[SIG_BYTES:]
    try:
        claims = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CodeRejected("malformed", "payload is not UTF-8 JSON") from None
    if not isinstance(claims, dict) or claims.get("v") != FORMAT_VERSION:
        raise CodeRejected("malformed", "payload is not a version-1 object")
    typ, kid, aud, iat, exp = (claims.get(k) for k in ("typ", "kid", "aud", "iat", "exp"))
    if not (isinstance(aud, str) and isinstance(iat, int) and not isinstance(iat, bool)
            and isinstance(exp, int) and not isinstance(exp, bool)):
        raise CodeRejected("malformed", "aud, iat or exp missing or of the wrong type")
    if keyset is None:
        raise CodeRejected("no_keyset", "this terminal has no key set yet: codes cannot be checked")
    try:
        pub = keyset.key(kid, "code", now)
    except KeyRejected as e:
        raise CodeRejected(e.why, e.reason) from None
    try:
        pub.verify(sig, CONTEXT + payload)
    except InvalidSignature:
        raise CodeRejected("bad_signature", f"signature does not verify with key {kid}") from None
    # Why after the signature: an unsigned field says nothing; why before the audience: a receipt
    # (valid city-wide) must never be taken for a check-in code (valid in one hall), or back.
    if not isinstance(typ, str) or typ not in audiences:
        raise CodeRejected("wrong_type", f"a {typ!r} code is not accepted here (expected {', '.join(audiences)})")
    subject = claims.get(SUBJECT_CLAIM.get(typ, ""))
    if not isinstance(subject, str) or not 1 <= len(subject) <= 64:
        raise CodeRejected("malformed", f"a {typ} code without its {SUBJECT_CLAIM.get(typ)} claim")
    allowed = audiences[typ]
    allowed = {allowed} if isinstance(allowed, str) else set(allowed)
    if aud not in allowed:
        raise CodeRejected("wrong_hall", f"code is for {aud}, this terminal serves {', '.join(sorted(allowed))}")
    if now + CLOCK_SKEW_S < iat:
        raise CodeRejected("not_yet_valid", "code issued in the future (check the terminal's clock)")
    if now - CLOCK_SKEW_S > exp:
        raise CodeRejected("expired", "code has expired")
    rest = {k: v for k, v in claims.items() if k not in _ENVELOPE}
    return Code(typ, cast(str, kid), aud, iat, exp, rest)  # kid: keyset.key() took it, a str


def scan_audiences(hall_code: str, regions: Iterable[str]) -> dict[str, str | tuple[str, ...]]:
    """What a terminal accepts: check-in codes for its hall, receipts of its city network (any of
    its region codes, city down to village: a receipt names the city that handles it)."""
    return {CHECKIN: hall_code, RECEIPT: tuple(regions)}


def token_verifier(store: TrustStore, hall_code: str, regions: Iterable[str] = (),
                   now: Callable[[], float] = time.time) -> Callable[[str, bytes], Code]:
    """A :func:`kiosk.trust.payload.set_token_verifier` hook bound to a TrustStore, a hall and
    its regions: returns the verified :class:`Code` (the scan gate routes on its type)."""
    audiences = scan_audiences(hall_code, regions)

    def check(token_text: str, _raw: bytes) -> Code:
        # Why re-decode: payload.py also accepts base64url; a signed code is strictly base45.
        return verify_any(token_text, store.keyset, audiences, now())
    return check
