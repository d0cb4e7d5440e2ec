"""The one parser of ``network.broker`` (kiosk.config.broker_address) and its TLS settings; an IPv6
broker in brackets on a real Mosquitto listening on ::1."""
from __future__ import annotations

import datetime as dt
import socket

import pytest

from hall_central.clock import TZ, FixedClock
from hall_central.service import CentralService, parse_broker_url
from hall_demo.broker import Broker as Mosquitto
from hall_demo.broker import free_port, ipv6_loopback
from kiosk.config import from_dict
from kiosk.errors import ConfigError
from kiosk.network.broker import Broker, tls_settings
from kiosk.network.gateway import Gateway

from .conftest import TERMINAL

BAD = ("http://x:1883", "mqtt://:1883", "mqtt://x:0", "mqtt://x:70000", "x:1883", "mqtt://x:", "mqtt://x:12a",
       "mqtt://::1:1883", "mqtt://[::1]:0", "mqtt://[::1]:70000", "mqtt://[::1", "mqtt://[example.com]:1883",
       "mqtt://[1.2.3.4]:1883", "mqtt://[::1]x:1883", "mqtt://[]:1883", "mqtts://[::1]:8883/x")


def _cfg(tmp_path, broker: str):
    return from_dict({"terminal": {"id": TERMINAL, "region": {"city": "410100", "county": "410122"}},
                      "runtime": {"state_dir": str(tmp_path / "state")}, "network": {"broker": broker}})


def test_broker_url_parsing():
    assert Broker.parse("mqtt://10.0.0.5") == Broker("10.0.0.5", 1883, False)
    assert Broker.parse("mqtts://broker.example:9883") == Broker("broker.example", 9883, True)
    assert Broker.parse("mqtts://broker.example").port == 8883
    for bad in BAD:
        with pytest.raises(ValueError, match="mqtt://host"):
            Broker.parse(bad)


def test_an_ipv6_broker_in_brackets_is_accepted_everywhere(tmp_path):
    """Before: the config's pattern refused ``mqtts://[::1]:8883`` (and ``mqtt://[::1]:1883``)."""
    assert Broker.parse("mqtts://[::1]:8883") == Broker("::1", 8883, True)
    assert Broker.parse("mqtt://[::1]") == Broker("::1", 1883, False)
    assert Broker.parse("mqtt://[fe80::1%25eth0]:1883").host == "fe80::1%eth0"  # a link-local zone
    assert Broker.parse("mqtt://[2001:db8::5]:1884/") == Broker("2001:db8::5", 1884, False)
    for url in ("mqtts://[::1]:8883", "mqtt://[::1]:1883", "mqtt://[2001:db8::5]"):
        assert _cfg(tmp_path, url).get("network.broker") == url
        assert parse_broker_url(url)[0] in ("::1", "2001:db8::5")  # the central service's command line too
    assert tls_settings(_cfg(tmp_path, "mqtts://[::1]:8883")) is not None


@pytest.mark.parametrize("url, expected", [
    ("mqtt://[::1]:0", "a port of 1-65535"), ("mqtt://[::1]:70000", "a port of 1-65535"),
    ("mqtt://::1:1883", "an IPv6 address in brackets"), ("mqtt://[nope]:1883", "an IPv6 address in brackets")])
def test_a_bad_broker_url_is_one_config_error_saying_what_is_expected(tmp_path, url, expected):
    with pytest.raises(ConfigError) as e:
        _cfg(tmp_path, url)
    assert "network.broker" in e.value.reason and expected in e.value.reason and "\n" not in e.value.reason


def test_the_terminal_and_the_central_service_meet_on_an_ipv6_broker(tmp_path, bus, waiter):
    if not ipv6_loopback():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    port6 = free_port()
    with Mosquitto(workdir=tmp_path / "broker", extra_conf=f"listener {port6} ::1\n"):
        url = f"mqtt://[::1]:{port6}"
        svc = CentralService(url, str(tmp_path / "central.db"), instance="t1",
                             clock=FixedClock(start=dt.datetime(2026, 3, 18, 10, 7, tzinfo=TZ))).start()
        gw = Gateway.from_config(_cfg(tmp_path, url), bus)
        try:
            gw.start()
            waiter.wait("network.online")
            assert gw.client.socket().family == socket.AF_INET6
            assert gw.request("catalogue.sync", {"since_version": 0})["items"]
            ticket = gw.submit("ticket.walkin", {"line": "A"}).wait(10)
            assert ticket["queue_no"]
        finally:
            gw.stop()
            svc.stop()
