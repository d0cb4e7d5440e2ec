"""The one place that builds a TLS client context for MQTT (the gateway and the central service).

Why our own context rather than paho's ``tls_set``: we pin the minimum protocol to TLS 1.2, always
verify the broker's certificate and name unless told otherwise, and fail with a typed error that
names the missing file instead of an ``ssl`` traceback.
"""
from __future__ import annotations

import ssl
from pathlib import Path

from kiosk.errors import KioskError


class TlsConfigError(KioskError):
    """The TLS files of the configuration are missing or unreadable."""

    code = "network.tls_config"


def client_context(ca: str | None = None, cert: str | None = None, key: str | None = None,
                   insecure: bool = False) -> ssl.SSLContext:
    """A TLS 1.2+ client context: CA (or the system store), optional client cert/key."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if ca:
            ctx.load_verify_locations(cafile=ca)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        if cert:
            ctx.load_cert_chain(certfile=cert, keyfile=key or None)
    except (OSError, ssl.SSLError) as e:
        missing = [p for p in (ca, cert, key) if p and not Path(p).is_file()]
        what = f"missing {', '.join(missing)}" if missing else str(e)
        raise TlsConfigError(f"TLS files unusable: {what}",
                             action="technician: install the terminal's certificate, key and the device CA") from None
    if insecure:
        # Development only: the runtime refuses this in the production profile.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
