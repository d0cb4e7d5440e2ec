"""The mobile terminal's staff flows (上门办理 / 委托代办): sign-in, door-to-door applications, the queue.

A staff member signs in (staff card on the PC/SC or NFC reader with the ``staff`` profile, or staff
number + PIN checked with :mod:`kiosk.pin` against ``mobile.staff``); the citizen is identified by
the ordinary session (the ID-card reader is the same driver, opened by an RFCOMM URL), so the
screen always shows who acts for whom. An application is a :class:`Draft`: an item from the cached
catalogue, its required materials checked one by one and photographed (cropped to the framing
guide, refused when blurred, too dark or too bright, JPEG-compressed to a size budget), the
citizen's consent, then :meth:`MobileService.submit`: every photo in chunks (``upload.chunk``, one
durable, idempotent outbox row each) followed by ``application.submit``, all *sealed* at rest
(kiosk.network.sealed). Rows leave when the network is there and are deleted on the central
service's acknowledgement; :meth:`MobileService.queued` shows what still waits. Photos live in
memory until submitted, then only sealed in the outbox.

This module owns the staff member's sign-in, the draft, the submission and the queue; how a photo
is judged and compressed (and what a camera must offer) is kiosk.services.photos'.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from hall_common import privacy
from kiosk import pin as pins
from kiosk.clock import Clock
from kiosk.errors import ConfigError, KioskError
from kiosk.events import Event, EventBus
from kiosk.network import operations as ops
from kiosk.services.photos import PhotoCheck, StillCamera, check_photo
from kiosk.trust.ratelimit import PinLimiter

if TYPE_CHECKING:  # the gateway's link imports paho: services load without it
    from kiosk.config import Config
    from kiosk.network.gateway import Gateway
    from kiosk.network.outbox import Row
    from kiosk.services.flows import GuideService
    from kiosk.services.session import SessionManager

log = logging.getLogger("kiosk.services.mobile")

#: Consent methods the contract knows.
CONSENT_METHODS = ("signature", "tap", "verbal_witnessed")


class MobileError(KioskError):
    """Base of the mobile flows' refusals (shown to the staff member, never with citizen data)."""

    code = "mobile"
    citizen_message = "请工作人员按提示操作。"


class SignInFailed(MobileError):
    """Unknown staff number, wrong PIN, unknown or expired staff card."""

    code = "mobile.signin_failed"

    def __init__(self, reason: str, **kw: Any) -> None:
        kw.setdefault("action", "check the staff number and PIN, or use your staff card")
        super().__init__(reason, **kw)


class PinLocked(MobileError):
    """Too many wrong PINs: sign-in is locked for a while."""

    code = "mobile.pin_locked"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"PIN locked for {seconds:.0f} s after repeated failures",
                         action="wait, or sign in with the staff card")


class NotReady(MobileError):
    """A step is missing: no staff signed in, no citizen identified, no item, no consent, ..."""

    code = "mobile.not_ready"


class PhotoRejected(MobileError):
    """The photo cannot be used (``why``: blurred, dark, bright); the check is attached."""

    code = "mobile.photo_rejected"

    def __init__(self, check: PhotoCheck) -> None:
        self.check = check
        super().__init__(f"photo rejected: {check.reason} (sharpness {check.sharpness:.0f}, "
                         f"brightness {check.brightness:.0f})",
                         action="hold the document flat inside the frame, in good light, and try again")


@dataclass(frozen=True)
class StaffMember:
    """Who is signed in; ``how`` is card or pin."""

    staff_id: str
    name: str
    how: str

    @property
    def masked_name(self) -> str:
        """Staff names are masked like citizens' on shared screens and logs."""
        return privacy.mask_name(self.name)


@dataclass
class Material:
    """One required material of the item, checked off by the staff member."""

    name: str
    copies: int = 1
    original: bool = False
    note: str = ""
    provided: bool | None = None      # None: not checked yet
    photo: bytes | None = None        # the compressed JPEG, in memory only
    check: PhotoCheck | None = None

    def __repr__(self) -> str:  # never the photo bytes
        return f"Material({self.name!r}, provided={self.provided}, photo={len(self.photo or b'')} B)"


@dataclass
class Draft:
    """An application being taken (in memory only)."""

    local_id: str
    item_code: str
    item_name: str
    materials: list[Material]
    consent: dict[str, Any] | None = None

    @property
    def checked(self) -> bool:
        """Every material was checked (provided or not)."""
        return all(m.provided is not None for m in self.materials)


@dataclass
class QueuedApplication:
    """An application that waits in the outbox (what the staff member sees), no personal data."""

    local_id: str
    item_name: str
    citizen: str           # masked name
    chunks_left: int
    submit_waiting: bool


# -- uploads ------------------------------------------------------------------------------------
def chunk_bodies(data: bytes, upload_id: str, chunk_bytes: int) -> list[dict[str, Any]]:
    """``upload.chunk`` bodies of ``data`` (each ``chunk_bytes`` at most, Base64, whole-file SHA-256)."""
    digest = hashlib.sha256(data).hexdigest()
    parts = [data[i:i + chunk_bytes] for i in range(0, len(data), chunk_bytes)] or [b""]
    return [{"upload_id": upload_id, "index": k, "total": len(parts), "sha256": digest,
             "data_b64": base64.b64encode(p).decode("ascii")} for k, p in enumerate(parts)]


# -- the service ----------------------------------------------------------------------------------
class MobileService:
    """Staff sign-in, the application draft, submission through the sealed outbox, and the queue."""

    def __init__(self, gateway: Gateway, sessions: SessionManager, guide: GuideService, bus: EventBus,
                 clock: Clock, *, staff: list[dict[str, Any]] | None = None, camera: StillCamera | None = None,
                 guide_rect: Sequence[float] = (0.08, 0.08, 0.84, 0.84), min_sharpness: float = 60.0,
                 photo_max_bytes: int = 300_000, chunk_bytes: int = 48 * 1024, limiter: PinLimiter | None = None) -> None:
        self.gateway, self.sessions, self.guide, self.bus, self.clock = gateway, sessions, guide, bus, clock
        self.camera = camera
        self.guide_rect = list(guide_rect)
        self.min_sharpness, self.photo_max_bytes, self.chunk_bytes = min_sharpness, photo_max_bytes, chunk_bytes
        self._staff_list = {str(s["id"]): s for s in _check_staff(staff or [])}
        self.limiter = limiter or PinLimiter()
        self.staff: StaffMember | None = None
        self.draft: Draft | None = None
        self._lock = threading.RLock()
        self._labels: dict[str, tuple[str, str]] = {}    # local id -> (item name, masked citizen)
        self._submit_ids: dict[str, str] = {}            # envelope id of a submit row -> local id
        self.synced: list[dict[str, Any]] = []           # {local_id, application_no, item_name}
        self._subs = [bus.subscribe("smartcard.read", self._on_card),
                      bus.subscribe("network.result", self._on_result),
                      bus.subscribe("session.ended", lambda e: self.discard())]

    @classmethod
    def from_config(cls, cfg: Config, gateway: Gateway, sessions: SessionManager, guide: GuideService,
                    bus: EventBus, clock: Clock, camera: StillCamera | None = None) -> MobileService:
        """Built by the composition root (kiosk.runtime) in the mobile profile, from ``mobile.*``."""
        g = cfg.get
        return cls(gateway, sessions, guide, bus, clock, staff=g("mobile.staff", []), camera=camera,
                   guide_rect=g("mobile.photo_guide", [0.08, 0.08, 0.84, 0.84]),
                   min_sharpness=g("mobile.photo_min_sharpness", 60.0),
                   photo_max_bytes=g("mobile.photo_max_bytes", 300_000), chunk_bytes=g("mobile.chunk_bytes", 48 * 1024))

    def close(self) -> None:
        """Unsubscribe from the bus."""
        for unsub in self._subs:
            unsub()

    # -- staff -------------------------------------------------------------------------------------
    def sign_in_pin(self, staff_id: str, pin: str, now_s: float | None = None) -> StaffMember:
        """Sign in with staff number + PIN (rate-limited); raises SignInFailed or PinLocked."""
        now_s = time.monotonic() if now_s is None else now_s
        if not self.limiter.allowed(now_s):
            raise PinLocked(self.limiter.locked_for_s(now_s))
        entry = self._staff_list.get(staff_id.strip())
        # Why verify even for an unknown id: the answer time must not tell which staff numbers exist.
        ok = pins.verify_pin(pin, entry["pin_hash"] if entry else _DUMMY_HASH) and entry is not None
        if not ok or entry is None:  # ok is False without an entry; this says so to the type checker
            lock_s = self.limiter.failure(now_s)
            log.warning("staff sign-in refused", extra={"how": "pin", "locked_s": lock_s})
            if lock_s:
                raise PinLocked(lock_s)
            raise SignInFailed("unknown staff number or wrong PIN")
        self.limiter.success()
        return self._signed_in(entry, "pin")

    def sign_in_card(self, data: dict[str, Any]) -> StaffMember:
        """Sign in with a staff card's fields (``staff`` profile); raises SignInFailed."""
        staff_id = str((data or {}).get("staff_number") or "").strip()
        entry = self._staff_list.get(staff_id)
        if entry is None:
            raise SignInFailed("this staff card is not on this terminal's staff list")
        until = data.get("valid_until")
        if isinstance(until, dt.date) and until < self.clock.today():
            raise SignInFailed("this staff card has expired", action="ask the hall for a new staff card")
        return self._signed_in(entry, "card")

    def _signed_in(self, entry: dict[str, Any], how: str) -> StaffMember:
        self.staff = StaffMember(str(entry["id"]), str(entry.get("name", "")), how)
        log.info("staff signed in", extra={"staff": self.staff.staff_id, "how": how})
        self.bus.publish("mobile.staff", {"staff_id": self.staff.staff_id, "how": how}, source="mobile")
        return self.staff

    def sign_out(self) -> None:
        """Sign the staff member out (the citizen's session and any draft end too)."""
        self.sessions.end()
        self.discard()
        if self.staff is not None:
            log.info("staff signed out", extra={"staff": self.staff.staff_id})
        self.staff = None
        self.bus.publish("mobile.staff", None, source="mobile")

    def _on_card(self, event: Event) -> None:
        if event.extra.get("profile") != "staff":
            return
        try:
            self.sign_in_card(event.data)
        except SignInFailed as e:
            self.bus.publish("mobile.signin_failed", {"reason": e.reason}, source="mobile")

    def acting_for(self) -> dict[str, Any]:
        """Who acts for whom, masked: ``{"staff": "李*", "staff_id": "S001", "citizen": "张*三"}``."""
        c = self.sessions.citizen
        return {"staff": self.staff.masked_name if self.staff else "",
                "staff_id": self.staff.staff_id if self.staff else "",
                "citizen": c.masked_name if c else "", "citizen_id": c.masked_id if c else ""}

    # -- the application ---------------------------------------------------------------------------
    def items(self) -> list[dict[str, Any]]:
        """Service items of the cached catalogue (works offline)."""
        return self.guide.items()

    def start(self, item_code: str) -> Draft:
        """Begin an application of ``item_code`` for the identified citizen."""
        self._need_staff()
        if self.sessions.citizen is None:
            raise NotReady("no citizen identified", action="read the citizen's ID card first")
        item = self.guide.item(item_code)
        if item is None:
            raise NotReady(f"item {item_code} is not in the catalogue", action="refresh the catalogue when online")
        mats = [Material(m["name"], m.get("copies", 1), bool(m.get("original")), m.get("note", ""))
                for m in item.get("materials", [])]
        with self._lock:
            self.draft = Draft("M" + uuid.uuid4().hex[:12].upper(), item_code, item["name"], mats)
        self.sessions.touch()
        return self.draft

    def set_provided(self, index: int, provided: bool) -> None:
        """Tick a material as provided by the citizen, or as missing."""
        m = self._material(index)
        m.provided = bool(provided)
        if not provided:
            m.photo, m.check = None, None
        self.sessions.touch()

    @property
    def has_camera(self) -> bool:
        """Whether a camera is configured (photos need one)."""
        return self.camera is not None

    def capture_still(self, timeout_s: float = 3.0) -> np.ndarray:
        """One still frame from the camera, to show and then :meth:`photograph` (slow: off the UI
        thread); raises NotReady without a camera, the camera's DeviceError when it fails."""
        if self.camera is None:
            raise NotReady("no camera configured", action="technician: configure [devices.camera]")
        return self.camera.capture_still(timeout_s)

    def photograph(self, index: int, frame: np.ndarray | None = None, timeout_s: float = 2.0) -> PhotoCheck:
        """Take (or use ``frame``) a photo of material ``index``; raises PhotoRejected when unusable."""
        m = self._material(index)
        if frame is None:
            frame = self.capture_still(timeout_s)
        check, jpeg = check_photo(frame, self.guide_rect, self.min_sharpness, self.photo_max_bytes)
        self.sessions.touch()
        if not check.ok:
            raise PhotoRejected(check)
        m.photo, m.check, m.provided = jpeg, check, True
        return check

    def give_consent(self, method: str = "tap") -> dict[str, Any]:
        """Record the citizen's consent to the application and to sending the photos."""
        if method not in CONSENT_METHODS:
            raise NotReady(f"unknown consent method {method!r}")
        d = self._need_draft()
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        d.consent = {"given": True, "method": method, "at": now.isoformat().replace("+00:00", "Z")}
        self.sessions.touch()
        return d.consent

    def submit(self) -> str:
        """Queue the application (photos in chunks, then the application), sealed; returns its local id.

        Works offline: everything is durable before this returns. The citizen's session ends: from
        now on their data exists on this device only sealed in the outbox, until acknowledged."""
        staff = self._need_staff()
        d = self._need_draft()
        c = self.sessions.citizen
        if c is None:
            raise NotReady("the citizen's session ended", action="read the ID card again")
        if not d.checked:
            raise NotReady("not every material was checked", action="tick each material as provided or missing")
        if d.consent is None:
            raise NotReady("no consent recorded", action="ask the citizen to confirm")
        materials: list[ops.ApplicationSubmitRequestMaterial] = []
        for k, m in enumerate(d.materials):
            entry: ops.ApplicationSubmitRequestMaterial = {"name": m.name, "provided": bool(m.provided)}
            if m.photo:
                upload_id = f"{d.local_id}.p{k}"
                for body in chunk_bodies(m.photo, upload_id, self.chunk_bytes):
                    self.gateway.submit(ops.UPLOAD_CHUNK, body, idem=f"{upload_id}.c{body['index']}", sealed=True)
                entry["upload_id"] = upload_id
            materials.append(entry)
        application: ops.ApplicationSubmitRequest = {
            "citizen": {"id_number": c.id_number, "name": c.name}, "item_code": d.item_code,
            # give_consent() made it, its method one of CONSENT_METHODS (a str to the type checker)
            "materials": materials, "consent": cast(ops.ApplicationSubmitRequestConsent, d.consent),
            "staff": {"staff_id": staff.staff_id}}
        with self._lock:
            self._labels[d.local_id] = (d.item_name, c.masked_name)
            pending = self.gateway.submit(ops.APPLICATION_SUBMIT, application, idem=f"{d.local_id}.submit", sealed=True)
            self._submit_ids[pending.id] = d.local_id
        log.info("application queued", extra={"local_id": d.local_id, "item": d.item_code,
                                              "photos": sum(1 for m in d.materials if m.photo)})
        self.bus.publish("mobile.queued", {"local_id": d.local_id}, source="mobile")
        self.discard()
        self.sessions.end()
        return pending.idem.split(".")[0]

    def discard(self) -> None:
        """Drop the draft and its photos from memory."""
        with self._lock:
            d, self.draft = self.draft, None
        if d is not None:
            for m in d.materials:
                m.photo = None

    # -- the queue ---------------------------------------------------------------------------------
    def queued(self) -> list[QueuedApplication]:
        """Applications still in the outbox, oldest first (chunks left, whether the application waits)."""
        out: dict[str, QueuedApplication] = {}
        for row in self.gateway.outbox.pending():
            if row.op not in (ops.UPLOAD_CHUNK, ops.APPLICATION_SUBMIT):
                continue
            local_id = row.idem.split(".")[0]
            q = out.setdefault(local_id, QueuedApplication(local_id, "", "", 0, False))
            if row.op == ops.UPLOAD_CHUNK:
                q.chunks_left += 1
            else:
                q.submit_waiting = True
                self._submit_ids[row.id] = local_id
                if local_id not in self._labels:
                    self._labels[local_id] = self._label_of(row)
        for local_id, q in out.items():
            q.item_name, q.citizen = self._labels.get(local_id, ("", ""))
        return list(out.values())

    def _label_of(self, row: Row) -> tuple[str, str]:
        """Item name and masked citizen of a queued submit row (opened in memory, after a restart)."""
        try:
            body = self.gateway.outbox.open_body(row)
        except KioskError:
            return "", ""
        item = self.guide.item(body.get("item_code", ""))
        return (item["name"] if item else body.get("item_code", ""),
                privacy.mask_name(body.get("citizen", {}).get("name", "")))

    def _on_result(self, event: Event) -> None:
        data = event.data or {}
        if data.get("op") != ops.APPLICATION_SUBMIT:
            return
        local_id = self._submit_ids.pop(data.get("id", ""), None)
        item_name = self._labels.pop(local_id, ("", ""))[0] if local_id else ""
        if data.get("ok"):
            entry = {"local_id": local_id or "", "application_no": (data.get("result") or {}).get("application_no", ""),
                     "item_name": item_name}
            self.synced.append(entry)
            log.info("application acknowledged", extra={"local_id": local_id, "no": entry["application_no"]})
            self.bus.publish("mobile.synced", entry, source="mobile")
        else:
            log.warning("application refused", extra={"local_id": local_id, "error": (data.get("error") or {}).get("code")})
            self.bus.publish("mobile.refused", {"local_id": local_id, "error": data.get("error")}, source="mobile")

    # -- helpers -----------------------------------------------------------------------------------
    def _need_staff(self) -> StaffMember:
        if self.staff is None:
            raise NotReady("no staff member signed in", action="sign in with the staff card or number + PIN")
        return self.staff

    def _need_draft(self) -> Draft:
        if self.draft is None:
            raise NotReady("no application started", action="choose the service item first")
        return self.draft

    def _material(self, index: int) -> Material:
        d = self._need_draft()
        if not 0 <= index < len(d.materials):
            raise NotReady(f"no material {index}")
        return d.materials[index]


#: A well-formed hash no PIN matches in practice: unknown ids cost the same PBKDF2 time as known ones.
_DUMMY_HASH = pins.hash_pin(uuid.uuid4().hex, iterations=pins.ITERATIONS)


def _check_staff(staff: list[Any]) -> list[dict[str, Any]]:
    """Validate ``mobile.staff`` entries: each a table with id, name and a pin_hash (may be empty)."""
    for k, s in enumerate(staff):
        if not isinstance(s, dict) or not isinstance(s.get("id"), str) or not s["id"]:
            raise ConfigError("<config>", f"mobile.staff[{k}]", "a table with id, name, pin_hash", s)
        s.setdefault("name", "")
        s.setdefault("pin_hash", "")
    return staff
