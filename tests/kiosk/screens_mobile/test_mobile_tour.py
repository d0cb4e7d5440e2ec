"""The mobile profile on a real Kivy window under Xvfb at phone size (720x1280), in a child
process, on the real stack (kiosk.demo.Stack: Mosquitto, the reference central service, the ID-card
pty and MJPEG camera simulators): sign-in, identify, materials, photo, consent, the network dropped
between two photo chunks, and the sync afterwards. Screenshots are kept in the test's tmp dir."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ["01-signin", "02-identify", "03-materials", "04-photo", "05-consent", "06-queued", "07-synced"]


def test_mobile_tour_with_a_drop_mid_upload(tmp_path):
    out, run = tmp_path / "shots", tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "kiosk.screens.mobile.demo", "--out", str(out), "--run-dir", str(run)],
                          cwd=ROOT, capture_output=True, text=True, timeout=240, env=dict(os.environ))
    tail = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == 0, tail
    assert "tour passed" in proc.stdout
    for name in SHOTS:
        png = out / f"{name}.png"
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert not list(out.glob("FAILED-*"))
    # Acknowledged: the outbox is empty and the central service holds the assembled photo.
    import sqlite3
    db = sqlite3.connect(run / "central.db")
    try:
        (n_uploads,) = db.execute("SELECT COUNT(*) FROM uploads").fetchone()
        (n_chunks,) = db.execute("SELECT COUNT(*) FROM upload_chunks").fetchone()
        (n_apps,) = db.execute("SELECT COUNT(*) FROM application_intake").fetchone()
    finally:
        db.close()
    assert (n_uploads, n_chunks, n_apps) == (1, 0, 1)
