"""The document photo check (kiosk.services.photos) on synthetic camera frames: focus, exposure
and the JPEG size budget."""
from __future__ import annotations

import cv2
import numpy as np

from firmware_bridge.camera.synthetic import FrameSpec, render
from kiosk.services import photos as P


def _document() -> np.ndarray:
    """A sharp, well-lit frame: the camera simulator's phone screen with a code (a 'document')."""
    return render(FrameSpec("SQ2026031841012250001 申请表", module_px=8, center=(0.5, 0.5), seed=3))


def test_photo_checks_sharpness_exposure_and_size():
    doc = _document()
    guide = [0.08, 0.08, 0.84, 0.84]
    check, jpeg = P.check_photo(doc, guide, 60.0, 60_000)
    assert check.ok and jpeg[:2] == b"\xff\xd8" and len(jpeg) <= 60_000 and check.size_bytes == len(jpeg)
    blurred = cv2.GaussianBlur(doc, (0, 0), 6)
    check, jpeg = P.check_photo(blurred, guide, 60.0, 60_000)
    assert (check.ok, check.reason, jpeg) == (False, "blurred", None)
    assert check.sharpness < P.sharpness(cv2.cvtColor(doc, cv2.COLOR_BGR2GRAY))
    check, _ = P.check_photo((doc * 0.1).astype(np.uint8), guide, 60.0, 60_000)
    assert check.reason == "dark"
    check, _ = P.check_photo(np.full_like(doc, 250), guide, 0.0, 60_000)
    assert check.reason == "bright"
    check, _ = P.check_photo(np.zeros((0, 0, 3), np.uint8), guide, 60.0, 60_000)
    assert not check.ok
