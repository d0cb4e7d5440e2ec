"""The in-memory drivers (kiosk/devices/virtual.py) publish what the role's hardware drivers publish
and raise their typed errors: a placed ID card and an inserted social security card begin a
session and their removal ends it (the session reads kiosk/roles.py); codes are classified and
deduplicated; the printer keeps what it prints and refuses while out of paper, once per fault."""
from __future__ import annotations

import datetime as dt

import pytest

from firmware_bridge.escpos.document import TicketDoc
from kiosk.clock import FakeClock
from kiosk.devices import registry
from kiosk.devices.base import DeviceState, DeviceTimeout, DeviceUnavailable
from kiosk.devices.printer import CoverOpen, PaperOut
from kiosk.events import EventBus
from kiosk.services.session import SessionManager
from tests import recording


class Identity:
    """The fields of an ID card's Identity (firmware_bridge.idcard.identity), made up."""

    id_number, name, birth_date = "410122198105122460", "王秀兰", dt.date(1981, 5, 12)
    address, sex, card_type = "河南省郑州市中牟县", "女", "resident"


@pytest.fixture
def bus():
    return EventBus()


@pytest.fixture
def started(bus):
    made = []

    def make(role, **options):
        dev = registry.virtual(role, bus, **options)
        dev.start()
        made.append(dev)
        return dev
    yield make
    for dev in made:
        dev.stop()


def test_id_card_placed_begins_a_session_and_removed_ends_it(bus, started):
    sessions = SessionManager(bus, FakeClock())
    rec = recording.Recorder(bus, "idcard")
    reader = started("idcard")
    reader.place(Identity())
    assert rec.topics(exclude_state=True) == ["idcard.presented", "idcard.identity"]
    assert sessions.citizen.masked_name == "王*兰" and sessions.citizen.source == "idcard"
    assert reader.read_once(0.01).id_number == Identity.id_number
    reader.remove()
    assert sessions.citizen is None and rec.topics(exclude_state=True)[-1] == "idcard.removed"
    with pytest.raises(DeviceTimeout):
        reader.read_once(0.01)


def test_a_card_on_a_reader_that_is_unplugged_is_removed(bus, started):
    sessions = SessionManager(bus, FakeClock())
    rec = recording.Recorder(bus, "idcard")
    reader = started("idcard")
    reader.place(Identity())
    reader.unplug()
    removed = rec.wait_for("idcard.removed")  # the link thread sees the loss
    assert removed.extra == {"reason": "device lost"} and sessions.citizen is None  # as a real reader's loss
    with pytest.raises(DeviceUnavailable):
        reader.place(Identity())


def test_social_security_card_begins_a_session_a_staff_card_does_not(bus, started):
    sessions = SessionManager(bus, FakeClock())
    reader = started("smartcard")
    reader.insert({"staff_number": "S002", "name": "王芳"})
    assert sessions.citizen is None
    reader.insert({"social_security_number": "410122198105122460", "name": "王秀兰"})
    assert sessions.citizen.source == "smartcard" and sessions.citizen.card_type == "social_security"
    reader.remove()
    assert sessions.citizen is None


@pytest.mark.parametrize("role, show", [("scanner", "scan"), ("camera", "show")])
def test_codes_are_classified_and_a_repeat_is_dropped_until_forgotten(bus, started, role, show):
    rec = recording.Recorder(bus, f"{role}.scan")
    dev = started(role)
    assert getattr(dev, show)("11010519491231002X")
    assert not getattr(dev, show)("11010519491231002X")  # within dedupe_s
    dev.forget()
    assert getattr(dev, show)("11010519491231002X")
    assert [p.kind for p in rec.data(f"{role}.scan")] == ["id_number", "id_number"]


def test_camera_still_is_a_copy_of_what_it_sees(started):
    camera = started("camera")
    with pytest.raises(DeviceTimeout):
        camera.capture_still(0.01)
    frame = bytearray(b"frame")
    camera.frame(frame)
    still = camera.capture_still(0.01)
    assert still == frame and still is not frame


def test_printer_keeps_what_it_prints_and_refuses_while_out_of_paper(bus, started):
    rec = recording.Recorder(bus, "printer")
    printer = started("printer")
    doc = TicketDoc().text("排队号：A012").cut()
    assert printer.print_ticket(doc).printed and printer.printed == [doc]
    printer.set_paper_out(True)
    assert printer.state == DeviceState.ERROR and printer.health().error["code"] == "printer.paper_out"
    for _ in range(2):
        with pytest.raises(PaperOut):
            printer.print_ticket(doc)
    printer.set_cover_open(True)
    assert [e["code"] for e in rec.data("printer.error")] == ["printer.paper_out"]  # once per fault
    printer.set_paper_out(False)
    with pytest.raises(CoverOpen):
        printer.test_page()
    printer.set_cover_open(False)
    assert printer.state == DeviceState.READY and printer.test_page().printed
    assert [e["code"] for e in rec.data("printer.error")] == ["printer.paper_out", "printer.cover_open"]
    assert len(printer.printed) == 2 and "排队号" not in str(rec.data("printer.printed"))


def test_a_stopped_virtual_device_refuses_with_a_typed_error(started):
    printer = started("printer")
    printer.stop()
    with pytest.raises(DeviceUnavailable):
        printer.print_ticket(TicketDoc().text("x").cut())
