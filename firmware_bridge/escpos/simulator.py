"""A simulated ESC/POS ticket printer on a TCP port (like port 9100) and optionally a pty.

It speaks the same bytes as a real printer because it uses this package's parser and status
codec: answers DLE EOT from its state, prints nothing while paper is out, the cover is open or it
is offline (the job is lost, as on real hardware), ends a job at each cut and renders it
(``.tickets``, ``on_ticket``, ``out_dir/ticket-NNN.png``). Faults are switched in-process
(``set_paper_out``, ``set_cover_open``, ``set_paper_near_end``, ``go_offline``, and
``set_paper_out_after(n_bytes)`` for "paper runs out in the middle of a job"), in the manner of
OctoPrint's virtual printer. ``.trace`` keeps the bytes both ways for tests/traces/escpos/.
"""
from __future__ import annotations

import logging
import os
import selectors
import socket
import socketserver
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import zxingcpp
from PIL import Image

from firmware_bridge.escpos import parser as P
from firmware_bridge.escpos.document import PrinterProfile, get_profile
from firmware_bridge.escpos.render import Renderer
from firmware_bridge.escpos.status import PrinterStatus, encode_status

log = logging.getLogger("kiosk.firmware.escpos.simulator")
#: Bytes read per recv/read call.
_CHUNK = 4096


@dataclass
class SimTicket:
    """One printed (cut) ticket."""

    number: int
    image: Image.Image
    text: str
    qr_data: list[str]
    raw: bytes
    png_path: Path | None = None


@dataclass
class _Job:
    """The job being received on one connection."""

    renderer: Renderer
    raw: bytearray = field(default_factory=bytearray)
    lost: bool = False
    has_raster: bool = False


class PrinterSimulator:
    """A printer on 127.0.0.1:``tcp_port`` (0 = any free port) and, optionally, a pty."""

    def __init__(self, tcp_port: int = 0, pty_link: str | os.PathLike[str] | None = None,
                 out_dir: str | os.PathLike[str] | None = None,
                 profile: str | PrinterProfile = "default-80mm",
                 on_ticket: Callable[[SimTicket], None] | None = None, tcp: bool = True) -> None:
        self.profile = get_profile(profile)
        self._tcp_port, self._use_tcp = tcp_port, tcp
        self.pty_link = Path(pty_link) if pty_link else None
        self.out_dir = Path(out_dir) if out_dir else None
        self.on_ticket = on_ticket
        self.tickets: list[SimTicket] = []
        self.lost_jobs = 0
        #: (direction, bytes): ">" host to printer, "<" printer to host.
        self.trace: list[tuple[str, bytes]] = []
        self._lock = threading.RLock()
        self._paper_out = self._cover_open = self._near_end = self._offline = False
        self._paper_left: int | None = None
        self._server: socketserver.ThreadingTCPServer | None = None
        self._server_thread: threading.Thread | None = None
        self._clients: set[socket.socket] = set()
        self._pty_thread: threading.Thread | None = None
        self._pty_fds: tuple[int, int] | None = None
        self._wake_r = self._wake_w = -1
        self.pty_port: str | None = None
        self._ticket_no = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> PrinterSimulator:
        """Start listening (TCP and/or pty); returns self."""
        if self._use_tcp:
            self._start_tcp()
        if self.pty_link is not None or not self._use_tcp:
            self._start_pty()
        return self

    def stop(self) -> None:
        """Close every connection, stop the threads, remove the pty link."""
        if self._server is not None:
            self._server.shutdown()
            with self._lock:
                clients = list(self._clients)
            for s in clients:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server.server_close()  # joins the connection threads (block_on_close)
            assert self._server_thread is not None  # started with the server
            self._server_thread.join()
            self._server = None
        if self._pty_thread is not None:
            os.write(self._wake_w, b"x")
            self._pty_thread.join()
            assert self._pty_fds is not None  # opened with the thread
            for fd in (*self._pty_fds, self._wake_r, self._wake_w):
                os.close(fd)
            self._pty_thread = None
            if self.pty_link is not None and self.pty_link.is_symlink():
                self.pty_link.unlink()

    def __enter__(self) -> PrinterSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        return self._server.server_address[1] if self._server else self._tcp_port

    @property
    def url(self) -> str:
        """``tcp://127.0.0.1:PORT``."""
        return f"tcp://127.0.0.1:{self.port}"

    def drop_connections(self) -> None:
        """Cut every open TCP link (as a power blip or a pulled cable does); keep listening."""
        with self._lock:
            clients = list(self._clients)
        for s in clients:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- faults ---------------------------------------------------------------------------------
    def set_paper_out(self, out: bool) -> None:
        """Paper roll empty (True) or replaced (False)."""
        with self._lock:
            self._paper_out, self._paper_left = out, None

    def set_paper_out_after(self, n_bytes: int) -> None:
        """Run out of paper after ``n_bytes`` more bytes of print data."""
        with self._lock:
            self._paper_left = n_bytes

    def set_cover_open(self, open_: bool) -> None:
        """Open or close the roll cover."""
        with self._lock:
            self._cover_open = open_

    def set_paper_near_end(self, near: bool) -> None:
        """The near-end sensor sees little paper left (printing continues)."""
        with self._lock:
            self._near_end = near

    def go_offline(self, offline: bool) -> None:
        """Take the printer offline (True) or back online."""
        with self._lock:
            self._offline = offline

    @property
    def status(self) -> PrinterStatus:
        """What the printer would answer now."""
        with self._lock:
            stopped = self._paper_out or self._cover_open or self._offline
            return PrinterStatus(online=not stopped, cover_open=self._cover_open,
                                 paper_near_end=self._near_end or self._paper_out,
                                 paper_out=self._paper_out)

    # -- the printer's processing ---------------------------------------------------------------
    def _new_job(self) -> _Job:
        return _Job(Renderer(self.profile))

    def _handle(self, parser: P.Parser, job: _Job, data: bytes, reply: Callable[[bytes], object]) -> _Job:
        """Process received bytes; returns the job in progress (a cut starts a new one)."""
        with self._lock:
            self.trace.append((">", data))
            if self._paper_left is not None and not self._paper_out:
                if len(data) >= self._paper_left:
                    self._paper_out, self._paper_left = True, None
                else:
                    self._paper_left -= len(data)
        job.raw += data
        for op in parser.feed(data):
            if isinstance(op, P.StatusRequest):
                answer = bytes([encode_status(op.n, self.status)])
                with self._lock:
                    self.trace.append(("<", answer))
                reply(answer)
                continue
            if not self.status.can_print:
                job.lost = True  # bytes arriving while the printer cannot print are lost
                if isinstance(op, P.CutOp):
                    self._finish(job)
                    job = self._new_job()
                continue
            job.renderer.apply(op)
            job.has_raster |= isinstance(op, P.Raster)
            if isinstance(op, P.CutOp):
                self._finish(job)
                job = self._new_job()
        return job

    def _finish(self, job: _Job) -> None:
        if job.lost:
            with self._lock:
                self.lost_jobs += 1
            log.warning("job lost: the printer could not print", extra={"bytes": len(job.raw)})
            return
        r = job.renderer
        image = r.image()
        qr = list(r.qr_printed)
        if job.has_raster:  # a QR sent as an image: read it back like a phone would
            qr += [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.barcode_formats_from_str("QRCode"))]
        with self._lock:
            self._ticket_no += 1
            ticket = SimTicket(self._ticket_no, image, r.text, qr, bytes(job.raw))
            if self.out_dir is not None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                ticket.png_path = self.out_dir / f"ticket-{ticket.number:03d}.png"
                image.save(ticket.png_path)
            self.tickets.append(ticket)
        if self.on_ticket is not None:
            try:
                self.on_ticket(ticket)
            except Exception:
                log.exception("on_ticket callback failed")

    # -- TCP ------------------------------------------------------------------------------------
    def _start_tcp(self) -> None:
        sim = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                with sim._lock:
                    sim._clients.add(sock)
                parser, job = P.Parser(), sim._new_job()
                try:
                    while True:
                        data = sock.recv(_CHUNK)
                        if not data:
                            break
                        job = sim._handle(parser, job, data, sock.sendall)
                except OSError:
                    pass  # the peer went away; an unfinished job is simply not printed
                finally:
                    with sim._lock:
                        sim._clients.discard(sock)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True  # a restarted simulator takes the same port back
            daemon_threads = False
            block_on_close = True

        self._server = Server(("127.0.0.1", self._tcp_port), Handler)
        self._server_thread = threading.Thread(target=self._server.serve_forever,
                                               kwargs={"poll_interval": 0.05},
                                               name="escpos-sim-tcp", daemon=True)
        self._server_thread.start()

    # -- pty ------------------------------------------------------------------------------------
    def _start_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass as they are
        self._pty_fds = (master, slave)  # keep the slave open so the master never sees EIO
        self.pty_port = os.ttyname(slave)
        if self.pty_link is not None:
            if self.pty_link.is_symlink():
                self.pty_link.unlink()
            self.pty_link.symlink_to(self.pty_port)
        self._wake_r, self._wake_w = os.pipe()
        self._pty_thread = threading.Thread(target=self._pty_loop, name="escpos-sim-pty", daemon=True)
        self._pty_thread.start()

    def _pty_loop(self) -> None:
        assert self._pty_fds is not None  # _start_pty sets them before it starts this thread
        master = self._pty_fds[0]
        parser, job = P.Parser(), self._new_job()
        with selectors.DefaultSelector() as sel:
            sel.register(master, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = {key.fd for key, _ in sel.select()}
                if self._wake_r in ready:
                    return
                try:
                    data = os.read(master, _CHUNK)
                except OSError:
                    continue
                if data:
                    job = self._handle(parser, job, data, lambda b: os.write(master, b))


# -- traces -------------------------------------------------------------------------------------
def format_trace(trace: list[tuple[str, bytes]], label: str) -> str:
    """A trace as text for tests/traces/escpos/: a header naming its source, one hex line per chunk."""
    lines = [f"# from the simulator: {label}",
             "# '>' host to printer, '<' printer to host; bytes in hex, one chunk per line"]
    lines += [f"{direction} {data.hex(' ')}" for direction, data in trace]
    return "\n".join(lines) + "\n"


def parse_trace(text: str) -> list[tuple[str, bytes]]:
    """Read a trace written by :func:`format_trace`."""
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            direction, _, hexdata = line.partition(" ")
            out.append((direction, bytes.fromhex(hexdata)))
    return out
