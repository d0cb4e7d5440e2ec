"""A minimal MQTT v5 client over a plain socket, for the benchmark's poison sender only.

Why not paho: the poisoning terminals stand for devices on other machines, yet they run on the
two cores they share with the service under test. Through paho a poison message cost the sender
~0.25 ms of CPU (its publish path, its network thread, the answers it reads), a quarter of a core
at 1,000/s taken from the service, the broker and the load generator in the poison phase only:
part of what the benchmark reported as poison's cost to valid traffic was its own generator.
Here a message is one ``sendall`` of prebuilt bytes, and answers are read in bulk.

What it speaks: CONNECT (clean start, no keep-alive), SUBSCRIBE at QoS 0 (the central service
answers refusals at QoS 0), PUBLISH at QoS 1 with at most ``window`` unacknowledged (the broker's
Receive Maximum), PUBACK, and the PUBLISH packets it receives (their payloads handed to
``on_payload``). Anything else from the broker is skipped.
"""
from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


class RawClient:
    """One MQTT v5 connection; ``publish`` from one thread, a reader thread for what comes back."""

    def __init__(self, port: int, client_id: str, subscriptions: list[str], on_payload: Callable[[bytes], None],
                 window: int = 100, timeout_s: float = 30.0) -> None:
        self.on_payload = on_payload
        self.window = window
        self._inflight = 0
        self._pid = 0
        self._cond = threading.Condition()
        self._closed = False
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(None)  # the reader waits for as long as the benchmark runs
        # CONNECT: "MQTT", level 5, clean start, keep-alive 0 (none), no properties.
        self.sock.sendall(_packet(0x10, _s("MQTT") + b"\x05\x02\x00\x00\x00" + _s(client_id)))
        self._acked = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name="rawmqtt-reader", daemon=True)
        self._reader.start()
        subscribe = b"".join(_s(t) + b"\x00" for t in subscriptions)
        self.sock.sendall(_packet(0x82, b"\x00\x01\x00" + subscribe))
        if not self._acked.wait(timeout_s):
            self.close()
            raise TimeoutError("no CONNACK/SUBACK from the broker")

    def prepare(self, topic: str, payload: bytes) -> tuple[bytes, bytes]:
        """A QoS 1 PUBLISH split around its packet id: (header + topic, properties + payload)."""
        t = _s(topic)
        return bytes([0x32]) + _varint(len(t) + 2 + 1 + len(payload)) + t, b"\x00" + payload

    def publish(self, prepared: tuple[bytes, bytes]) -> None:
        """Send a prepared PUBLISH; waits while ``window`` are unacknowledged."""
        with self._cond:
            while self._inflight >= self.window and not self._closed:
                self._cond.wait()
            if self._closed:
                raise ConnectionError("the broker closed the connection")
            self._inflight += 1
            self._pid = self._pid % 0xFFFF + 1
            pid = self._pid
        self.sock.sendall(prepared[0] + struct.pack("!H", pid) + prepared[1])

    def _read_loop(self) -> None:
        buf = b""
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return
                buf = self._parse(buf + chunk)
        except OSError:
            return
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def _parse(self, buf: bytes) -> bytes:
        """Handle every whole packet in ``buf``; returns the incomplete rest."""
        pos = 0
        while True:
            if len(buf) - pos < 2:
                return buf[pos:]
            length, mult, i = 0, 1, pos + 1
            while True:
                if i >= len(buf):
                    return buf[pos:]
                length += (buf[i] & 0x7F) * mult
                mult *= 128
                i += 1
                if not buf[i - 1] & 0x80:
                    break
            if len(buf) - i < length:
                return buf[pos:]
            first, body = buf[pos], buf[i:i + length]
            pos = i + length
            kind = first >> 4
            if kind == 4:  # PUBACK
                with self._cond:
                    self._inflight -= 1
                    self._cond.notify()
            elif kind == 3:  # PUBLISH: topic, a packet id only at QoS > 0, properties, payload
                at = 2 + struct.unpack_from("!H", body)[0] + (2 if first & 0x06 else 0)
                props, mult = 0, 1
                while True:
                    props += (body[at] & 0x7F) * mult
                    mult *= 128
                    at += 1
                    if not body[at - 1] & 0x80:
                        break
                self.on_payload(body[at + props:])
            elif kind == 9:  # SUBACK (CONNACK came before it)
                self._acked.set()

    def close(self) -> None:
        """Send DISCONNECT and close the socket."""
        try:
            self.sock.sendall(b"\xe0\x00")
        except OSError:
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._reader.join(5)
