"""The synthetic phone-screen frames decode to their known contents, as files and folders too."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

from firmware_bridge.camera import synthetic as S


@pytest.fixture(scope="module")
def frames():
    return S.fixed_frames()


def test_fixed_set_shape_and_contents(frames):
    assert len(frames) == len(S.FIXED_SET)
    for (frame, text), spec in zip(frames, S.FIXED_SET):
        assert frame.shape == (S.HEIGHT, S.WIDTH, 3) and frame.dtype == np.uint8
        assert text == spec.text
    assert sum(t is None for _, t in frames) >= 3  # empty frames: no phone, blank screen


def test_raw_zxing_reads_the_codes_and_nothing_on_empty_frames(frames):
    fmt = zxingcpp.barcode_formats_from_str("QRCode")
    for frame, text in frames:
        got = [b.text for b in zxingcpp.read_barcodes(frame, formats=fmt) if b.valid]
        if text is None:
            assert got == []
        elif text != S.FIXED_SET[-1].text:  # the last one needs the fallback binarizer
            assert got == [text]


def test_render_is_deterministic_and_scale_is_realistic():
    spec = S.FrameSpec("SQ20240101000001", module_px=3, seed=5)
    assert np.array_equal(S.render(spec), S.render(spec))
    n = S.qr_matrix("SQ20240101000001").shape[0]
    assert n >= 21 and min(s.module_px for s in S.FIXED_SET if s.text) >= 3


@pytest.mark.parametrize("ext", [".avi", ".mp4"])
def test_write_video_reads_back(tmp_path, frames, ext):
    path = S.write_video(tmp_path / f"v{ext}", [f for f, _ in frames])
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == len(frames)


def test_write_video_rejects_unknown_extension(tmp_path):
    with pytest.raises(ValueError):
        S.write_video(tmp_path / "v.gif", [])


def test_write_folder_is_lossless(tmp_path, frames):
    paths = S.write_folder(tmp_path / "imgs", [f for f, _ in frames[:2]])
    assert np.array_equal(cv2.imread(str(paths[0])), frames[0][0])


def test_synthetic_source_loops_and_closes():
    src = S.SyntheticSource([np.zeros((2, 2, 3), np.uint8), np.ones((2, 2, 3), np.uint8)], fps=1000, hold=1)
    src.open()
    got = [int(src.read()[0, 0, 0]) for _ in range(4)]
    assert got == [0, 1, 0, 1]
    src.close()
    assert src.read() is None
