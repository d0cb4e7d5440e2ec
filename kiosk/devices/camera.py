"""The camera driver (role ``camera``, driver ``camera.opencv``): frames in, QR codes out.

URL forms: ``"0"`` or ``/dev/video0`` (a V4L2 camera), a video file, a folder of images, an
``http(s)://`` or ``rtsp://`` stream, ``synthetic:`` (the simulator's phone-screen frames).
Threads: a *capture* thread owns the blocking source (``cv2.VideoCapture.read`` can block for
ever on a dead stream) and puts each frame into a one-frame slot; the *worker* thread decodes the
newest frame (older ones are dropped and counted, so decoding never queues up) and supervises:
no first frame within ``open_timeout_s`` or no frame for ``stall_s`` is an ERROR with a typed
error, the stuck capture thread is abandoned (it exits when its read returns) and the source is
reopened as the shared reconnect supervisor says (capped backoff, full jitter). Finite sources
(files, folders) are read without dropping.

Events: ``camera.scan`` (data = :class:`~kiosk.trust.payload.Payload`, a code seen again within
``dedupe_s`` is not reported twice), ``camera.error`` (typed error), ``camera.state``,
``camera.end`` (a file or folder was played to its end). Frames stay in memory only.

Decoding (:func:`decode_frame`) uses zxing-cpp restricted to the configured formats (QR only by
default: 10x faster than all formats, PITFALLS.md), on a grey frame: a colour frame is converted
once with ``cv2.cvtColor`` (SIMD, 0.36 ms at 720p here) instead of by zxing-cpp's own per-pixel
conversion (1.3 ms), which halved the cost of an empty frame; a camera that delivers its Y plane
(a 2-D frame) skips the conversion. When the default LocalAverage binarizer finds
a code's position but cannot decode it (``return_errors=True`` gives results with ``valid``
False, e.g. ChecksumError on a blurred code), the region around that position is decoded again
with the fallback binarizer (FixedThreshold: measured on the synthetic set to rescue codes blurred
at sigma 1.5-2 px that LocalAverage and GlobalHistogram both fail on).
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import zxingcpp

from kiosk.config import Field
from kiosk.devices.base import DeviceError, DeviceState, DeviceTimeout, DeviceUnavailable, Health
from kiosk.devices.skeleton import FINISHED, ThreadedDevice
from kiosk.errors import ConfigError
from kiosk.events import EventBus
from kiosk.trust.payload import Deduper, classify

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
BINARIZERS = ("LocalAverage", "GlobalHistogram", "FixedThreshold", "BoolCast")
#: Worker wake-up period (s): bounds stop() latency and the stall detector's resolution.
TICK_S = 0.05
#: Margin around a found-but-undecoded code for the fallback pass (fraction of its size).
FALLBACK_MARGIN = 0.25


class CameraError(DeviceError):
    """A camera fault."""

    code = "camera"
    citizen_message = "摄像头暂时不可用，请使用扫码器或联系工作人员。"


# -- decoding (pure) ---------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _formats(formats: str) -> zxingcpp.BarcodeFormats:
    return zxingcpp.barcode_formats_from_str(formats)


def crop_roi(frame: np.ndarray, roi: Sequence[float] | None) -> np.ndarray:
    """The region of interest ``[x, y, w, h]`` (fractions of the frame), or the whole frame."""
    if not roi:
        return frame
    h, w = frame.shape[:2]
    x0, y0 = int(roi[0] * w), int(roi[1] * h)
    x1, y1 = min(w, x0 + max(1, int(roi[2] * w))), min(h, y0 + max(1, int(roi[3] * h)))
    return frame[y0:y1, x0:x1]


def to_grey(img: np.ndarray) -> np.ndarray:
    """The frame as one 8-bit luminance plane (a grey frame is returned as it is)."""
    if img.ndim == 3 and img.shape[2] in (3, 4):
        # Why luminance, not one channel: a green health code on white vanishes in the G channel.
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    if img.ndim == 3 and img.shape[2] == 1:
        return img[:, :, 0]
    return img  # 2-D already, or a shape zxing-cpp rejects with a ValueError the caller handles


def decode_frame(frame: np.ndarray, formats: str = "QRCode", roi: Sequence[float] | None = None, *,
                 binarizer: str = "LocalAverage", fallback_binarizer: str = "FixedThreshold",
                 try_rotate: bool = True, try_invert: bool = True, stats: dict[str, Any] | None = None) -> list[str]:
    """Decode the codes in one frame (BGR or grey numpy array); returns their texts, unique."""
    img = crop_roi(frame, roi)
    if img.dtype == np.uint8:  # other dtypes go to zxing-cpp as they are: it raises a typed ValueError
        img = to_grey(img)
    fmt = _formats(formats)
    found = zxingcpp.read_barcodes(img, formats=fmt, try_rotate=try_rotate, try_invert=try_invert,
                                   binarizer=getattr(zxingcpp.Binarizer, binarizer), return_errors=True)
    texts = [b.text for b in found if b.valid]
    failed = [b for b in found if not b.valid]
    if failed and fallback_binarizer and fallback_binarizer != binarizer:
        if stats is not None:
            stats["fallback_tries"] = stats.get("fallback_tries", 0) + 1
        for b in failed:
            region = _around(img, b.position)
            for again in zxingcpp.read_barcodes(region, formats=fmt, try_rotate=try_rotate, try_invert=try_invert,
                                                binarizer=getattr(zxingcpp.Binarizer, fallback_binarizer)):
                texts.append(again.text)
                if stats is not None:
                    stats["fallback_hits"] = stats.get("fallback_hits", 0) + 1
    return list(dict.fromkeys(texts))


def _around(img: np.ndarray, pos: zxingcpp.Position) -> np.ndarray:
    """The image region around a code's corner points, with a quiet-zone margin."""
    xs = [pos.top_left.x, pos.top_right.x, pos.bottom_right.x, pos.bottom_left.x]
    ys = [pos.top_left.y, pos.top_right.y, pos.bottom_right.y, pos.bottom_left.y]
    mx, my = (max(xs) - min(xs)) * FALLBACK_MARGIN + 8, (max(ys) - min(ys)) * FALLBACK_MARGIN + 8
    h, w = img.shape[:2]
    x0, x1 = max(0, int(min(xs) - mx)), min(w, int(max(xs) + mx))
    y0, y1 = max(0, int(min(ys) - my)), min(h, int(max(ys) + my))
    return np.ascontiguousarray(img[y0:y1, x0:x1]) if x1 > x0 and y1 > y0 else img


# -- sources -----------------------------------------------------------------------------------
class FrameSource(Protocol):
    """Where the driver reads frames: a capture, a folder of images, the simulator's scene."""

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


class CvCaptureSource:
    """cv2.VideoCapture over a device index, a device node, a video file or a stream URL."""

    def __init__(self, target: str, *, finite: bool) -> None:
        self.target, self.finite = target, finite
        self._cap: cv2.VideoCapture | None = None
        self._frames = 0

    def open(self) -> None:
        """Open the capture; DeviceUnavailable if it is missing, busy or not a video."""
        target: Any = int(self.target) if self.target.isdigit() else self.target
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise DeviceUnavailable(f"cannot open camera source {self.target}",
                                    action="check the camera's cable, that no other program uses it, and the URL")
        self._cap = cap

    def read(self) -> np.ndarray | None:
        """The next frame; None at the end of a file; DeviceUnavailable if a live camera fails."""
        assert self._cap is not None  # open() first
        ok, frame = self._cap.read()
        if ok:
            self._frames += 1
            got: np.ndarray = frame
            return got
        if self.finite and self._frames:
            return None
        raise DeviceUnavailable(f"{self.target} returned no frame" + (" (empty video)" if self.finite else ""),
                                action="check the camera (or the file); it is reopened automatically")

    def close(self) -> None:
        """Release the capture."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FolderSource:
    """A folder of images played in name order (a finite source)."""

    finite = True

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self._files: list[Path] = []

    def open(self) -> None:
        """List the images; DeviceUnavailable if the folder is missing or holds none."""
        try:
            self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)
        except OSError as e:
            raise DeviceUnavailable(f"cannot read {self.folder}: {e}", action="check devices.camera.url") from e
        if not self._files:
            raise DeviceUnavailable(f"{self.folder} holds no images", action="check devices.camera.url")

    def read(self) -> np.ndarray | None:
        """The next readable image, or None at the end (unreadable files are skipped)."""
        while self._files:
            frame = cv2.imread(str(self._files.pop(0)), cv2.IMREAD_COLOR)
            if frame is not None:
                return frame
        return None

    def close(self) -> None:
        """Nothing held open."""
        self._files = []


def source_for_url(url: str) -> FrameSource:
    """Build the frame source a camera URL names (not opened yet)."""
    if url.startswith("synthetic:"):
        from firmware_bridge.camera.synthetic import SyntheticSource  # simulator only when asked
        return SyntheticSource()
    if url.isdigit() or url.startswith("/dev/video") or "://" in url:
        return CvCaptureSource(url, finite=False)
    if os.path.isdir(url):
        return FolderSource(url)
    return CvCaptureSource(url, finite=True)  # a file path (a missing file fails in open())


# -- the driver --------------------------------------------------------------------------------
class _Slot:
    """The newest frame of one capture generation; older unread frames are dropped and counted."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.frame: np.ndarray | None = None
        self.gen = 0
        self.event: tuple[int, str, DeviceError | None] | None = None  # (gen, "end"|"error", err)
        self.dropped = 0

    def put(self, gen: int, frame: np.ndarray, wait: bool, stop: threading.Event) -> bool:
        """Offer a frame; with ``wait`` (finite sources) block until the last one was taken."""
        with self.cond:
            if wait:
                self.cond.wait_for(lambda: self.frame is None or gen != self.gen or stop.is_set())
            if gen != self.gen or stop.is_set():
                return False
            if self.frame is not None:
                self.dropped += 1
            self.frame = frame
            self.cond.notify_all()
            return True

    def report(self, gen: int, kind: str, error: DeviceError | None = None) -> None:
        """The capture thread of ``gen`` ended (end of file) or failed."""
        with self.cond:
            if gen == self.gen:
                self.event = (gen, kind, error)
                self.cond.notify_all()


class OpenCvCamera(ThreadedDevice):
    """A camera read with OpenCV and decoded with zxing-cpp."""

    role = "camera"
    driver_name = "camera.opencv"
    #: Reconnect delays (s): a replugged USB camera is back within a second; a stream's server may
    #: need longer, hence the 5 s cap.
    RECONNECT_BASE_S = 0.1
    RECONNECT_CAP_S = 5.0
    JOIN_TIMEOUT_S = 2.0
    OPTIONS = {
        "formats": Field(str, "QRCode", doc="zxing-cpp formats, comma separated (QR only is ~10x faster)"),
        "roi": Field(list, [], doc="region of interest [x, y, w, h] as fractions of the frame; [] = all"),
        "dedupe_s": Field(float, 3.0, min=0, max=60, doc="the same code again within this is ignored (s)"),
        "stall_s": Field(float, 2.0, min=0.05, max=60, doc="no frame for this long = ERROR (s)"),
        "open_timeout_s": Field(float, 5.0, min=0.05, max=120, doc="first frame must come within (s)"),
        "binarizer": Field(str, "LocalAverage", choices=BINARIZERS, doc="zxing-cpp binarizer"),
        "fallback_binarizer": Field(str, "FixedThreshold", choices=BINARIZERS + ("",),
                                    doc="tried where a code was found but not decoded; '' = none"),
        "try_rotate": Field(bool, True, doc="also look for codes rotated by 90/270 degrees"),
        # Why on by default: light-on-dark codes (some phones' dark mode) decode only with it; off
        # saves ~0.2 ms per empty 720p frame where every code is dark on light (printed slips).
        "try_invert": Field(bool, True, doc="also look for inverted (light-on-dark) codes"),
        "loop": Field(bool, False, doc="replay a file or folder source from the start at its end"),
    }

    def __init__(self, url: str, options: Mapping[str, Any], bus: EventBus, *,
                 source: Callable[[], Any] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(url, options, bus)
        opts = self.options
        roi = list(opts["roi"] or [])
        if roi and (len(roi) != 4 or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in roi)
                    or roi[2] <= 0 or roi[3] <= 0):
            raise ConfigError("<options>", "devices.camera.options.roi", "[x, y, w, h] fractions in 0..1", roi)
        _formats(opts["formats"])  # fail at build time on an unknown format name
        self.roi = roi or None
        # Why a factory: a source is single-use (a stalled one is abandoned), tests pass fakes.
        self._make_source = source or (lambda: source_for_url(self.url))
        self._clock = clock
        self._dedupe = Deduper(float(opts["dedupe_s"]))
        self._slot = _Slot()
        self._captures: list[threading.Thread] = []
        self._still = threading.Condition()
        self._latest: np.ndarray | None = None
        self._latest_n = 0
        self.stats = {"frames": 0, "decoded": 0, "scans": 0, "fallback_tries": 0, "fallback_hits": 0}

    # -- lifecycle (kiosk.devices.skeleton): the worker is the skeleton's thread ---------------------
    def _interrupt(self) -> None:
        """Abandon the capture generation (a finite source blocked on a full slot wakes)."""
        with self._slot.cond:
            self._slot.gen += 1
            self._slot.cond.notify_all()

    def _stopped(self) -> None:
        """Wait for the capture threads (one stuck in a blocking read is left to exit by itself)."""
        for t in self._captures:
            t.join(self.JOIN_TIMEOUT_S)
        self._captures = [t for t in self._captures if t.is_alive()]

    def health(self) -> Health:
        """Health with frame, drop and decode counters."""
        h = super().health()
        h.detail.update(self.stats, dropped=self._slot.dropped)
        return h

    def forget(self) -> None:
        """Forget recent codes (a citizen session ended)."""
        self._dedupe.clear()

    def capture_still(self, timeout_s: float = 2.0) -> np.ndarray:
        """A copy of the next frame (kept in memory only; for staff document photos)."""
        with self._still:
            n = self._latest_n
            if not self._still.wait_for(lambda: self._latest_n > n, timeout_s):
                raise DeviceTimeout(f"no frame from the camera within {timeout_s} s",
                                    action="check the camera; try again")
            latest = self._latest
            assert latest is not None  # _latest_n moved on: a frame is there
            return latest.copy()

    # -- threads ---------------------------------------------------------------------------------
    def _capture(self, gen: int, source: FrameSource) -> None:
        try:
            source.open()
            while not self._stop.is_set() and gen == self._slot.gen:
                frame = source.read()
                if frame is None:
                    self._slot.report(gen, "end")
                    return
                if not self._slot.put(gen, frame, getattr(source, "finite", False), self._stop):
                    return
        except DeviceError as e:
            self._slot.report(gen, "error", e)
        except Exception as e:  # a library fault must become a typed error, never a dead thread
            self._slot.report(gen, "error", DeviceUnavailable(f"camera source failed: {e!r}",
                                                              action="check the camera and its URL"))
        finally:
            try:
                source.close()
            except Exception:  # closing a broken source may fail; it is abandoned either way
                pass

    def _connect(self) -> int:
        """Start a capture generation; its frames (or its failure) come through the slot."""
        with self._slot.cond:
            self._slot.gen += 1
            gen = self._slot.gen
            self._slot.frame, self._slot.event = None, None
        self._captures = [t for t in self._captures if t.is_alive()]
        t = threading.Thread(target=self._capture, args=(gen, self._make_source()),
                             name=f"camera-capture:{gen}", daemon=True)
        self._captures.append(t)
        t.start()
        return gen

    def _connected(self, gen: int) -> None:
        """Not yet: the camera is up at its first frame (:meth:`_supervise`)."""

    def _serve(self, gen: int) -> str | None:
        outcome = self._supervise(gen)
        if outcome == "end":
            self.bus.publish("camera.end", None, source=self.role)
            if not self.options["loop"]:
                self._set_state(DeviceState.CLOSED)
                return FINISHED
        return None

    def _lost(self, error: DeviceError) -> None:
        self._fail(error)

    def _supervise(self, gen: int) -> str:
        """Decode frames of one capture generation until it ends ("end"), stops ("stopped"), fails
        or stalls (the typed error is raised)."""
        started = last = self._clock()
        got_frame = False
        while not self._stop.is_set():
            with self._slot.cond:
                self._slot.cond.wait_for(lambda: self._slot.frame is not None or self._slot.event is not None
                                         or self._stop.is_set(), TICK_S)
                frame, self._slot.frame = self._slot.frame, None
                event = self._slot.event
                self._slot.cond.notify_all()  # a finite source waits for the slot to empty
            if frame is not None:
                last, got_frame = self._clock(), True
                if self._state != DeviceState.READY:
                    self._reconnect.connected()
                    self._set_state(DeviceState.READY)
                self._handle(frame)
                continue
            if event is not None:
                _, kind, error = event
                if kind == "end":
                    return "end"
                assert error is not None  # _capture reports "error" always with its error
                raise error
            limit = self.options["stall_s"] if got_frame else self.options["open_timeout_s"]
            if self._clock() - (last if got_frame else started) > limit:
                with self._slot.cond:
                    self._slot.gen += 1  # abandon the stuck capture thread
                    self._slot.cond.notify_all()
                what = "no frame" if got_frame else "no first frame"
                raise DeviceTimeout(f"camera stalled: {what} for {limit} s",
                                    action="check the camera's cable and that no other program uses it",
                                    consequence="codes cannot be read by camera until it recovers")
        return "stopped"

    def _fail(self, error: DeviceError) -> None:
        self._set_state(DeviceState.ERROR, error)
        self.bus.publish("camera.error", error, source=self.role)

    def _handle(self, frame: np.ndarray) -> None:
        self.stats["frames"] += 1
        with self._still:
            self._latest, self._latest_n = frame, self._latest_n + 1
            self._still.notify_all()
        o = self.options
        try:
            texts = decode_frame(frame, o["formats"], self.roi, binarizer=o["binarizer"],
                                 fallback_binarizer=o["fallback_binarizer"], try_rotate=o["try_rotate"],
                                 try_invert=o["try_invert"], stats=self.stats)
        except (ValueError, TypeError, RuntimeError, cv2.error) as e:  # a malformed frame (wrong dtype/shape)
            self.bus.publish("camera.error", CameraError(f"frame not decodable: {e}",
                                                         action="check the camera's pixel format"),
                             source=self.role)
            return
        now = self._clock()
        for text in texts:
            self.stats["decoded"] += 1
            if self._dedupe.is_new(text, now):
                payload = classify(text)
                self.stats["scans"] += 1
                self.log.info("scan", extra={"device": self.role, "kind": payload.kind, "chars": len(text)})
                self.bus.publish("camera.scan", payload, source=self.role)
