"""The tour's steps as data, where their conditions race the runtime: checked with the real session
manager and event bus on a clock that moves only when told (no Kivy, no stack)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from hall_demo.tour_steps import part_b
from kiosk.clock import FakeClock
from kiosk.events import EventBus
from kiosk.services.session import SessionManager


def _late_step(lang: str):
    return next(s for s in part_b(lang) if s.name == "late: the clock moves on")


def _ctx(visit_open: bool):
    clock = FakeClock(dt.datetime(2026, 12, 3, 10, 5, tzinfo=FakeClock().tz))
    bus = EventBus()
    sessions = SessionManager(bus, clock, timeout_s=60, language="zh_CN")
    if visit_open:
        sessions.touch()   # a visitor touched the screen (home, no card): their visit is open
    services = SimpleNamespace(sessions=sessions, bus=bus, clock=clock)
    sim = SimpleNamespace(advance=lambda s, wall=True: clock.advance(s), central_now=clock.now)
    return SimpleNamespace(app=SimpleNamespace(lang="zh_CN", services=services), sim=sim), sessions


def test_the_late_step_waits_for_the_open_visit_to_end_even_in_the_terminals_language():
    """In Chinese the language was already the terminal's, so the step passed before the runtime's
    tick ended the visit; the app's handling of that end (standard type) came after the step, and
    the layout check's elder-mode probe of the state saw k = 1.0."""
    step = _late_step("zh_CN")
    ctx, sessions = _ctx(visit_open=True)
    step.action(ctx)
    assert not step.until(ctx)   # the clock jumped, the tick thread has not ended the visit yet
    sessions.tick()              # the runtime's tick: the visit ends (session.idle)
    assert step.until(ctx) and not sessions.visit_open


def test_the_late_step_passes_at_once_when_no_visit_is_open():
    step = _late_step("zh_CN")
    ctx, _ = _ctx(visit_open=False)
    step.action(ctx)
    assert step.until(ctx)


class _Widget:
    tour_id, disabled, opacity = "msg_back", False, 1

    def walk(self, restrict=False):
        return [self]


def _tap_ctx(busy: bool, monkeypatch):
    from hall_demo import touch
    from hall_demo.tour import Ctx
    taps: list = []
    monkeypatch.setattr(touch, "tap", taps.append)
    screen = _Widget()
    app = SimpleNamespace(busy=busy, sm=SimpleNamespace(current_screen=screen, current="message"), root=screen)
    return Ctx(app, sim=None), taps


def test_a_tap_waits_for_the_busy_overlay_to_go(monkeypatch):
    """The overlay swallows touches while a service call runs (the staff call's alert): the tour's
    tap on "首页" right after it was lost, and the step waited 30 s for home."""
    from hall_demo.tour import NotYet
    ctx, taps = _tap_ctx(True, monkeypatch)
    with pytest.raises(NotYet):
        ctx.tap("msg_back")
    assert taps == []
    ctx.tap("msg_back", while_busy=True)     # the step that shows a tap being swallowed
    ctx2, taps2 = _tap_ctx(False, monkeypatch)
    ctx2.tap("msg_back")
    assert len(taps) == 1 and len(taps2) == 1
