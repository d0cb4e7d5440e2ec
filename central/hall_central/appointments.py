"""Appointments and check-in for :class:`hall_central.domain.Domain` (a mixin; ``handle`` finds the
``op_*`` methods by name): slots, booking, the list of a citizen's appointments, cancelling, and
check-in with its early/late window and one ticket per appointment.

Who may act on an appointment (issue 13): only a request that proves it acts for the
appointment's citizen, see :meth:`AppointmentOps._owned`. Every method runs inside the caller's
transaction and needs the Domain's ``store``, ``clock``, ``signer``, ``_citizen``,
``_retime_demo``, ``_ticket`` and ``_ahead``.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from hall_central import seed
from hall_central.clock import is_working_day, iso_utc
from hall_central.rules import CHECKIN_EARLY_MIN, CHECKIN_LATE_MIN, SLOT_MIN, OpError, parse_date
from hall_central.rules import at as _at
from hall_central.rules import hhmm as _hhmm
from kiosk.trust import codes

if TYPE_CHECKING:
    from hall_central.clock import Clock
    from hall_central.keys import CentralKeys
    from hall_central.store import SqlStore


#: The one answer to an appointment id that is unknown or not proven to be the request's citizen's
#: (the contract's ``not_found`` of checkin and appointment.cancel): the same code and message for
#: both, so an answer never tells whether an id exists.
NOT_YOURS = ("not_found", "no such appointment of this citizen (an appointment needs the citizen_ref "
             "of its citizen, or for a check-in the check-in code of its slip)")


#: How far ahead a slot exists: a date later than this many days after today has none (slots.list
#: lists none; a booking of one answers not_found, as an unknown slot). Why 30: a hall books about a
#: month ahead at most (the terminal offers 10 working days, two weeks), and without a bound a
#: terminal could hold places for years (a cold attacker: slots.list offered 9999-12-31).
BOOKING_HORIZON_DAYS = 30


class AppointmentOps:
    """slots.list, appointment.book, appointments.list, appointment.cancel and checkin."""

    if TYPE_CHECKING:  # what hall_central.domain.Domain, which mixes this class in, provides
        store: SqlStore
        clock: Clock
        signer: CentralKeys | None

        def _citizen(self, ref: str) -> dict[str, Any]: ...
        def _retime_demo(self, appts: list[dict[str, Any]]) -> None: ...
        def _ticket(self, terminal: str, hall: str, line: str, window: str | None, **extra: Any) -> dict[str, Any]: ...
        def follow_token(self, t: dict[str, Any]) -> str: ...
        def _ahead(self, t: dict[str, Any]) -> int: ...

    def _appointment_view(self, a: dict) -> dict:
        start = _at(a["date"], a["start"])
        status = a["status"]
        if status == "booked" and self.clock.now() > start + dt.timedelta(minutes=CHECKIN_LATE_MIN):
            status = "missed"
        view = {"appointment_id": a["appointment_id"], "item_code": a["item_code"],
                **seed.item_names(a["item_code"]), "date": a["date"], "start": a["start"],
                "end": a["end"], "window": a["window"], "status": status, "hall": a["hall"],
                "checkin_from": _hhmm(start - dt.timedelta(minutes=CHECKIN_EARLY_MIN)),
                "checkin_until": _hhmm(start + dt.timedelta(minutes=CHECKIN_LATE_MIN))}
        if status == "booked":  # the citizen's own list: their slip can be printed again
            view["checkin_code"] = self._checkin_code(a["appointment_id"], dt.date.fromisoformat(a["date"]),
                                                      a["start"], a["end"], a["hall"])
        return view

    def op_appointments_list(self, terminal: str, body: dict) -> dict:
        """appointments.list."""
        self._citizen(body["citizen_ref"])
        if body.get("date"):
            parse_date(body["date"])
        appts = self.store.appointments_of(body["citizen_ref"])
        self._retime_demo(appts)
        if body.get("date"):
            appts = [a for a in appts if a["date"] == body["date"]]
        return {"appointments": [self._appointment_view(a) for a in appts]}

    def _slot_times(self, item_code: str, date: dt.date) -> list[tuple[str, str]]:
        if not is_working_day(date) or not self._within_horizon(date):
            return []
        return [(f"{item_code}_{date:%Y%m%d}_{s.replace(':', '')}", s) for s in seed.SLOT_STARTS]

    def _within_horizon(self, date: dt.date) -> bool:
        return date <= self.clock.today() + dt.timedelta(days=BOOKING_HORIZON_DAYS)

    def op_slots_list(self, terminal: str, body: dict) -> dict:
        """slots.list: the bookable future half-hour slots of an item on a date."""
        it = seed.item(body["item_code"])
        if it is None:
            raise OpError("not_found", f"unknown item {body['item_code']}")
        date = parse_date(body["date"])
        counts = self.store.booked_counts(f"{it['code']}_{date:%Y%m%d}_")
        now = self.clock.now()
        out = []
        for slot_id, start in self._slot_times(it["code"], date):
            t0 = _at(body["date"], start)
            if t0 <= now:
                continue
            out.append({"slot_id": slot_id, "date": body["date"], "start": start,
                        "end": _hhmm(t0 + dt.timedelta(minutes=SLOT_MIN)), "capacity": seed.SLOT_CAPACITY,
                        "free": max(0, seed.SLOT_CAPACITY - counts.get(slot_id, 0))})
        return {"slots": out}

    def op_appointment_book(self, terminal: str, body: dict) -> dict:
        """appointment.book."""
        self._citizen(body["citizen_ref"])
        it = seed.item(body["item_code"])
        if it is None:
            raise OpError("not_found", f"unknown item {body['item_code']}")
        try:
            code, ymd, hm = body["slot_id"].rsplit("_", 2)
            date = dt.datetime.strptime(ymd, "%Y%m%d").date()
            start = f"{hm[:2]}:{hm[2:]}"
        except ValueError:
            raise OpError("not_found", "unknown slot") from None
        if code != it["code"] or start not in seed.SLOT_STARTS or not is_working_day(date):
            raise OpError("not_found", "unknown slot")
        if not self._within_horizon(date):
            raise OpError("not_found", f"unknown slot: slots exist up to {BOOKING_HORIZON_DAYS} days ahead")
        t0 = _at(date.isoformat(), start)
        if t0 <= self.clock.now():
            raise OpError("too_late", "the slot has already started")
        end = _hhmm(t0 + dt.timedelta(minutes=SLOT_MIN))
        self._refuse_double_booking(body["citizen_ref"], it["code"], date.isoformat(), start, end)
        if self.store.booked_count(body["slot_id"]) >= seed.SLOT_CAPACITY:
            raise OpError("no_capacity", "the slot is full")
        appt_id = "AP" + uuid.uuid4().hex[:16].upper()
        hall = body.get("hall") or seed.DEFAULT_HALL
        self.store.add_appointment({
            "appointment_id": appt_id, "citizen_ref": body["citizen_ref"], "item_code": it["code"],
            "slot_id": body["slot_id"], "date": date.isoformat(), "start": start, "end": end,
            "window": it["window"], "hall": hall, "status": "booked", "created_at": iso_utc(self.clock.now())})
        return {"appointment_id": appt_id, **seed.item_names(it["code"]), "date": date.isoformat(), "start": start,
                "end": end, "window": it["window"], "checkin_code": self._checkin_code(appt_id, date, start, end, hall)}

    def _refuse_double_booking(self, ref: str, item_code: str, date: str, start: str, end: str) -> None:
        """``conflict`` when the citizen already holds a live booking of this item on that day, or
        of any item at a time that overlaps [start, end) in any hall: a person cannot be at two
        windows at once. The message names the booking held (its id, item and time) for the
        terminal's log and the staff; the terminal tells the citizen from their own list."""
        held = [a for a in self.store.appointments_of(ref, date) if a["status"] in ("booked", "checked_in")]
        self._retime_demo(held)  # a demo appointment's stored time may be an earlier run's
        for a in held:
            if a["date"] != date:
                continue
            if a["item_code"] == item_code:
                raise OpError("conflict", f"already booked for this item on that day: appointment {a['appointment_id']}")
            if a["start"] < end and start < a["end"]:  # "HH:MM" strings order as times
                raise OpError("conflict", f"already booked at that time: appointment {a['appointment_id']} "
                                          f"({a['item_code']}, {a['date']} {a['start']}-{a['end']})")

    def _checkin_code(self, appt_id: str, date: dt.date, start: str, end: str, hall: str) -> str:
        """The slip's QR text: a KQ1 code signed for the appointment's hall, valid until the
        check-in closes (unsigned ``KIOSK1:APPT:`` only for a development service without keys).
        It names the appointment's day and start (``day``, ``at``) too: a terminal that scans
        the slip too early says when to come back without asking (kiosk.trust.codes)."""
        if self.signer is None:
            return f"KIOSK1:APPT:{appt_id}"
        closes = _at(date.isoformat(), end) + dt.timedelta(minutes=CHECKIN_LATE_MIN)
        return self.signer.sign_code({"apt": appt_id, "day": date.isoformat(), "at": start}, aud=hall, exp_s=int(closes.timestamp()),
                                     now_s=int(self.clock.now().timestamp()), typ=codes.CHECKIN)

    def _owned(self, body: dict, *, code_ok: bool) -> dict:
        """The appointment of ``body``, if the request proves it acts for the appointment's citizen.

        The rule (a terminal acts only on its own citizens' appointments): the request carries the
        ``citizen_ref`` this service issued to the terminal that identified the citizen (ID card or
        number, ``citizen.lookup``), and the appointment is that citizen's; or, for a check-in
        (``code_ok``), the ``checkin_code`` of the appointment's booking slip. Knowing an
        appointment id is not enough: ids are printed on slips and demo ids are predictable.
        Refused before anything about the appointment (status, ticket) is told, with the very answer
        an unknown id gets (:data:`NOT_YOURS`): otherwise the difference would tell a terminal which
        ids exist (issue 13: ``not_found`` for an unknown id, ``forbidden`` for another's).
        """
        a = self.store.appointment(body["appointment_id"])
        if a is None:
            raise OpError(*NOT_YOURS)
        ref = body.get("citizen_ref")
        if ref is not None and ref == a["citizen_ref"]:
            return a
        if code_ok and body.get("checkin_code") is not None and self._is_checkin_code(a, body["checkin_code"]):
            return a
        raise OpError(*NOT_YOURS)

    def _is_checkin_code(self, a: dict, text: str) -> bool:
        """True if ``text`` is the check-in code this service issued for appointment ``a``.

        Verified at the appointment's start (a moment inside the code's validity): whether the
        check-in is still open is the check-in window's rule (too_early / too_late), not the code's.
        """
        if self.signer is None:
            return text == f"KIOSK1:APPT:{a['appointment_id']}"
        try:
            code = codes.verify(text, self.signer.own_keyset(), a["hall"], _at(a["date"], a["start"]).timestamp(),
                                typ=codes.CHECKIN)
        except codes.CodeRejected:
            return False
        return code.claims.get("apt") == a["appointment_id"]

    def op_appointment_cancel(self, terminal: str, body: dict) -> dict:
        """appointment.cancel (a checked-in appointment can no longer be cancelled)."""
        a = self._owned(body, code_ok=False)
        if a["status"] == "checked_in":
            raise OpError("closed", "the appointment is already checked in")
        self.store.set_appointment(a["appointment_id"], status="cancelled")
        return {"appointment_id": a["appointment_id"], "status": "cancelled"}

    def op_checkin(self, terminal: str, body: dict) -> dict:
        """checkin: too_early/too_late/closed, or a ticket; checking in twice returns the same ticket."""
        a = self._owned(body, code_ok=True)
        it = seed.item(a["item_code"])
        assert it is not None  # an appointment is only ever booked for a catalogue item
        t = self.store.ticket_of_appointment(a["appointment_id"])
        if t is None:
            if a["status"] == "cancelled":
                raise OpError("closed", "the appointment was cancelled")
            self._retime_demo([a])
            start, now = _at(a["date"], a["start"]), self.clock.now()
            if now < start - dt.timedelta(minutes=CHECKIN_EARLY_MIN):
                raise OpError("too_early", f"check-in opens at {_hhmm(start - dt.timedelta(minutes=CHECKIN_EARLY_MIN))} on {a['date']}")
            if now > start + dt.timedelta(minutes=CHECKIN_LATE_MIN):
                raise OpError("too_late", f"check-in closed at {_hhmm(start + dt.timedelta(minutes=CHECKIN_LATE_MIN))} on {a['date']}")
            t = self._ticket(terminal, a["hall"], it["line"], a["window"], appointment_id=a["appointment_id"],
                             citizen_ref=a["citizen_ref"])
            self.store.set_appointment(a["appointment_id"], status="checked_in")
        return {"appointment_id": a["appointment_id"], "queue_no": t["queue_no"], "window": t["window"],
                "people_ahead": self._ahead(t), "follow_token": self.follow_token(t),
                **seed.item_names(it["code"]), "line": t["line"]}

