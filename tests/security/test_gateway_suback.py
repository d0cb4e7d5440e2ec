"""The gateway when the broker refuses its own subscriptions (SUBACK 0x87), on the real profile.

The case: a terminal's certificate was issued but its dynsec client has no role (an operator
forgot the broker side). The gateway must say so (typed error naming the topic and the fix, a bus
event, :meth:`Gateway.refused_subscriptions`), fail online requests at once instead of after the
timeout, and recover by itself once the operator fixes the broker with ``mosquitto_ctrl``.
"""
from __future__ import annotations

import logging
import threading

import pytest

from hall_central.service import CentralService
from kiosk.events import EventBus
from kiosk.network import topics
from kiosk.network.errors import Rejected
from kiosk.network.gateway import Gateway, SubscriptionRefused
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

TERMINAL = "ZM-0002"
REGIONS = ["410100", "410122"]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_refused_own_subscriptions_are_reported_and_fail_requests_fast(
        pki_dir, tls_broker, restart_with_dynsec, dynsec_ctrl, tmp_path):
    def forget_role(cfg):
        for c in cfg["clients"]:
            if c["username"] == TERMINAL:
                c["roles"] = []
    restart_with_dynsec(forget_role)
    central = CentralService(tls_broker.url, str(tmp_path / "central.db"), tls=pki_dir.central_tls()).start()
    bus = EventBus()
    refused: list[dict] = []
    lock = threading.Lock()

    def on_refused(e) -> None:
        with lock:
            refused.append(e.data)
    bus.subscribe("network.subscription_refused", on_refused)
    records = _Records()
    gw_log = logging.getLogger("kiosk.network.gateway")
    gw_log.addHandler(records)
    # Why 120 s: if requests did not fail fast they would raise Timeout (not SubscriptionRefused).
    gw = Gateway(TERMINAL, tls_broker.url, REGIONS, tmp_path / "state", bus, request_timeout_s=120,
                 tls=pki_dir.terminal_tls(TERMINAL))
    gw.start()
    try:
        own = topics.terminal_subscriptions(TERMINAL, REGIONS)
        wait_for(lambda: {d["topic"] for d in gw.refused_subscriptions()} == set(own), 20,
                 "every own subscription refused")
        with lock:
            assert {d["topic"] for d in refused} == set(own)
        res = topics.res(TERMINAL)
        [entry] = [d for d in gw.refused_subscriptions() if d["topic"] == res]
        assert entry["code"] == "network.subscription_refused" and "0x87" in entry["reason"]
        assert f"add terminal {TERMINAL} to the broker's dynamic-security config" in entry["action"]
        errors = [r for r in records.records if r.levelno == logging.ERROR and res in r.getMessage()]
        assert errors and "dynamic-security" in errors[0].getMessage()
        assert gw.online  # connected: the terminal still serves cached content and queues durable work

        with pytest.raises(SubscriptionRefused) as exc:
            gw.request("catalogue.sync", {"since_version": 0})
        assert exc.value.topic == res and exc.value.code == "network.subscription_refused"
        pending = gw.submit("checkin", {"appointment_id": "AP-1"})  # durable: kept for later
        assert gw.outbox.get(pending.id) is not None

        # The operator adds the role on the live broker: it disconnects the terminal, which
        # reconnects, subscribes again, and gets its answers (the queued check-in too).
        dynsec_ctrl(["dynsec", "addClientRole", TERMINAL, f"terminal-{TERMINAL}"])
        wait_for(lambda: gw.online and not gw.refused_subscriptions(), 30, "the subscriptions granted again")
        assert gw.request("catalogue.sync", {"since_version": 0}, timeout_s=30)["version"] >= 1
        with pytest.raises(Rejected) as answered:  # the central's own answer arrived (no such appointment)
            pending.wait(30)
        assert answered.value.error_code == "not_found" and gw.outbox_depth() == 0
    finally:
        gw.stop()
        central.stop()
        gw_log.removeHandler(records)
