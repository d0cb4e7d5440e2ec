"""The reconnect supervisor's policy on a fake clock (no sleeps): one scheduled attempt at a time,
capped backoff with full jitter, the longest wait for a refused identity, the log lines."""
from __future__ import annotations

import logging
import random
import threading

import pytest

from hall_common.backoff import Backoff
from hall_common.reconnect import LinkState, ReconnectSupervisor


class FakeClock:
    """A monotonic clock that moves only when the supervisor sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, stop: threading.Event, seconds: float) -> bool:
        self.slept.append(seconds)
        self.now += seconds
        return stop.is_set()


@pytest.fixture
def clock():
    return FakeClock()


def _supervisor(clock, log=None, base_s=1.0, cap_s=8.0, seed=7) -> ReconnectSupervisor:
    return ReconnectSupervisor("link", Backoff(base_s=base_s, cap_s=cap_s, rng=random.Random(seed)), log=log,
                               clock=clock, sleep=clock.sleep)


def test_delays_grow_capped_with_full_jitter_and_reset_on_success(clock):
    sup = _supervisor(clock)
    stop = threading.Event()
    delays = []
    for n in range(8):
        assert sup.state in (LinkState.IDLE, LinkState.CONNECTING)
        delays.append(sup.failed(f"refused {n}"))
        assert sup.state == LinkState.WAITING and sup.failures == n + 1
        assert sup.wait(stop) is False and sup.state == LinkState.CONNECTING
    for n, d in enumerate(delays):
        assert 0 <= d <= min(8.0, 1.0 * 2 ** n)  # full jitter under the exponential ceiling, capped
    assert clock.slept == pytest.approx(delays)
    sup.connected()
    assert sup.state == LinkState.CONNECTED and sup.failures == 0 and sup.backoff.attempt == 0
    assert sup.failed("again") <= 1.0  # back to the first ceiling


def test_one_scheduled_attempt_a_second_report_of_the_same_failure_changes_nothing(clock):
    sup = _supervisor(clock)
    first = sup.failed("broker refused the connection: Not authorized", auth=True)
    clock.now += 0.5
    # paho then reports the socket the broker closed: the same failure, seen twice.
    assert sup.failed("closed the connection before CONNACK") == pytest.approx(first - 0.5)
    assert sup.failures == 1 and sup.backoff.attempt == 1 and "Not authorized" in sup.last_error
    assert sup.wait(threading.Event()) is False
    assert clock.slept == [pytest.approx(first - 0.5)]  # one attempt, at the time first scheduled


def test_a_refused_identity_waits_the_longest(clock):
    sup = _supervisor(clock, base_s=0.1, cap_s=60.0)
    delays = []
    for _ in range(20):
        delays.append(sup.failed("bad certificate", auth=True))
        sup.wait(threading.Event())
    assert all(30.0 <= d <= 60.0 for d in delays)  # the cap, jittered in its upper half
    assert len(set(delays)) > 1  # a fleet refused together does not return in lockstep


def test_a_lost_link_reconnects_after_the_shortest_delay_without_counting_a_failure(clock):
    sup = _supervisor(clock)
    sup.connected()
    delay = sup.lost("connection lost")
    assert 0 <= delay <= 1.0 and sup.state == LinkState.WAITING and sup.failures == 0
    assert sup.lost("connection lost again") == pytest.approx(delay)  # still the one attempt


def test_log_first_failure_warning_following_debug_recovery_once(clock, caplog):
    log = logging.getLogger("test.reconnect")
    sup = _supervisor(clock, log=log)
    stop = threading.Event()
    with caplog.at_level(logging.DEBUG, logger="test.reconnect"):
        for n in range(4):
            sup.failed(f"connect failed #{n}")
            sup.wait(stop)
        sup.connected()
        sup.connected()  # still up: nothing more to say
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [lv for lv, _ in levels] == [logging.WARNING, logging.DEBUG, logging.DEBUG, logging.DEBUG, logging.INFO]
    assert levels[0][1].startswith("link: connect failed #0; next attempt in ") and "further failures at DEBUG" in levels[0][1]
    assert levels[-1][1] == "link: connected after 4 failed attempts"
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="test.reconnect"):
        sup.failed("the next outage")  # a new outage starts at WARNING again
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_silent_without_a_logger(clock, caplog):
    sup = _supervisor(clock)
    with caplog.at_level(logging.DEBUG):
        sup.failed("x")
        sup.connected()
    assert not [r for r in caplog.records if r.name.startswith("hall_common")]


def test_stop_ends_the_wait_and_no_attempt_follows(clock):
    sup = _supervisor(clock)
    stop = threading.Event()
    sup.failed("x")
    stop.set()
    assert sup.wait(stop) is True and sup.state == LinkState.WAITING


def test_stop_wakes_a_real_wait_at_once():
    """The default sleep waits on the stop event: stop() does not wait out the delay."""
    sup = ReconnectSupervisor("link", Backoff(base_s=3600.0, cap_s=3600.0))
    sup.failed("down", auth=True)  # at least half an hour
    stop, result = threading.Event(), []
    t = threading.Thread(target=lambda: result.append(sup.wait(stop)))
    t.start()
    stop.set()
    t.join(10)
    assert not t.is_alive() and result == [True]


def test_wait_does_not_undo_a_recovery_seen_meanwhile(clock):
    """The printer's recovery thread waits while a print job reopens the link: still CONNECTED."""
    sup = _supervisor(clock)
    sup.failed("paper out")

    def sleep(stop, seconds):
        sup.connected()  # another thread saw the device come back during the wait
        return False
    sup._sleep = sleep
    assert sup.wait(threading.Event()) is False and sup.state == LinkState.CONNECTED


def test_reset_forgets_the_outage(clock):
    sup = _supervisor(clock)
    sup.failed("x")
    sup.reset()
    assert sup.state == LinkState.IDLE and sup.failures == 0 and sup.delay() == 0
    assert sup.failed("y") <= 1.0 and sup.failures == 1  # counted: not mistaken for the old one


def test_retry_is_failed_then_wait(clock):
    sup = _supervisor(clock)
    assert sup.retry(threading.Event(), "port gone") is False
    assert sup.failures == 1 and sup.state == LinkState.CONNECTING and len(clock.slept) <= 1
