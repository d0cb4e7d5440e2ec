"""The mobile tour: sign-in, identify, materials, photo, consent, queued (with the network dropped
between two photo chunks), synced. One screenshot per named step: ``NN-<screen>.png`` in out_dir.

``sim`` is a :class:`kiosk.demo.DemoSim` (ID card, camera, network); the staff number and PIN are
the demo's (config/mobile-demo.toml).
"""
from __future__ import annotations

import threading

from kiosk.screens.tour import Step, on_screen

DEMO_STAFF, DEMO_PIN = "S001", "2468"
#: The showcase item (老年优待证办理): two materials, one photographed, one marked missing.
ITEM = "LL001"


def _sign_in(ctx) -> None:
    scr = ctx.app.sm.get_screen("signin")
    scr.ids.staff_id.text, scr.ids.pin.text = DEMO_STAFF, DEMO_PIN
    ctx.tap("signin")


def _arm_drop(ctx) -> None:
    """Cut the network as the first photo chunk is acknowledged (on the gateway's worker thread,
    before the next chunk leaves: the upload window is 1 in mobile-demo.toml)."""
    done = threading.Event()
    bus = ctx.app.runtime.bus

    def on_result(event) -> None:
        if (event.data or {}).get("op") == "upload.chunk" and not done.is_set():
            done.set()
            ctx.sim.set_online(False)
    ctx.app._tour_drop = (done, bus.subscribe("network.result", on_result))


def _dropped_mid_upload(ctx) -> bool:
    done, _unsub = ctx.app._tour_drop
    q = ctx.app.mobile.queued()
    return done.is_set() and not ctx.app.online and bool(q) and q[0].chunks_left > 0 \
        and ctx.app.sm.current == "queued" and bool(ctx.app.sm.get_screen("queued").queued)


def _synced(ctx) -> bool:
    scr = ctx.app.sm.get_screen("queued")
    return ctx.app.online and not ctx.app.mobile.queued() and bool(scr.synced) and not scr.queued


def mobile_tour(card: int = 0) -> list[Step]:
    """The steps (NN-<screen> shots) of the door-to-door tour on the demo stack."""
    return [
        Step("sign-in screen", None, on_screen("signin"), "01-signin", lang=""),
        Step("sign in with number + PIN", _sign_in, on_screen("identify")),
        Step("read the ID card", lambda c: c.sim.place_card(card),
             on_screen("identify", ready=lambda c: bool(c.app.citizen_text)), "02-identify", lang="", timeout_s=20),
        Step("choose the service", lambda c: c.tap("to_items"), on_screen("items", ready=lambda c: c.find("item_" + ITEM))),
        Step("start the application", lambda c: c.tap("item_" + ITEM),
             on_screen("materials", ready=lambda c: c.find("photo_0") is not None), "03-materials", lang=""),
        Step("open the camera", lambda c: (c.sim.show_code("老年优待证申请表 SQ-DEMO"), c.tap("photo_0")),
             on_screen("photo")),
        Step("take the photo", lambda c: c.tap("take"),
             on_screen("photo", ready=lambda c: c.app.sm.get_screen("photo").ok), "04-photo", lang="", timeout_s=20),
        Step("back to the materials", lambda c: c.tap("photo_done"), on_screen("materials")),
        Step("mark the second material missing", lambda c: c.tap("missing_1"),
             on_screen("materials", ready=lambda c: c.app.sm.get_screen("materials").can_continue)),
        Step("consent", lambda c: c.tap("to_consent"), on_screen("consent"), "05-consent", lang=""),
        Step("submit; the network drops between two chunks",
             lambda c: (_arm_drop(c), c.tap("agree")), _dropped_mid_upload, "06-queued", lang="", timeout_s=30),
        Step("network back: the rest is sent and acknowledged",
             lambda c: (c.app._tour_drop[1](), c.sim.set_online(True)), _synced, "07-synced", lang="", timeout_s=90),
    ]
