"""The runtime builds the profile ``terminal.profile`` names: a hall kiosk, or a mobile terminal whose
services include the staff's door-to-door flows (built here, not by a screen, so ``kiosk run`` can
start the mobile app). The services never hold the runtime."""
from __future__ import annotations

import pytest

from kiosk import config
from kiosk.runtime import Runtime


class _OfflineGateway:
    """The smallest gateway a runtime accepts (no network in this unit test)."""

    online = False
    catalogue = None

    def start(self): pass

    def stop(self): pass

    def outbox_depth(self): return 0

    def refused_subscriptions(self): return []


@pytest.mark.parametrize("profile", ["kiosk", "mobile"])
def test_the_profile_decides_the_services(tmp_path, profile):
    cfg = config.from_dict({"terminal": {"id": "ZM-PROF-01", "region": {"city": "410100"}, "profile": profile},
                            "runtime": {"state_dir": str(tmp_path)},
                            "mobile": {"staff": [{"id": "S001", "name": "李建国", "pin_hash": ""}]}})
    rt = Runtime(cfg, devices={}, gateway=_OfflineGateway())
    try:
        s = rt.services
        assert s.info.profile == profile
        if profile == "mobile":
            from kiosk.services.mobile import MobileService
            assert isinstance(s.mobile, MobileService) and s.mobile.sessions is s.sessions
            assert not s.mobile.has_camera
        else:
            assert s.mobile is None
        assert not hasattr(s, "runtime")                         # the UI is handed these, never the runtime
        assert s.bus is rt.bus and s.heartbeat is rt.ui and s.clock is rt.clock
        assert s.health()["terminal"] == rt.health()["terminal"] == "ZM-PROF-01"   # one health, the service's
    finally:
        rt.stop()
