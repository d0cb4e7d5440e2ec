"""Real disk faults for tests: a tiny file system that fills up, an immutable file, a read-only
mount, byte-level corruption. Each needs root (the test suite runs as root, like `make test`);
without it the test is skipped with the reason, never faked.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

#: SQLite's default page size: page N (1-based) starts at (N - 1) * PAGE.
PAGE = 4096


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def tiny_fs(path: Path, size_kb: int = 1024, inodes: int | None = None):
    """A tmpfs of ``size_kb`` mounted at ``path`` (created): a disk that really fills up;
    ``inodes``: with that many inodes (its root directory takes one)."""
    path.mkdir(parents=True, exist_ok=True)
    limit = f",nr_inodes={inodes}" if inodes is not None else ""
    out = _run("mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755{limit}", "tmpfs", str(path))
    if out.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {out.stderr.strip()}")
    try:
        yield path
    finally:
        _run("umount", "-l", str(path))


def fill(fs: Path, name: str = "filler") -> Path:
    """Fill the file system of ``fs`` to the last byte; returns the filler (delete it to free space)."""
    filler = fs / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 1):  # big blocks, then what is left of the last page
            while True:
                try:
                    if os.write(fd, b"\0" * size) < size:
                        break
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler


@contextlib.contextmanager
def immutable(path: Path):
    """``chattr +i`` on ``path`` (even root cannot write, rename or delete it), undone afterwards."""
    out = _run("chattr", "+i", str(path))
    if out.returncode != 0:
        pytest.skip(f"chattr +i not available here: {out.stderr.strip()}")
    try:
        yield path
    finally:
        _run("chattr", "-i", str(path))


@contextlib.contextmanager
def read_only_mount(path: Path):
    """``path`` (a directory) bind-mounted read-only onto itself: EROFS even for root."""
    out = _run("mount", "--bind", str(path), str(path))
    if out.returncode != 0:
        pytest.skip(f"cannot bind-mount (needs root): {out.stderr.strip()}")
    try:
        out = _run("mount", "-o", "remount,ro,bind", str(path))
        if out.returncode != 0:
            pytest.skip(f"cannot remount read-only: {out.stderr.strip()}")
        yield path
    finally:
        _run("umount", "-l", str(path))


def overwrite(path: Path, offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset`` of ``path`` in place (fsynced): a damaged sector."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
