"""The production broker profile on a real Mosquitto: mutual TLS, per-terminal ACLs in the
dynamic-security plugin, the CRL.

Every check here would fail if the profile broke: a terminal reaching another's topics (PUBACK /
SUBACK 0x87 and nothing delivered), or a session for a client without a valid certificate. The
last tests pin down how Mosquitto 2.0 combines the plugin with certificate identities and with
``acl_file``, and that the README's live ``mosquitto_ctrl`` recipe works.
"""
from __future__ import annotations

import json
import os
import ssl
import warnings

import pytest

from hall_central import pki
from hall_demo.broker import PkiBroker

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
    # Subscribing to another terminal's topics, to the whole tree or to another region's broadcast:
    # the dynamic-security plugin refuses the SUBSCRIBE itself (and receiving is denied as well).
    spy_topics = ("kiosk/v1/ZM-0002/cmd", "kiosk/v1/ZM-0002/res", "kiosk/v1/+/res", "kiosk/v1/+/cmd",
                  "kiosk/v1/ZM-0001/+", "kiosk/v1/#", "#", "kiosk/v1/bcast/410199", "kiosk/v1/bcast/+")
    for topic in spy_topics:
        assert own.subscribe(topic).value == NOT_AUTHORIZED, topic
    assert not central.publish("kiosk/v1/bcast/410199", b"other-region").is_failure
    assert not central.publish("kiosk/v1/ZM-0002/res", b"for-ZM-0002").is_failure
    assert not own.subscribe("kiosk/v1/ZM-0001/res").is_failure
    # Only the contract's operations: an invented request topic would let a terminal keep any
    # number of retained messages on the broker (no per-client retained limit in Mosquitto 2.0).
    for topic in ("kiosk/v1/ZM-0001/req/junk1", "kiosk/v1/ZM-0001/req/checkin/x"):
        rc = own.publish(topic, b"forged", retain=True)
        assert rc.is_failure and rc.value == NOT_AUTHORIZED, topic
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
    assert p.subscribe("kiosk/v1/ZM-0002/cmd").value == NOT_AUTHORIZED
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


def test_central_identity_keeps_what_it_needs(pki_dir, probes):
    # The central service's subscriptions, shared ones included ($share/central/...), and its
    # publishes to any terminal's res/cmd and any region's broadcast. Everything else: refused.
    from kiosk.network import topics
    central = probes(pki_dir.central_tls(), "central-test")
    assert central.try_connect()
    for t in topics.central_subscriptions() + topics.central_subscriptions(shared=False):
        assert not central.subscribe(t).is_failure, t
    for t in ("kiosk/v1/ZM-0001/res", "kiosk/v1/ZM-0002/cmd", "kiosk/v1/bcast/410199"):
        assert not central.publish(t).is_failure, t
    assert central.subscribe("#").value == NOT_AUTHORIZED
    assert central.subscribe("$CONTROL/dynamic-security/#").value == NOT_AUTHORIZED
    assert central.publish("elsewhere/x").value == NOT_AUTHORIZED


def test_identity_comes_from_the_certificate_and_rights_only_from_the_plugin(pki_dir, restart_with_dynsec, probes):
    # Mosquitto 2.0.11 with use_identity_as_username never calls the plugin's password check: a
    # client marked disabled still gets its session and its rights (so disableClient is no way to
    # revoke: the CRL is), and a certificate with no dynsec client gets a session with no rights.
    def edit(cfg):
        for c in cfg["clients"]:
            if c["username"] == "ZM-0002":
                c["disabled"] = True
        cfg["clients"] = [c for c in cfg["clients"] if c["username"] != "ZM-0001"]
    restart_with_dynsec(edit)
    disabled = probes(_tls(pki_dir, "ZM-0002"), "ZM-0002")
    assert disabled.try_connect()
    assert not disabled.subscribe("kiosk/v1/ZM-0002/res").is_failure
    unknown = probes(_tls(pki_dir, "ZM-0001"), "ZM-0001")
    assert unknown.try_connect()
    assert unknown.subscribe("kiosk/v1/ZM-0001/res").value == NOT_AUTHORIZED
    assert unknown.publish("kiosk/v1/ZM-0001/req/checkin").value == NOT_AUTHORIZED
    assert unknown.publish("kiosk/v1/ZM-0001/state").value == NOT_AUTHORIZED


def test_an_acl_file_next_to_the_plugin_would_shadow_it(pki_dir, tls_broker, probes):
    # Why the profile has no acl_file: with one, Mosquitto 2.0 never asks the plugin and grants
    # every SUBSCRIBE (0x01, filtered only at delivery), so "#" would no longer get 0x87.
    acl = pki_dir.out / "acl"
    acl.write_text("pattern readwrite kiosk/v1/%u/#\n")
    tls_broker.stop()
    pki._write(pki_dir.conf, (pki_dir.conf.read_text() + f"acl_file {acl}\n").encode())
    tls_broker.start()
    p = probes(_tls(pki_dir, "ZM-0001"), "ZM-0001")
    assert p.try_connect()
    assert not p.subscribe("#").is_failure
    assert not p.subscribe("kiosk/v1/ZM-0002/res").is_failure


def test_missing_dynsec_file_is_reported_at_start(pki_dir):
    # Mosquitto would run with every publish and subscribe denied; PkiBroker says why instead.
    pki_dir.dynsec.unlink()
    with pytest.raises(pki.PkiError, match="could not load .*dynamic-security.json"):
        PkiBroker(pki_dir).start()


def test_adding_and_revoking_a_terminal_on_a_live_broker(pki_dir, dynsec_ctrl, probes):
    # config/broker/README.md: a terminal whose certificate was issued after the broker started is
    # added with mosquitto_ctrl as the administrator, then revoked (its client deleted).
    ca_key = pki.serialization.load_pem_private_key((pki_dir.out / "ca.key").read_bytes(), None)
    key, cert = pki.issue(ca_key, pki.load_cert(pki_dir.ca), "ZM-0042")
    pki.write_key(pki_dir.out / "terminals" / "ZM-0042.key", key)
    pki.write_cert(pki_dir.out / "terminals" / "ZM-0042.crt", cert)
    before = probes(_tls(pki_dir, "ZM-0042"), "ZM-0042")
    assert before.try_connect()
    assert before.subscribe("kiosk/v1/ZM-0042/res").value == NOT_AUTHORIZED

    for args in pki.ctrl_commands("add", "ZM-0042", ["410100"]):
        dynsec_ctrl(args)
    assert before.closed.wait(10), "the broker did not disconnect the terminal when its roles changed"
    after = probes(_tls(pki_dir, "ZM-0042"), "ZM-0042")
    assert after.try_connect()
    assert not after.subscribe("kiosk/v1/ZM-0042/res").is_failure
    assert not after.subscribe("kiosk/v1/bcast/410100").is_failure
    assert after.subscribe("kiosk/v1/ZM-0001/res").value == NOT_AUTHORIZED
    assert not after.publish("kiosk/v1/ZM-0042/req/checkin").is_failure
    saved = json.loads(pki_dir.dynsec.read_text())  # the plugin saved the change at once
    assert "ZM-0042" in [c["username"] for c in saved["clients"]]
    assert oct(os.stat(pki_dir.dynsec).st_mode & 0o777) == oct(0o600)

    for args in pki.ctrl_commands("revoke", "ZM-0042"):
        dynsec_ctrl(args)
    assert after.closed.wait(10), "deleteClient did not disconnect the terminal"
    again = probes(_tls(pki_dir, "ZM-0042"), "ZM-0042")
    assert again.try_connect()  # the CRL (not updated here) is what refuses a session
    assert again.subscribe("kiosk/v1/ZM-0042/res").value == NOT_AUTHORIZED
    assert again.publish("kiosk/v1/ZM-0042/req/checkin").value == NOT_AUTHORIZED
