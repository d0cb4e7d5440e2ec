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


def test_the_self_test_asks_the_printer_now_not_its_last_fault():
    """Staff load paper and run the self-test at once: the printer is asked (DLE EOT over real
    TCP to the simulator), not judged by the fault its last job met. On the old code the verdict
    stayed "printer not ready" until the link thread's next retry (backoff up to 30 s; here 60 s,
    so that only the self-test can find it ready)."""
    from firmware_bridge.escpos.document import TicketDoc
    from firmware_bridge.escpos.simulator import PrinterSimulator
    from kiosk.devices.base import Backoff, DeviceState
    from kiosk.devices.printer import EscPosPrinter, PaperOut
    from kiosk.events import EventBus

    with PrinterSimulator() as sim:
        printer = EscPosPrinter(sim.url, {}, EventBus(), backoff=Backoff(base_s=60.0, cap_s=60.0))
        printer.start()
        try:
            m = make({"printer": printer})
            sim.set_paper_out(True)
            with pytest.raises(PaperOut):
                printer.print_ticket(TicketDoc().text("A001").cut())
            assert m.not_ready() == ["printer"]
            assert m.self_test() == ["printer"]          # still out: asked, and said so
            sim.set_paper_out(False)                      # staff load a new roll
            assert m.not_ready() == ["printer"]           # its last state: the fault
            assert m.self_test() == []                    # asked now: it can print
            assert printer.state == DeviceState.READY
        finally:
            printer.stop()
