"""Synthetic camera frames: a phone screen showing a QR code, as the kiosk's camera sees it.

1280x720 BGR frames (the camera's usual mode) of a desk-like background with a phone held in
front of it; the phone's screen shows a QR code at a chosen scale (``module_px``, pixels per
module: PITFALLS.md measured 0% success below 1.5 and 93% at 6 or more), with tilt (perspective:
the phone turned away around its vertical axis), roll (in-plane rotation), blur (focus or
motion), glare (a bright reflection on the glass), sensor noise, and empty frames (no phone, or
a phone with a blank screen). Everything is seeded, so a frame set is the same on every run.

:data:`FIXED_SET` is the frame set with known contents that the tests and the benchmark share;
:func:`write_video` and :func:`write_folder` turn frames into the sources a camera driver opens
(``.avi`` uses MJPG, ``.mp4`` uses mp4v: both are written and read back by this OpenCV build);
:class:`SyntheticSource` is the live ``synthetic:`` camera (paced, looping, frames dropped if the
reader is slow, like a real one). No citizen data: the codes hold made-up tokens and numbers.
"""
from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import qrcode

WIDTH, HEIGHT = 1280, 720
#: Quiet zone around the code (modules): the QR standard asks for 4.
QUIET_MODULES = 4
#: Video codecs by file extension; both verified to write and read back with opencv 5 + FFmpeg.
FOURCC_BY_EXT = {".avi": "MJPG", ".mp4": "mp4v"}
IMAGE_EXT = ".png"  # lossless: a folder source keeps every pixel of the synthetic frame


@dataclass(frozen=True)
class FrameSpec:
    """What one synthetic frame shows; ``text=None`` with ``phone=True`` is a blank screen."""

    text: str | None
    module_px: float = 6.0
    tilt_deg: float = 0.0       # phone turned around its vertical axis (perspective)
    roll_deg: float = 0.0       # phone rotated in the image plane
    blur_sigma: float = 0.0     # Gaussian blur (px)
    glare: float = 0.0          # 0..1 strength of a bright reflection over the code
    noise_sigma: float = 2.0    # sensor noise (grey levels)
    center: tuple[float, float] = (0.5, 0.55)  # phone centre as fractions of the frame
    phone: bool = True          # False: nobody in front of the camera
    seed: int = 0


def qr_matrix(text: str) -> np.ndarray:
    """The code's modules as a bool array (True = dark), without quiet zone."""
    qr = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text.encode("utf-8"))
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


def _phone_screen(spec: FrameSpec) -> np.ndarray:
    """The phone as a flat image (bezel, white screen, code centred) at the target scale."""
    n = qr_matrix(spec.text).shape[0] if spec.text else 29
    code_px = int(round((n + 2 * QUIET_MODULES) * spec.module_px))
    screen_w = int(code_px * 1.25)
    screen_h = int(screen_w * 2.0)
    bezel = max(6, screen_w // 18)
    img = np.full((screen_h + 2 * bezel, screen_w + 2 * bezel, 3), 25, np.uint8)  # dark body
    img[bezel:-bezel, bezel:-bezel] = (250, 250, 250)
    # A banner at the top of the screen, like an app's title bar.
    img[bezel:bezel + screen_h // 10, bezel:-bezel] = (180, 120, 40)
    if spec.text:
        m = qr_matrix(spec.text)
        size = int(round(m.shape[0] * spec.module_px))
        code = cv2.resize((~m).astype(np.uint8) * 255, (size, size), interpolation=cv2.INTER_NEAREST)
        y0 = bezel + (screen_h - size) // 2
        x0 = bezel + (screen_w - size) // 2
        img[y0:y0 + size, x0:x0 + size] = code[:, :, None]
    return img


def _background(rng: np.random.Generator) -> np.ndarray:
    """A desk/hall background: a vertical gradient and a few soft shapes."""
    ramp = np.linspace(90, 150, HEIGHT, dtype=np.float32)[:, None, None]
    bg = np.broadcast_to(ramp * np.array([1.0, 0.95, 0.85], np.float32), (HEIGHT, WIDTH, 3)).copy()
    for _ in range(6):
        x, y = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
        r = int(rng.integers(40, 160))
        color = tuple(float(c) for c in rng.integers(60, 200, 3))
        cv2.circle(bg, (x, y), r, color, -1)
    return cv2.GaussianBlur(bg, (0, 0), 8)


def render(spec: FrameSpec) -> np.ndarray:
    """One 1280x720 BGR uint8 frame as :class:`FrameSpec` describes it."""
    rng = np.random.default_rng(spec.seed)
    frame = _background(rng)
    if spec.phone:
        phone = _phone_screen(spec).astype(np.float32)
        h, w = phone.shape[:2]
        # Destination corners: a rectangle shrunk on the far side by the tilt, then rolled.
        shrink = math.cos(math.radians(spec.tilt_deg))
        ws, far = w * shrink, (1 - shrink) * h * 0.25  # near edge full height, far edge shorter
        pts = np.array([[-ws / 2, -h / 2], [ws / 2, -h / 2 + far],
                        [ws / 2, h / 2 - far], [-ws / 2, h / 2]], np.float32)
        a = math.radians(spec.roll_deg)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
        cx, cy = spec.center[0] * WIDTH, spec.center[1] * HEIGHT
        dst = (pts @ rot.T) + np.array([cx, cy], np.float32)
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(phone, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
        mask = cv2.warpPerspective(np.ones((h, w), np.float32), m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
        frame = frame * (1 - mask[:, :, None]) + warped * mask[:, :, None]
        if spec.glare > 0:
            yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
            gx, gy = cx + w * 0.15, cy - h * 0.1
            blob = np.exp(-(((xx - gx) / (w * 0.35)) ** 2 + ((yy - gy) / (h * 0.12)) ** 2))
            frame = frame + spec.glare * 255 * (blob * mask)[:, :, None]
    if spec.blur_sigma > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), spec.blur_sigma)
    if spec.noise_sigma > 0:
        frame = frame + rng.normal(0, spec.noise_sigma, frame.shape).astype(np.float32)
    out: np.ndarray = np.clip(frame, 0, 255).astype(np.uint8)
    return out


#: The fixed frame set (tests, benchmark). Texts are made up; kinds cover every classification.
FIXED_SET: tuple[FrameSpec, ...] = (
    FrameSpec("KQ1:c2xvdD00MjtoYWxsPUhBTEwtMDAwMTtzaWc9LS0tLQ", module_px=6, seed=1),
    FrameSpec("SQ20240101000001", module_px=8, roll_deg=12, seed=2),
    FrameSpec("https://zwfw.example.gov.cn/apply?item=410100-001", module_px=6, tilt_deg=30, seed=3),
    FrameSpec(None, phone=False, seed=4),
    FrameSpec(None, seed=5),
    FrameSpec("SQ20240101000002", module_px=7, blur_sigma=1.2, noise_sigma=6, seed=6),
    FrameSpec("KQ1:dG9rZW4tMi1zbG90LTE3LWhhbGwtMDAwMQ", module_px=6, glare=0.35, seed=7),
    FrameSpec("SQ20240101000003", module_px=4, roll_deg=-20, tilt_deg=15, seed=8),
    FrameSpec("中牟县政务服务中心 3号窗口", module_px=5, seed=9),
    FrameSpec(None, phone=False, seed=10),
    # Out of focus: zxing-cpp's default LocalAverage binarizer finds the code but fails its
    # checksum at 3 px/module, sigma 1.5; FixedThreshold decodes it (see kiosk/devices/camera.py).
    FrameSpec("SQ20240101000004", module_px=3, blur_sigma=1.5, seed=12),
)


def fixed_frames() -> list[tuple[np.ndarray, str | None]]:
    """The fixed set rendered: (frame, the text it shows or None)."""
    return [(render(s), s.text) for s in FIXED_SET]


def write_video(path: str | os.PathLike[str], frames: Iterable[np.ndarray], fps: float = 10.0) -> Path:
    """Write frames to a video file (.avi = MJPG, .mp4 = mp4v); raises OSError if it cannot."""
    p = Path(path)
    fourcc = FOURCC_BY_EXT.get(p.suffix.lower())
    if fourcc is None:
        raise ValueError(f"video extension must be one of {', '.join(FOURCC_BY_EXT)}")
    writer = cv2.VideoWriter(str(p), cv2.VideoWriter.fourcc(*fourcc), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {fourcc} to {p}")
    try:
        for f in frames:
            writer.write(f)
    finally:
        writer.release()
    return p


def write_folder(path: str | os.PathLike[str], frames: Iterable[np.ndarray]) -> list[Path]:
    """Write frames as numbered PNG files (a folder source plays them in name order)."""
    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for i, f in enumerate(frames):
        p = d / f"frame_{i:04d}{IMAGE_EXT}"
        if not cv2.imwrite(str(p), f):
            raise OSError(f"cannot write {p}")
        out.append(p)
    return out


class SyntheticSource:
    """The ``synthetic:`` camera: the given frames (default: the fixed set, each held for
    ``hold`` frames as a citizen holds a phone still) in a loop at ``fps``; a live source."""

    finite = False

    def __init__(self, frames: Sequence[np.ndarray] | None = None, *, fps: float = 15.0, hold: int = 5) -> None:
        self._frames = list(frames) if frames is not None else None
        self.fps = fps
        self.hold = max(1, hold)
        self._i = 0
        self._closed = threading.Event()

    def open(self) -> None:
        """Render the frames (once)."""
        if self._frames is None:
            self._frames = [f for f, _ in fixed_frames()]

    def read(self) -> np.ndarray | None:
        """The next frame, paced at ``fps`` like a real camera; None once closed."""
        if self._closed.wait(1.0 / self.fps):  # pacing of a live camera, wakes early on close
            return None
        frames = self._frames
        assert frames is not None  # start() loads them
        frame = frames[(self._i // self.hold) % len(frames)]
        self._i += 1
        return frame

    def close(self) -> None:
        """Stop producing frames."""
        self._closed.set()
