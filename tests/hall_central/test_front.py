"""The central service's network front (hall_central.front): its own process, its wire to the
service, and a life bound to the service's (issue 13: the split that keeps poison off the writer).
Over a real Mosquitto; processes are real and killed for real."""
from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from hall_central.front import Frames, frame
from hall_central.service import CentralService
from hall_common.procs import stop_process
from tests.central_cli import await_ready, start
from tests.waiting import wait_for

from .conftest import TermClient


def _gone(pid: int) -> bool:
    """The process no longer runs (or is a zombie its parent has not reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def _front_of(pid: int) -> int:
    """The one child of ``pid``: its front."""
    children = wait_for(lambda: Path(f"/proc/{pid}/task/{pid}/children").read_text().split(), 30,
                        "the service to start its front")
    assert len(children) == 1, children
    return int(children[0])


def test_frames_are_read_many_per_read_and_whole_across_reads():
    a, b = socket.socketpair()
    with a, b:
        items = [("msg", "kiosk/v1/T/req/x", 3, {"k": "v" * n}) for n in (0, 10, 70_000)]
        wire = b"".join(frame(i) for i in items)
        a.sendall(wire[:5])  # a header and one byte of the first frame: nothing whole yet
        frames = Frames(b)
        assert frames.read(0.05) == []
        a.sendall(wire[5:])
        got: list = []
        while len(got) < len(items):
            got += frames.read(5)
        assert got == items
        a.close()
        with pytest.raises(EOFError):
            frames.read(5)


def test_a_dead_front_is_said_and_the_service_no_longer_claims_to_serve(broker, tmp_path, clock):
    svc = CentralService(broker.url, str(tmp_path / "central.db"), clock=clock, instance="f1").start()
    try:
        c = TermClient(broker.url)
        try:
            assert c.ok("catalogue.sync", {"since_version": 0})
        finally:
            c.close()
        assert svc._front is not None
        os.kill(svc._front.pid, signal.SIGKILL)
        assert svc.failed.wait(30), "the service did not notice its front died"
        assert "exited" in svc.failure
    finally:
        svc.stop()


def _start_cli(broker, tmp_path) -> tuple[subprocess.Popen, queue.Queue]:
    p, lines = start(["--broker", broker.url, "--db", str(tmp_path / "central.db")], new_session=True)
    await_ready(p, lines)
    return p, lines


def test_the_command_line_exits_1_with_one_line_when_its_front_dies(broker, tmp_path):
    proc, _ = _start_cli(broker, tmp_path)
    try:
        os.kill(_front_of(proc.pid), signal.SIGKILL)
        assert proc.wait(60) == 1  # so that its supervisor starts it again
        err = [line for line in proc.stderr.read().splitlines() if line.startswith("central:")]
        assert err and "stopped serving" in err[-1], err
    finally:
        stop_process(proc)


def test_the_front_never_outlives_its_service(broker, tmp_path):
    proc, _ = _start_cli(broker, tmp_path)
    try:
        front = _front_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        wait_for(lambda: _gone(front), 30, "the front to exit when its service's end of the pair closed")
    finally:
        stop_process(proc)


def test_a_stop_to_the_whole_group_stops_in_order(broker, tmp_path):
    """systemd's stop (and a terminal's Ctrl-C) reach every process of the group: the front ignores
    it and waits for the service's word, so the service's last answers can still leave."""
    proc, _ = _start_cli(broker, tmp_path)
    c = TermClient(broker.url)
    try:
        front = _front_of(proc.pid)
        assert c.ok("catalogue.sync", {"since_version": 0})
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0
        wait_for(lambda: _gone(front), 30, "the front to exit after the service stopped it")
        assert proc.stderr.read().count('"level": "error"') == 0
    finally:
        c.close()
        stop_process(proc)
