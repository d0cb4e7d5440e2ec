"""The key set and the terminal's durable trust state.

The central service signs check-in codes and commands with Ed25519 keys it rotates. Which keys
are valid is said by a **key set** signed with a root key whose public half is pinned in the
terminal's config (``trust.root_key``): the terminal accepts a key set only with a valid root
signature and a version higher than the one it has (no rollback to a set that still lists a
revoked key). Document (JSON)::

    {"keyset": {"version": 3, "issued_at": 1767225600,
                "keys": [{"kid": "code-2", "use": "code", "pub": "<base64url>", "nbf": ..., "exp": ...}],
                "revoked": ["code-1"]},
     "sig": "<base64url Ed25519 signature by the root key>"}

:class:`TrustStore` keeps the key set and the highest command sequence number accepted in
``<state_dir>/trust/state.json``, replaced atomically (write, fsync, rename, fsync the folder), so
neither survives a crash half-written and neither can go back across a restart.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.errors import KioskError

log = logging.getLogger("kiosk.trust.keys")

#: Domain separation: a signature made for one kind of document can never verify as another.
KEYSET_CONTEXT = b"kiosk-keyset-v1\n"
USES = ("code", "command")
#: Why a bound: a key set is a small document; a huge one is a fault or an attack.
MAX_KEYSET_BYTES = 64 * 1024


class TrustError(KioskError):
    """Base of trust refusals: ``code`` says why (``trust.<reason>``)."""

    code = "trust"
    citizen_message = "验证未通过，请联系工作人员。"


class KeysetRejected(TrustError):
    """A key set that is not signed by the pinned root, malformed, or older than the one held."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, code=f"trust.keyset_{reason}",
                         action="technician: fetch the current key set from the central service")
        self.why = reason


class KeyRejected(TrustError):
    """A key id that is unknown, revoked, outside its validity or meant for another use."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, code=f"trust.{reason}", action="ask the citizen for a current code")
        self.why = reason


class CommandRejected(TrustError):
    """A command the terminal will not execute; ``why`` names the reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, code=f"command.{reason}",
                         action="technician: resend the command from the central console")
        self.why = reason


def b64e(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64d(text: str) -> bytes:
    """Decode canonical base64url with or without padding; raises ValueError.

    Why canonical only: the decoder ignores characters outside the alphabet and the unused low
    bits of the last character, so several texts decode to the same signature; a signature or key
    text that is not exactly what :func:`b64e` makes is refused, not "repaired".
    """
    if not isinstance(text, str):
        raise ValueError("not text")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise ValueError(str(e)) from None
    if b64e(data) != text.rstrip("="):
        raise ValueError("not canonical base64url")
    return data


def canonical(obj: object) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8): what signatures are computed over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64url (what config and key sets carry)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    from cryptography.hazmat.primitives import serialization
    return b64e(pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def load_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from base64url raw bytes; ValueError if it is not one."""
    raw = b64d(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign_keyset(root: Ed25519PrivateKey, keyset: dict[str, Any]) -> dict[str, Any]:
    """The signed key-set document (central side)."""
    return {"keyset": keyset, "sig": b64e(root.sign(KEYSET_CONTEXT + canonical(keyset)))}


@dataclass(frozen=True)
class KeyEntry:
    """One signing key of the key set."""

    kid: str
    use: str
    pub: Ed25519PublicKey
    nbf: int
    exp: int


@dataclass(frozen=True)
class KeySet:
    """A verified key set."""

    version: int
    keys: dict[str, KeyEntry]
    revoked: frozenset[str]
    doc: dict[str, Any]

    def key(self, kid: object, use: str, at_s: float) -> Ed25519PublicKey:
        """The public key for ``kid`` if valid for ``use`` at ``at_s``; else :class:`KeyRejected`."""
        if not isinstance(kid, str) or not kid:
            raise KeyRejected("unknown_key", "no key id")
        if kid in self.revoked:
            raise KeyRejected("revoked_key", f"key {kid} is revoked")
        entry = self.keys.get(kid)
        if entry is None:
            raise KeyRejected("unknown_key", f"key {kid} is not in key set v{self.version}")
        if entry.use != use:
            raise KeyRejected("wrong_use", f"key {kid} signs {entry.use}s, not {use}s")
        if not entry.nbf <= at_s <= entry.exp:
            raise KeyRejected("key_expired", f"key {kid} is valid {entry.nbf}..{entry.exp}")
        return entry.pub


def verify_keyset(doc: object, root: Ed25519PublicKey) -> KeySet:
    """Check a key-set document against the pinned root key; :class:`KeysetRejected` if not good."""
    if not isinstance(doc, dict) or not isinstance(doc.get("keyset"), dict) or not isinstance(doc.get("sig"), str):
        raise KeysetRejected("malformed", "a key set is {keyset: {...}, sig: ...}")
    body = doc["keyset"]
    data = canonical(body)
    if len(data) > MAX_KEYSET_BYTES:
        raise KeysetRejected("malformed", f"key set of {len(data)} bytes is too large")
    try:
        root.verify(b64d(doc["sig"]), KEYSET_CONTEXT + data)
    except (InvalidSignature, ValueError):
        raise KeysetRejected("bad_signature", "the key set is not signed by the pinned root key") from None
    try:
        version = body["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("version must be a positive integer")
        keys = {}
        for k in body["keys"]:
            if k["use"] not in USES or not isinstance(k["kid"], str):
                raise ValueError(f"bad key entry {k.get('kid')!r}")
            keys[k["kid"]] = KeyEntry(k["kid"], k["use"], load_public_key(k["pub"]), int(k["nbf"]), int(k["exp"]))
        revoked = frozenset(str(r) for r in body.get("revoked", []))
    except (KeyError, TypeError, ValueError) as e:
        raise KeysetRejected("malformed", f"key set content: {e}") from None
    return KeySet(version, keys, revoked, doc)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)  # the rename itself must survive a power cut
    finally:
        os.close(dfd)


class TrustStore:
    """The terminal's durable trust state: the current key set and the last command sequence."""

    def __init__(self, state_dir: str | Path, root_key: str | Ed25519PublicKey) -> None:
        self.path = Path(state_dir) / "trust" / "state.json"
        self.root = load_public_key(root_key) if isinstance(root_key, str) else root_key
        self._lock = threading.Lock()
        self._keyset: KeySet | None = None
        self._cmd_seq = 0
        if self.path.exists():
            try:
                state = json.loads(self.path.read_text(encoding="utf-8"))
                self._cmd_seq = int(state.get("cmd_seq", 0))
                if state.get("keyset") is not None:
                    self._keyset = verify_keyset(state["keyset"], self.root)
            except (OSError, ValueError, TrustError) as e:
                # Fail closed: a damaged state must not reset the sequence to 0 (replays would pass).
                raise TrustError(f"trust state {self.path} unreadable: {e}", code="trust.state_damaged",
                                 action="technician: re-provision the terminal's trust state") from None

    @property
    def keyset(self) -> KeySet | None:
        """The key set in force (None before provisioning)."""
        return self._keyset

    @property
    def last_command_seq(self) -> int:
        """The highest command sequence number accepted so far."""
        return self._cmd_seq

    def _save(self) -> None:
        state = {"cmd_seq": self._cmd_seq, "keyset": self._keyset.doc if self._keyset else None}
        _atomic_write(self.path, json.dumps(state, ensure_ascii=False, indent=1).encode("utf-8"))

    def install_keyset(self, doc: object) -> bool:
        """Verify and keep a newer key set; False if it is the one held; KeysetRejected otherwise."""
        ks = verify_keyset(doc, self.root)
        with self._lock:
            cur = self._keyset
            if cur is not None and ks.version < cur.version:
                raise KeysetRejected("rollback", f"key set v{ks.version} is older than v{cur.version} in force")
            if cur is not None and ks.version == cur.version:
                if canonical(ks.doc["keyset"]) != canonical(cur.doc["keyset"]):
                    raise KeysetRejected("conflict", f"another key set with version {ks.version}")
                return False
            self._keyset = ks
            self._save()
        log.info("key set installed", extra={"version": ks.version, "keys": ",".join(sorted(ks.keys))})
        return True

    def advance_command_seq(self, seq: int) -> None:
        """Record ``seq`` durably before the command runs; raises if it does not go up."""
        with self._lock:
            if seq <= self._cmd_seq:
                raise CommandRejected("replayed", f"sequence {seq} <= {self._cmd_seq} already accepted")
            self._cmd_seq = seq
            self._save()
