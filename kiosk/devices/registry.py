"""Driver registry: config says ``driver = "idcard.sam-serial"`` and this builds it.

Drivers register themselves by name (python-can's ``BACKENDS`` idea). Importing is lazy, so a
terminal without a camera never imports OpenCV and a missing optional library only fails the
device that needs it. Every role has a ``<role>.dummy`` for tests and terminals without it.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from kiosk.config import validate_options
from kiosk.devices.base import Device
from kiosk.errors import ConfigError
from kiosk.events import EventBus

#: registry name -> "module:Class". Modules are imported only when a config asks for them.
DRIVERS: dict[str, str] = {
    "idcard.sam-serial": "kiosk.devices.idcard:SamSerialReader",
    "printer.escpos": "kiosk.devices.printer:EscPosPrinter",
    "smartcard.pcsc": "kiosk.devices.smartcard:PcscReader",
    "scanner.serial": "kiosk.devices.scanner:SerialScanner",
    "scanner.wedge": "kiosk.devices.scanner:WedgeScanner",
    "camera.opencv": "kiosk.devices.camera:OpenCvCamera",
}


def driver_class(name: str, file: str = "<config>", key: str = "driver") -> type[Device]:
    """The class registered under ``name``."""
    target = DRIVERS.get(name)
    if target is None:
        raise ConfigError(file, key, "one of " + ", ".join(sorted(DRIVERS)), name)
    module, _, cls = target.partition(":")
    driver: type[Device] = getattr(importlib.import_module(module), cls)
    return driver


def build(role: str, section: Mapping[str, Any], bus: EventBus, file: str = "<config>") -> Device:
    """Build the driver for one ``[devices.<role>]`` section (validated options, not started)."""
    cls = driver_class(section["driver"], file, f"devices.{role}.driver")
    if getattr(cls, "role", role) != role:
        raise ConfigError(file, f"devices.{role}.driver", f"a {role} driver", section["driver"])
    options = validate_options(getattr(cls, "OPTIONS", {}), section.get("options", {}), file,
                               f"devices.{role}.options.")
    return cls(section.get("url", ""), options, bus)
