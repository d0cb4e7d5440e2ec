"""What the staff member sees of an identified citizen on the spot, as plain data (no Kivy): the
applications with their four-level timeline, days left and supervision flag, and the appointments
of today and the coming days. Fetched through the terminal's services (progress, check-in);
the screens in :mod:`kiosk.screens.mobile.citizen` only render it. Nothing here is stored.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: The four levels in the order a file moves up (the timeline reads left to right).
LEVELS = ("village", "township", "county", "city")
#: Short level names for a phone-width timeline line.
LEVEL_SHORT = {"village": "村", "township": "乡", "county": "县", "city": "市"}
#: Appointment states worth showing: cancelled and missed ones are history, not work to do.
OPEN_STATES = ("booked", "checked_in")


@dataclass
class Overview:
    """The citizen's applications and open appointments (today first), fetched in one go."""

    applications: list[dict] = field(default_factory=list)
    today: list[dict] = field(default_factory=list)
    upcoming: list[dict] = field(default_factory=list)


def fetch(services, today: dt.date) -> Overview:
    """Applications and appointments of the session's citizen (network; raises the gateway's errors)."""
    apps = services.progress.my_applications()
    todays = services.checkin.appointments_today()
    # Why every appointment too: appointments_today() filters to today; the staff member also
    # needs the coming days (a citizen at home forgets what they booked).
    listed = services.checkin.appointments()
    later = sorted((a for a in listed if str(a.get("date", "")) > today.isoformat()
                    and a.get("status") in OPEN_STATES), key=lambda a: (a.get("date", ""), a.get("start", "")))
    return Overview(applications=list(apps), today=list(todays), upcoming=later)


def timeline_text(application: dict) -> str:
    """One line of the four levels: ``村✓ → 乡● → 县○ → 市○`` (done, handling now, to come; — not involved)."""
    steps = {s.get("level"): s for s in application.get("steps", [])}
    parts = []
    for level in LEVELS:
        s = steps.get(level)
        mark = "—" if s is None else {"done": "✓", "current": "●"}.get(s.get("status"), "○")
        parts.append(LEVEL_SHORT[level] + mark)
    return " → ".join(parts)


def days_text(application: dict, tr) -> str:
    """Days left, overdue or finished, in the staff member's language."""
    if application.get("status") == "done":
        return tr("finished")
    days = int(application.get("days_left", 0) or 0)
    if days == 0:   # as tickets.promised_text: its own words for 0 and 1
        return tr("due today")
    if days == 1:
        return tr("1 working day left")
    if days > 0:
        return tr("{n} working days left").format(n=days)
    return tr("overdue by {n} days").format(n=-days)


def application_text(application: dict, tr) -> str:
    """The application as three lines: item and number; timeline; agency, days left and flag."""
    flag = {"green": tr("green"), "yellow": tr("yellow"), "red": tr("red")}.get(application.get("flag", ""),
                                                                                application.get("flag", ""))
    return "\n".join([f"{application.get('item_name', '')}  {application.get('application_no', '')}",
                      timeline_text(application),
                      f"{application.get('current_agency', '')} · {days_text(application, tr)} · "
                      + tr("flag: {f}").format(f=flag)])


def appointment_text(appointment: dict, tr) -> str:
    """One appointment: date and time, item, window, state."""
    state = {"booked": tr("booked"), "checked_in": tr("checked in")}.get(appointment.get("status", ""),
                                                                          appointment.get("status", ""))
    return (f"{appointment.get('date', '')} {appointment.get('start', '')}-{appointment.get('end', '')}  "
            f"{appointment.get('item_name', '')}\n" + tr("window {w}").format(w=appointment.get("window", ""))
            + f" · {state}")
