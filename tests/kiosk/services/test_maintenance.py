"""The maintenance service (kiosk.services.maintenance): the test page through the configured
printer, a clear refusal without one, and the self-test's verdict from the devices' health."""
import datetime as dt
from types import SimpleNamespace

import pytest

from kiosk.clock import FakeClock
from kiosk.devices.base import DeviceUnavailable
from kiosk.services.facade import TerminalInfo
from kiosk.services.maintenance import MaintenanceService

INFO = TerminalInfo(terminal_id="ZM-M-01", name="1号自助终端", hall="刁家乡便民服务中心", hall_code="H410122203",
                    profile="kiosk", regions=[], version="0.1.0")


class Paper:
    def __init__(self):
        self.docs = []

    def print_ticket(self, doc):
        self.docs.append(doc)

    def health(self):
        return SimpleNamespace(to_dict=lambda: {"state": "ready"})


class Gone:
    def health(self):
        return SimpleNamespace(to_dict=lambda: {"state": "error"})


class Gateway:
    online = True

    def outbox_depth(self):
        return 0

    def refused_subscriptions(self):
        return []


def make(devices):
    return MaintenanceService(INFO, Gateway(), devices, FakeClock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=FakeClock().tz)))


def test_the_test_page_goes_to_the_printer():
    paper = Paper()
    m = make({"printer": paper})
    assert m.has_printer and m.online
    m.test_print()
    assert len(paper.docs) == 1


def test_no_printer_is_a_clear_refusal():
    m = make({})
    assert not m.has_printer
    with pytest.raises(DeviceUnavailable):
        m.test_print()


def test_self_test_names_the_devices_not_ready():
    m = make({"printer": Paper(), "scanner": Gone()})
    assert m.not_ready() == ["scanner"]
    assert m.health()["terminal"] == "ZM-M-01" and set(m.health()["devices"]) == {"printer", "scanner"}
