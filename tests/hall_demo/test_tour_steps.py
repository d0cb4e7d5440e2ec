"""The tour's steps as data, where their conditions race the runtime: checked with the real session
manager and event bus on a clock that moves only when told (no Kivy, no stack)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

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
