"""The maintenance screen's report (staff only): dead letters and the outbox's disk alarms are
listed with what to do. The report is built from Runtime.health(); no window needed for it."""
from __future__ import annotations

from types import SimpleNamespace

from kiosk.screens.maintenance import MaintenanceScreen
from kiosk.services.facade import TerminalInfo

INFO = TerminalInfo(terminal_id="ZM-M-01", name="1号自助终端", hall="刁家乡便民服务中心", hall_code="H410122203",
                    profile="kiosk", regions=[], version="0.1.0")


def _report(health: dict) -> str:
    guide = SimpleNamespace(cache=SimpleNamespace(english_gaps=lambda: []))
    screen = SimpleNamespace(services=SimpleNamespace(health=lambda: health, info=INFO, guide=guide),
                             app=SimpleNamespace(lang="zh_CN"), tr=lambda s: s, report="")
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
