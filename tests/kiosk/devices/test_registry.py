"""The driver registry: drivers found by entry point (group ``kiosk.drivers``) whichever
distribution registers them, the runtime's own also read from the source tree's pyproject.toml (an
editable install's metadata lags until `make setup`), and unknown names refused with the list."""
from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from kiosk.devices import registry
from kiosk.devices.virtual import VirtualIdCardReader
from kiosk.errors import ConfigError
from kiosk.events import EventBus

ROOT = Path(__file__).resolve().parents[3]


class VendorReader(VirtualIdCardReader):
    """A driver another distribution ships (here: the virtual reader under a vendor's name)."""

    driver_name = "idcard.vendor-x"


@pytest.fixture
def fresh():
    registry.drivers.cache_clear()
    registry._own.cache_clear()
    yield
    registry.drivers.cache_clear()
    registry._own.cache_clear()


def test_the_runtimes_own_driver_is_found_without_scanning_every_distribution(fresh, monkeypatch):
    """The full scan costs 13-22 ms on the way to the first frame: a built-in name never needs it."""
    def no_scan(group):
        raise AssertionError("scanned every distribution for a built-in driver")
    monkeypatch.setattr(registry, "entry_points", no_scan)
    dev = registry.build("idcard", {"driver": "idcard.virtual", "url": "", "options": {}}, EventBus())
    assert isinstance(dev, VirtualIdCardReader)


def test_another_distribution_cannot_take_a_built_in_name(fresh, monkeypatch):
    fake = EntryPoint("idcard.virtual", f"{__name__}:VendorReader", registry.GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [fake] if group == registry.GROUP else [])
    dev = registry.build("idcard", {"driver": "idcard.virtual", "url": "", "options": {}}, EventBus())
    assert type(dev) is VirtualIdCardReader


def test_a_driver_another_distribution_registers_is_built_by_its_name(fresh, monkeypatch):
    vendor = EntryPoint("idcard.vendor-x", f"{__name__}:VendorReader", registry.GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [vendor] if group == registry.GROUP else [])
    assert "idcard.vendor-x" in registry.drivers() and "idcard.sam-serial" in registry.drivers()
    dev = registry.build("idcard", {"driver": "idcard.vendor-x", "url": "", "options": {}}, EventBus())
    assert isinstance(dev, VendorReader)


def test_the_source_trees_pyproject_lists_the_runtimes_own_drivers():
    table = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["entry-points"][registry.GROUP]
    assert registry._source_tree(ROOT) == table
    assert set(table) <= set(registry.drivers())


def test_another_distributions_pyproject_beside_the_package_is_not_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "someone-else"\n'
                                             '[project.entry-points."kiosk.drivers"]\n"idcard.x" = "a:B"\n')
    assert registry._source_tree(tmp_path) == {}
    assert registry._source_tree(tmp_path / "missing") == {}


def test_an_unknown_driver_is_a_config_error_listing_the_known_ones():
    with pytest.raises(ConfigError) as info:
        registry.build("idcard", {"driver": "idcard.nope", "options": {}}, EventBus(), file="kiosk.toml")
    assert info.value.key == "devices.idcard.driver" and "idcard.sam-serial" in info.value.expected
