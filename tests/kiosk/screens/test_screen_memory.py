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
