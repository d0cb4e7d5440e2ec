"""The mobile profile on a real Kivy window under Xvfb at both phone sizes (720x1280, 1080x1920), in
a child process, on the real stack (hall_demo.demo.Stack: Mosquitto, the reference central service, the
ID-card pty, the MJPEG camera and the PC/SC staff-card simulators): sign-in with number + PIN and
with a staff card, identify, look up the citizen's applications and appointments, book for them,
materials, photo, consent, the network dropped between two photo chunks, and the sync afterwards.
Screenshots are kept in the test's tmp dir."""
from __future__ import annotations

import os
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from hall_demo.mobile_tour import SHOTS

ROOT = Path(__file__).resolve().parents[3]
#: The seven screens issue 7 names, kept whatever their numbers become.
ISSUE_SCREENS = ("signin", "identify", "materials", "photo", "consent", "queued", "synced")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path.name
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("size", ["720x1280", "1080x1920"])
def test_mobile_tour_with_a_drop_mid_upload(tmp_path, size):
    out, run = tmp_path / "shots", tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "hall_demo.mobile_demo", "--out", str(out), "--run-dir", str(run),
                           "--size", size], cwd=ROOT, capture_output=True, text=True, timeout=240, env=dict(os.environ))
    tail = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == 0, tail
    assert "tour passed" in proc.stdout
    width, height = (int(v) for v in size.split("x"))
    for name in SHOTS:
        assert _png_size(out / f"{name}.png") == (width, height), name
    assert {n.split("-", 1)[1] for n in SHOTS} >= set(ISSUE_SCREENS) | {"lookup", "book", "staffcard"}
    assert not list(out.glob("FAILED-*")) and not list(out.rglob("FAILED-*"))
    db = sqlite3.connect(run / "central.db")
    try:
        # Acknowledged: the outbox is empty and the central service holds the assembled photo.
        (n_uploads,) = db.execute("SELECT COUNT(*) FROM uploads").fetchone()
        (n_chunks,) = db.execute("SELECT COUNT(*) FROM upload_chunks").fetchone()
        (n_apps,) = db.execute("SELECT COUNT(*) FROM application_intake").fetchone()
        # Booked for the citizen: the demo elder's LL001 appointment exists besides the two seeded ones.
        booked = db.execute("SELECT citizen_ref, status FROM appointments WHERE item_code = 'LL001'").fetchall()
        (n_theirs,) = db.execute("SELECT COUNT(*) FROM appointments WHERE citizen_ref = ?", (booked[0][0],)).fetchone()
    finally:
        db.close()
    assert (n_uploads, n_chunks, n_apps) == (1, 0, 1)
    assert [s for _, s in booked] == ["booked"] and n_theirs == 3
