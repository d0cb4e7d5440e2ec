"""Booking: item -> working day -> slot -> identify -> confirm -> the slip; and the slip of a
booking the citizen already has, printed again.

Each booking is one attempt of one citizen (kiosk.services.attempts): its idempotency key covers
that citizen, item, slot and session, is reused only by a retry of the same attempt after no
answer, and ends with any answer. What the success screen and the slip show comes from here
(:meth:`BookingService.outcome`): item, day, time, hall, window and the check-in code.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from kiosk.clock import Clock
from kiosk.network import operations as ops
from kiosk.services import tickets
from kiosk.services.checkin import CheckinService, PrintOutcome

if TYPE_CHECKING:  # the gateway's link imports paho: services load without it
    from kiosk.network.gateway import Gateway

#: Bookings that still hold their slot (a slip can be printed for them).
LIVE = ("booked",)


def working_days(start: dt.date, count: int) -> list[dt.date]:
    """The next ``count`` working days from ``start`` (Monday-Friday; holidays come from the
    central service's slots: a day without slots shows as full)."""
    days: list[dt.date] = []
    d = start
    while len(days) < count:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


class BookingService:
    """Book an appointment: item -> working day -> slot -> identify -> confirm -> slip."""

    def __init__(self, gateway: Gateway, checkin: CheckinService, clock: Clock) -> None:
        self.gateway, self.checkin, self.clock = gateway, checkin, clock

    def days(self, count: int = 10) -> list[dt.date]:
        """Bookable working days starting tomorrow."""
        return working_days(self.clock.today() + dt.timedelta(days=1), count)

    def slots(self, item_code: str, date: dt.date) -> list[dict[str, Any]]:
        """Slots of that day with their free capacity."""
        body: ops.SlotsListRequest = {"item_code": item_code, "date": date.isoformat()}
        slots: list[dict[str, Any]] = self.gateway.request(ops.SLOTS_LIST, body)["slots"]
        return slots

    def book(self, item_code: str, slot_id: str) -> dict[str, Any]:
        """Book (durable; one idempotency key per attempt, see the module doc); returns the
        central service's answer with ``item_code`` and ``hall`` (this terminal's hall code) added."""
        c = self.checkin
        body: ops.AppointmentBookRequest = {"citizen_ref": c.citizen_ref(), "item_code": item_code,
                                            "slot_id": slot_id, "hall": c.hall_code}  # the slip's code is valid in this hall
        result = c.attempts.submit(self.gateway, ops.APPOINTMENT_BOOK, body, c.wait_s, c.sessions.session_id)
        return {**result, "item_code": item_code, "hall": c.hall_code}

    def existing(self, item_code: str, date: str) -> dict[str, Any] | None:
        """The identified citizen's live booking of ``item_code`` on ``date`` (what "already
        booked" refers to), with its check-in code when the central service gives it; or None."""
        body: ops.AppointmentsListRequest = {"citizen_ref": self.checkin.citizen_ref(), "date": date}
        appts = self.gateway.request(ops.APPOINTMENTS_LIST, body).get("appointments", [])
        return next((dict(a) for a in appts if a.get("item_code") == item_code and a.get("status") in LIVE), None)

    def held(self, item_code: str, date: str, start: str, end: str) -> dict[str, Any] | None:
        """What an "already booked" answer (``conflict``) to booking ``item_code`` at ``start``-``end``
        on ``date`` refers to, from the identified citizen's own list: ``{"why": "item", "booking":
        ...}`` for their booking of this item that day (its slip can be printed again), ``{"why":
        "time", "booking": ...}`` for their booking of another item at an overlapping time (a person
        cannot be at two windows at once: another time is offered), or None when neither is found."""
        body: ops.AppointmentsListRequest = {"citizen_ref": self.checkin.citizen_ref(), "date": date}
        appts = [dict(a) for a in self.gateway.request(ops.APPOINTMENTS_LIST, body).get("appointments", [])
                 if a.get("date") == date and a.get("status") in (*LIVE, "checked_in")]
        same = next((a for a in appts if a.get("item_code") == item_code), None)
        if same is not None:
            return {"why": "item", "booking": same}
        # "HH:MM" strings order as times
        clash = next((a for a in appts if str(a.get("start", "")) < end and start < str(a.get("end", ""))), None)
        return {"why": "time", "booking": clash} if clash is not None else None

    def outcome(self, result: dict[str, Any]) -> dict[str, Any]:
        """What the success screen shows of a booking (a book() answer or an existing booking),
        in the session's language: item, date, weekday, start, end, hall, window, appointment."""
        c = self.checkin
        hall = c.hall if result.get("hall", c.hall_code) == c.hall_code else ""
        return {"item": c.item_name(result), "date": str(result.get("date", "")),
                "start": str(result.get("start", "")), "end": str(result.get("end", "")),
                "window": str(result.get("window", "")), "hall": hall,
                "appointment_id": str(result.get("appointment_id", ""))}

    def print_slip(self, result: dict[str, Any]) -> PrintOutcome:
        """Print the booking slip with the check-in QR code of ``result`` (a book() answer or an
        existing booking), in the session's language."""
        c = self.checkin
        cit = c.sessions.citizen
        o = self.outcome(result)
        return c.print_doc(tickets.booking_slip(
            hall=c.hall, place=o["hall"], terminal=c.terminal_id, masked_name=cit.masked_name if cit and cit.name else "",
            item_name=o["item"], date=o["date"], start=o["start"], end=o["end"], window=o["window"],
            checkin_code=str(result.get("checkin_code", "")), when=c.clock.now(), lang=c.lang))

    def cancel(self, appointment_id: str) -> dict[str, Any]:
        """Cancel an appointment (durable, one attempt)."""
        c = self.checkin
        # citizen_ref: the owner's proof (issue 13)
        body: ops.AppointmentCancelRequest = {"appointment_id": appointment_id, "citizen_ref": c.citizen_ref()}
        return c.attempts.submit(self.gateway, ops.APPOINTMENT_CANCEL, body, c.wait_s, c.sessions.session_id)
