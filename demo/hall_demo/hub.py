"""The simulator hub: starts the device simulators a terminal config points at, and drives them.

`kiosk demo` runs a hub in-process; `kiosk sim run --config FILE` runs one in the foreground and
serves a control socket (``<runtime.state_dir>/sim.sock``, JSON lines) so that other shells can
`kiosk sim place-card`, `remove-card`, `scan TEXT`, `show-code TEXT` (camera),
`insert-smartcard`, `remove-smartcard`, `paper-out on|off`, `cover-open on|off`, `status`.
The camera is an MJPEG network camera on loopback; the smart-card reader is a private pcscd with
vsmartcard's vpcd and a virtual card (a kiosk in another process needs the hub's
``PCSCLITE_CSOCK_NAME``, printed by `kiosk sim status`). Every simulator speaks the real wire protocol over a real pty or TCP socket; the hub
only decides where (the pty symlinks and ports come from the config) and forwards commands.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from kiosk.config import Config

if TYPE_CHECKING:  # the simulators are imported by start() for the roles configured
    from firmware_bridge.camera.mjpeg import MjpegCameraSimulator
    from firmware_bridge.escpos.simulator import PrinterSimulator
    from firmware_bridge.idcard.simulator import IdCardSimulator
    from firmware_bridge.pcsc.stack import PcscStack
    from firmware_bridge.pcsc.vicc import VirtualCard
    from firmware_bridge.scanner.simulator import ScannerSimulator

log = logging.getLogger("hall_demo.hub")


def identity_from_citizen(c: dict):
    """An ID-card ``Identity`` for a citizen record of the reference central service's seed
    (``photo``: the card's 1,024 WLT bytes, zeros when the record has none)."""
    from firmware_bridge.idcard.codes import NATIONS
    from firmware_bridge.idcard.identity import Identity

    valid_to = None if c.get("valid_to") in (None, "", "长期") else dt.date.fromisoformat(c["valid_to"])
    return Identity(card_type="resident", name=c["name"], sex={"M": "男", "F": "女"}.get(c["sex"], c["sex"]),
                    birth_date=dt.date.fromisoformat(c["birth_date"]), id_number=c["id_number"],
                    valid_from=dt.date.fromisoformat(c["valid_from"]), valid_to=valid_to,
                    nation=NATIONS.get(c.get("nation", "01"), "汉"), address=c.get("address", ""),
                    authority=c.get("authority", ""), photo=c.get("photo") or bytes(1024))


class SimHub:
    """The simulators for one terminal config (ID card and scanner on ptys, printer on TCP)."""

    def __init__(self, cfg: Config, *, ticket_dir: str | Path | None = None) -> None:
        self.cfg = cfg
        self.ticket_dir = Path(ticket_dir) if ticket_dir else None
        # The simulators start() runs for the configured roles (None for a role without one).
        self.idcard: IdCardSimulator | None = None
        self.printer: PrinterSimulator | None = None
        self.scanner: ScannerSimulator | None = None
        self.camera: MjpegCameraSimulator | None = None
        self.pcsc: PcscStack | None = None
        self.smartcard: VirtualCard | None = None
        self._server: socketserver.UnixStreamServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> SimHub:
        """Start a simulator for every configured device that has one."""
        devices = self.cfg.devices()
        if "idcard" in devices:
            from firmware_bridge.idcard.simulator import IdCardSimulator
            link = devices["idcard"]["url"]
            os.makedirs(os.path.dirname(link), exist_ok=True)
            self.idcard = IdCardSimulator(link=link)
            self.idcard.start()
        if "printer" in devices:
            from firmware_bridge.escpos.simulator import PrinterSimulator
            u = urlparse(devices["printer"]["url"])
            if self.ticket_dir:
                self.ticket_dir.mkdir(parents=True, exist_ok=True)
            self.printer = PrinterSimulator(tcp_port=u.port or 0, out_dir=self.ticket_dir)
            self.printer.start()
        if "scanner" in devices and devices["scanner"]["driver"] == "scanner.serial":
            from firmware_bridge.scanner.simulator import ScannerSimulator
            link = devices["scanner"]["url"]
            os.makedirs(os.path.dirname(link), exist_ok=True)
            self.scanner = ScannerSimulator(link=link)
        if "camera" in devices and devices["camera"]["url"].startswith("http://127.0.0.1:"):
            from firmware_bridge.camera.mjpeg import MjpegCameraSimulator
            self.camera = MjpegCameraSimulator(port=urlparse(devices["camera"]["url"]).port or 0).start()
        if "smartcard" in devices:
            # A private pcscd with vpcd: must start before anything in this process talks PC/SC
            # (libpcsclite reads its socket path once per process).
            from firmware_bridge.pcsc.stack import PcscStack
            self.pcsc = PcscStack().start()
        return self

    def stop(self) -> None:
        """Stop every simulator and the control socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.smartcard is not None:
            self.remove_smartcard()
        for sim, method in ((self.idcard, "stop"), (self.printer, "stop"), (self.scanner, "close"),
                            (self.camera, "stop"), (self.pcsc, "stop")):
            if sim is not None:
                try:
                    getattr(sim, method)()
                except Exception:
                    log.exception("simulator did not stop cleanly")

    # -- driving -----------------------------------------------------------------------------------
    def place_card(self, citizen: int | dict = 0) -> str:
        """Put a card on the reader: a seed demo citizen by index, or a citizen record."""
        from hall_central.seed import demo_citizens
        record = demo_citizens()[citizen] if isinstance(citizen, int) else citizen
        self._need(self.idcard, "idcard").place(identity_from_citizen(record))
        return "card placed"

    def remove_card(self) -> str:
        """Take the card off the reader."""
        self._need(self.idcard, "idcard").remove()
        return "card removed"

    def scan(self, text: str) -> str:
        """Scan a code with the serial scanner."""
        self._need(self.scanner, "scanner").scan(text)
        return "scanned"

    def set_paper_out(self, on: bool) -> str:
        """Printer out of paper (or paper back)."""
        self._need(self.printer, "printer").set_paper_out(on)
        return f"paper out {'on' if on else 'off'}"

    def set_cover_open(self, on: bool) -> str:
        """Printer cover open (or closed)."""
        self._need(self.printer, "printer").set_cover_open(on)
        return f"cover open {'on' if on else 'off'}"

    def show_code(self, text: str | None) -> str:
        """Hold a phone showing a QR code of ``text`` in front of the camera (None: take it away)."""
        self._need(self.camera, "camera").show(text)
        return "code shown" if text else "code taken away"

    def insert_smartcard(self, citizen: int | dict = 0) -> str:
        """Insert a social security card (of a seed demo citizen) into the PC/SC reader."""
        from firmware_bridge.pcsc.profile import load_profile
        from firmware_bridge.pcsc.vicc import CardModel, VirtualCard, synthetic_citizen
        from hall_central.seed import demo_citizens
        stack = self._need(self.pcsc, "smartcard")
        if self.smartcard is not None:
            self.remove_smartcard()
        record = demo_citizens()[citizen] if isinstance(citizen, int) else citizen
        values = dict(synthetic_citizen(), name=record["name"], social_security_number=record["id_number"],
                      birth_date=dt.date.fromisoformat(record["birth_date"]),
                      gender={"M": "男", "F": "女"}.get(record["sex"], record["sex"]), nation=record.get("nation", "01"),
                      birthplace=record["id_number"][:6])
        self.smartcard = VirtualCard(CardModel(load_profile("social-security"), values, t0=True), stack.port)
        self.smartcard.insert()
        return "smart card inserted"

    def insert_staff_card(self, staff_number: str = "S002", name: str = "王芳",
                          valid_until: dt.date | None = None) -> str:
        """Insert a hall staff card (``staff`` profile) into the PC/SC reader: mobile sign-in.

        Control op ``insert-staff-card`` (`kiosk sim insert-staff-card`)."""
        from firmware_bridge.pcsc.profile import load_profile
        from firmware_bridge.pcsc.vicc import CardModel, VirtualCard
        stack = self._need(self.pcsc, "smartcard")
        if self.smartcard is not None:
            self.remove_smartcard()
        # Why a far date by default: a demo card must not expire under a long-lived demo stack.
        values = {"staff_number": staff_number, "name": name, "valid_until": valid_until or dt.date(2099, 12, 31)}
        self.smartcard = VirtualCard(CardModel(load_profile("staff"), values, t0=True), stack.port)
        self.smartcard.insert()
        return "staff card inserted"

    def remove_smartcard(self) -> str:
        """Take the smart card out of the reader."""
        if self.smartcard is not None:
            self.smartcard.remove()
            self.smartcard = None
        return "smart card removed"

    def tickets(self) -> list:
        """Tickets the printer simulator has printed (rendered)."""
        return list(self.printer.tickets) if self.printer else []

    def status(self) -> dict:
        """Where each simulator is."""
        return {"idcard": getattr(self.idcard, "port", None), "printer": getattr(self.printer, "url", None),
                "scanner": getattr(self.scanner, "port", None), "camera": getattr(self.camera, "url", None),
                "smartcard": self.pcsc.socket_path if self.pcsc else None, "tickets": len(self.tickets())}

    @staticmethod
    def _need(sim, role: str):
        if sim is None:
            raise RuntimeError(f"no {role} simulator in this config")
        return sim

    # -- control socket ----------------------------------------------------------------------------
    def serve(self, path: str | Path) -> None:
        """Serve JSON-line commands on a unix socket in a background thread."""
        hub = self
        path = str(path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for line in self.rfile:
                    try:
                        reply = {"ok": True, "result": hub.dispatch(json.loads(line))}
                    except Exception as e:  # the answer carries the error; the hub keeps running
                        reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
                    self.wfile.write((json.dumps(reply, ensure_ascii=False) + "\n").encode())

        self._server = socketserver.ThreadingUnixStreamServer(path, Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="sim-control", daemon=True).start()

    def dispatch(self, cmd: dict) -> Any:
        """Run one control command ``{"op": ..., ...}``."""
        op = cmd.get("op")
        if op == "place-card":
            return self.place_card(int(cmd.get("citizen", 0)))
        if op == "remove-card":
            return self.remove_card()
        if op == "scan":
            return self.scan(cmd["text"])
        if op == "paper-out":
            return self.set_paper_out(bool(cmd["on"]))
        if op == "cover-open":
            return self.set_cover_open(bool(cmd["on"]))
        if op == "show-code":
            return self.show_code(cmd.get("text") or None)
        if op == "insert-smartcard":
            return self.insert_smartcard(int(cmd.get("citizen", 0)))
        if op == "insert-staff-card":
            return self.insert_staff_card(str(cmd.get("staff_number", "S002")), str(cmd.get("name", "王芳")))
        if op == "remove-smartcard":
            return self.remove_smartcard()
        if op == "status":
            return self.status()
        raise ValueError(f"unknown simulator command {op!r}")


def control(path: str | Path, cmd: dict, timeout_s: float = 5.0) -> dict:
    """Send one command to a running hub's control socket and return its reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout_s)
        s.connect(str(path))
        s.sendall((json.dumps(cmd) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def control_path(cfg: Config) -> str:
    """Where a hub for this config listens."""
    return os.path.join(cfg.get("runtime.state_dir"), "sim.sock")
