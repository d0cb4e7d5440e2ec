"""Document photos for the mobile flows: crop to the framing guide, judge focus and exposure,
compress to a size budget (OpenCV); and :class:`StillCamera`, what the flows need of a camera.

It owns the photo's verdict (:class:`PhotoCheck`) and its bytes, nothing of the application they
belong to: kiosk.services.mobile decides which material a photo is of, keeps it in memory and
sends it. Only a mobile terminal imports this module (OpenCV is loaded with it).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

#: Why these bounds (mean grey level 0..255): below 40 the text of a document is lost in noise;
#: above 235 it is washed out by a flash or the sun.
DARK_MEAN, BRIGHT_MEAN = 40.0, 235.0
#: JPEG qualities tried in turn before the photo is scaled down (85 keeps small print legible).
JPEG_QUALITIES = (85, 75, 65, 55, 45)
#: Each further try scales the photo by this factor (never below MIN_SIDE_PX on the short side).
SCALE_STEP, MIN_SIDE_PX = 0.8, 480


@dataclass(frozen=True)
class PhotoCheck:
    """The verdict on one document photo."""

    ok: bool
    reason: str            # ok | blurred | dark | bright
    sharpness: float       # variance of the Laplacian inside the guide
    brightness: float      # mean grey level inside the guide
    size_bytes: int = 0    # of the compressed JPEG
    quality: int = 0
    width: int = 0
    height: int = 0


class StillCamera(Protocol):  # what the service needs of a camera driver (kiosk.devices.camera)
    def capture_still(self, timeout_s: float = ...) -> np.ndarray: ...


def crop_guide(frame: np.ndarray, guide: Sequence[float]) -> np.ndarray:
    """The part of ``frame`` inside the framing guide ``[x, y, w, h]`` (fractions)."""
    h, w = frame.shape[:2]
    x0, y0, gw, gh = guide
    return frame[int(y0 * h):int((y0 + gh) * h), int(x0 * w):int((x0 + gw) * w)]


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian (a focus measure: blurred images have few strong edges)."""
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def compress_jpeg(img: np.ndarray, max_bytes: int) -> tuple[bytes, int]:
    """JPEG bytes within ``max_bytes`` (lower quality first, then smaller); returns (bytes, quality)."""
    scaled = img
    while True:
        for q in JPEG_QUALITIES:
            ok, buf = cv2.imencode(".jpg", scaled, [cv2.IMWRITE_JPEG_QUALITY, q])
            if ok and len(buf) <= max_bytes:
                return buf.tobytes(), q
        h, w = scaled.shape[:2]
        if min(h, w) * SCALE_STEP < MIN_SIDE_PX:
            return buf.tobytes(), JPEG_QUALITIES[-1]  # the smallest we allow: over budget, still legible
        scaled = cv2.resize(scaled, (int(w * SCALE_STEP), int(h * SCALE_STEP)), interpolation=cv2.INTER_AREA)


def check_photo(frame: np.ndarray, guide: Sequence[float], min_sharpness: float,
                max_bytes: int) -> tuple[PhotoCheck, bytes | None]:
    """Crop to the guide, judge sharpness and exposure, compress; (check, JPEG or None if refused)."""
    if frame is None or getattr(frame, "ndim", 0) not in (2, 3) or frame.size == 0:
        return PhotoCheck(False, "blurred", 0.0, 0.0), None
    roi = crop_guide(frame, guide)
    gray = roi if roi.ndim == 2 else cv2.cvtColor(roi, cv2.COLOR_BGR2GRAY)
    sharp, mean = sharpness(gray), float(gray.mean())
    reason = "dark" if mean < DARK_MEAN else "bright" if mean > BRIGHT_MEAN else \
        "blurred" if sharp < min_sharpness else "ok"
    if reason != "ok":
        return PhotoCheck(False, reason, sharp, mean), None
    jpeg, q = compress_jpeg(roi, max_bytes)
    return PhotoCheck(True, "ok", sharp, mean, len(jpeg), q, roi.shape[1], roi.shape[0]), jpeg
