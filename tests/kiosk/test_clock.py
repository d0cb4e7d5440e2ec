"""kiosk.clock.OffsetClock: jumps, wall-free jumps, and holding the timers still."""
from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from kiosk.clock import OffsetClock


def test_advance_moves_both_clocks_and_wall_false_only_the_timers():
    c = OffsetClock("Asia/Shanghai")
    c.hold()   # so that real time does not blur the figures
    m0, w0 = c.monotonic(), c.now()
    c.advance(60)
    assert c.monotonic() - m0 == 60
    assert abs((c.now() - w0).total_seconds() - 60) < 5
    c.advance(30, wall=False)
    assert c.monotonic() - m0 == 90
    assert abs((c.now() - w0).total_seconds() - 60) < 5


def test_held_timers_move_only_by_advance_and_resume_without_a_jump():
    """What the tour and the explorer rely on: while held, nothing times out by itself however
    slow the machine is; released, time runs on from where it stood (never backwards)."""
    c = OffsetClock("Asia/Shanghai", start=dt.datetime(2026, 12, 3, 10, 5, tzinfo=ZoneInfo("Asia/Shanghai")))
    c.hold()
    assert c.held
    m0 = c.monotonic()
    time_passes = time.monotonic() + 0.05   # real time moves on (a busy wait: no sleep in tests)
    while time.monotonic() < time_passes:
        pass
    assert c.monotonic() == m0
    c.advance(11)
    assert c.monotonic() == m0 + 11
    c.hold(False)
    assert not c.held
    after = c.monotonic()
    assert m0 + 11 <= after < m0 + 11 + 5
    assert c.monotonic() >= after


def test_the_wall_clock_keeps_running_while_the_timers_are_held():
    c = OffsetClock("Asia/Shanghai")
    c.hold()
    w0 = c.now()
    until = time.monotonic() + 0.05
    while time.monotonic() < until:
        pass
    assert c.now() > w0
