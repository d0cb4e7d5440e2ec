"""The one parser of ``network.broker`` and its TLS settings."""
from __future__ import annotations

import pytest

from kiosk.config import from_dict
from kiosk.network.broker import Broker, tls_settings


def test_broker_url_parsing():
    assert Broker.parse("mqtt://10.0.0.5") == Broker("10.0.0.5", 1883, False)
    assert Broker.parse("mqtts://broker.example:9883") == Broker("broker.example", 9883, True)
    assert Broker.parse("mqtts://broker.example").port == 8883
    for bad in ("http://x:1883", "mqtt://:1883", "mqtt://x:0", "mqtt://x:70000", "x:1883"):
        with pytest.raises(ValueError, match="mqtt://host"):
            Broker.parse(bad)


def test_tls_settings_only_for_mqtts(tmp_path):
    def cfg(network: dict):
        return from_dict({"terminal": {"id": "ZM-0001", "region": {"city": "410100"}},
                          "runtime": {"state_dir": str(tmp_path)}, "network": network})
    assert tls_settings(cfg({"broker": "mqtt://127.0.0.1:1883", "ca_file": "/x/ca.pem"})) is None
    tls = tls_settings(cfg({"broker": "mqtts://broker:8883", "ca_file": "/x/ca.pem", "tls_insecure": True}))
    assert tls == {"ca": "/x/ca.pem", "cert": None, "key": None, "insecure": True}
