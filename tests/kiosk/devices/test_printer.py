"""EscPosPrinter against the simulator over a real TCP socket and a real pty."""
import threading

import pytest
import zxingcpp

from firmware_bridge.escpos.document import TicketDoc, TicketError
from firmware_bridge.escpos.simulator import PrinterSimulator
from kiosk.config import validate_options
from kiosk.devices import registry
from kiosk.devices.base import Backoff, DeviceState, DeviceUnavailable
from kiosk.devices.printer import CoverOpen, EscPosPrinter, PaperOut, PrinterOffline
from kiosk.events import EventBus
from tests import recording

#: Generous guard for awaited events; a passing run never waits for it.
WAIT_S = 10


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, leaked


class Recorder(recording.Recorder):
    """The printer role's events, and waiting for a printer's state."""

    def __init__(self, bus: EventBus) -> None:
        super().__init__(bus, "printer", WAIT_S)

    def wait_state(self, printer: EscPosPrinter, state: DeviceState) -> None:
        self.wait(lambda: printer.state == state)


def ticket(n: str = "A012") -> TicketDoc:
    return (TicketDoc().text("郑州市政务服务中心", size=2, bold=True, align="center")
            .text(f"排队号：{n}", size=2, align="center").rule()
            .text("业务：社会保障卡补办").text("前面等候 5 人")
            .qr(f"https://zwfw.zhengzhou.gov.cn/q?t={n}", size=6).cut())


@pytest.fixture
def sim():
    s = PrinterSimulator().start()
    yield s
    s.stop()


@pytest.fixture
def rec(bus):
    return Recorder(bus)


@pytest.fixture
def make_printer(bus):
    made = []

    def make(url, **options):
        p = EscPosPrinter(url, options, bus, backoff=Backoff(base_s=0.01, cap_s=0.05))
        p.start()
        made.append(p)
        return p
    yield make
    for p in made:
        p.stop()


def check_printed(sim, n="A012"):
    [t] = sim.tickets
    url = f"https://zwfw.zhengzhou.gov.cn/q?t={n}"
    assert [c.text for c in zxingcpp.read_barcodes(t.image)] == [url]
    assert t.qr_data == [url]
    assert t.text.splitlines()[:2] == ["郑州市政务服务中心", f"排队号：{n}"]


def test_chinese_ticket_with_qr_over_tcp(sim, make_printer, rec):
    p = make_printer(sim.url)
    assert p.state == DeviceState.READY
    result = p.print_ticket(ticket())
    assert result.printed and result.confirmed and result.bytes_sent < 600
    check_printed(sim)
    [printed] = rec.data("printer.printed")
    assert printed["printed"] is True and "排队号" not in str(printed)  # no ticket content in events
    assert p.health().to_dict()["detail"]["profile"] == "default-80mm"


def test_chinese_ticket_over_pty(tmp_path, make_printer):
    link = tmp_path / "ttyPRINTER"
    with PrinterSimulator(pty_link=link, tcp=False) as sim:
        p = make_printer(str(link))
        assert p.print_ticket(ticket()).printed
        check_printed(sim)
        p.stop()


def test_paper_out_before_the_job(sim, make_printer, rec):
    p = make_printer(sim.url)
    sim.set_paper_out(True)
    with pytest.raises(PaperOut) as info:
        p.print_ticket(ticket())
    assert info.value.citizen_message == "打印机缺纸，请联系工作人员"
    assert "paper roll" in info.value.action
    assert sim.tickets == [] and sim.lost_jobs == 0  # nothing was even sent
    with pytest.raises(PaperOut):
        p.print_ticket(ticket())
    assert [e["code"] for e in rec.data("printer.error")] == ["printer.paper_out"]  # once per fault
    assert p.state == DeviceState.ERROR
    sim.set_paper_out(False)
    rec.wait_state(p, DeviceState.READY)
    assert p.print_ticket(ticket()).printed


def test_paper_out_mid_job_is_not_reported_printed(sim, make_printer, rec):
    p = make_printer(sim.url)
    sim.set_paper_out_after(150)
    with pytest.raises(PaperOut) as info:
        p.print_ticket(ticket())
    assert "during the job" in info.value.reason
    assert rec.data("printer.printed") == []
    assert sim.tickets == [] and sim.lost_jobs == 1
    sim.set_paper_out(False)
    rec.wait_state(p, DeviceState.READY)
    assert p.print_ticket(ticket("A013")).printed
    check_printed(sim, "A013")


def test_cover_open_and_offline(sim, make_printer, rec):
    p = make_printer(sim.url)
    sim.set_cover_open(True)
    with pytest.raises(CoverOpen) as info:
        p.print_ticket(ticket())
    assert "盖" in info.value.citizen_message
    sim.set_cover_open(False)
    sim.go_offline(True)
    with pytest.raises(PrinterOffline):
        p.print_ticket(ticket())
    assert [e["code"] for e in rec.data("printer.error")] == ["printer.cover_open", "printer.offline"]
    assert p.health().error["code"] == "printer.offline"
    sim.go_offline(False)
    rec.wait_state(p, DeviceState.READY)
    assert sim.tickets == []


def test_paper_near_end_still_prints_and_is_reported(sim, make_printer):
    p = make_printer(sim.url)
    sim.set_paper_near_end(True)
    result = p.print_ticket(ticket())
    assert result.printed and result.status.paper_near_end
    assert p.status().paper_near_end


def test_link_dropped_and_restored(make_printer, rec):
    sim = PrinterSimulator().start()
    port = sim.port
    p = make_printer(sim.url)
    sim.drop_connections()  # a blip: the next print reopens the link by itself
    assert p.print_ticket(ticket("A001")).printed
    sim.stop()  # printer gone
    with pytest.raises(DeviceUnavailable):
        p.print_ticket(ticket("A002"))
    assert p.state == DeviceState.ERROR
    assert rec.data("printer.error")[-1]["code"] == "device.unavailable"
    sim2 = PrinterSimulator(tcp_port=port).start()  # back on the same address
    try:
        rec.wait_state(p, DeviceState.READY)  # the recovery thread reconnected with backoff
        assert p.print_ticket(ticket("A003")).printed
        assert [t.qr_data[0][-4:] for t in sim2.tickets] == ["A003"]
    finally:
        p.stop()
        sim2.stop()
    assert [t.qr_data[0][-4:] for t in sim.tickets] == ["A001"]


def test_start_without_a_printer_does_not_raise(make_printer, tmp_path):
    p = make_printer(str(tmp_path / "no-such-tty"))
    assert p.state == DeviceState.ERROR
    assert p.health().error["code"] == "device.unavailable"


def test_silent_device_times_out(make_printer):
    import socket
    with socket.socket() as srv:  # accepts but never answers (wrong device on the port)
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        p = make_printer(f"tcp://127.0.0.1:{srv.getsockname()[1]}", status_timeout_s=0.1)
        assert p.state == DeviceState.ERROR
        assert p.health().error["code"] == "device.timeout"
        p.stop()


def test_check_status_off_sends_unconfirmed(sim, make_printer):
    p = make_printer(sim.url, check_status=False)
    done = threading.Event()
    sim.on_ticket = lambda t: done.set()
    result = p.print_ticket(ticket())
    assert result.printed and not result.confirmed and result.status is None
    assert done.wait(WAIT_S)  # nothing confirms the job on the wire: await the paper itself
    check_printed(sim)


def test_usb_without_pyusb_is_a_typed_error(make_printer):
    try:
        import usb  # noqa: F401
        pytest.skip("pyusb is installed here; the missing-library path cannot be shown")
    except ImportError:
        pass
    p = make_printer("usb://0416:5011")
    assert p.state == DeviceState.ERROR
    assert "pyusb" in p.health().error["action"]


def test_test_page_and_bad_ticket(sim, make_printer):
    p = make_printer(sim.url)
    assert p.test_page().printed
    assert sim.tickets[0].qr_data == ["kiosk-printer-test-page"]
    assert "打印机测试页" in sim.tickets[0].text
    with pytest.raises(TicketError):
        p.print_ticket("not a ticket")
    assert p.state == DeviceState.READY


def test_registry_builds_the_driver_with_validated_options(bus):
    cls = registry.driver_class("printer.escpos")
    assert cls is EscPosPrinter and cls.role == "printer"
    opts = validate_options(cls.OPTIONS, {"profile": "default-58mm"}, "<test>", "devices.printer.options.")
    assert opts == {"profile": "default-58mm", "status_timeout_s": 1.0, "check_status": True}
    p = registry.build("printer", {"driver": "printer.escpos", "url": "", "options": {}}, bus)
    assert isinstance(p, EscPosPrinter) and p.profile.name == "default-80mm"
