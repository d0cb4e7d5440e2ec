"""The runtime with trust configured, on a real Mosquitto: signed commands run once, forged,
replayed and foreign ones never, also across a restart; key sets arrive by command; the
production profile refuses insecure settings; core dumps are off."""
from __future__ import annotations

import datetime as dt
import queue
import resource

import pytest

from hall_central.admin import command_envelope, publish_once
from hall_central.keys import CentralKeys
from kiosk import config
from kiosk.network import topics
from kiosk.runtime import Runtime
from kiosk.trust import payload as P
from kiosk.trust.policy import InsecureConfig
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
T = "ZM-TRUST-01"


def _cfg(tmp_path, broker_url, central, **network):
    keyset = tmp_path / "keyset.json"
    import json
    keyset.write_text(json.dumps(central.keyset()))
    return config.from_dict({
        "terminal": {"id": T, "hall_code": "H410100", "region": {"city": "410100"}},
        "runtime": {"state_dir": str(tmp_path / "state")},
        "network": {"broker": broker_url, **network},
        "trust": {"root_key": central.root_public, "keyset_file": str(keyset)},
    })


class Terminal:
    """A runtime plus a queue of what it executed or refused."""

    def __init__(self, cfg):
        self.rt = Runtime(cfg)
        self.events: queue.Queue = queue.Queue()
        for topic in ("ui.announcement", "trust.command_rejected", "trust.command_accepted", "trust.keyset"):
            self.rt.bus.subscribe(topic, lambda e: self.events.put((e.topic, e.data)))
        self.rt.start()
        wait_for(lambda: self.rt.gateway.online, 15, "the gateway to connect")

    def next(self, timeout_s: float = 10.0):
        return self.events.get(timeout=timeout_s)

    def stop(self):
        self.rt.stop()


def _send(broker, env):
    publish_once(broker.url, topics.cmd(env.terminal), env.to_bytes())


def test_signed_commands_on_the_real_stack(tmp_path, broker):
    central = CentralKeys(tmp_path / "keys")
    now = dt.datetime.now(dt.UTC)
    term = Terminal(_cfg(tmp_path, broker.url, central))
    try:
        good = command_envelope(T, "announcement", {"text": "今日下午停电"}, 1, now, keys=central)
        _send(broker, good)
        assert term.next() == ("trust.command_accepted", {"op": "announcement", "seq": 1})
        assert term.next() == ("ui.announcement", {"text": "今日下午停电"})
        _send(broker, good)  # replay
        assert term.next() == ("trust.command_rejected", {"op": "announcement", "code": "command.replayed"})
        unsigned = command_envelope(T, "announcement", {"text": "forged"}, 2, now)
        _send(broker, unsigned)
        assert term.next()[1]["code"] == "command.unsigned"
        expired = command_envelope(T, "announcement", {"text": "old"}, 3, now - dt.timedelta(hours=1), keys=central)
        _send(broker, expired)
        assert term.next()[1]["code"] == "command.expired"
        # The key set arrives by command and rotates the command key (old one revoked).
        central.rotate("command", revoke_old=True)
        _send(broker, command_envelope(T, "config.set", {"keyset": central.keyset()}, 4, now, keys=central))
        assert term.next()[0] == "trust.keyset"
        assert term.next() == ("trust.command_accepted", {"op": "config.set", "seq": 4})
    finally:
        term.stop()

    # Restart: the sequence and the key set survive; the old command is still a replay.
    term = Terminal(_cfg(tmp_path, broker.url, central))
    try:
        assert term.rt.trust.last_command_seq == 4
        _send(broker, good)
        assert term.next()[1]["code"] in ("command.replayed", "command.revoked_key")
        _send(broker, command_envelope(T, "announcement", {"text": "新通知"}, 5, now, keys=central))
        assert term.next()[0] == "trust.command_accepted"
        assert term.next() == ("ui.announcement", {"text": "新通知"})
        # The scan gate verifies codes while the runtime lives.
        code = central.sign_code({"apt": "AP1"}, aud="H410100", exp_s=int(now.timestamp()) + 600)
        assert P.classify(code).kind == P.APPOINTMENT
        assert P.classify(central.sign_code({"apt": "AP1"}, aud="H999", exp_s=int(now.timestamp()) + 600)).kind == P.UNKNOWN
    finally:
        term.stop()
    assert term.events.empty()


@pytest.mark.parametrize("network,expect", [
    ({"broker": "mqtt://127.0.0.1:1883"}, "plaintext"),
    ({"broker": "mqtts://127.0.0.1:8883", "tls_insecure": True, "ca_file": "/x", "cert_file": "/x", "key_file": "/x"},
     "tls_insecure"),
    ({"broker": "mqtts://127.0.0.1:8883"}, "cert_file is empty"),
])
def test_production_profile_refuses_insecure_settings(tmp_path, network, expect):
    central = CentralKeys(tmp_path / "keys")
    cfg = _cfg(tmp_path, network.pop("broker"), central, profile="production", **network)
    with pytest.raises(InsecureConfig) as e:
        Runtime(cfg, gateway=object())
    assert expect in e.value.reason


def test_core_dumps_are_disabled(tmp_path):
    central = CentralKeys(tmp_path / "keys")
    Runtime(_cfg(tmp_path, "mqtt://127.0.0.1:1883", central), devices={}, gateway=object()).services.sessions.close()
    assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)
    P.set_token_verifier(None)
