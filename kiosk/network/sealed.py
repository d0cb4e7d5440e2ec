"""Encryption at rest of queued personal data (the mobile terminal's photos and identity data).

A door-to-door application carries a citizen's ID number, name and document photos. While it waits
in the durable outbox for the network (hours, in a village with no signal), its body is stored
*sealed*: AES-256-GCM (``cryptography``'s AEAD) under a terminal key, with the row's envelope id and
operation as associated data, so a sealed body cannot be moved to another row or operation
unnoticed. The outbox's safety net still refuses any *unsealed* body with an ID number.

Where the key comes from, in order: a platform keystore hook (:func:`set_keystore`; on Android a
pyjnius provider over the Android Keystore registers itself at start), else the key file named in
config (``mobile.seal_key_file``: 32 raw bytes, created with mode 0600 on first use when allowed;
the mobile profile defaults to ``<state_dir>/seal.key``).
The key never goes into a log; a lost key makes queued rows unreadable (they are reported, never
sent as garbage).
"""
from __future__ import annotations

import base64
import json
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.config import Config
from kiosk.errors import KioskError

log = logging.getLogger("kiosk.network.sealed")

#: AES-256: the key size the Android Keystore and every FIPS profile accept.
KEY_BYTES = 32
#: GCM's standard 96-bit nonce, random per seal. Why random is safe here: a terminal seals far
#: fewer than 2**32 bodies under one key (NIST SP 800-38D's bound for random nonces).
NONCE_BYTES = 12
#: Format tag inside the stored body: lets a later version change the scheme and still read v1.
VERSION = "v1"
#: The one key a stored body has: ``{"sealed": "v1.<base64url(nonce + ciphertext + tag)>"}``.
FIELD = "sealed"


class SealError(KioskError):
    """A sealed body cannot be made or opened (no key, wrong key, tampered row)."""

    code = "network.sealed"

    def __init__(self, reason: str, **kw: Any) -> None:
        kw.setdefault("action", "technician: check mobile.seal_key_file (or the device keystore); "
                                "rows sealed under a lost key cannot be sent and must be taken again")
        super().__init__(reason, **kw)


#: The platform keystore hook: a callable returning the 32-byte key (or None: not available).
_keystore: Callable[[], bytes | None] | None = None


def set_keystore(provider: Callable[[], bytes | None] | None) -> None:
    """Register (or with None remove) the platform keystore's key provider."""
    global _keystore
    _keystore = provider


def load_key_file(path: str | Path, *, create: bool = True) -> bytes:
    """The key in ``path`` (32 raw bytes); with ``create``, a new random key is written (mode 0600)."""
    p = Path(path)
    try:
        key = p.read_bytes()
    except FileNotFoundError:
        if not create:
            raise SealError(f"key file {p} does not exist") from None
        p.parent.mkdir(parents=True, exist_ok=True)
        key = os.urandom(KEY_BYTES)
        # O_EXCL: two processes starting together must not each write (and use) a different key.
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        except FileExistsError:
            return load_key_file(p, create=False)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        log.info("created a new sealing key file", extra={"path": str(p)})
        return key
    except OSError as e:
        raise SealError(f"key file {p} cannot be read: {e.strerror}") from None
    if len(key) != KEY_BYTES:
        raise SealError(f"key file {p} holds {len(key)} bytes, not {KEY_BYTES}")
    return key


class Sealer:
    """Seals and opens outbox bodies with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SealError(f"a sealing key has {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def from_config(cls, cfg: Config) -> Sealer | None:
        """The keystore's key if a provider is registered, else ``mobile.seal_key_file``; None if neither."""
        if _keystore is not None:
            key = _keystore()
            if key:
                return cls(key)
        path = cfg.get("mobile.seal_key_file", "")
        if not path and cfg.get("terminal.profile") == "mobile":
            # The mobile profile always seals: without a configured file, a key beside the outbox
            # (protects a copied database file only when the key is kept elsewhere: use the keystore).
            path = str(Path(cfg.get("runtime.state_dir", "var")) / "seal.key")
        if not path:
            return None
        return cls(load_key_file(path, create=bool(cfg.get("mobile.seal_key_create", True))))

    def __repr__(self) -> str:  # never the key
        return "Sealer(AES-256-GCM)"

    @staticmethod
    def _aad(row_id: str, op: str) -> bytes:
        return f"{VERSION}|{row_id}|{op}".encode()

    def seal(self, body: dict[str, Any], row_id: str, op: str) -> dict[str, Any]:
        """``body`` encrypted and bound to its row: the dict the outbox stores."""
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        ct = self._aead.encrypt(nonce, plain, self._aad(row_id, op))
        return {FIELD: f"{VERSION}." + base64.urlsafe_b64encode(nonce + ct).decode("ascii")}

    def open(self, stored: dict[str, Any], row_id: str, op: str) -> dict[str, Any]:
        """The plaintext body of a sealed row; raises :class:`SealError` on a wrong key or tampering."""
        token = stored.get(FIELD) if isinstance(stored, dict) else None
        if not isinstance(token, str) or not token.startswith(VERSION + "."):
            raise SealError(f"row {row_id} ({op}) is not a {VERSION} sealed body")
        try:
            raw = base64.urlsafe_b64decode(token[len(VERSION) + 1:])
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(row_id, op))
            body: dict[str, Any] = json.loads(plain)
            return body
        except (InvalidTag, ValueError) as e:
            raise SealError(f"row {row_id} ({op}) cannot be opened: "
                            f"{'wrong key or tampered' if isinstance(e, InvalidTag) else 'corrupt'}") from None


def is_sealed(stored: dict[str, Any]) -> bool:
    """True for a body as :meth:`Sealer.seal` stores it."""
    return isinstance(stored, dict) and set(stored) == {FIELD} and isinstance(stored[FIELD], str)
