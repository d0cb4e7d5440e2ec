"""The camera driver: synthetic video and image folders, dedupe, errors, stalls, decode_frame."""
from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from firmware_bridge.camera import synthetic as S
from kiosk.devices.base import DeviceState
from kiosk.devices.camera import OpenCvCamera, _Slot, decode_frame
from kiosk.devices.registry import build
from kiosk.errors import ConfigError
from kiosk.events import EventBus
from kiosk.trust import payload as P

WAIT_S = 15.0  # upper bound for an awaited event; a pass never waits this long


class Events:
    def __init__(self, bus: EventBus) -> None:
        self.items: list[Any] = []
        self.cond = threading.Condition()
        bus.subscribe("camera", self._on)

    def _on(self, ev) -> None:
        with self.cond:
            self.items.append(ev)
            self.cond.notify_all()

    def of(self, topic):
        with self.cond:
            return [e.data for e in self.items if e.topic == topic]

    def wait(self, pred, timeout_s=WAIT_S):
        with self.cond:
            assert self.cond.wait_for(lambda: pred(self), timeout_s), [(e.topic, e.data) for e in self.items]

    def states(self):
        return [h.state for h in self.of("camera.state")]


@pytest.fixture(autouse=True)
def no_thread_leak():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in leaked:
        t.join(2.0)
    assert not [t for t in leaked if t.is_alive()]


@pytest.fixture(scope="module")
def frames():
    return S.fixed_frames()


def expected_texts(frames):
    return [t for _, t in frames if t is not None]


def run_to_end(url, options=None, **kw):
    bus = EventBus()
    ev = Events(bus)
    cam = OpenCvCamera(url, options or {}, bus, **kw)
    cam.start()
    try:
        ev.wait(lambda e: e.of("camera.end") or DeviceState.ERROR in e.states())
    finally:
        cam.stop()
    return cam, ev


def test_decode_frame_matches_the_fixed_set(frames):
    for frame, text in frames:
        assert decode_frame(frame) == ([text] if text else [])


def test_fallback_binarizer_rescues_a_blurred_code():
    frame = S.render(S.FIXED_SET[-1])
    stats = {}
    assert decode_frame(frame, fallback_binarizer="") == []
    assert decode_frame(frame, stats=stats) == [S.FIXED_SET[-1].text]
    assert stats["fallback_tries"] == 1 and stats["fallback_hits"] >= 1


def test_roi_restricts_the_search(frames):
    frame, text = frames[0]
    assert decode_frame(frame, roi=[0.25, 0.0, 0.5, 1.0]) == [text]
    assert decode_frame(frame, roi=[0.0, 0.0, 0.2, 0.2]) == []


def test_video_file_reports_each_code_once(tmp_path, frames):
    # Each code held for 4 frames, then the first code shown again: all within dedupe_s.
    seq = [f for f, _ in frames for _ in range(4)] + [frames[0][0]] * 3
    path = S.write_video(tmp_path / "hall.avi", seq)
    cam, ev = run_to_end(str(path), {"dedupe_s": 60.0})
    got = ev.of("camera.scan")
    assert [p.value for p in got] == expected_texts(frames)
    assert [p.kind for p in got][:3] == [P.APPOINTMENT, P.APPLICATION_NUMBER, P.URL]
    assert cam.health().detail["frames"] == len(seq) and cam.state == DeviceState.CLOSED


def test_image_folder_source(tmp_path, frames):
    S.write_folder(tmp_path / "imgs", [f for f, _ in frames])
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    cam, ev = run_to_end(str(tmp_path / "imgs"))
    assert [p.value for p in ev.of("camera.scan")] == expected_texts(frames)


@pytest.mark.parametrize("make", ["missing_file", "missing_dir", "empty_dir", "empty_video"])
def test_missing_or_empty_source_is_error(tmp_path, make):
    url = {"missing_file": tmp_path / "none.avi", "missing_dir": tmp_path / "nodir" / "x.mp4",
           "empty_dir": tmp_path / "empty", "empty_video": tmp_path / "empty.avi"}[make]
    if make == "empty_dir":
        url.mkdir()
    if make == "empty_video":
        S.write_video(url, [])
    bus = EventBus()
    ev = Events(bus)
    cam = OpenCvCamera(str(url), {}, bus)
    cam.start()
    try:
        ev.wait(lambda e: DeviceState.ERROR in e.states())
        err = ev.of("camera.error")[0]
        assert err.code == "device.unavailable" and err.action and err.citizen_message
    finally:
        cam.stop()
    assert cam.state == DeviceState.CLOSED


def test_stalling_source_is_error_then_recovers(frames):
    release = threading.Event()
    attempts = []

    class Stalling:
        """Two frames, then a read that blocks until released (a dead RTSP stream)."""
        finite = False

        def __init__(self):
            self.n = 0
            attempts.append(self)

        def open(self):
            pass

        def read(self):
            self.n += 1
            if self.n > 2 and len(attempts) == 1:
                release.wait()
                return None
            return frames[0][0]

        def close(self):
            pass

    bus = EventBus()
    ev = Events(bus)
    cam = OpenCvCamera("test:stall", {"stall_s": 0.3}, bus, source=Stalling)
    cam.start()
    try:
        ev.wait(lambda e: DeviceState.ERROR in e.states())
        # From the ERROR event, not health() now: the retry (0-0.1 s) may already be READY again.
        err = next(h.error for h in ev.of("camera.state") if h.state == DeviceState.ERROR)
        assert err["code"] == "device.timeout" and "stalled" in err["reason"]
        ev.wait(lambda e: e.states().count(DeviceState.READY) == 2)  # a new source, back to READY
        assert len(ev.of("camera.scan")) == 1  # the same code again is within dedupe_s
    finally:
        release.set()
        cam.stop()


def test_source_that_never_gives_a_first_frame():
    release = threading.Event()

    class Never:
        finite = False

        def open(self):
            release.wait()

        def read(self):
            return None

        def close(self):
            pass

    bus = EventBus()
    ev = Events(bus)
    cam = OpenCvCamera("test:never", {"open_timeout_s": 0.2}, bus, source=Never)
    cam.start()
    try:
        ev.wait(lambda e: DeviceState.ERROR in e.states())
        assert "no first frame" in cam.health().error["reason"]
    finally:
        release.set()
        cam.stop()


def test_capture_still_from_synthetic_source(frames):
    bus = EventBus()
    ev = Events(bus)
    cam = OpenCvCamera("synthetic:", {}, bus,
                       source=lambda: S.SyntheticSource([f for f, _ in frames[:2]], fps=200, hold=1))
    cam.start()
    try:
        still = cam.capture_still(timeout_s=WAIT_S)
        assert still.shape == (S.HEIGHT, S.WIDTH, 3)
        ev.wait(lambda e: len(e.of("camera.scan")) == 2)
        assert len(ev.of("camera.scan")) == 2
    finally:
        cam.stop()


def test_slot_keeps_the_newest_frame_and_counts_drops():
    slot, stop = _Slot(), threading.Event()
    slot.gen = 1
    for i in range(3):
        assert slot.put(1, np.full((1, 1), i, np.uint8), wait=False, stop=stop)
    assert int(slot.frame[0, 0]) == 2 and slot.dropped == 2
    assert not slot.put(0, np.zeros((1, 1), np.uint8), wait=False, stop=stop)  # stale generation


def test_registry_and_option_checks():
    bus = EventBus()
    cam = build("camera", {"driver": "camera.opencv", "url": "synthetic:", "options": {"roi": [0.1, 0.1, 0.8, 0.8]}}, bus)
    assert isinstance(cam, OpenCvCamera) and cam.options["formats"] == "QRCode" and cam.options["dedupe_s"] == 3.0
    with pytest.raises(ConfigError):
        OpenCvCamera("synthetic:", {"roi": [0.5, 0.5, 2.0]}, bus)
