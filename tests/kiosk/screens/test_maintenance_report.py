"""The maintenance screen's report (staff only): dead letters and the outbox's disk alarms are
listed with what to do. The report is built from Runtime.health(); no window needed for it."""
from __future__ import annotations

from types import SimpleNamespace

from kiosk.i18n import Translator
from kiosk.network.catalogue import has_chinese
from kiosk.screens.maintenance import MaintenanceScreen
from kiosk.services.facade import TerminalInfo

INFO = TerminalInfo(terminal_id="ZM-M-01", name="1号自助终端", hall="刁家乡便民服务中心", hall_code="H410122203",
                    profile="kiosk", regions=[], version="0.1.0")


def _report(health: dict, lang: str | None = None) -> str:
    """The report of ``health``: in ``lang`` through the compiled catalogue, or untranslated (the ids)."""
    guide = SimpleNamespace(cache=SimpleNamespace(english_gaps=lambda: []))
    tr = (lambda s: Translator().tr(s, lang)) if lang else (lambda s: s)
    screen = SimpleNamespace(services=SimpleNamespace(health=lambda: health, info=INFO, guide=guide),
                             app=SimpleNamespace(lang=lang or "zh_CN"), tr=tr, report="")
    MaintenanceScreen.refresh(screen)  # type: ignore[arg-type]  # a stand-in screen: the report's inputs only
    return screen.report


def test_dead_letters_and_outbox_alarms_are_listed():
    report = _report({"online": True, "outbox_depth": 2, "devices": {}, "dead_letters": 1,
                      "recent_dead_letters": [{"id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "op": "feedback.submit",
                                               "failures": 5, "last_error": "unreadable answer: bad code"}],
                      "outbox_alarms": [{"kind": "full", "reason": "disk full: /var/lib/kiosk/outbox.sqlite3",
                                         "action": "free space on the file system of /var/lib/kiosk"}]})
    assert "Dead letters (answers this terminal could not read: tell the operators): 1" in report
    assert "feedback.submit 0f1e2d3c4b5a unreadable answer: bad code" in report
    assert "Outbox alarm: disk full: /var/lib/kiosk/outbox.sqlite3 -> free space" in report


def test_nothing_extra_when_all_is_well():
    report = _report({"online": True, "outbox_depth": 0, "devices": {}})
    assert "Dead letters" not in report and "Outbox alarm" not in report


#: Devices as Runtime.health() lists them: one ready, one out of paper, one unreachable.
DEVICES = {"idcard": {"role": "idcard", "driver": "idcard.sam-serial", "state": "ready", "error": None},
           "printer": {"role": "printer", "driver": "printer.escpos", "state": "error",
                       "error": {"code": "printer.paper_out", "reason": "printer reports paper out before the job",
                                 "action": "staff: load a new paper roll and close the cover"}},
           "scanner": {"role": "scanner", "driver": "scanner.serial", "state": "error",
                       "error": {"code": "device.unavailable", "reason": "cannot open /dev/ttyUSB1",
                                 "action": "check the scanner's USB cable"}}}


def test_device_lines_follow_the_terminals_language():
    """Found by a cold try: the device lines were English ("printer: error printer.paper_out staff:
    load a new paper roll...") on a Chinese terminal. Each line is in the report's language; the
    error code stays as it is (the log and the supplier know it by it)."""
    report = _report({"online": True, "outbox_depth": 0, "devices": DEVICES}, lang="zh_CN")
    lines = report.splitlines()[-3:]
    assert all(has_chinese(line) for line in lines), lines
    printer = next(line for line in lines if "printer.paper_out" in line)
    assert "load a new paper roll" not in printer and "error" not in printer.replace("printer.paper_out", "")
    for english in ("idcard", "scanner", "ready", "staff:", "check the"):
        assert english not in report, (english, report)
    en = _report({"online": True, "outbox_depth": 0, "devices": DEVICES}, lang="en")
    assert "Ticket printer: fault (printer.paper_out) out of paper" in en
    assert "ID-card reader: ready" in en and not has_chinese("\n".join(en.splitlines()[-3:]))
