"""Signed remote commands: what makes a ``kiosk/v1/{terminal}/cmd`` message executable.

A command body carries ``args``, ``target`` (the terminal id), ``seq`` (per terminal, only goes
up), ``expires_at`` (ISO 8601 UTC) and ``sig`` = ``"<kid>.<base64url Ed25519 signature>"`` over
``b"kiosk-cmd-v1\\n"`` + canonical JSON of ``{op, target, seq, expires_at, args}``.

:meth:`CommandVerifier.accept` runs every check and then records ``seq`` durably in the
:class:`kiosk.trust.keys.TrustStore` BEFORE the caller executes the command, so a replayed,
rolled-back (lower ``seq``), expired, foreign or unsigned command never runs, even after a
restart or a crash in the middle of executing one.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.trust.keys import CommandRejected, KeyRejected, TrustStore, b64d, b64e, canonical

log = logging.getLogger("kiosk.trust.commands")

CONTEXT = b"kiosk-cmd-v1\n"
#: Why 1 day: the central service gives commands 10 min; a longer expiry is a forged or broken
#: clock, and an old signed command must not stay usable for long.
MAX_TTL_S = 24 * 3600
#: Tolerated clock difference between the central service and a terminal (s).
CLOCK_SKEW_S = 120


def signed_part(op: str, body: dict[str, Any]) -> bytes:
    """The bytes a command signature covers."""
    return CONTEXT + canonical({"op": op, "target": body.get("target"), "seq": body.get("seq"),
                                "expires_at": body.get("expires_at"), "args": body.get("args")})


def sign(key: Ed25519PrivateKey, kid: str, op: str, body: dict[str, Any]) -> str:
    """The ``sig`` field for a command body (central side)."""
    return f"{kid}.{b64e(key.sign(signed_part(op, body)))}"


def _parse_time(text: object) -> float:
    if not isinstance(text, str):
        raise ValueError("not a timestamp")
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class CommandVerifier:
    """Checks commands for one terminal against its TrustStore."""

    def __init__(self, store: TrustStore, terminal_id: str, now: Callable[[], float] = time.time,
                 max_ttl_s: float = MAX_TTL_S) -> None:
        self.store, self.terminal_id, self.now, self.max_ttl_s = store, terminal_id, now, max_ttl_s

    def check(self, env: dict[str, Any]) -> None:
        """Every check except the sequence; raises :class:`CommandRejected`."""
        if not isinstance(env, dict) or not isinstance(env.get("body"), dict):
            raise CommandRejected("malformed", "not a command envelope")
        op, body = env.get("op"), env["body"]
        seq = body.get("seq")
        if not isinstance(op, str) or not isinstance(seq, int) or isinstance(seq, bool) \
                or not isinstance(body.get("args"), dict):
            raise CommandRejected("malformed", "op, seq or args missing or of the wrong type")
        sig = body.get("sig")
        if not isinstance(sig, str) or "." not in sig:
            raise CommandRejected("unsigned", "the command carries no signature")
        kid, _, sig_b64 = sig.partition(".")
        keyset = self.store.keyset
        if keyset is None:
            raise CommandRejected("no_keyset", "this terminal has no key set yet")
        now = self.now()
        try:
            pub = keyset.key(kid, "command", now)
            pub.verify(b64d(sig_b64), signed_part(op, body))
        except KeyRejected as e:
            raise CommandRejected(e.why, e.reason) from None
        except (InvalidSignature, ValueError):
            raise CommandRejected("bad_signature", f"signature does not verify with key {kid}") from None
        if body.get("target") != self.terminal_id or env.get("terminal") not in (None, self.terminal_id):
            raise CommandRejected("foreign", f"command for {body.get('target')!r}, this is {self.terminal_id}")
        try:
            expires = _parse_time(body.get("expires_at"))
        except ValueError:
            raise CommandRejected("malformed", "expires_at is not an ISO 8601 time") from None
        if now - CLOCK_SKEW_S > expires:
            raise CommandRejected("expired", f"expired at {body['expires_at']}")
        if expires - now > self.max_ttl_s + CLOCK_SKEW_S:
            raise CommandRejected("too_long", f"expiry more than {self.max_ttl_s} s ahead")
        if seq <= self.store.last_command_seq:
            raise CommandRejected("replayed", f"sequence {seq} <= {self.store.last_command_seq} already accepted")

    def accept(self, env: dict[str, Any]) -> None:
        """Check, then record the sequence durably; after this returns the command may run once."""
        self.check(env)
        self.store.advance_command_seq(env["body"]["seq"])
        log.info("command accepted", extra={"op": env["op"], "seq": env["body"]["seq"]})
