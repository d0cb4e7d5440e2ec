"""The serial scanner driver against the pty simulator, and the wedge driver (UI feed, fake evdev)."""
from __future__ import annotations

import logging
import os
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from firmware_bridge.scanner.simulator import ScannerSimulator
from firmware_bridge.scanner.wedge import EV_KEY, KEY_DOWN, KEY_UP
from kiosk.devices.base import DeviceState, DeviceUnavailable
from kiosk.devices.registry import build
from kiosk.devices.scanner import SerialScanner, WedgeScanner
from kiosk.events import EventBus
from kiosk.trust import payload as P

WAIT_S = 10.0  # upper bound for an awaited event; a pass never waits this long


class Events:
    """Collects bus events; wait() blocks on a condition until a predicate holds."""

    def __init__(self, bus: EventBus, prefix: str = "scanner") -> None:
        self.items: list[Any] = []
        self.cond = threading.Condition()
        bus.subscribe(prefix, self._on)

    def _on(self, ev) -> None:
        with self.cond:
            self.items.append(ev)
            self.cond.notify_all()

    def of(self, topic: str) -> list:
        with self.cond:
            return [e.data for e in self.items if e.topic == topic]

    def wait(self, pred, timeout_s: float = WAIT_S):
        with self.cond:
            assert self.cond.wait_for(lambda: pred(self), timeout_s), [(e.topic, e.data) for e in self.items]

    def states(self) -> list:
        return [h.state for h in self.of("scanner.state")]


@pytest.fixture(autouse=True)
def no_thread_leak():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, leaked


@pytest.fixture
def rig(tmp_path):
    made = []

    def make(options=None, **sim_kw):
        link = str(tmp_path / "scanner-by-id")
        sim = ScannerSimulator(link=link, **sim_kw)
        bus = EventBus()
        ev = Events(bus)
        drv = SerialScanner(link, {"dedupe_s": 0.0, **(options or {})}, bus)
        made.append((drv, sim))
        drv.start()
        ev.wait(lambda e: DeviceState.READY in e.states())
        return sim, drv, ev
    yield make
    for drv, sim in made:
        drv.stop()
        sim.close()


def scans(ev) -> list[str]:
    return [p.value for p in ev.of("scanner.scan")]


def test_split_chunks_and_classification(rig):
    sim, drv, ev = rig()
    sim.scan("SQ20240101000001", chunks=6, delay_s=0.01)
    sim.scan("https://zwfw.example.gov.cn/a", chunks=10)
    ev.wait(lambda e: len(e.of("scanner.scan")) == 2)
    kinds = [p.kind for p in ev.of("scanner.scan")]
    assert kinds == [P.APPLICATION_NUMBER, P.URL]
    assert scans(ev) == ["SQ20240101000001", "https://zwfw.example.gov.cn/a"]


def test_noise_is_survived_with_stx_etx_framing(rig):
    sim, drv, ev = rig({"prefix": "\u0002", "suffix": "\u0003"}, prefix=b"\x02", suffix=b"\x03")
    sim.noise(b"\x00\xff\xfe line noise \x00")
    sim.scan("KQ1:QUJDREVGR0hJSktMTU5PUA", chunks=3)
    sim.noise(b"\x02broken frame\r")       # prefix without suffix: a typed error
    sim.scan("SQ20240101000002")
    ev.wait(lambda e: len(e.of("scanner.scan")) == 2)
    assert scans(ev) == ["KQ1:QUJDREVGR0hJSktMTU5PUA", "SQ20240101000002"]
    assert ev.of("scanner.scan")[0].kind == P.APPOINTMENT
    errors = ev.of("scanner.error")
    assert len(errors) == 1 and errors[0].code == "scanner.framing" and errors[0].action
    assert drv.state == DeviceState.READY


def test_gb18030_chinese_text(rig):
    sim, drv, ev = rig({"encoding": "gb18030", "terminator": "CRLF"}, encoding="gb18030", terminator="CRLF")
    sim.scan("郑州市中牟县政务服务中心", chunks=5)
    ev.wait(lambda e: len(e.of("scanner.scan")) == 1)
    assert scans(ev) == ["郑州市中牟县政务服务中心"]


def test_dedupe_within_window(rig):
    sim, drv, ev = rig({"dedupe_s": 60.0})
    for _ in range(3):
        sim.scan("SQ20240101000003")
    sim.scan("SQ20240101000004")
    ev.wait(lambda e: any(p.value == "SQ20240101000004" for p in e.of("scanner.scan")))
    assert scans(ev) == ["SQ20240101000003", "SQ20240101000004"]
    drv.forget()
    sim.scan("SQ20240101000003")
    ev.wait(lambda e: len(e.of("scanner.scan")) == 3)


def test_unplug_replug_recovers_once(rig, caplog):
    sim, drv, ev = rig()
    caplog.set_level(logging.WARNING, logger="kiosk.devices.scanner")
    sim.unplug()
    ev.wait(lambda e: DeviceState.ERROR in e.states())
    err = drv.health().error
    assert err["code"] == "device.unavailable" and err["action"]
    old_port = sim.port
    sim.replug()
    ev.wait(lambda e: e.states().count(DeviceState.READY) == 2)
    sim.scan("SQ20240101000005")
    ev.wait(lambda e: len(e.of("scanner.scan")) == 1)
    states = ev.states()
    after = states[states.index(DeviceState.ERROR):]
    assert after == [DeviceState.ERROR, DeviceState.READY]  # one loss, one recovery, no flapping
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs.count("device lost") == 1 and msgs.count("device recovered") == 1
    assert old_port  # a pty name; the link hides whether it changed


def test_missing_port_is_error_not_exception(tmp_path):
    bus = EventBus()
    ev = Events(bus)
    drv = SerialScanner(str(tmp_path / "nothing"), {}, bus)
    drv.start()
    try:
        ev.wait(lambda e: DeviceState.ERROR in e.states())
        assert "does not exist" in drv.health().error["reason"]
    finally:
        drv.stop()
    assert drv.state == DeviceState.CLOSED


def test_scanned_text_never_logged(rig, caplog):
    caplog.set_level(logging.DEBUG)
    sim, drv, ev = rig()
    id17 = "41010219900307123"
    id_number = id17 + P.id_check_char(id17)
    sim.scan(id_number)
    ev.wait(lambda e: len(e.of("scanner.scan")) == 1)
    assert ev.of("scanner.scan")[0].kind == P.ID_NUMBER
    assert all(id_number not in r.getMessage() and id_number not in str(vars(r)) for r in caplog.records)


def test_registry_builds_both_drivers():
    bus = EventBus()
    s = build("scanner", {"driver": "scanner.serial", "url": "/dev/null", "options": {"encoding": "gb18030"}}, bus)
    assert isinstance(s, SerialScanner) and s.codec.encoding == "gb18030" and s.options["baudrate"] == 9600
    w = build("scanner", {"driver": "scanner.wedge", "url": "", "options": {"min_length": 6}}, bus)
    assert isinstance(w, WedgeScanner) and w.options["max_interkey_ms"] == 30.0


# -- wedge ----------------------------------------------------------------------------------------
def test_wedge_ui_feed_with_fake_clock():
    bus = EventBus()
    ev = Events(bus)
    w = WedgeScanner("", {"dedupe_s": 0.0}, bus, clock=lambda: 0.0)
    w.start()
    assert w.state == DeviceState.READY
    t = 50.0
    for ch in "hello":                      # a person: 200 ms per key
        assert w.feed(ch, t) is False
        t += 0.2
    assert w.feed("\r", t) is False
    t += 1.0
    done = [w.feed(ch, t + i * 0.005) for i, ch in enumerate("SQ20240101000006\r")]
    assert done[-1] is True and not any(done[:-1])
    assert [p.value for p in ev.of("scanner.scan")] == ["SQ20240101000006"]
    w.stop()


class FakeInput:
    """An evdev-like device on a pipe: the test pushes key events; closing the pipe = unplug."""

    def __init__(self) -> None:
        self.fd, self._w = os.pipe()
        self.pending: list[bytes] = []
        self.lock = threading.Lock()
        self.closed = False

    def push(self, events) -> None:
        with self.lock:
            self.pending.extend(events)
        os.write(self._w, b"x")

    def read(self):
        os.read(self.fd, 4096)
        with self.lock:
            out, self.pending = self.pending, []
        return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)
            os.close(self._w)


def key_events(text: str, start_s: float, gap_s: float):
    codes = {c: code for code, c in zip(range(2, 11), "123456789")} | {"0": 11}
    out, t = [], start_s
    for ch in text:
        for value in (KEY_DOWN, KEY_UP):
            out.append(SimpleNamespace(type=EV_KEY, code=codes[ch], value=value, timestamp=lambda t=t: t))
        t += gap_s
    out.append(SimpleNamespace(type=EV_KEY, code=28, value=KEY_DOWN, timestamp=lambda t=t: t))
    return out


def test_wedge_evdev_reader_with_fake_device():
    fake = FakeInput()
    bus = EventBus()
    ev = Events(bus)
    w = WedgeScanner("", {"device": "/dev/input/fake", "dedupe_s": 0.0}, bus, input_opener=lambda path: fake)
    w.start()
    try:
        ev.wait(lambda e: DeviceState.READY in e.states())
        fake.push(key_events("1234", 10.0, 0.5))          # slow: a person at the scanner's keyboard
        fake.push(key_events("20240101", 20.0, 0.004))    # a scan
        ev.wait(lambda e: len(e.of("scanner.scan")) == 1)
        assert [p.value for p in ev.of("scanner.scan")] == ["20240101"]
    finally:
        w.stop()
        fake.close()


def test_wedge_evdev_missing_package_or_device_is_typed_error():
    bus = EventBus()
    ev = Events(bus)

    def opener(path):
        raise DeviceUnavailable(f"cannot open {path}", action="check the cable")
    w = WedgeScanner("", {"device": "/dev/input/none"}, bus, input_opener=opener)
    w.start()
    try:
        ev.wait(lambda e: DeviceState.ERROR in e.states())
        assert w.health().error["action"] == "check the cable"
    finally:
        w.stop()


def test_wedge_evdev_without_the_package_is_a_typed_error():
    try:
        import evdev  # noqa: F401
        pytest.skip("evdev is installed here; the missing-package path cannot be shown")
    except ImportError:
        pass
    bus = EventBus()
    ev = Events(bus)
    w = WedgeScanner("", {"device": "/dev/input/event-none"}, bus)
    w.start()
    try:
        ev.wait(lambda e: DeviceState.ERROR in e.states())
        assert "evdev" in w.health().error["reason"] and "pip install evdev" in w.health().error["action"]
    finally:
        w.stop()
