"""Byte pipes opened from a URL: the only place that turns a config URL into a port or socket.

- ``/dev/ttyUSB0``, ``/dev/serial/by-id/...``, a pty path or a symlink to one: a serial port;
- ``socket://host:port`` and ``tcp://host:port``: a raw TCP socket (printers on port 9100);
- ``loop://`` (pyserial's loopback, for unit tests), ``rfc2217://``, ``spy://`` (pyserial's
  wire-trace wrapper, for debugging a device on site).

Everything is a pyserial object with ``read(n)``, ``write(b)``, ``timeout``, ``close()``, so a
driver does not care which one it has. Why pyserial for TCP too: its ``socket://`` handler gives
the same timeout semantics as a serial port (``read`` returns what came within the timeout).
Remember (PITFALLS.md): ``read(n)`` may return fewer bytes; codecs accumulate.
"""
from __future__ import annotations

import os

import serial

from kiosk.devices.base import DeviceUnavailable


def normalise(url: str) -> str:
    """Map our URL forms onto pyserial's (``tcp://`` -> ``socket://``)."""
    if url.startswith("tcp://"):
        return "socket://" + url[len("tcp://"):]
    return url


def open_url(url: str, *, baudrate: int = 115200, timeout_s: float = 0.2,
             write_timeout_s: float = 2.0, exclusive: bool = True) -> serial.Serial:
    """Open ``url`` as a byte pipe; raise :class:`DeviceUnavailable` with a technician's hint."""
    target = normalise(url)
    if not target:
        raise DeviceUnavailable("no device URL configured", action="set devices.<role>.url")
    try:
        if "://" in target:
            return serial.serial_for_url(target, baudrate=baudrate, timeout=timeout_s,
                                         write_timeout=write_timeout_s)
        if not os.path.exists(target):
            raise DeviceUnavailable(f"{url} does not exist",
                                    action="check the cable; prefer /dev/serial/by-id/... names")
        # exclusive: a second process (a vendor tool, ModemManager) must not share the port.
        return serial.Serial(target, baudrate=baudrate, timeout=timeout_s,
                             write_timeout=write_timeout_s, exclusive=exclusive)
    except DeviceUnavailable:
        raise
    except (serial.SerialException, OSError, ValueError) as e:
        raise DeviceUnavailable(f"cannot open {url}: {e}",
                                action="check the cable, the URL and that no other program holds the port") from e
