"""Real Mosquitto with the production-style profile of central/hall_central/pki.py, and a bare MQTT v5 probe."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hall_central import pki
from hall_demo.broker import PkiBroker, free_port
from kiosk.trust.tls import client_context

TERMINALS = ["ZM-0001", "ZM-0002", "ZM-0003", "ZM-E2E-0001"]
REVOKED = "ZM-0003"


class Probe:
    """A bare paho MQTT v5 client that records CONNACK, PUBACK, SUBACK reason codes and messages."""

    def __init__(self, port: int, tls: dict, client_id: str, server_hostname: str = "127.0.0.1") -> None:
        self.connected = threading.Event()
        self.closed = threading.Event()
        self.settled = threading.Event()  # a CONNACK or a disconnect, whichever comes first
        self.connack = None
        self.connack_props = None
        self.session_present = None
        self.connects = 0  # sessions established (paho reconnects by itself after a drop)
        self.disconnect_reason = None
        self.pubacks: dict[int, object] = {}
        self.subacks: dict[int, list] = {}
        self.messages: list[tuple[str, bytes]] = []
        self.cond = threading.Condition()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.c.tls_set_context(client_context(tls.get("ca"), tls.get("cert"), tls.get("key")))
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_publish = self._on_publish
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = self._on_message
        self.port, self.host = port, server_hostname

    def _on_connect(self, client, userdata, flags, rc, props):
        self.connack, self.connack_props, self.session_present = rc, props, flags.session_present
        if not rc.is_failure:
            self.connects += 1
        (self.closed if rc.is_failure else self.connected).set()
        self.settled.set()

    def _on_disconnect(self, client, userdata, flags, rc, props):
        if self.disconnect_reason is None:
            self.disconnect_reason = rc
        self.closed.set()
        self.settled.set()

    def _on_publish(self, client, userdata, mid, rc, props):
        with self.cond:
            self.pubacks[mid] = rc
            self.cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, rcs, props):
        with self.cond:
            self.subacks[mid] = list(rcs)
            self.cond.notify_all()

    def _on_message(self, client, userdata, msg):
        with self.cond:
            self.messages.append((msg.topic, bytes(msg.payload)))
            self.cond.notify_all()

    def try_connect(self, timeout_s: float = 5.0, clean_start=mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                    session_expiry_s: int | None = None) -> bool:
        """True if a session was established (CONNACK success); False on TLS or MQTT refusal.
        ``session_expiry_s``: keep the session (and what is queued for it) that long after a disconnect."""
        props = None
        if session_expiry_s is not None:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = session_expiry_s
        try:
            self.c.connect(self.host, self.port, keepalive=10, clean_start=clean_start, properties=props)
        except Exception:
            return False
        self.c.loop_start()
        assert self.settled.wait(timeout_s), "neither a session nor a refusal within the deadline"
        return self.connected.is_set() and not self.closed.is_set()

    def publish(self, topic: str, payload: bytes = b"x", timeout_s: float = 5.0, retain: bool = False):
        """QoS 1 publish; returns the PUBACK reason code."""
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        with self.cond:
            assert self.cond.wait_for(lambda: info.mid in self.pubacks, timeout_s), "no PUBACK"
            return self.pubacks[info.mid]

    def publish_all(self, topic: str, payloads: list[bytes], timeout_s: float = 30.0) -> list:
        """QoS 1 publishes, all sent before waiting; returns their PUBACK reason codes in order."""
        mids = [self.c.publish(topic, p, qos=1).mid for p in payloads]
        with self.cond:
            assert self.cond.wait_for(lambda: all(m in self.pubacks for m in mids), timeout_s), "PUBACKs missing"
            return [self.pubacks[m] for m in mids]

    def wait_messages(self, predicate, what: str, timeout_s: float = 10.0) -> list[tuple[str, bytes]]:
        """Wait until ``predicate(messages)`` holds; return the messages received so far."""
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.messages), timeout_s), f"timed out waiting for {what}"
            return list(self.messages)

    def subscribe(self, topic: str, timeout_s: float = 5.0):
        """QoS 1 subscribe; returns the SUBACK reason code."""
        _, mid = self.c.subscribe(topic, qos=1)
        assert mid is not None, "subscribe refused by paho"
        with self.cond:
            assert self.cond.wait_for(lambda: mid in self.subacks, timeout_s), "no SUBACK"
            return self.subacks[mid][0]

    def close(self) -> None:
        """Disconnect and stop the loop thread."""
        try:
            self.c.disconnect()
        finally:
            self.c.loop_stop()


@pytest.fixture
def pki_dir(tmp_path):
    """A PKI with four terminals (one revoked) and a broker config on a free port."""
    p = pki.build(tmp_path / "pki", TERMINALS, port=free_port(), regions=["410100", "410122"])
    pki.build(p.out, [], revoke=[REVOKED])
    # Certificates the broker must refuse: expired (same CA), and one from another CA.
    ca_key = pki.serialization.load_pem_private_key((p.out / "ca.key").read_bytes(), None)
    ca_cert = pki.load_cert(p.ca)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    k, c = pki.issue(ca_key, ca_cert, "ZM-0001", not_before=past - dt.timedelta(days=30), not_after=past)
    pki.write_key(p.out / "bad" / "expired.key", k)
    pki.write_cert(p.out / "bad" / "expired.crt", c)
    other_key, other_ca = pki.make_ca("Impostor CA")
    k, c = pki.issue(other_key, other_ca, "ZM-0001")
    pki.write_key(p.out / "bad" / "foreign.key", k)
    pki.write_cert(p.out / "bad" / "foreign.crt", c)
    pki.write_cert(p.out / "bad" / "foreign-ca.crt", other_ca)
    return p


@pytest.fixture
def tls_broker(pki_dir):
    """Mosquitto running the generated mosquitto.conf."""
    with PkiBroker(pki_dir) as b:
        yield b


@pytest.fixture
def probes(tls_broker):
    """Make probes that are closed at the end of the test."""
    made: list[Probe] = []

    def make(tls: dict, client_id: str, **kw) -> Probe:
        p = Probe(tls_broker.pki.port, tls, client_id, **kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


@pytest.fixture
def restart_with_dynsec(tls_broker):
    """Restart the broker after ``edit(cfg)`` changed its dynsec file (SIGHUP does not reload it)."""
    def restart(edit) -> None:
        tls_broker.stop()
        cfg = json.loads(tls_broker.pki.dynsec.read_text())
        edit(cfg)
        pki._write(tls_broker.pki.dynsec, json.dumps(cfg).encode(), private=True)
        tls_broker.start()
    return restart


@pytest.fixture
def dynsec_ctrl(tls_broker):
    """Run ``mosquitto_ctrl <admin connection options> ARGS`` against the running broker."""
    ctrl = shutil.which("mosquitto_ctrl")
    assert ctrl, "mosquitto_ctrl missing: it comes with Debian's mosquitto package (make setup)"

    def run(args: list[str]) -> None:
        # stdin /dev/null: createClient asks for a password and takes none (the certificate is the identity).
        r = subprocess.run([ctrl, *tls_broker.pki.ctrl_args(), *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return run
