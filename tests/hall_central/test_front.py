"""The central service's network front (hall_central.front): its own process, its wire to the
service, and a life bound to the service's (issue 13: the split that keeps poison off the writer).
Over a real Mosquitto; processes are real and killed for real."""
from __future__ import annotations

import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from hall_central.front import Frames, frame
from hall_central.service import CentralService, exit_status
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


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGUSR1])
def test_a_dead_front_is_said_and_the_service_no_longer_claims_to_serve(broker, tmp_path, clock, caplog, sig):
    """Before, the failure and the log said "exited" and nothing of how: now the signal (or the
    exit status) and what the service does next. SIGUSR1: one that ends a process by default and
    that neither the front nor anything above it ignores (SIGHUP was: a suite run under nohup
    passes its ignoring of SIGHUP down to every process it starts, and the front lived on)."""
    caplog.set_level(logging.ERROR, logger="kiosk.central.service")
    svc = CentralService(broker.url, str(tmp_path / "central.db"), clock=clock, instance="f1").start()
    try:
        c = TermClient(broker.url)
        try:
            assert c.ok("catalogue.sync", {"since_version": 0})
        finally:
            c.close()
        assert svc._front is not None
        os.kill(svc._front.pid, sig)
        assert svc.failed.wait(30), "the service did not notice its front died"
        assert svc.failure == f"the network front exited (killed by {sig.name})", svc.failure
        said = [r.getMessage() for r in caplog.records if "front is gone" in r.getMessage()]
        assert said == [f"the network front is gone (killed by {sig.name}): this instance no longer serves and "
                        "stops (python -m hall_central exits 1 so that its supervisor starts it again)"], said
    finally:
        svc.stop()


def test_an_exit_status_is_said_as_one():
    done = subprocess.run([sys.executable, "-c", "raise SystemExit(3)"], check=False)
    assert exit_status(done.returncode) == "exit status 3"
    assert exit_status(-signal.SIGTERM) == "killed by SIGTERM"
    assert exit_status(-(signal.SIGRTMIN + 2)) == f"killed by signal {signal.SIGRTMIN + 2}"


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
        assert err and "stopped serving" in err[-1] and "(killed by SIGKILL)" in err[-1], err
        assert err[-1].endswith("exiting 1 for the supervisor to start it again"), err
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


def _empty_object_bomb(terminal: str) -> tuple[str, bytes]:
    """A valid event whose data is 80,000 empty objects: ~240 KB on the wire, ~70 bytes each decoded."""
    inner: list[dict] = [{}] * 100
    data = {f"k{i}": [inner] * 100 for i in range(8)}
    env = {"id": "e1", "type": "evt", "op": "staff.call", "v": 1, "ts": "2026-12-03T06:00:00.000Z",
           "terminal": terminal, "idem": "k1", "body": {"data": data, "at": "2026-12-03T06:00:00.000Z"}}
    return f"kiosk/v1/{terminal}/evt", json.dumps(env, separators=(",", ":")).encode()


def test_a_lane_holds_in_memory_about_the_bytes_it_counts(tmp_path):
    # A cold attacker held the writer and sent such events from 4 terminals: the lanes counted 8 MiB
    # of wire bytes each while their decoded objects took ~225 MB each (~900 MB in all). The front
    # now hands each accepted message on sealed (pickled) and the lanes count those bytes.
    import gc
    import tracemalloc
    from types import SimpleNamespace

    from hall_central.front import Front, unseal
    topic, payload = _empty_object_bomb("ZM-EVIL01")
    service = CentralService("mqtt://127.0.0.1:1", str(tmp_path / "c.db"))   # never started: its inbox only
    ours, theirs = socket.socketpair()
    with ours, theirs:
        front = Front(theirs, {"broker_url": "mqtt://127.0.0.1:1", "client_id": "t"}, Frames(theirs))
        frames = Frames(ours)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            handed = 0
            while not service.stats["shed"] and handed < 10_000:   # the front's door, the reader's way in
                front._on_message(None, None, SimpleNamespace(topic=topic, payload=payload))
                for item in frames.read(5):
                    service._on_front(item)
                handed += 1
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert handed >= 10 and service.queue.shed == {"ZM-EVIL01": 1}, (handed, service.queue.shed)
    assert held < 2 * service.queue.max_bytes, f"{held / 2**20:.0f} MiB held for a {service.queue.max_bytes >> 20} MiB bound"
    taken = service.queue.take(1)
    assert taken and unseal(taken[0][1]).env.body["at"] == "2026-12-03T06:00:00.000Z"


def test_a_frozen_front_is_killed_and_a_stop_still_ends(broker, tmp_path, clock, monkeypatch):
    # A cold attacker SIGSTOPped the front under traffic: the writer blocked in sendall holding the
    # send lock, and the service's stop (SIGTERM) then hung for good, the service claiming to serve.
    from hall_central import service as service_module
    monkeypatch.setattr(service_module, "FRONT_STALL_S", 2.0)   # the test's patience, not the product's
    svc = CentralService(broker.url, str(tmp_path / "central.db"), clock=clock, instance="z1").start()
    front = svc._front.pid
    os.kill(front, signal.SIGSTOP)
    try:
        big = [(f"kiosk/v1/T{k}/res", b"x" * 60_000) for k in range(8)]
        filler = threading.Thread(target=lambda: [svc._publish(big) for _ in range(100)], daemon=True)
        filler.start()   # ~48 MB of answers for a front that reads nothing: the pair fills, then stalls
        wait_for(lambda: svc.failed.is_set(), 60, "the service to find its front frozen")
        assert "took nothing" in svc.failure, svc.failure
        stopper = threading.Thread(target=svc.stop, daemon=True)
        stopper.start()
        stopper.join(90)   # why 90: the writer's join and the stop frame's own bound (10 s each) and more
        assert not stopper.is_alive(), "stop() hung behind a frozen front"
        assert _gone(front)
    finally:
        try:
            os.kill(front, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_retained_messages_are_taken_only_from_state_topics(broker, tmp_path, clock):
    # A terminal can leave retained messages on its request, event and telemetry topics (the ACLs
    # cannot refuse the retain flag); the service judged them again at every start (a cold attacker:
    # another terminal's first answer after a restart 0.1 -> 7.8 s).
    import paho.mqtt.client as mqtt

    from kiosk.config import broker_address
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ret-" + uuid.uuid4().hex[:6], protocol=mqtt.MQTTv5)
    c.connect(*broker_address(broker.url)[:2])
    c.loop_start()
    try:
        for t in ("req/checkin", "evt", "telemetry", "state"):
            c.publish(f"kiosk/v1/ZM-T0009/{t}", b"not json", qos=1, retain=True).wait_for_publish(30)
    finally:
        c.disconnect()
        c.loop_stop()
    svc = CentralService(broker.url, str(tmp_path / "central.db"), clock=clock, instance="r1").start()
    try:
        term = TermClient(broker.url)
        try:   # an answer after the start: the refusal counts of what came before it are in by then
            assert term.ok("catalogue.sync", {"since_version": 0})
        finally:
            term.close()
        assert svc.stats["dropped"] == 1, svc.stats   # the state topic's, and only it
    finally:
        svc.stop()


def test_after_a_broker_outage_the_front_retries_on_a_short_schedule():
    # The explorer's seed 42: a terminal back online after a broker restart met network.timeout,
    # because the front still sat out paho's default backoff (1 s doubling to 120 s) while the
    # terminals retry from 0.1 s. Here a listener in the broker's place takes each attempt and
    # closes it (the broker still down for MQTT): six attempts on the front's schedule (capped at
    # RECONNECT_MAX_S) come within seconds; on paho's default the sixth would wait 63 s, beyond
    # the bound (a hang guard with a tenfold margin, not a speed check).
    from hall_central.front import RECONNECT_MAX_S, Front
    from kiosk.config import SCHEMA
    assert RECONNECT_MAX_S < SCHEMA["network"]["request_timeout_s"].default / 2   # a terminal's first retry finds it back
    attempts = []
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]

        def accept():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                attempts.append(1)
                conn.close()
        threading.Thread(target=accept, daemon=True, name="test-fake-broker").start()
        ours, theirs = socket.socketpair()
        with ours, theirs:
            front = Front(theirs, {"broker_url": f"mqtt://127.0.0.1:{port}", "client_id": "t"}, Frames(theirs))
            front.connect()
            try:
                wait_for(lambda: len(attempts) >= 6, 40, "six connection attempts (about 9 s on the front's "
                         "schedule; paho's default would take 63 s)")
            finally:
                front.close()


def test_a_publish_s_properties_are_dropped_unread():
    from paho.mqtt import _packet
    from paho.mqtt.enums import MQTTProtocolVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from hall_central.front import without_properties
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("a", "b")] * 3
    props.MessageExpiryInterval = 60
    packed = props.pack()
    topic = b"kiosk/v1/ZM-T0001/req/checkin"
    for header, mid in ((0x30, b""), (0x32, b"\x00\x07"), (0x3B, b"\x12\x34")):  # QoS 0, 1, 2 (dup, retain)
        packet = len(topic).to_bytes(2, "big") + topic + mid + packed + b'{"x":1}'
        got = _packet.decode_publish(header, without_properties(header, packet), MQTTProtocolVersion.MQTTv5)
        assert (got.topic, got.payload, got.mid) == (topic, b'{"x":1}', int.from_bytes(mid or b"\0", "big"))
        assert got.properties.pack() == b"\x00"
        bare = len(topic).to_bytes(2, "big") + topic + mid + b"\x00" + b"{}"
        assert without_properties(header, bare) is bare
    for broken in (b"", b"\x00", b"\x00\x01a\xff\xff\xff\xff", b"\x00\x01a\x05ab"):  # paho says what is wrong
        assert without_properties(0x30, broken) is broken


def test_the_front_s_client_unpacks_no_property_of_a_publish(broker, monkeypatch):
    # A cold attacker: 250 requests of one terminal with 20,000 MQTT v5 user properties each (140 KB,
    # within max_packet_size) kept the front's network thread busy for minutes (paho parses them in
    # quadratic time before on_message) and no other terminal got an answer. Counted, not timed:
    # how many user properties paho unpacks in this process while the front's client takes one.
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from hall_central import front
    from kiosk.config import broker_address
    unpacked: list[int] = []
    real = Properties.unpack

    def counting(self, buffer):
        out = real(self, buffer)
        unpacked.append(len(getattr(self, "UserProperty", ())))
        return out
    monkeypatch.setattr(Properties, "unpack", counting)
    got: queue.Queue = queue.Queue()
    host, port = broker_address(broker.url)[:2]
    rx = front._Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rx-" + uuid.uuid4().hex[:6], protocol=mqtt.MQTTv5)
    rx.on_message = lambda _c, _u, m: got.put(m)
    rx.on_subscribe = lambda *_a: got.put("subscribed")
    tx = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tx-" + uuid.uuid4().hex[:6], protocol=mqtt.MQTTv5)
    try:
        rx.connect(host, port)
        rx.loop_start()
        rx.subscribe("props/test", qos=1)
        assert got.get(timeout=15) == "subscribed", "SUBACK within 15 s"
        tx.connect(host, port)
        tx.loop_start()
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("", "")] * 5000
        unpacked.clear()
        tx.publish("props/test", b'{"x":1}', qos=1, properties=props).wait_for_publish(30)
        msg = got.get(timeout=30)  # why 30 s: a loaded machine; the old client took seconds here
        assert msg.payload == b'{"x":1}' and not getattr(msg.properties, "UserProperty", None)
        assert sum(unpacked) == 0, f"{sum(unpacked)} user properties unpacked"
    finally:
        for c in (tx, rx):
            c.disconnect()
            c.loop_stop()


def test_a_flood_of_user_properties_is_judged_message_by_message(broker, tmp_path, clock):
    # The same attack end to end: every one of the attacker's requests is answered on its own, and
    # another terminal's request is answered too.
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from kiosk.config import broker_address
    from kiosk.network import envelope, topics
    svc = CentralService(broker.url, str(tmp_path / "central.db"), clock=clock, instance="p1").start()
    evil, good = TermClient(broker.url, ("ZM-EVIL01",)), TermClient(broker.url)
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="props-" + uuid.uuid4().hex[:6], protocol=mqtt.MQTTv5)
    try:
        c.connect(*broker_address(broker.url)[:2])
        c.loop_start()
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("", "")] * 30000
        sent = [envelope.request("ZM-EVIL01", "catalogue.sync", {"since_version": -1}) for _ in range(4)]
        for env in sent:
            c.publish(topics.req("ZM-EVIL01", "catalogue.sync"), env.to_bytes(), qos=1,
                      properties=props).wait_for_publish(30)
        assert good.ok("catalogue.sync", {"since_version": 0})
        for env in sent:  # each judged on its own, as any other message
            assert evil.wait(env.id)["error"]["code"] == "invalid"
    finally:
        c.disconnect()
        c.loop_stop()
        evil.close()
        good.close()
        svc.stop()
    assert not evil.invalid and not good.invalid
