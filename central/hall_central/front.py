"""The central service's network front: its one MQTT connection and the door, in a process of its own.

The front owns the instance's MQTT connection (connect, TLS, subscribe, reconnect) and judges every
message at the door (:func:`hall_central.intake.judge`: decode, schemas, the sender is the topic's
terminal). A refusal is answered on the sender's own ``res`` topic (QoS 0) or dropped, and counted,
right here: it never reaches the writer. An accepted message goes to the writer process
(:class:`hall_central.service.CentralService`) over a socket pair; the writer's answers come back
the same way and the front publishes them.

Why a process of its own (issue 13, ``kiosk bench``: ``central.poison_p99_ms``): in one process,
paho's network thread (every read, every PUBACK, every publish) and the writer (the database) shared
one interpreter lock. With half the traffic poison, py-spy showed the two threads asking for more
than one core's worth of it; each of the network thread's system calls gave the lock up and waited
to get it back behind the writer (up to the switch interval, 5 ms), so the valid traffic's p99 rose
to 3-6 times its clean p99 while every answer still came. Here the receiving side has an interpreter
to itself, and a poison message costs the writer nothing at all.

The wire between the two (:func:`frame` and :class:`Frames`: a 4-byte length and a pickle; both ends
are this program, so nothing from the network is unpickled: a message's bytes are judged here, and
only the :class:`~hall_central.intake.Accepted` built from them crosses):

- service -> front: a config dict first; then ``("pubs", [(topic, payload, qos), ...])`` (one per
  batch); ``("stop",)`` to disconnect and exit.
- front -> service: ``("ready",)`` once subscribed (again after every reconnect is not needed: the
  service waits for the first); ``("failed", text)`` when it cannot connect (then it exits);
  ``("refused", {reason: n}, dropped)`` counts, always sent before the next accepted message and at
  most :data:`FLUSH_S` after a refusal; ``("msg", topic, size, sealed)``: ``sealed`` the
  accepted message pickled once more (:func:`seal`), so the service queues compact bytes and
  decodes a message only when its batch is taken (:func:`unseal`).

The front's life is the service's: it ignores SIGINT and SIGTERM (a terminal's Ctrl-C or systemd's
stop reaches the whole process group; the service stops it in order, after its last answers) and
exits when the socket pair closes, so it never outlives its service.
"""
from __future__ import annotations

import logging
import pickle
import select
import signal
import socket
import struct
import sys
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from hall_central import intake
from hall_common.throttle import Throttle
from kiosk.config import broker_address
from kiosk.network import topics

log = logging.getLogger("kiosk.central.front")

#: paho's own reconnect schedule for the front: RECONNECT_MIN_S doubling to RECONNECT_MAX_S. Why
#: capped at 2 s (paho's default doubles from 1 s to 120 s): after a broker outage the terminals are
#: back within a fraction of a second (their links retry from 0.1 s, hall_common.reconnect), and
#: their requests (5 s by default, ``network.request_timeout_s``) timed out while the central service
#: still sat out its own backoff: the explorer's seed 42 met ``network.timeout`` 5 s after the
#: terminal was online again, and after a longer outage the city's halls would wait up to two
#: minutes. The central service is one client (or a few instances): a refused connection every 2 s
#: costs the broker nothing, so it needs neither a long cap nor jitter. Whole seconds: paho's
#: signature takes ints (1 s, then every 2 s).
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 2

#: Why 50 ms: refusal counts reach the service's ``stats`` at most this late when no accepted message
#: follows them (before one, they are sent first); a flood of refusals costs one small frame per
#: 50 ms, not one per message.
FLUSH_S = 0.05
#: Why 60 s: one log line per refusal reason per minute tells an operator who sends what, without
#: letting a flood of bad messages flood the log.
LOG_EVERY_S = 60.0


def apply_tls(client: mqtt.Client, url: str, tls: dict | None) -> None:
    """Use TLS 1.2+ with the central's client certificate for ``mqtts://`` (kiosk.trust.tls)."""
    if tls is None and not url.startswith("mqtts://"):
        return
    from kiosk.trust.tls import client_context
    tls = tls or {}
    client.tls_set_context(client_context(tls.get("ca"), tls.get("cert"), tls.get("key"), bool(tls.get("insecure"))))


_HEADER = struct.Struct("!I")
#: Why 256 KiB: one read takes many frames when they queue up (a system call per frame, and the
#: wait for the interpreter lock after it, was what the reading thread spent its time on), and
#: more than the largest frame (a 256 KiB message in its envelope and pickle) takes two at most.
READ_CHUNK = 256 * 1024


def seal(accepted: Any) -> bytes:
    """An accepted message as the service's lanes keep it. Why bytes and not the object: a lane
    bounds its bytes, and decoded JSON takes far more memory than its text (80,000 empty objects
    in 240 KB took ~70 bytes each: a held writer let four terminals' lanes reach ~900 MB; a cold
    attacker). Pickled, an object costs about what its text did."""
    return pickle.dumps(accepted, pickle.HIGHEST_PROTOCOL)


def unseal(sealed: bytes) -> Any:
    """The accepted message :func:`seal` packed (the writer, when it takes a batch)."""
    return pickle.loads(sealed)


def _options(topic_filter: str) -> SubscribeOptions:
    """QoS 1; and retained messages only where the contract retains (``state``). Why: a terminal
    can leave a retained message on its own request, event or telemetry topic (the broker's ACLs
    cannot refuse the retain flag), and every restart of the service would judge it again (a cold
    attacker's 16 retained 240 KB messages delayed another terminal's first answer 0.1 -> 7.8 s)."""
    if topic_filter.endswith("/state"):
        return SubscribeOptions(qos=1)
    return SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)


#: A PUBLISH's MQTT v5 properties, dropped unread (:func:`without_properties`).
_NO_PROPERTIES = b"\x00"


def without_properties(header: int, packet: bytes | bytearray) -> bytes | bytearray:
    """A received PUBLISH packet (``header``: its first byte; ``packet``: what follows the fixed
    header) with its MQTT v5 property section emptied, unread; ``packet`` itself when it has none
    or cannot be read (paho then says what is wrong with it).

    Why: paho parses a PUBLISH's properties in its network thread before ``on_message``, in pure
    Python and in quadratic time (each property copies the rest of the buffer): 30,000 empty user
    properties, 150 KB, well within the broker's ``max_packet_size``, take it 3 s, and the 52,000 a
    packet can hold far longer. Every other terminal's message waited behind them (a cold attacker:
    250 such messages from one terminal stopped every answer of the city for minutes). The
    contract uses no property and the front reads none, so none is parsed."""
    qos = (header & 0x06) >> 1
    if len(packet) < 2:
        return packet
    at = 2 + int.from_bytes(packet[0:2], "big") + (2 if qos else 0)  # topic, packet id
    length, shift = 0, 0
    for i in range(at, min(at + 4, len(packet))):  # the section's length: a variable byte integer
        length += (packet[i] & 0x7F) << shift
        shift += 7
        if not packet[i] & 0x80:
            break
    else:
        return packet
    end = i + 1 + length
    if length == 0 or end > len(packet):
        return packet
    return packet[:at] + _NO_PROPERTIES + packet[end:]


class _Client(mqtt.Client):
    """paho's client, but a received PUBLISH's properties are never parsed (:func:`without_properties`)."""

    def _handle_publish(self):  # paho's own hook for a received PUBLISH (paho-mqtt 2.x)
        if self._protocol == mqtt.MQTTv5:
            self._in_packet["packet"] = without_properties(self._in_packet["command"], self._in_packet["packet"])
        return super()._handle_publish()


def frame(item: Any) -> bytes:
    """One item on the wire between the service and its front."""
    body = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


class Frames:
    """The items arriving on one end of the socket pair, read many frames per system call."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()

    def read(self, timeout_s: float | None = None) -> list[Any]:
        """The items complete so far (at least one, waiting up to ``timeout_s``; [] when it passed).
        Raises EOFError when the other end closed."""
        while True:
            items = self._complete()
            if items:
                return items
            if timeout_s is not None and not select.select([self.sock], [], [], timeout_s)[0]:
                return []
            data = self.sock.recv(READ_CHUNK)
            if not data:
                raise EOFError("the other end closed the socket pair")
            self._buf += data

    def _complete(self) -> list[Any]:
        buf, items, at = self._buf, [], 0
        while len(buf) - at >= _HEADER.size:
            (n,) = _HEADER.unpack_from(buf, at)
            if len(buf) - at - _HEADER.size < n:
                break
            start = at + _HEADER.size
            items.append(pickle.loads(buf[start:start + n]))
            at = start + n
        if at:
            del buf[:at]
        return items


class Front:
    """The connection and the door; :meth:`run` serves until the service says stop or goes away."""

    def __init__(self, sock: socket.socket, config: dict[str, Any], frames: Frames) -> None:
        self.sock, self.frames = sock, frames
        self.url: str = config["broker_url"]
        self.tls: dict | None = config.get("tls")
        self.client_id: str = config["client_id"]
        self._send_lock = threading.Lock()
        self._counts: dict[str, int] = {}  # refusals not yet sent to the service, by reason
        self._dropped = 0
        self._log_due = Throttle(LOG_EVERY_S)  # per refusal reason
        self._refusals: dict[str, int] = {}  # all refusals so far (for the log's summary)
        self._ready_sent = False
        self._client: mqtt.Client | None = None

    # --- to the service ---------------------------------------------------------------------
    def _send(self, item: tuple) -> None:
        with self._send_lock:
            self.sock.sendall(frame(item))

    def _flush_locked(self) -> None:
        if self._counts or self._dropped:
            self.sock.sendall(frame(("refused", self._counts, self._dropped)))
            self._counts, self._dropped = {}, 0

    def flush(self) -> None:
        """Send the refusal counts not sent yet."""
        with self._send_lock:
            self._flush_locked()

    # --- paho callbacks (the network thread) ------------------------------------------------
    def _on_socket_open(self, client, userdata, sock) -> None:
        try:  # PITFALLS.md: 44-88 ms per round trip without TCP_NODELAY
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        try:
            if reason_code.is_failure:
                log.warning("broker refused the connection", extra={"reason": str(reason_code)})
                return
            client.subscribe([(t, _options(t)) for t in topics.central_subscriptions()])
        except Exception:  # a callback exception would kill paho's thread silently
            log.exception("on_connect failed")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            log.error("subscription refused", extra={"codes": str(reason_codes)})
            return
        if not self._ready_sent:
            self._ready_sent = True
            self._send(("ready",))

    def _on_message(self, client, userdata, msg) -> None:
        try:
            topic, payload = msg.topic, bytes(msg.payload)
            try:
                verdict = intake.judge(topic, payload)
            except Exception as e:  # judge() never raises by design; if it ever does, only this message pays
                log.exception("judging a message failed", extra={"topic": topic})
                verdict = intake.Refused("internal", detail=type(e).__name__)
            if isinstance(verdict, intake.Accepted):
                with self._send_lock:
                    self._flush_locked()  # the counts of what came before it, first
                    self.sock.sendall(frame(("msg", topic, len(payload), seal(verdict))))
            elif verdict is not None:
                self._refused(verdict, topic)
        except (OSError, EOFError):
            pass  # the service is gone: run() sees the closed pair and exits
        except Exception:
            log.exception("a message could not be handed on")

    def _refused(self, r: intake.Refused, topic: str) -> None:
        """Answer a refusal on the sender's own res topic, or count it as dropped; log in summary."""
        if r.reply is not None and self._client is not None:
            # QoS 0: a refusal records nothing, and a sender that misses it asks again and gets the
            # same answer; a flood of bad messages must not also cost a PUBACK per refusal.
            self._client.publish(r.reply[0], r.reply[1], qos=0)
        with self._send_lock:
            self._counts[r.reason] = self._counts.get(r.reason, 0) + 1
            if r.reply is None:
                self._dropped += 1
        self._refusals[r.reason] = self._refusals.get(r.reason, 0) + 1
        # Why a summary at most every LOG_EVERY_S per reason: a terminal sending poison at 1,000/s
        # must not turn the log into its amplifier (nor its CPU cost).
        if self._log_due.due(r.reason):
            log.warning("refused a message", extra={"reason": r.reason, "topic": topic, "detail": r.detail[:200],
                                                    "answered": r.reply is not None, "refusals": dict(self._refusals)})

    # --- life -------------------------------------------------------------------------------
    def connect(self) -> None:
        """Connect and start paho's thread; raises what connecting raises (TLS files, refusals)."""
        host, port, _tls = broker_address(self.url)
        c = _Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        # Why 1,000: the broker's side bounds it (max_inflight_messages, config/broker/README.md).
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=RECONNECT_MAX_S)
        c.on_connect, c.on_message, c.on_subscribe = self._on_connect, self._on_message, self._on_subscribe
        c.on_socket_open = self._on_socket_open
        apply_tls(c, self.url, self.tls)
        self._client = c
        # Clean start: the central service keeps no broker session; unanswered requests are
        # replayed by the terminals' outboxes and answered from the idempotency table.
        c.connect(host, port, keepalive=30, clean_start=True)
        c.loop_start()

    def serve(self) -> None:
        """Publish what the service sends until it says stop or closes the pair; flush counts meanwhile."""
        assert self._client is not None, "connect() first"
        client = self._client
        while True:
            try:
                items = self.frames.read(FLUSH_S)
                if not items:
                    self.flush()
            except (EOFError, OSError):
                return
            for item in items:
                if item[0] == "pubs":
                    for topic, payload, qos in item[1]:
                        client.publish(topic, payload, qos=qos)
                elif item[0] == "stop":
                    self.flush()
                    return

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None


def main(argv: list[str] | None = None) -> int:
    """``python -m hall_central.front FD``: serve the service on the other end of socket FD."""
    args = sys.argv[1:] if argv is None else argv
    # The service stops the front in order (after its last answers); see the module docstring.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket(fileno=int(args[0]))
    frames = Frames(sock)
    try:
        config = frames.read()[0]
    except (EOFError, OSError):
        return 1
    from kiosk import logs
    logs.setup(config.get("log_level", "info"))
    front = Front(sock, config, frames)
    try:
        front.connect()
    except Exception as e:  # TLS files, a refused handshake, no route: the service says it in one line
        try:
            sock.sendall(frame(("failed", str(e) or type(e).__name__)))
        except OSError:
            pass
        return 1
    try:
        front.serve()
    finally:
        front.close()
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

