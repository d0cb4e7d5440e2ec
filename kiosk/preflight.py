"""What `kiosk run` refuses to start with, in one list: `kiosk doctor` applies the same checks.

Each check returns a short detail when it passes and raises a typed :class:`KioskError` (a
reason and what to do) when it fails: the production profile (kiosk.trust.policy), the state
directory (kiosk.storage), the trust root and its stored state (kiosk.trust.keys), every device's
driver name and options (kiosk.devices.registry), the TLS files (kiosk.trust.tls) and the sealing
key (kiosk.network.sealed).
`kiosk run` stops at the first failure with one line on stderr and exit 2; `kiosk doctor` prints
a line for each and exits 2 when any of them fails. Nothing here writes to a running kiosk's files.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.errors import KioskError

if TYPE_CHECKING:
    from kiosk.config import Config


def _policy(cfg: Config) -> str:
    from kiosk.trust import policy
    policy.enforce(cfg)  # raises InsecureConfig
    return f"{cfg.get('network.profile')} profile"


def _state_dir(cfg: Config) -> str:
    from kiosk import storage
    return str(storage.check_state_dir(cfg.get("runtime.state_dir")))


def _drivers(cfg: Config) -> str:
    from kiosk.devices import registry
    names = []
    for role, section in cfg.devices().items():
        try:
            registry.check(role, section, cfg.source)  # ConfigError: unknown, another role's, bad options
        except ImportError as e:  # a library the driver needs is missing
            raise KioskError(f"driver {section['driver']} cannot be loaded: {e}", code="driver",
                             action="reinstall the runtime (make setup)") from None
        names.append(section["driver"])
    return ", ".join(names) or "no devices configured"


def _trust(cfg: Config) -> str:
    root = cfg.get("trust.root_key")
    if not root:
        return "no trust.root_key (development only: signed codes and commands are refused)"
    from kiosk.trust.keys import TrustError, TrustStore
    try:
        store = TrustStore(cfg.get("runtime.state_dir"), root)  # reads only; raises TrustError
    except ValueError as e:
        raise TrustError(f"trust.root_key is not an Ed25519 public key: {e}",
                         action="set trust.root_key to the key `python -m hall_central.pki` printed") from None
    return f"root key pinned, key set {f'v{store.keyset.version}' if store.keyset else 'not yet installed'}"


def _tls(cfg: Config) -> str:
    broker = cfg.get("network.broker")
    if not broker.startswith("mqtts://"):
        return f"{broker.split('://')[0]}:// (no TLS)"
    from kiosk.trust.tls import client_context
    g = cfg.get
    client_context(g("network.ca_file") or None, g("network.cert_file") or None,  # raises TlsConfigError
                   g("network.key_file") or None, bool(g("network.tls_insecure")))
    return "certificate, key and CA load" if g("network.cert_file") else "CA loads (no client certificate)"


def _seal_key(cfg: Config) -> str:
    from kiosk.network.sealed import Sealer
    path = cfg.get("mobile.seal_key_file", "")
    if not path and cfg.get("terminal.profile") == "mobile":
        path = str(Path(cfg.get("runtime.state_dir", "var")) / "seal.key")  # as Sealer.from_config
    if not path:
        return "none (kiosk profile: nothing is sealed)"
    if not Path(path).exists() and cfg.get("mobile.seal_key_create", True):
        return f"{path} (created at the first start)"
    Sealer.from_config(cfg)  # raises SealError: unreadable, wrong size, or missing
    return str(path)


#: (name, check) in the order `kiosk run` meets them.
CHECKS: tuple[tuple[str, Callable[[Config], str]], ...] = (
    ("policy", _policy), ("state_dir", _state_dir), ("trust", _trust), ("drivers", _drivers), ("tls", _tls),
    ("seal_key", _seal_key))


def results(cfg: Config) -> list[tuple[str, str | None, KioskError | None]]:
    """Every check: (name, detail when it passed, error when it failed)."""
    out: list[tuple[str, str | None, KioskError | None]] = []
    for name, check in CHECKS:
        try:
            out.append((name, check(cfg), None))
        except KioskError as e:
            out.append((name, None, e))
    return out


def enforce(cfg: Config) -> None:
    """Raise the first refusal (a typed KioskError); `kiosk run` calls this before it starts."""
    for _name, check in CHECKS:
        check(cfg)


def one_line(e: KioskError, prefix: str = "kiosk run: refused to start") -> str:
    """A refusal as the one line `kiosk run` and `kiosk doctor` print on stderr (no newline inside)."""
    text = f"{prefix}: {e.reason}" + (f" -> {e.action}" if e.action else "")
    return " ".join(text.split())
