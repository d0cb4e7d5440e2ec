"""Fixtures of the services' tests on real parts: a private Mosquitto (tests/conftest.py), the
reference central service on a clock that stands still, and a runtime on a fake clock."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hall_central.clock import FixedClock
from hall_central.service import CentralService
from kiosk import config
from kiosk.clock import FakeClock
from kiosk.runtime import Runtime
from tests.waiting import wait_for

#: A Wednesday mid-morning, hall time: tomorrow is a working day with every slot in the future.
NOW = dt.datetime(2026, 3, 18, 10, 0)


class Paper:
    """A printer that keeps the documents it is given (the slip's text is what is checked)."""

    def __init__(self) -> None:
        self.docs: list[Any] = []

    def print_ticket(self, doc) -> None:
        self.docs.append(doc)


@pytest.fixture
def stack(tmp_path, broker):
    """(runtime, central service, the central service's clock): online, catalogue cached, the
    printer a :class:`Paper`; the runtime's hall is the demo hall."""
    central_clock = FixedClock(start=NOW.replace(tzinfo=dt.timezone(dt.timedelta(hours=8))))
    central = CentralService(broker.url, str(tmp_path / "central.db"), clock=central_clock).start()
    cfg = config.from_dict({
        "terminal": {"id": "ZM-BOOK-0001", "hall": "中牟县刁家乡便民服务中心", "hall_code": "H410122203",
                     "region": {"city": "410100"}},
        "runtime": {"state_dir": str(tmp_path / "state")},
        "network": {"broker": broker.url},
    })
    clock = FakeClock(NOW.replace(tzinfo=FakeClock().tz))
    rt = Runtime(cfg, devices={}, clock=clock).start()
    wait_for(lambda: rt.gateway.online, 15, "the gateway to connect")
    assert rt.services.guide.refresh()
    rt.services.checkin.printer = Paper()
    try:
        yield rt, central, central_clock
    finally:
        rt.stop()
        central.stop()
