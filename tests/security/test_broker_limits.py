"""Size, inflight and queue limits, on a real Mosquitto with the production profile of central/hall_central/pki.py,
and the same limit lines in every broker profile we ship (demo/hall_demo/broker.py explains the numbers).

Before: the broker read a 100 MB message from a terminal into memory and passed it on; an offline
terminal's queue held Mosquitto's default of 1,000 messages in the generated profile.
"""
from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from hall_central import broker_profile, pki
from hall_demo import broker
from kiosk.network import envelope, schemas, topics
from kiosk.trust.tls import client_context

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HUNDRED_MB = 100 * 1024 * 1024
PACKET_TOO_LARGE = 0x95


def _conf_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_every_profile_we_ship_has_the_limits(pki_dir):
    profiles = {"production": (ROOT / "config/broker/mosquitto.conf").read_text(),
                "hall_central.pki": pki_dir.conf.read_text(),
                "hall_demo.broker": broker.Broker(port=1).config_text()}
    for name, text in profiles.items():
        lines = _conf_lines(text)
        for must in broker_profile.limit_lines():
            assert must in lines, (name, must)
    for name in ("production", "hall_central.pki"):
        lines = _conf_lines(profiles[name])
        assert "use_username_as_clientid true" in lines, name
        assert f"max_connections {pki.MAX_CONNECTIONS}" in lines, name
    # The bound leaves room for every message the envelope allows (and no more than 1 KiB beyond).
    assert envelope.MAX_BYTES < broker_profile.MAX_PACKET_SIZE <= envelope.MAX_BYTES + 1024
    # systemd must give the broker more file descriptors than it may have connections.
    dropin = (ROOT / "config/broker/mosquitto-limits.conf").read_text()
    [nofile] = [int(ln.split("=")[1]) for ln in _conf_lines(dropin) if ln.startswith("LimitNOFILE=")]
    assert nofile > pki.MAX_CONNECTIONS


def _largest_upload_chunk(terminal: str) -> bytes:
    """The largest upload.chunk request the schemas allow (48 KiB of photo, the longest ids)."""
    body = {"upload_id": "u" * 128, "index": 4095, "total": 4096, "sha256": "a" * 64,
            "data_b64": "QUJD" * (65536 // 4)}
    env = envelope.Envelope("req", "upload.chunk", terminal, body, id="i" * 128, idem="k" * 128)
    schemas.validate_message(topics.req(terminal, "upload.chunk"), env.to_dict())
    return env.to_bytes()


def test_the_largest_legitimate_messages_pass_and_one_over_the_limit_is_refused(pki_dir, probes):
    central = probes(pki_dir.central_tls(), "central-test")
    own = probes(pki_dir.terminal_tls("ZM-0001"), "ZM-0001")
    other = probes(pki_dir.terminal_tls("ZM-0002"), "ZM-0002")
    assert central.try_connect() and own.try_connect() and other.try_connect()
    # MQTT v5 clients are told the limits in the CONNACK.
    assert own.connack_props.MaximumPacketSize == broker_profile.MAX_PACKET_SIZE
    assert own.connack_props.ReceiveMaximum == broker_profile.MAX_INFLIGHT_MESSAGES
    assert not central.subscribe("kiosk/v1/#").is_failure
    assert not other.subscribe("kiosk/v1/ZM-0002/cmd").is_failure

    chunk = _largest_upload_chunk("ZM-0001")
    assert len(chunk) > 64 * 1024  # 48 KiB, Base64-encoded, in its envelope
    assert not own.publish(topics.req("ZM-0001", "upload.chunk"), chunk).is_failure
    central.wait_messages(lambda m: (topics.req("ZM-0001", "upload.chunk"), chunk) in m, "the largest chunk")
    # Anything the envelope allows passes, even on the longest topic the contract can produce.
    longest = topics.req("Z" * 64, "o" * 64)
    assert len(longest) == 142
    assert not central.publish(longest, b"x" * envelope.MAX_BYTES).is_failure

    # Just over the limit: the sender is disconnected, nothing is delivered. (paho reports the
    # broker's reason, 0x95, when it reads the DISCONNECT before its own write fails; under load
    # the reset may come first, so the reason is not asserted.)
    own.c.publish(topics.req("ZM-0001", "checkin"), b"y" * broker_profile.MAX_PACKET_SIZE, qos=1)
    assert own.closed.wait(10), "an oversized packet was accepted"
    own.close()  # paho would resend it on reconnect
    assert own.disconnect_reason.value in (PACKET_TOO_LARGE, 0x80), own.disconnect_reason
    # Everybody else carries on, on the same connection.
    assert not central.publish("kiosk/v1/ZM-0002/cmd", b"after").is_failure
    other.wait_messages(lambda m: ("kiosk/v1/ZM-0002/cmd", b"after") in m, "the other terminal's command")
    assert not other.closed.is_set() and not central.closed.is_set()
    assert (other.connects, central.connects) == (1, 1)
    assert all(len(p) < broker_profile.MAX_PACKET_SIZE for _, p in central.messages)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(s: str) -> bytes:
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def test_a_100_mb_message_is_refused_before_it_is_read(pki_dir, probes):
    # A raw MQTT v5 client (paho would not let us stream 100 MB lazily): CONNECT, then a PUBLISH
    # announcing 100 MB. The broker reads the length, disconnects, and never reads the body.
    central = probes(pki_dir.central_tls(), "central-test")
    other = probes(pki_dir.terminal_tls("ZM-0002"), "ZM-0002")
    assert central.try_connect() and other.try_connect()
    assert not central.subscribe("kiosk/v1/#").is_failure
    assert not other.subscribe("kiosk/v1/ZM-0002/cmd").is_failure

    tls = pki_dir.terminal_tls("ZM-0001")
    ctx = client_context(tls["ca"], tls["cert"], tls["key"])
    raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", pki_dir.port), timeout=10),
                          server_hostname="127.0.0.1")
    try:
        var = _utf8("MQTT") + bytes([5, 0x02]) + (10).to_bytes(2, "big") + b"\x00"  # v5, clean start, no props
        payload = _utf8("ZM-0001")
        raw.sendall(b"\x10" + _varint(len(var) + len(payload)) + var + payload)
        connack = raw.recv(64)
        assert connack[:1] == b"\x20" and connack[3] == 0, connack  # CONNACK, success
        topic = _utf8(topics.req("ZM-0001", "checkin"))
        header = topic + (1).to_bytes(2, "big") + b"\x00"  # packet id 1, no properties
        raw.sendall(b"\x32" + _varint(len(header) + HUNDRED_MB) + header)
        sent, block, refused = 0, b"\0" * 65536, None
        try:
            while sent < HUNDRED_MB:
                raw.sendall(block)
                sent += len(block)
        except TimeoutError:  # neither reading nor closing: a hung broker is no refusal
            raise AssertionError("the broker stopped reading but kept the connection open") from None
        except (OSError, ssl.SSLError) as e:  # reset by the broker
            refused = e
        assert refused is not None and sent < HUNDRED_MB, "the broker read the whole 100 MB"
    finally:
        raw.close()
    # Everybody else carries on, on the same connection; nothing of the 100 MB was delivered.
    assert not central.publish("kiosk/v1/ZM-0002/cmd", b"after").is_failure
    other.wait_messages(lambda m: ("kiosk/v1/ZM-0002/cmd", b"after") in m, "the other terminal's command")
    assert not other.closed.is_set() and not central.closed.is_set()
    assert (other.connects, central.connects) == (1, 1)
    assert not any(t == topics.req("ZM-0001", "checkin") for t, _ in central.messages)


def test_an_offline_terminals_queue_holds_more_than_mosquittos_default(pki_dir, probes):
    # Mosquitto's default max_queued_messages is 1,000: beyond it, commands for an offline terminal
    # were dropped silently. 2,000 wait now (the profile holds 100,000 / 128 MiB per client).
    n = 2000
    t = probes(pki_dir.terminal_tls("ZM-0001"), "ZM-0001")
    assert t.try_connect(clean_start=True, session_expiry_s=3600)
    assert not t.subscribe("kiosk/v1/ZM-0001/cmd").is_failure
    t.close()
    central = probes(pki_dir.central_tls(), "central-test")
    assert central.try_connect()
    codes = central.publish_all("kiosk/v1/ZM-0001/cmd", [b"cmd-%d" % i for i in range(n)])
    assert not any(rc.is_failure for rc in codes)
    back = probes(pki_dir.terminal_tls("ZM-0001"), "ZM-0001")
    assert back.try_connect(clean_start=False, session_expiry_s=3600) and back.session_present
    got = back.wait_messages(lambda m: len(m) >= n, f"{n} queued commands", timeout_s=60)
    assert sorted(p for _, p in got) == sorted(b"cmd-%d" % i for i in range(n))
