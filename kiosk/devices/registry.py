"""Driver registry: config says ``driver = "idcard.sam-serial"`` and this builds it.

Drivers are registered by name as entry points in group ``kiosk.drivers`` (python-can's
``BACKENDS`` idea, with entry points as python-can's plug-in interfaces have them): the runtime's
own in its ``pyproject.toml``, a vendor's driver in its own distribution, so adding one touches no
list here. Importing is lazy, so a terminal without a camera never imports OpenCV and a missing
optional library only fails the device that needs it. Every role (:mod:`kiosk.roles`) has an
in-memory driver ``<role>.virtual`` (:mod:`kiosk.devices.virtual`) for tests and for terminals
without that hardware.

Why the source tree's ``pyproject.toml`` is read too: an editable install's metadata (where entry
points live) is only rewritten by ``make setup``, so in a development checkout a driver just added
to ``pyproject.toml`` would be unknown until then. Only a ``pyproject.toml`` of this distribution
(``hall-kiosk``) right beside the package counts; a terminal's wheel has none and reads only
its installed metadata.
"""
from __future__ import annotations

import functools
import importlib
import tomllib
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from pathlib import Path
from typing import Any

from kiosk import roles
from kiosk.config import validate_options
from kiosk.devices.base import Device
from kiosk.errors import ConfigError
from kiosk.events import EventBus

#: The entry-point group drivers register in: ``name = "module:Class"``.
GROUP = "kiosk.drivers"
#: The distribution whose source tree may stand beside the package (see the module's docstring).
DISTRIBUTION = "hall-kiosk"


#: Where a source checkout keeps this distribution's pyproject.toml: beside the package.
SOURCE_TREE = Path(__file__).resolve().parents[2]


def _source_tree(root: Path = SOURCE_TREE) -> dict[str, str]:
    """The drivers this distribution's own ``pyproject.toml`` registers, in a source checkout."""
    path = root / "pyproject.toml"
    try:
        project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    if project.get("name") != DISTRIBUTION:
        return {}
    return dict(project.get("entry-points", {}).get(GROUP, {}))


@functools.cache
def drivers() -> Mapping[str, str]:
    """Every registered driver: registry name -> ``"module:Class"`` (read once per process)."""
    found = {ep.name: ep.value for ep in entry_points(group=GROUP)}
    found.update(_source_tree())
    return dict(sorted(found.items()))


@functools.cache
def _own() -> Mapping[str, str]:
    """The drivers this distribution registers (read once per process, without a full scan).

    Why apart from :func:`drivers`: ``entry_points(group=...)`` reads the entry points of every
    installed distribution (13-22 ms on this machine, loaded; ~90 distributions in the development
    environment), on the kiosk's path to its first frame; its own distribution's are found by name
    in under 1 ms. A terminal's config names the runtime's own drivers, so the full scan runs only
    for a name they lack (a vendor's driver) or for the list an error shows. The runtime's own
    names win over another distribution's of the same name.
    """
    try:
        found = {ep.name: ep.value for ep in distribution(DISTRIBUTION).entry_points if ep.group == GROUP}
    except PackageNotFoundError:  # a source tree run without installing
        found = {}
    found.update(_source_tree())
    return found


def driver_class(name: str, file: str = "<config>", key: str = "driver") -> type[Device]:
    """The class registered under ``name`` (imported now; ImportError if a library it needs is missing)."""
    target = _own().get(name) or drivers().get(name)
    if target is None:
        raise ConfigError(file, key, "one of " + ", ".join(drivers()), name)
    module, _, cls = target.partition(":")
    driver: type[Device] = getattr(importlib.import_module(module), cls)
    return driver


def check(role: str, section: Mapping[str, Any], file: str = "<config>") -> tuple[type[Device], dict[str, Any]]:
    """The driver class of one ``[devices.<role>]`` section and its validated options: the driver
    must exist and be one of ``role``'s, its options must fit its ``OPTIONS``."""
    name = section["driver"]
    cls = driver_class(name, file, f"devices.{role}.driver")
    if getattr(cls, "role", None) != role:
        raise ConfigError(file, f"devices.{role}.driver", f"a {role} driver", name)
    options = validate_options(getattr(cls, "OPTIONS", {}), section.get("options", {}), file,
                               f"devices.{role}.options.")
    return cls, options


def build(role: str, section: Mapping[str, Any], bus: EventBus, file: str = "<config>") -> Device:
    """Build the driver for one ``[devices.<role>]`` section (validated options, not started)."""
    cls, options = check(role, section, file)
    return cls(section.get("url", ""), options, bus)


def virtual(role: str, bus: EventBus, **options: Any) -> Device:
    """The in-memory driver of ``role`` (not started)."""
    return build(role, {"driver": roles.by_name(role).virtual, "url": "", "options": options}, bus)
