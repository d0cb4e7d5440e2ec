"""The mobile tour: sign-in (number + PIN, then sign out and in again with a staff card), identify,
look up the citizen's applications and appointments, book for them, materials, photo, consent,
queued (with the network dropped between two photo chunks), synced. One screenshot per named step:
``NN-<screen>.png`` in out_dir (:data:`SHOTS`).

``sim`` is a :class:`hall_demo.demo.DemoSim` (ID card, staff card, camera, network); the staff number,
PIN and staff card are the demo's (config/mobile-demo.toml: S001 with a PIN, S002 card only).
"""
from __future__ import annotations

import threading

from hall_demo.tour import Step, on_screen

DEMO_STAFF, DEMO_PIN = "S001", "2468"
#: The demo's card-only staff member (王芳): signs in with the staff card, then acts for the citizen.
CARD_STAFF = "S002"
#: The demo citizen: aged 68, three applications (green, yellow, red flag) and two appointments.
CITIZEN = 1
#: The screenshots the tour leaves, in order.
SHOTS = ("01-signin", "02-staffcard", "03-identify", "04-lookup", "05-book", "06-materials", "07-photo",
         "08-consent", "09-queued", "10-synced")
#: The showcase item (老年优待证办理): two materials, one photographed, one marked missing.
ITEM = "LL001"


def _sign_in(ctx) -> None:
    scr = ctx.app.sm.get_screen("signin")
    scr.ids.staff_id.text, scr.ids.pin.text = DEMO_STAFF, DEMO_PIN
    ctx.tap("signin")


def _staff_is(staff_id: str):
    """Condition: signed in as ``staff_id`` and on the identify screen."""
    def cond(ctx) -> bool:
        staff = ctx.app.mobile.staff
        return ctx.app.sm.current == "identify" and not ctx.app.sm.transition.is_active and staff is not None and staff.staff_id == staff_id \
            and bool(ctx.app.staff_text)
    return cond


def _looked_up(ctx) -> bool:
    scr = ctx.app.sm.get_screen("lookup")
    return ctx.app.sm.current == "lookup" and not ctx.app.sm.transition.is_active and scr.status == "shown" and ctx.find("lookup_app_0") is not None


def _book_stage(stage: str):
    """Condition: the booking screen is at ``stage`` (and not waiting for the network)."""
    def cond(ctx) -> bool:
        scr = ctx.app.sm.get_screen("book")
        return ctx.app.sm.current == "book" and not ctx.app.sm.transition.is_active and scr.stage == stage and not scr.busy
    return cond


def _arm_drop(ctx) -> None:
    """Cut the network as the first photo chunk is acknowledged (on the gateway's worker thread,
    before the next chunk leaves: the upload window is 1 in mobile-demo.toml)."""
    done = threading.Event()
    bus = ctx.app.services.bus

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


def mobile_tour(card: int = CITIZEN) -> list[Step]:
    """The steps (NN-<screen> shots) of the door-to-door tour on the demo stack."""
    return [
        Step("sign-in screen", None, on_screen("signin"), "01-signin", lang=""),
        Step("sign in with number + PIN", _sign_in, _staff_is(DEMO_STAFF)),
        Step("sign out", lambda c: c.tap("sign_out"), on_screen("signin", ready=lambda c: c.app.mobile.staff is None)),
        Step("sign in with the staff card", lambda c: c.sim.insert_staff_card(CARD_STAFF), _staff_is(CARD_STAFF),
             "02-staffcard", lang=""),
        Step("read the ID card", lambda c: (c.sim.remove_smartcard(), c.sim.place_card(card)),
             on_screen("identify", ready=lambda c: bool(c.app.citizen_text and c.app.acting_text)), "03-identify",
             lang=""),
        Step("look up applications and appointments", lambda c: c.tap("to_lookup"), _looked_up, "04-lookup",
             lang=""),
        Step("book for the citizen", lambda c: c.tap("to_book"), on_screen("book", ready=lambda c: c.find("book_item_" + ITEM))),
        Step("choose the item", lambda c: c.tap("book_item_" + ITEM), _book_stage("day")),
        Step("choose the first working day", lambda c: c.tap("book_day_0"), _book_stage("slot")),
        Step("choose the first free slot", lambda c: c.tap("book_slot_0"), _book_stage("confirm")),
        Step("confirm the booking", lambda c: c.tap("book_confirm"),
             lambda c: _book_stage("done")(c) and bool(c.app.sm.get_screen("book").result.get("checkin_code")),
             "05-book", lang=""),
        Step("back to the citizen: the new appointment is listed", lambda c: c.tap("book_back"),
             lambda c: _looked_up(c) and len(c.app.sm.get_screen("lookup").appointments) == 3),
        Step("back to identify", lambda c: c.tap("lookup_back"), on_screen("identify")),
        Step("choose the service", lambda c: c.tap("to_items"), on_screen("items", ready=lambda c: c.find("item_" + ITEM))),
        Step("start the application", lambda c: c.tap("item_" + ITEM),
             on_screen("materials", ready=lambda c: c.find("photo_0") is not None), "06-materials", lang=""),
        Step("open the camera", lambda c: (c.sim.show_code("老年优待证申请表 SQ-DEMO"), c.tap("photo_0")),
             on_screen("photo")),
        Step("take the photo", lambda c: c.tap("take"),
             on_screen("photo", ready=lambda c: c.app.sm.get_screen("photo").ok), "07-photo", lang=""),
        Step("back to the materials", lambda c: c.tap("photo_done"), on_screen("materials")),
        Step("mark the second material missing", lambda c: c.tap("missing_1"),
             on_screen("materials", ready=lambda c: c.app.sm.get_screen("materials").can_continue)),
        Step("consent", lambda c: c.tap("to_consent"), on_screen("consent"), "08-consent", lang=""),
        Step("submit; the network drops between two chunks",
             lambda c: (_arm_drop(c), c.tap("agree")), _dropped_mid_upload, "09-queued", lang="", timeout_s=30),
        Step("network back: the rest is sent and acknowledged",
             lambda c: (c.app._tour_drop[1](), c.sim.set_online(True)), _synced, "10-synced", lang="", timeout_s=90),
    ]
