"""Where the broker is and how to reach it: the one parser of ``network.broker`` and its TLS files.

``mqtt://host[:port]`` (1883) or ``mqtts://host[:port]`` (8883, TLS with the ``[network]`` section's
CA, client certificate and key). Used by the gateway (kiosk.network.link connects there) and by
`kiosk doctor`'s broker probe, so both reach the broker the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from kiosk.config import Config


@dataclass(frozen=True)
class Broker:
    """Where the broker is: host, port, and whether the link is TLS (``mqtts://``)."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> Broker:
        """``mqtt://host[:port]`` (1883) or ``mqtts://host[:port]`` (8883); ValueError otherwise."""
        u = urlparse(url)
        try:
            port = u.port  # raises ValueError beyond 65535
        except ValueError:
            port = 0
        if u.scheme not in ("mqtt", "mqtts") or not u.hostname or port == 0:
            raise ValueError(f"broker URL must be mqtt://host[:port] or mqtts://host[:port] with a port "
                             f"of 1-65535, got {url!r}")
        return cls(u.hostname, port or (8883 if u.scheme == "mqtts" else 1883), u.scheme == "mqtts")


def tls_settings(cfg: Config) -> dict[str, Any] | None:
    """The TLS files of the ``[network]`` section for an ``mqtts://`` broker; None for ``mqtt://``."""
    g = cfg.get
    if not g("network.broker", "").startswith("mqtts://"):
        return None
    return {"ca": g("network.ca_file") or None, "cert": g("network.cert_file") or None,
            "key": g("network.key_file") or None, "insecure": bool(g("network.tls_insecure"))}
