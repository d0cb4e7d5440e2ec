"""Start-up security policy: what the production profile refuses, and process hardening.

In ``network.profile = "production"`` the runtime does not start with a plaintext broker URL,
with certificate checks off, without its client certificate and the device CA, or without a
pinned root key for signed codes and commands. Core dumps are switched off for every profile:
a dump of the process would hold the citizen of the session in progress.
"""
from __future__ import annotations

import logging
import resource

from kiosk.config import Config
from kiosk.errors import KioskError

log = logging.getLogger("kiosk.trust.policy")


class InsecureConfig(KioskError):
    """The production profile with a setting that would expose citizens' data or accept forgeries."""

    code = "config.insecure"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("production profile refused: " + "; ".join(problems),
                         action="technician: configure mqtts://, the terminal certificate, the device CA "
                                "and trust.root_key, or use network.profile = \"development\"")
        self.problems = problems


def production_problems(cfg: Config) -> list[str]:
    """What keeps ``cfg`` from being a production configuration (empty if nothing)."""
    g = cfg.get
    problems = []
    if not str(g("network.broker", "")).startswith("mqtts://"):
        problems.append("network.broker is plaintext (mqtt://); use mqtts://")
    if g("network.tls_insecure"):
        problems.append("network.tls_insecure = true turns certificate checks off")
    for key in ("network.ca_file", "network.cert_file", "network.key_file"):
        if not g(key):
            problems.append(f"{key} is empty")
    if not g("trust.root_key"):
        problems.append("trust.root_key is empty: codes and commands could not be verified")
    return problems


def enforce(cfg: Config) -> None:
    """Raise :class:`InsecureConfig` if the production profile is set and not met."""
    if cfg.get("network.profile", "development") != "production":
        if cfg.get("network.tls_insecure"):
            log.warning("TLS certificate checks are off (development profile only)")
        return
    problems = production_problems(cfg)
    if problems:
        raise InsecureConfig(problems)


def disable_core_dumps() -> bool:
    """Set RLIMIT_CORE to 0 (soft and hard) for this process and its children; True if done."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        return True
    except (ValueError, OSError):  # pragma: no cover - a sandbox may forbid it
        log.warning("could not disable core dumps")
        return False
