"""The driver skeleton (kiosk/devices/skeleton.py): a bug in a driver's loop becomes a typed error
and the thread goes on; a link that comes back is READY again; a finished device ends its thread;
a failed first attempt made in start() is retried by the thread."""
from __future__ import annotations

import threading

import pytest

from hall_common.backoff import Backoff
from kiosk.devices.base import DeviceState, DeviceUnavailable
from kiosk.devices.skeleton import FINISHED, ThreadedDevice
from kiosk.events import EventBus
from tests import recording


class Scripted(ThreadedDevice):
    """A driver whose connects and serves follow a script, one step per attempt."""

    role = "idcard"
    driver_name = "idcard.scripted"

    def __init__(self, connects, serves, *, in_start=False) -> None:
        super().__init__("", {}, EventBus(), backoff=Backoff(base_s=0.001, cap_s=0.002))
        self.CONNECT_IN_START = in_start
        self.connects, self.serves = list(connects), list(serves)
        self.disconnected = 0

    def _connect(self):
        step = self.connects.pop(0) if self.connects else "ok"
        if isinstance(step, Exception):
            raise step
        return step

    def _serve(self, link):
        step = self.serves.pop(0) if self.serves else "wait"
        if isinstance(step, Exception):
            raise step
        if step == "wait":
            self._stop.wait()
            return None
        return step

    def _disconnect(self, link):
        self.disconnected += 1


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]


def states(dev) -> recording.Recorder:
    return recording.Recorder(dev.bus, "idcard.state")


def test_a_driver_bug_is_a_typed_error_and_the_thread_goes_on():
    dev = Scripted(["ok", "ok"], [ZeroDivisionError("x"), "wait"])
    rec = states(dev)
    dev.start()
    rec.wait(lambda: [e.data.state for e in rec.events].count(DeviceState.READY) == 2)
    errors = [e.data.error for e in rec.events if e.data.state == DeviceState.ERROR]
    assert errors[0]["code"] == "idcard.internal" and "ZeroDivisionError" in errors[0]["reason"]
    assert errors[0]["action"]
    dev.stop()
    assert dev.disconnected == 2 and dev.state == DeviceState.CLOSED


def test_failed_connects_are_retried_as_the_supervisor_says_then_ready():
    gone = DeviceUnavailable("unplugged", action="plug it in")
    dev = Scripted([gone, gone, "ok"], ["wait"], in_start=True)
    rec = states(dev)
    dev.start()
    # The first attempt was made in start() itself (its ERROR published before start returned;
    # the thread may already have retried since).
    assert [e.data.state for e in rec.events[:2]] == [DeviceState.CONNECTING, DeviceState.ERROR]
    assert len(dev.connects) <= 2
    rec.wait(lambda: dev.state == DeviceState.READY)
    assert dev._reconnect.failures == 0  # connected: the next loss starts from the first delay
    dev.stop()


def test_a_finished_device_ends_its_thread_and_can_start_again():
    dev = Scripted(["ok", "ok"], [FINISHED, "wait"])
    dev.start()
    dev._thread.join(5)
    assert not dev._thread.is_alive() and dev.disconnected == 1
    dev.start()  # a dead thread is not a running one
    assert dev._thread.is_alive()
    dev.stop()
