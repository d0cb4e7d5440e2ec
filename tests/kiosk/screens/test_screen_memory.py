"""kiosk.screens.memory: freed heap goes back to the system; never raises."""
from __future__ import annotations

import sys

import pytest

from kiosk.screens import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_release_returns_freed_heap_pages():
    """A fragmented heap (most blocks freed, every 64th kept, so the top cannot shrink by itself):
    after release the RSS is lower than before."""
    import psutil
    proc = psutil.Process()
    # 1000 B: above pymalloc's 512 B limit, below mmap's threshold, so glibc's heap holds them.
    blocks = [bytearray(1000) for _ in range(100_000)]
    keep = blocks[::64]
    del blocks
    before = proc.memory_info().rss
    assert memory.release_freed_memory() is True
    assert proc.memory_info().rss < before
    assert all(len(b) == 1000 for b in keep)


def test_release_never_raises_without_glibc(monkeypatch):
    """No malloc_trim (another libc): nothing trimmed, no error."""
    monkeypatch.setattr(memory, "_libc", False)
    assert memory.release_freed_memory() is False


# -- screens dropped after a session (kiosk/screens/kioskapp.py) ---------------------------------
@pytest.mark.ui
@pytest.mark.integration
@pytest.mark.parametrize("tour", ["full", "large"])
def test_session_screens_are_dropped_and_freed(tours, tour):
    """After every session the screens it used are dropped and freed, and the next session builds
    them again. A dropped screen may outlive its drop for a moment (Kivy or a finishing service
    call still refers to it), but never more than two later drops: they do not pile up. At the
    tour's end only home and message are built. Every session-ending step of the tour also
    checked that no live widget anywhere in the process held the citizen's name or ID number
    (tour.no_citizen_traces)."""
    rc, result, output, _ = tours[tour]
    assert rc == 0, output[-6000:]
    end = result["end"]
    assert end["drops"] >= (20 if tour == "full" else 1)
    assert end["longest_kept"] <= 2
    assert end["screens_built"] == ["home", "message"]
    assert {"home", "message"} <= set(end["screens_alive"]) and len(end["screens_alive"]) <= 4


CHILD_GL = r"""
import sys
from kiosk.screens import kivyenv
kivyenv.prepare(320, 240)
from kivy.core.window import Window  # creates the window and its GL context
from kivy.graphics.opengl import glIsTexture
from kivy.graphics.texture import Texture
from kiosk.screens import memory
texture = Texture.create(size=(256, 256), colorfmt="rgba")
texture.blit_buffer(b"\xff" * (256 * 256 * 4), colorfmt="rgba", bufferfmt="ubyte")
tid = texture.id
assert glIsTexture(tid), "texture not created"
del texture  # Kivy queues the GL delete for the next frame
assert glIsTexture(tid), "deleted before the next frame: the test would prove nothing"
assert memory.release_freed_memory(gl=True) is True
assert not glIsTexture(tid), "GL texture still alive after release_freed_memory(gl=True)"
print("GL-RELEASED")
"""


@pytest.mark.ui
@pytest.mark.integration
def test_release_deletes_the_gl_textures_of_collected_widgets_at_once(display, tmp_path):
    """With gl=True the GL textures Kivy queued for deletion are deleted before the heap is
    trimmed (a real window under Xvfb, in a child process: Kivy makes one window per process)."""
    import os
    import subprocess

    from tests.kiosk.screens.conftest import ROOT
    env = dict(os.environ, DISPLAY=display)
    p = subprocess.run([sys.executable, "-c", CHILD_GL], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and "GL-RELEASED" in p.stdout, (p.stdout + p.stderr)[-3000:]
    assert "could not release freed memory" not in p.stderr
