"""The production broker profile on a real Mosquitto: mutual TLS, per-terminal ACLs, the CRL.

Every check here would fail if the profile broke: a terminal reaching another's topics (PUBACK /
SUBACK 0x87 and nothing delivered), or a session for a client without a valid certificate.
"""
from __future__ import annotations

import ssl
import warnings

import pytest

pytestmark = pytest.mark.integration

NOT_AUTHORIZED = 0x87


def _tls(pki_dir, name: str) -> dict:
    return pki_dir.terminal_tls(name)


def test_terminal_confined_to_its_own_subtree(pki_dir, probes):
    own = probes(_tls(pki_dir, "ZM-0001"), "ZM-0001")
    other = probes(_tls(pki_dir, "ZM-0002"), "ZM-0002")
    central = probes(pki_dir.central_tls(), "central-test")
    assert own.try_connect() and other.try_connect() and central.try_connect()

    # The victim and the central service listen to everything they may see.
    assert not other.subscribe("kiosk/v1/ZM-0002/cmd").is_failure
    assert not other.subscribe("kiosk/v1/ZM-0002/res").is_failure
    assert not central.subscribe("kiosk/v1/#").is_failure

    # Refused with 0x87 (MQTT v5 Not authorized): publishing into another terminal's subtree,
    # commands or responses to oneself, broadcasts.
    for topic in ("kiosk/v1/ZM-0002/req/checkin", "kiosk/v1/ZM-0002/evt", "kiosk/v1/ZM-0002/state",
                  "kiosk/v1/ZM-0002/cmd", "kiosk/v1/ZM-0002/res", "kiosk/v1/ZM-0001/cmd",
                  "kiosk/v1/ZM-0001/res", "kiosk/v1/bcast/410100"):
        rc = own.publish(topic, b"forged")
        assert rc.is_failure and rc.value == NOT_AUTHORIZED, topic
    # Subscribing to another terminal's topics or to the whole tree. Mosquitto 2.0's acl_file
    # grants the SUBSCRIBE (SUBACK 0x01) and enforces "read" on every delivery instead; brokers that
    # check at subscribe time (dynamic-security plugin, EMQX) answer 0x87. Either way: nothing arrives.
    spy_topics = ("kiosk/v1/ZM-0002/cmd", "kiosk/v1/ZM-0002/res", "kiosk/v1/+/res", "kiosk/v1/#", "#",
                  "kiosk/v1/bcast/410199")
    for topic in spy_topics:
        rc = own.subscribe(topic)
        assert not rc.is_failure or rc.value == NOT_AUTHORIZED, topic
    assert not central.publish("kiosk/v1/bcast/410199", b"other-region").is_failure
    assert not central.publish("kiosk/v1/ZM-0002/res", b"for-ZM-0002").is_failure
    assert not own.subscribe("kiosk/v1/ZM-0001/res").is_failure
    # Allowed: its own request topic, its region's broadcast (read-only).
    assert not own.publish("kiosk/v1/ZM-0001/req/checkin", b"mine").is_failure
    assert not own.subscribe("kiosk/v1/bcast/410100").is_failure
    assert not central.publish("kiosk/v1/ZM-0002/cmd", b"from-central").is_failure

    with other.cond:
        assert other.cond.wait_for(lambda: other.messages, 5)
    with central.cond:
        assert central.cond.wait_for(lambda: any(t == "kiosk/v1/ZM-0001/req/checkin" for t, _ in central.messages), 5)
    # The victim received only the central's command; the central saw none of the forged payloads.
    assert not central.publish("kiosk/v1/ZM-0001/res", b"for-ZM-0001").is_failure
    with own.cond:  # its own response arrives: the spy subscriptions had every chance to deliver
        assert own.cond.wait_for(lambda: any(p == b"for-ZM-0001" for _, p in own.messages), 5)
    with other.cond:
        assert other.cond.wait_for(lambda: len(other.messages) >= 2, 5)
    assert sorted(other.messages) == [("kiosk/v1/ZM-0002/cmd", b"from-central"),
                                      ("kiosk/v1/ZM-0002/res", b"for-ZM-0002")]
    # The spy got only what is its own (via its own subscription and the overlapping wildcards).
    assert {p for _, p in own.messages} == {b"for-ZM-0001"}
    assert all(p != b"forged" for _, p in central.messages)


def test_client_id_does_not_grant_another_identity(pki_dir, probes):
    # Username comes from the certificate, not the client id: ZM-0001's cert with ZM-0002's id.
    p = probes(_tls(pki_dir, "ZM-0001"), "ZM-0002")
    assert p.try_connect()
    assert p.publish("kiosk/v1/ZM-0002/req/checkin").value == NOT_AUTHORIZED
    rc = p.subscribe("kiosk/v1/ZM-0002/cmd")
    assert not rc.is_failure or rc.value == NOT_AUTHORIZED
    central = probes(pki_dir.central_tls(), "central-test")
    assert central.try_connect()
    assert not central.publish("kiosk/v1/ZM-0002/cmd", b"for-ZM-0002").is_failure
    assert not p.subscribe("kiosk/v1/ZM-0001/cmd").is_failure
    assert not central.publish("kiosk/v1/ZM-0001/cmd", b"for-ZM-0001").is_failure
    with p.cond:  # in-order delivery: once its own command is here, the other's would have been too
        assert p.cond.wait_for(lambda: p.messages, 5)
    assert p.messages == [("kiosk/v1/ZM-0001/cmd", b"for-ZM-0001")]


@pytest.mark.parametrize("case", ["no_cert", "expired", "revoked", "wrong_ca", "name_mismatch"])
def test_no_session_without_a_valid_certificate(pki_dir, probes, case):
    bad = pki_dir.out / "bad"
    tls = {"no_cert": {"ca": str(pki_dir.ca)},
           "expired": {"ca": str(pki_dir.ca), "cert": str(bad / "expired.crt"), "key": str(bad / "expired.key")},
           "revoked": _tls(pki_dir, "ZM-0003"),
           "wrong_ca": {"ca": str(pki_dir.ca), "cert": str(bad / "foreign.crt"), "key": str(bad / "foreign.key")},
           "name_mismatch": _tls(pki_dir, "ZM-0001")}[case]
    # name_mismatch: the broker's certificate names localhost/127.0.0.1, the client dials another name.
    host = "127.0.0.2" if case == "name_mismatch" else "127.0.0.1"
    p = probes(tls, "ZM-0001", server_hostname=host)
    assert not p.try_connect(), case
    assert p.connack is None or p.connack.is_failure


def test_a_client_that_does_not_trust_the_device_ca_refuses_the_broker(pki_dir, probes):
    bad = pki_dir.out / "bad"
    p = probes({"ca": str(bad / "foreign-ca.crt"), "cert": str(bad / "foreign.crt"), "key": str(bad / "foreign.key")},
               "ZM-0001")
    assert not p.try_connect()


def test_plain_tcp_gets_no_mqtt_session(pki_dir, tls_broker):
    # No plaintext listener: an MQTT CONNECT in clear on the TLS port is not answered with a CONNACK.
    import socket
    connect = bytes([0x10, 0x10, 0x00, 0x04]) + b"MQTT" + bytes([0x05, 0x02, 0x00, 0x0A, 0x00, 0x00, 0x03]) + b"abc"
    with socket.create_connection(("127.0.0.1", pki_dir.port), timeout=5) as s:
        s.sendall(connect)
        try:
            data = s.recv(16)
        except (ConnectionResetError, TimeoutError):
            data = b""
    assert not data.startswith(b"\x20")  # 0x20 = CONNACK


def test_tls_older_than_1_2_is_refused(pki_dir, tls_broker):
    import socket
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # offering TLS 1.1 is the point here
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", pki_dir.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw).do_handshake()
