"""Giving freed memory back to the system after a citizen's session (owns nothing else).

A session builds screens, label textures, ticket previews and camera frames; Kivy/Mesa (llvmpipe
keeps every GL texture in process memory) free them through malloc, and glibc keeps freed pages
of its heap resident for reuse. Between sessions nothing needs them, so the kiosk collects Python
cycles (dropping citizen data's last references sooner, too), has Kivy delete the GL textures of
the collected widgets at once (Kivy defers that to the next frame) and asks glibc to return the
free pages.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger("kiosk.screens.memory")

_libc = None


def _malloc_trim():
    """glibc's ``malloc_trim`` or None (musl, macOS, Windows: nothing to call)."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        except OSError:
            _libc = False
    return getattr(_libc, "malloc_trim", None) if _libc else None


def _delete_gl_objects() -> None:
    """Delete now the GL textures and buffers of the collected widgets (Kivy queues them for the
    next frame), so that their memory is free before the heap is trimmed."""
    from kivy.graphics.context import get_context
    get_context().gl_dealloc()


def release_freed_memory(gl: bool = False) -> bool:
    """Collect garbage (with ``gl``: then delete the freed GL objects, main thread only) and
    return the heap's free pages to the system; True if trimmed. Never raises."""
    try:
        gc.collect()
        if gl:
            _delete_gl_objects()
        trim = _malloc_trim()
        if trim is None:
            return False
        trim(0)  # 0: keep no extra free space at the heap's top
        return True
    except Exception:  # memory housekeeping must never break the UI
        log.warning("could not release freed memory", exc_info=True)
        return False
