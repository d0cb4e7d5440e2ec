"""Where the broker is and how to reach it: ``network.broker`` and its TLS files.

``mqtt://host[:port]`` (1883) or ``mqtts://host[:port]`` (8883, TLS with the ``[network]`` section's
CA, client certificate and key); an IPv6 host in brackets (``mqtts://[::1]:8883``). The URL's one
parser is :func:`kiosk.config.broker_address`, which the config's validation and the central
service's command line share. Used by the gateway (kiosk.network.link connects there) and by
`kiosk doctor`'s broker probe, so both reach the broker the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.config import Config, broker_address


@dataclass(frozen=True)
class Broker:
    """Where the broker is: host, port, and whether the link is TLS (``mqtts://``)."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> Broker:
        """``mqtt://host[:port]`` (1883) or ``mqtts://host[:port]`` (8883), an IPv6 host in brackets
        (:func:`kiosk.config.broker_address`); ValueError otherwise."""
        host, port, tls = broker_address(url)
        return cls(host, port, tls)


def tls_settings(cfg: Config) -> dict[str, Any] | None:
    """The TLS files of the ``[network]`` section for an ``mqtts://`` broker; None for ``mqtt://``."""
    g = cfg.get
    if not g("network.broker", "").startswith("mqtts://"):
        return None
    return {"ca": g("network.ca_file") or None, "cert": g("network.cert_file") or None,
            "key": g("network.key_file") or None, "insecure": bool(g("network.tls_insecure"))}
