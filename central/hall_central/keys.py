"""The central service's signing keys: the root that signs key sets, the current code and command
keys, rotation and revocation, and the signed key set terminals receive.

Keys live as PKCS#8 PEM files (mode 0600) in a directory (``--keys DIR``) with ``keys.json``
naming the current kids, the key-set version and the revoked kids. In production the root key
stays offline (an HSM or a sealed machine) and only signed key sets leave it; the reference
service keeps it beside the others for development.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.network import envelope
from kiosk.trust import codes, commands
from kiosk.trust.keys import KeySet, public_key_b64, sign_keyset, verify_keyset

#: Why 400 days: a key outlives its rotation period (a year) with a margin for slips already printed.
KEY_VALID_S = 400 * 24 * 3600


class CentralKeys:
    """Root + code key + command key (+ retired keys still listed until they expire)."""

    def __init__(self, keys_dir: str | Path | None = None, now_s: float | None = None) -> None:
        self.dir = Path(keys_dir) if keys_dir else None
        self.meta: dict[str, Any] = {"version": 0, "code_kid": "", "command_kid": "", "revoked": [], "keys": {}}
        self._priv: dict[str, Ed25519PrivateKey] = {}
        self._own: KeySet | None = None
        if self.dir and (self.dir / "keys.json").exists():
            self.meta = json.loads((self.dir / "keys.json").read_text())
            for kid in list(self.meta["keys"]) + ["root"]:
                pem = (self.dir / f"{kid}.pem").read_bytes()  # written by this class: Ed25519 keys only
                self._priv[kid] = cast(Ed25519PrivateKey, serialization.load_pem_private_key(pem, None))
        else:
            # now_s: when the first keys become valid (a demo whose hall clock runs behind real
            # time makes them valid from its own clock's start).
            start = time.time() if now_s is None else now_s
            self._priv["root"] = Ed25519PrivateKey.generate()
            self.rotate("code", now_s=start, save=False)
            self.rotate("command", now_s=start, save=False)
            self._save()

    # --- keys -----------------------------------------------------------------------------
    @property
    def root_public(self) -> str:
        """The root public key (base64url): pin it in the terminals' ``trust.root_key``."""
        return public_key_b64(self._priv["root"])

    def rotate(self, use: str, now_s: float | None = None, revoke_old: bool = False, save: bool = True) -> str:
        """Make a new key for ``use`` (code/command); optionally revoke the old one; returns the kid."""
        now = int(time.time() if now_s is None else now_s)
        old = self.meta[f"{use}_kid"]
        n = sum(1 for k in self.meta["keys"].values() if k["use"] == use) + 1
        kid = f"{use}-{n}"
        self._priv[kid] = Ed25519PrivateKey.generate()
        self.meta["keys"][kid] = {"use": use, "nbf": now - 300, "exp": now + KEY_VALID_S}
        self.meta[f"{use}_kid"] = kid
        if revoke_old and old:
            self.revoke(old, save=False)
        self.meta["version"] += 1
        if save:
            self._save()
        return kid

    def revoke(self, kid: str, save: bool = True) -> None:
        """List ``kid`` as revoked in the next key set."""
        if kid not in self.meta["revoked"]:
            self.meta["revoked"].append(kid)
            if save:
                self.meta["version"] += 1
                self._save()

    def keyset(self) -> dict:
        """The current key set, signed by the root (what terminals install)."""
        body = {"version": self.meta["version"], "issued_at": int(time.time()),
                "keys": [{"kid": kid, "use": k["use"], "pub": public_key_b64(self._priv[kid]), "nbf": k["nbf"],
                          "exp": k["exp"]} for kid, k in sorted(self.meta["keys"].items())
                         if kid not in self.meta["revoked"]],
                "revoked": sorted(self.meta["revoked"])}
        return sign_keyset(self._priv["root"], body)

    def _save(self) -> None:
        if self.dir is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        for kid, key in self._priv.items():
            path = self.dir / f"{kid}.pem"
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        tmp = self.dir / "keys.json.tmp"
        tmp.write_text(json.dumps(self.meta, indent=1))
        os.replace(tmp, self.dir / "keys.json")

    # --- signing --------------------------------------------------------------------------
    def sign_code(self, claims: dict, *, aud: str, exp_s: int, now_s: int | None = None, kid: str | None = None,
                  typ: str = codes.CHECKIN) -> str:
        """A ``KQ1:`` code of type ``typ`` for audience ``aud`` valid until ``exp_s`` (epoch seconds)."""
        kid = kid or self.meta["code_kid"]
        return codes.encode(self._priv[kid], kid, claims, aud=aud, iat=int(time.time() if now_s is None else now_s),
                            exp=exp_s, typ=typ)

    def own_keyset(self) -> KeySet:
        """The current key set as a terminal sees it (the central service checks the receipts it
        issued exactly as terminals do: same code, same revocations)."""
        if self._own is None or self._own.version != self.meta["version"]:
            self._own = verify_keyset(self.keyset(), self._priv["root"].public_key())
        return self._own

    def sign_command(self, env: envelope.Envelope) -> envelope.Envelope:
        """Add ``sig`` to a command envelope's body with the current command key."""
        kid = self.meta["command_kid"]
        env.body["sig"] = commands.sign(self._priv[kid], kid, env.op, env.body)
        return env
