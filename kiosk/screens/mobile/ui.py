"""The mobile app's Kivy classes: the App (observable state the .kv binds to), the bus bridge and
the staff screens: sign-in, identify, item, materials, photo, consent, queue (the citizen lookup
and booking screens are in :mod:`kiosk.screens.mobile.citizen`).

Screens call only :class:`kiosk.services.mobile.MobileService` and the terminal's other services; slow
calls run off the main thread (kiosk.screens.async_call) and bus events are handed to the main
thread with ``Clock.schedule_once`` (kivy#7859). Citizen data is shown masked only.
"""
from __future__ import annotations

import gettext
import logging
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics.texture import Texture
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.errors import KioskError
from kiosk.screens import (
    async_call,
    kvrules,
    theme,
    widgets,  # noqa: F401  (registers KButton, KLabel... with the kv Factory)
)
from kiosk.screens.i18n import N_
from kiosk.screens.mobile.base import FIRST_ITEMS, MobileScreen

log = logging.getLogger("kiosk.screens.mobile")

HERE = Path(__file__).parent
SCREENS_DIR = HERE.parent
#: This package's own gettext domain (the kiosk's catalogues are another engineer's).
DOMAIN = "mobile"
#: Why 1280: layouts are designed on a 720x1280 phone; 1080x1920 scales by 1.5.
REF_HEIGHT_PX = 1280
#: Why a photo is refused (kiosk.services.mobile.PhotoCheck.reason), translated where shown.
PHOTO_REASONS = (N_("blurred"), N_("dark"), N_("bright"))




class SignInScreen(MobileScreen):
    """Staff number + PIN, or a staff card on the reader."""

    message = StringProperty("")

    def prepare(self, **kw) -> None:
        """Clear the PIN."""
        self.ids.pin.text = ""
        self.message = ""

    def sign_in(self) -> None:
        """Check the PIN off the main thread (PBKDF2 takes a moment)."""
        staff_id, pin = self.ids.staff_id.text, self.ids.pin.text
        self.ids.pin.text = ""
        async_call.run_async(self.app.mobile.sign_in_pin, staff_id, pin, name="mobile-signin",
                             on_done=lambda s: self.app.go("identify"),
                             on_error=lambda e: setattr(self, "message", self.app.error_text(e)))


class IdentifyScreen(MobileScreen):
    """Waits for the citizen's ID card on the Bluetooth reader; shows who acts for whom."""


class ItemScreen(MobileScreen):
    """Choose the service item from the cached catalogue."""

    items = ListProperty([])

    def prepare(self, **kw) -> None:
        """Fill the list: the common door-to-door items first."""
        all_items = {i["code"]: i for i in self.app.mobile.items()}
        first = [all_items[c] for c in FIRST_ITEMS if c in all_items]
        self.items = first + [i for c, i in all_items.items() if c not in FIRST_ITEMS][:4]

    def choose(self, code: str) -> None:
        """Start the application of ``code``."""
        try:
            self.app.mobile.start(code)
        except KioskError as e:
            self.app.toast = self.app.error_text(e)
            return
        self.app.go("materials")


class MaterialsScreen(MobileScreen):
    """The required materials, one row each: photograph, or mark missing."""

    rows = ListProperty([])
    can_continue = BooleanProperty(False)

    def prepare(self, **kw) -> None:
        """Rebuild the rows from the draft."""
        d = self.app.mobile.draft
        if d is None:
            self.rows = []
            return
        self.item_name = d.item_name
        self.rows = [{"i": k, "name": m.name, "state": ("photo" if m.photo else "missing" if m.provided is False
                                                        else "provided" if m.provided else "todo")}
                     for k, m in enumerate(d.materials)]
        self.can_continue = d.checked

    def photo(self, i: int) -> None:
        """Go to the camera for material ``i``."""
        self.app.go("photo", index=i)

    def missing(self, i: int) -> None:
        """The citizen does not have material ``i``."""
        self.app.mobile.set_provided(i, False)
        self.prepare()

    def wipe(self) -> None:
        """Drop the rows."""
        self.rows = []


class PhotoScreen(MobileScreen):
    """The camera still with the framing guide; take, check, keep."""

    index = NumericProperty(0)
    material = StringProperty("")
    result = StringProperty("")
    ok = BooleanProperty(False)
    texture = ObjectProperty(None, allownone=True)
    guide = ListProperty([0.08, 0.08, 0.84, 0.84])

    def prepare(self, index: int = 0, **kw) -> None:
        """Show which material is photographed."""
        self.index, self.ok, self.result, self.texture = index, False, "", None
        d = self.app.mobile.draft
        self.material = d.materials[index].name if d else ""
        self.guide = list(self.app.mobile.guide_rect)

    def take(self) -> None:
        """Capture a still off the main thread, then check and keep it."""
        if not self.app.mobile.has_camera:
            self.result = self.app.tr("No camera configured")
            return
        async_call.run_async(self.app.mobile.capture_still, 3.0, name="mobile-still", on_done=self._got,
                             on_error=lambda e: setattr(self, "result", self.app.error_text(e)))

    def _got(self, frame) -> None:
        import cv2
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)[::-1].copy()  # Kivy textures start at the bottom
        tex = Texture.create(size=(rgb.shape[1], rgb.shape[0]), colorfmt="rgb")
        tex.blit_buffer(rgb.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
        self.texture = tex
        from kiosk.services.mobile import PhotoRejected
        try:
            check = self.app.mobile.photograph(self.index, frame=frame)
        except PhotoRejected as e:
            self.ok = False
            self.result = self.app.tr("Not usable: {why}. Hold the document flat inside the frame.").format(
                why=self.app.tr(e.check.reason))
            return
        self.ok = True
        self.result = self.app.tr("Photo kept: sharpness {s:.0f}, {kb:.0f} KB").format(
            s=check.sharpness, kb=check.size_bytes / 1024)

    def wipe(self) -> None:
        """Drop the picture."""
        self.texture, self.result = None, ""


class ConsentScreen(MobileScreen):
    """The citizen confirms the application and the sending of the photos."""

    def agree(self) -> None:
        """Record consent (tap) and queue the application (durable before this returns)."""
        try:
            self.app.mobile.give_consent("tap")
            self.app.mobile.submit()
        except KioskError as e:
            self.app.toast = self.app.error_text(e)
            return
        self.app.go("queued")


class QueuedScreen(MobileScreen):
    """What still waits in the outbox, and what the central service acknowledged."""

    queued = ListProperty([])
    synced = ListProperty([])

    def prepare(self, **kw) -> None:
        """Refresh the lists."""
        self.refresh()

    @staticmethod
    def fill(box, rows: list[dict], prefix: str) -> None:
        """Show ``rows`` as labels in ``box`` (tour ids ``<prefix><n>``)."""
        from kiosk.screens.widgets import KLabel
        box.clear_widgets()
        for n, r in enumerate(rows):
            label = KLabel(text=r["text"])
            label.tour_id = f"{prefix}{n}"
            box.add_widget(label)

    def refresh(self) -> None:
        """Read the queue (outbox rows) and the acknowledged applications."""
        self.queued = [{"text": self.app.tr("{item} for {who}: {n} photo parts left").format(
            item=q.item_name, who=q.citizen, n=q.chunks_left)} for q in self.app.mobile.queued()]
        self.synced = [{"text": f"{s['item_name']}  {s['application_no']}"} for s in self.app.mobile.synced]


class MobileApp(App):
    """The staff app: observable state for the .kv and the navigation."""

    lang = StringProperty("zh_CN")
    k = NumericProperty(1.0)
    elder = BooleanProperty(False)
    online = BooleanProperty(False)
    staff_text = StringProperty("")
    citizen_text = StringProperty("")
    acting_text = StringProperty("")
    toast = StringProperty("")
    clock_text = StringProperty("")
    hall_text = StringProperty("")
    terminal_text = StringProperty("")

    def __init__(self, services, *, driver=None, **kw) -> None:
        super().__init__(**kw)
        self.title = "Kiosk mobile"
        self.services, self.mobile = services, services.mobile   # kiosk.services.facade.Services
        self.driver, self.driver_runner, self.ui_error = driver, None, ""  # see kiosk.screens.app.run_app
        self.sm: Any = None  # Kivy's ScreenManager (untyped), set in build()
        self._unsubs: list = []
        self._cats = {lang: gettext.translation(DOMAIN, str(HERE / "locale"), languages=[lang], fallback=True)
                      for lang in ("zh_CN", "en")}

    def tr(self, msgid: str, lang: str | None = None) -> str:
        """Translate with this package's catalogue."""
        return self._cats.get(lang or self.lang, self._cats["en"]).gettext(msgid)

    def error_text(self, e: BaseException) -> str:
        """What the staff member reads for an error: its reason and action (no citizen data)."""
        if isinstance(e, KioskError):
            return f"{e.reason}" + (f" - {e.action}" if e.action else "")
        return self.tr("Something went wrong; try again.")

    def build(self):
        """Load the kv files, build the screens, bridge the bus."""
        info = self.services.info
        self.hall_text, self.terminal_text = info.hall, info.name
        self.k = Window.height / REF_HEIGHT_PX if Window.height else 1.0
        Window.clearcolor = theme.BG
        kvrules.install()  # before the first rule is applied (kiosk.screens.kvrules says why)
        Builder.load_file(str(SCREENS_DIR / "widgets.kv"))
        # Why not mobile.kv: Kivy auto-loads <appname>.kv (MobileApp -> mobile.kv) and would apply it twice.
        root = Builder.load_file(str(HERE / "staff.kv"))
        Builder.load_file(str(HERE / "citizen.kv"))  # after staff.kv: it uses MPage and MTitle
        from kiosk.screens.mobile import citizen
        self.sm = root.ids.sm
        for name, cls in (("signin", SignInScreen), ("identify", IdentifyScreen), ("items", ItemScreen),
                          ("materials", MaterialsScreen), ("photo", PhotoScreen), ("consent", ConsentScreen),
                          ("queued", QueuedScreen), *citizen.SCREENS.items()):
            self.sm.add_widget(cls(name=name))
        self.sm.current = "signin"
        bus = self.services.bus
        for prefix, handler in (("session.started", self._on_people), ("session.ended", self._on_people),
                                ("mobile", self._on_mobile), ("network", self._on_network)):
            # Why no trailing dot: EventBus matches ``prefix`` or ``prefix + "."``; "mobile." matched nothing.
            self._unsubs.append(bus.subscribe(prefix, lambda e, h=handler: Clock.schedule_once(lambda dt: h(e))))
        Clock.schedule_interval(self._tick, 1.0)
        self._tick(0)
        self.services.heartbeat.attach()
        log.info("mobile app ready", extra={"screen": self.sm.current})
        if self.driver is not None:
            self.driver_runner = self.driver(self)
            Clock.schedule_once(lambda dt: self.driver_runner.start(), 0.3)
        return root

    def go(self, name: str, **kw) -> None:
        """Show screen ``name`` (its ``prepare(**kw)`` first)."""
        self.toast = ""
        screen = self.sm.get_screen(name)
        screen.prepare(**kw)
        self.sm.current = name

    def _tick(self, dt) -> None:
        self.services.heartbeat.beat()
        self.clock_text = self.services.clock.now().strftime("%Y-%m-%d %H:%M")
        self.online = self.services.online
        if self.sm is not None and self.sm.current == "queued":
            self.sm.get_screen("queued").refresh()  # the queue drains on its own: show it each second

    def _on_people(self, event) -> None:
        who = self.mobile.acting_for()
        self.staff_text = who["staff"]
        self.citizen_text = who["citizen"]
        self.acting_text = (self.tr("{staff} acting for {citizen}").format(staff=who["staff"], citizen=who["citizen"])
                            if who["citizen"] else "")
        if event.topic == "session.ended":
            for s in self.sm.screens:
                s.wipe()

    def _on_mobile(self, event) -> None:
        self._on_people(event)
        if event.topic == "mobile.signin_failed":
            self.toast = str((event.data or {}).get("reason", ""))
        elif event.topic == "mobile.staff" and event.data and self.sm.current == "signin":
            self.go("identify")
        if self.sm.current == "queued":
            self.sm.get_screen("queued").refresh()

    def _on_network(self, event) -> None:
        self.online = self.services.online
        if self.sm.current == "queued":
            self.sm.get_screen("queued").refresh()

    def new_application(self) -> None:
        """Next citizen: back to identification."""
        self.go("identify")

    def sign_out(self) -> None:
        """End the staff session."""
        self.mobile.sign_out()
        self.go("signin")

    def close_bridge(self) -> None:
        """Unsubscribe from the bus."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
