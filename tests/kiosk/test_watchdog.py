"""sd_notify over a real unix datagram socket, as systemd provides it."""
from __future__ import annotations

import os
import socket

from kiosk.watchdog import Notifier


def test_ready_watchdog_stopping_datagrams(tmp_path):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind(path)
        srv.settimeout(5)
        n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())})
        assert n.enabled and n.interval_s == 10.0
        assert n.ready("terminal ZM-0001") and n.watchdog() and n.stopping()
        got = [srv.recv(256) for _ in range(3)]
    assert got == [b"READY=1\nSTATUS=terminal ZM-0001", b"WATCHDOG=1", b"STOPPING=1"]


def test_abstract_socket_and_no_systemd():
    name = f"kiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind("\0" + name)
        srv.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).watchdog()
        assert srv.recv(64) == b"WATCHDOG=1"
    off = Notifier({})
    assert not off.enabled and off.interval_s is None and not off.ready()
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).interval_s is None


class _OfflineGateway:
    """The smallest gateway a runtime accepts (no network in this unit test)."""

    online = False
    catalogue = None

    def start(self): pass

    def stop(self): pass

    def outbox_depth(self): return 0


def test_a_hung_ui_stops_the_watchdog_feeding(tmp_path):
    from kiosk import config
    from kiosk import runtime as rt_mod
    cfg = config.from_dict({"terminal": {"id": "ZM-WD-0001", "region": {"city": "410100"}},
                            "runtime": {"state_dir": str(tmp_path)}})
    rt = rt_mod.Runtime(cfg, devices={}, gateway=_OfflineGateway())
    try:
        assert rt.alive()                      # headless: the core's own tick is enough
        rt.attach_ui()
        assert rt.alive()
        rt.ui.last -= rt_mod.UI_HANG_S + 1     # the UI's main loop has not beaten for too long
        assert not rt.alive()
        rt.ui_beat()                           # it beats again
        assert rt.alive()
    finally:
        rt.services.sessions.close()
