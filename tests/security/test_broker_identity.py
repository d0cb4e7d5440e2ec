"""The broker binds the client id to the certificate (``use_username_as_clientid``), on a real
Mosquitto with the production profile of central/hall_central/pki.py.

Without it, terminal A's certificate connecting with client id B took B's connection over and, with
a clean start, wiped B's persistent session: the commands queued for B while it was offline were
lost. Now the broker gives A its own client id (its certificate's CN) whatever A sends.
"""
from __future__ import annotations

import json

import pytest

from hall_central import pki

pytestmark = pytest.mark.integration

SESSION_S = 3600


def test_another_certificate_cannot_take_over_a_terminals_client_id_or_session(pki_dir, probes):
    central = probes(pki_dir.central_tls(), "central-test")
    assert central.try_connect()
    victim = probes(pki_dir.terminal_tls("ZM-0002"), "ZM-0002")
    assert victim.try_connect(clean_start=True, session_expiry_s=SESSION_S)
    assert not victim.subscribe("kiosk/v1/ZM-0002/cmd").is_failure

    # While the victim is online, ZM-0001's certificate claims its client id.
    impostor = probes(pki_dir.terminal_tls("ZM-0001"), "ZM-0002")
    assert impostor.try_connect(clean_start=True)
    # A takeover would have reached the victim before anything published after the impostor's
    # CONNACK: once this command arrives, the victim has had every chance to be disconnected.
    assert not central.publish("kiosk/v1/ZM-0002/cmd", b"while-online").is_failure
    victim.wait_messages(lambda m: ("kiosk/v1/ZM-0002/cmd", b"while-online") in m, "the victim's command")
    assert not victim.closed.is_set(), f"the victim was disconnected: {victim.disconnect_reason}"
    assert victim.connects == 1
    impostor.close()

    # The victim goes offline with its persistent session; a command is queued for it.
    victim.close()
    assert not central.publish("kiosk/v1/ZM-0002/cmd", b"queued-while-offline").is_failure
    # The impostor claims the id again, with a clean start: it would wipe the victim's session.
    wiper = probes(pki_dir.terminal_tls("ZM-0001"), "ZM-0002")
    assert wiper.try_connect(clean_start=True)
    assert wiper.session_present is False
    wiper.close()

    back = probes(pki_dir.terminal_tls("ZM-0002"), "ZM-0002")
    assert back.try_connect(clean_start=False, session_expiry_s=SESSION_S)
    assert back.session_present, "the victim's persistent session was wiped"
    back.wait_messages(lambda m: ("kiosk/v1/ZM-0002/cmd", b"queued-while-offline") in m, "the queued command")


def test_the_client_id_is_the_certificates_name(pki_dir, probes):
    # Any client id the terminal sends becomes its CN: a second connection of the same certificate
    # takes the first one over (the gateway reconnecting after a network loss does just that).
    first = probes(pki_dir.terminal_tls("ZM-0001"), "anything")
    assert first.try_connect(clean_start=True)
    second = probes(pki_dir.terminal_tls("ZM-0001"), "something-else")
    assert second.try_connect(clean_start=True)
    assert first.closed.wait(10), "the broker kept two sessions for one certificate"
    first.close()  # paho would reconnect and take the id back


def test_central_instances_each_have_their_own_identity(pki_dir, tls_broker, probes):
    # Every process needs a certificate of its own under use_username_as_clientid: two central
    # instances sharing one would take each other's connection over, endlessly.
    tls_broker.stop()  # the plugin's file is rewritten: SIGHUP does not reload it
    p = pki.build(pki_dir.out, [], central_instances=["c2"])
    tls_broker.start()
    assert p.central_tls("c2")["cert"].endswith("central-c2.crt")
    assert pki.central_cn("c2") in [c["username"] for c in json.loads(p.dynsec.read_text())["clients"]]
    c1 = probes(p.central_tls(), "central-c1")
    c2 = probes(p.central_tls("c2"), "central-c2")
    assert c1.try_connect() and c2.try_connect()
    for c in (c1, c2):
        assert not c.subscribe("$share/central/kiosk/v1/+/req/+").is_failure
    t = probes(pki_dir.terminal_tls("ZM-0001"), "ZM-0001")
    assert t.try_connect()
    assert all(not rc.is_failure for rc in t.publish_all("kiosk/v1/ZM-0001/req/checkin",
                                                         [b"%d" % i for i in range(20)]))
    # The shared subscription spreads the requests over both; each keeps its one connection.
    c1.wait_messages(lambda m: m, "a request at c1")
    c2.wait_messages(lambda m: m, "a request at c2")
    assert (c1.connects, c2.connects) == (1, 1)
    assert not c1.closed.is_set() and not c2.closed.is_set()
