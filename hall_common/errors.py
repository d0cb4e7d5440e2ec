"""Typed errors: one base class that carries what happened, why, and what to do.

Every layer raises a subclass of :class:`KioskError`: the codecs (``firmware_bridge.errors``), the
drivers, the network and the services. The UI shows ``citizen_message`` (or the translated text for
``code``), staff screens and logs show ``reason`` and ``action``. Modelled on OctoPrint's
``ErrorInformation(error, reason, consequence)``. It lives on the ground floor so that the codecs,
which sit below the runtime, stand alone and still raise the errors the runtime handles.
"""
from __future__ import annotations


class KioskError(Exception):
    """Base of every typed error: a stable ``code``, a technical ``reason`` and an ``action``."""

    code = "error"
    #: What a citizen at the screen is told (Chinese first; screens translate by ``code``).
    citizen_message = "操作未完成，请联系工作人员。"

    def __init__(self, reason: str, *, action: str = "", code: str | None = None,
                 consequence: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.action = action
        self.consequence = consequence
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        """A JSON-friendly description (for logs, telemetry and `kiosk doctor`)."""
        return {"code": self.code, "reason": self.reason, "action": self.action,
                "consequence": self.consequence}

    def __str__(self) -> str:  # pragma: no cover - trivial
        hint = f" ({self.action})" if self.action else ""
        return f"{self.code}: {self.reason}{hint}"


class ConfigError(KioskError):
    """The configuration is malformed: names the file, the key and what was expected."""

    code = "config"

    def __init__(self, file: str, key: str, expected: str, got: object = None) -> None:
        got_txt = "" if got is None else f", got {got!r}"
        super().__init__(f"{file}: {key}: expected {expected}{got_txt}",
                         action="fix the configuration file and start again")
        self.file, self.key, self.expected = file, key, expected


class DeviceError(KioskError):
    """A device fault: ``reason`` for staff, ``action`` for what to do, ``citizen_message`` for the screen."""

    code = "device"
    citizen_message = "设备暂时不可用，请联系工作人员。"


class DeviceUnavailable(DeviceError):
    """The device is missing, unplugged or not answering."""

    code = "device.unavailable"


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""

    code = "device.timeout"
