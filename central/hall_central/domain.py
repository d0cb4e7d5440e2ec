"""The rules of contract v1 on top of :class:`hall_central.store.Store`: citizens, walk-in
tickets, applications with the four-level route and the supervision flag, feedback, and the
seeding (slots, appointments and check-in: :mod:`hall_central.appointments`).

Every public method runs inside the caller's transaction; a refusal is an :class:`OpError`
whose ``code`` is one of the contract's error codes.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import uuid
from typing import TYPE_CHECKING

from hall_central import citizens, idcard, seed
from hall_central.appointments import AppointmentOps
from hall_central.clock import TZ, Clock, add_working_days, iso_utc, subtract_working_days, working_days_between
from hall_central.mobile import MobileOps

# re-exported: the service, the admin tool and the demo read them here
from hall_central.rules import CHECKIN_EARLY_MIN as CHECKIN_EARLY_MIN
from hall_central.rules import CHECKIN_LATE_MIN as CHECKIN_LATE_MIN
from hall_central.rules import SLOT_MIN as SLOT_MIN
from hall_central.rules import OpError as OpError
from hall_central.rules import hhmm as _hhmm
from hall_central.store import SqlStore
from hall_common import privacy
from kiosk.network import schemas
from kiosk.trust import codes

if TYPE_CHECKING:
    from hall_central.keys import CentralKeys

log = logging.getLogger("kiosk.central.domain")

#: Supervision: yellow when this many working days or fewer are left, red when overdue.
YELLOW_DAYS = 2
#: Bumped whenever the seed catalogue changes (2: items carry search_keys; 3: English for every
#: text a citizen reads, and each item's stages; 4: a priority line's min_age), so cached copies refresh.
CATALOGUE_VERSION = 4
#: A receipt code stays valid a year past the promised deadline: long enough to collect the
#: result, follow up on a delay and rate the service, short enough that old slips die out.
RECEIPT_VALID_AFTER_DAYS = 365


#: The one answer to a rating of an application that is unknown or not proven to be the citizen's
#: (feedback.submit's ``not_found``): the same code and message for both, as for appointments
#: (hall_central.appointments.NOT_YOURS), so an answer never tells whether a number exists.
NOT_THEIRS = ("not_found", "no such application of this citizen (a rating needs the application's receipt "
              "code or its citizen's citizen_ref)")


def city_of(region: str) -> str:
    """The city's region code (GB/T 2260: ``PPCC00``) of any region code below it: the audience
    of a receipt code (the city's whole network of terminals accepts it)."""
    return region[:4] + "00"


def round_half_hour(now: dt.datetime) -> dt.datetime:
    """The nearest :00 or :30 of the same hall day (so ``now`` lies inside [start-30, start+15]).

    In the day's last quarter hour the nearest half hour is tomorrow's 00:00, which would move a
    demo appointment to tomorrow and out of "today": 23:45 keeps it today and ``now`` inside its
    check-in window.
    """
    base = now.replace(minute=0, second=0, microsecond=0)
    minutes = now.minute + now.second / 60
    start = base + dt.timedelta(minutes=30 * round(minutes / 30))
    if start.date() != now.date():
        start = now.replace(hour=23, minute=45, second=0, microsecond=0)
    return start


class Domain(AppointmentOps, MobileOps):
    """The contract's operations for one Store and one clock (appointments and check-in:
    :mod:`hall_central.appointments`; the mobile ones: :mod:`hall_central.mobile`)."""

    def __init__(self, store: SqlStore, clock: Clock, signer: CentralKeys | None = None) -> None:
        self.store, self.clock = store, clock
        #: Signs check-in codes (hall_central.keys.CentralKeys); None keeps the unsigned dev format.
        self.signer = signer
        self._day_done: str | None = None

    # --- seeding and the demo day ---------------------------------------------------------
    def ensure_seeded(self) -> bool:
        """Rekey an older database's citizens once, and seed an empty database (inside the caller's
        transaction); True when it seeded now."""
        if self.store.rekey_citizens():
            log.warning("citizens keyed by the ID number alone retired (issue 13: a lookup under any name "
                        "got the card-proven citizen); their records stay, no lookup finds them again")
        if self.store.meta_get("seeded"):
            return False
        now = self.clock.now()
        today = self.clock.today()
        self.store.meta_set("catalogue_version", str(CATALOGUE_VERSION))
        for n, card in enumerate(seed.demo_citizens()):
            self._register(card, "demo", n)
        demo_refs = {c["idx"]: c["citizen_ref"] for c in self.store.citizens_of_kind("demo")}
        # Each number carries the day its application was filed (seed.application_no), the day its
        # time limit counts from: a number dated today showed "overdue by 2 days" when it was not.
        for k, (who, code, level_idx, days_ago) in enumerate(seed.DEMO_APPLICATIONS):
            region = seed.demo_citizens()[who]["id_number"][:6]
            self._add_application(seed.demo_application_no(k, today), demo_refs[who], code, region, today,
                                  level_idx, days_ago, now, demo_plan=f"{level_idx}:{days_ago}")
        # A few synthetic citizens with applications at every stage, for the admin CLI and demos.
        for i in range(12):
            card = seed.synthetic_citizen(i * 1009)
            ref = self._register(card, "synthetic", i * 1009)
            code = [it["code"] for it in seed.catalogue()["items"] if it["linkage"]["four_level"]][i % 8]
            region, days_ago = card["id_number"][:6], (i * 3) % 15
            self._add_application(seed.application_no(subtract_working_days(today, days_ago), region, 100 + i), ref,
                                  code, region, today, i % 3, days_ago, now)
        self.store.meta_set("seeded", iso_utc(now))
        log.info("seeded the central database", extra={"items": len(seed.catalogue()["items"])})
        return True

    def _register(self, card: dict, kind: str, idx: int | None) -> str:
        """The register-linked citizen of ``card`` (its number and the register's name), or, for
        ``kind`` "unknown", the citizen of that number and name (:mod:`hall_central.citizens`)."""
        h = self.store.id_hash(card["id_number"], card["name"] if kind == "unknown" else None)
        row = self.store.citizen_by_hash(h)
        if row:
            return row["citizen_ref"]
        ref = "C" + uuid.uuid4().hex[:20].upper()
        self.store.add_citizen(ref, h, privacy.mask_name(card["name"]), kind, idx, card["id_number"][:6],
                               iso_utc(self.clock.now()))
        row = self.store.citizen_by_hash(h)  # another instance may have won the race
        assert row is not None  # written just above (or by that instance), in this transaction
        ref_now: str = row["citizen_ref"]
        return ref_now

    def _add_application(self, no: str, ref: str, code: str, region: str, today: dt.date, level_idx: int,
                         days_ago: int, now: dt.datetime, demo_plan: str | None = None) -> None:
        it = seed.item(code)
        assert it is not None  # applications are made for catalogue items only
        route = seed.application_steps(code, region)
        level_idx = min(level_idx, len(route) - 1)
        submitted = subtract_working_days(today, days_ago)
        steps = self._steps_done(route, level_idx, submitted, now)
        self.store.add_application({
            "application_no": no, "citizen_ref": ref, "item_code": code, "region": region,
            "submitted_at": iso_utc(dt.datetime.combine(submitted, dt.time(9, 30), TZ)),
            "promised_deadline": add_working_days(submitted, it["promised_days"]).isoformat(),
            "steps": steps, "current": level_idx, "status": "accepted" if level_idx == 0 else "in_progress",
            "collect_at": seed.collect_at(code, region)[0], "demo_plan": demo_plan})

    @staticmethod
    def _steps_done(route: list[dict], level_idx: int, submitted: dt.date, now: dt.datetime) -> list[dict]:
        """The route's steps, those before ``level_idx`` done one working day apart from filing
        (never later than ``now``): the same working-day calendar the time limit counts on."""
        def done_at(k: int) -> str:
            return iso_utc(min(now, dt.datetime.combine(add_working_days(submitted, k), dt.time(9, 30), TZ)))
        return [dict(s, at=done_at(k) if k < level_idx else None) for k, s in enumerate(route)]

    def new_day_if_needed(self) -> None:
        """Once per hall day: today's demo appointments, demo application dates, idem purge."""
        today = self.clock.today().isoformat()
        if self._day_done == today:
            return
        demo = {c["idx"]: c["citizen_ref"] for c in self.store.citizens_of_kind("demo")}
        for idx, item_codes in seed.DEMO_APPOINTMENTS.items():
            for k, code in enumerate(item_codes):
                self._demo_appointment(demo[idx], code, f"DEMO-{today.replace('-', '')}-{idx}-{k}")
        for a in self.store.demo_applications():
            if a["status"] in ("accepted", "in_progress"):
                _, days_ago = map(int, a["demo_plan"].split(":"))
                submitted = subtract_working_days(self.clock.today(), days_ago)
                it = seed.item(a["item_code"])
                assert it is not None  # a demo application is of a catalogue item
                no = a["application_no"]
                # the number names the filing day too (seed.application_no): it moves with the plan
                renamed = no[:2] + f"{submitted:%Y%m%d}" + no[10:]
                self.store.update_application(
                    no, submitted_at=iso_utc(dt.datetime.combine(submitted, dt.time(9, 30), TZ)),
                    promised_deadline=add_working_days(submitted, it["promised_days"]).isoformat(),
                    steps=self._steps_done(a["steps"], a["current"], submitted, self.clock.now()),
                    **({"application_no": renamed} if renamed != no else {}))
        self.store.idem_purge(self.clock.now().timestamp())
        self._day_done = today

    def _demo_appointment(self, ref: str, code: str, appointment_id: str) -> None:
        it = seed.item(code)
        assert it is not None  # the demo's appointments are of catalogue items
        start = round_half_hour(self.clock.local())
        self.store.add_appointment({
            "appointment_id": appointment_id, "citizen_ref": ref, "item_code": code, "slot_id": appointment_id,
            "date": start.date().isoformat(), "start": _hhmm(start),
            "end": _hhmm(start + dt.timedelta(minutes=SLOT_MIN)), "window": it["window"], "hall": seed.DEFAULT_HALL,
            "status": "booked", "demo": 1, "created_at": iso_utc(self.clock.now())})

    def _retime_demo(self, appts: list[dict]) -> None:
        """Keep a demo/synthetic appointment's window open whenever the service runs (the demo needs it)."""
        start = round_half_hour(self.clock.local())
        when = {"date": start.date().isoformat(), "start": _hhmm(start),
                "end": _hhmm(start + dt.timedelta(minutes=SLOT_MIN))}
        for a in appts:
            # Why only when it moves: an UPDATE per check-in of a demo appointment that already has
            # this half hour was a tenth of a check-in's statements (the benchmark's are all demo).
            if a["demo"] and a["status"] == "booked" and any(a[k] != v for k, v in when.items()):
                a.update(when)
                self.store.set_appointment(a["appointment_id"], **when)

    # --- operations -----------------------------------------------------------------------
    def handle(self, terminal: str, op: str, body: dict) -> dict:
        """Apply one (already schema-valid) request and return its result, or raise OpError."""
        name = HANDLERS.get(op)
        if name is None:
            raise OpError("invalid", f"unknown operation {op}")
        return getattr(self, name)(terminal, body)

    def op_catalogue_sync(self, terminal: str, body: dict) -> dict:
        """catalogue.sync."""
        # A database seeded by an older release keeps its version: the code's wins when newer.
        version = max(CATALOGUE_VERSION, int(self.store.meta_get("catalogue_version", str(CATALOGUE_VERSION))))
        if body.get("since_version") == version:
            return {"version": version, "unchanged": True, "categories": [], "departments": [], "lines": [],
                    "items": []}
        cat = seed.catalogue()
        return {"version": version, "unchanged": False, **{k: cat[k] for k in ("categories", "departments", "lines", "items")}}

    def op_citizen_lookup(self, terminal: str, body: dict) -> dict:
        """citizen.lookup: check the number, match the register, issue a stable citizen_ref: the
        register-linked one only for the register's name (:mod:`hall_central.citizens`)."""
        id_number = body["id_number"].upper()
        if not idcard.is_valid(id_number):
            raise OpError("invalid", "the ID number fails the GB 11643 check")
        if citizens.blank(body["name"]):
            raise OpError("invalid", "the name is blank")
        found = seed.person(id_number)
        if found and citizens.is_registers(found[2]["name"], body["name"]):
            kind, idx, card = found
            ref = self._register(card, kind, idx)
            if kind == "synthetic":
                self._demo_appointment(ref, "GJJ001", f"SYN-{idx}-{self.clock.today():%Y%m%d}")
            return {"citizen_ref": ref, "known": True}
        # Unknown person, another name, the keypad's "-": a reference of this number AND name, with
        # no record of the register's citizen behind it (issue 13: any name got the card-proven one).
        ref = self._register({"id_number": id_number, "name": body["name"]}, "unknown", None)
        return {"citizen_ref": ref, "known": False}

    def _citizen(self, ref: str) -> dict:
        row = self.store.citizen(ref)
        if row is None:
            raise OpError("not_found", "unknown citizen_ref")
        return row

    def receipt_code(self, a: dict) -> str:
        """The receipt's QR text of application ``a``: a KQ1 receipt code signed for the city's
        network (the bare number only for a development service without keys)."""
        if self.signer is None:
            return a["application_no"]
        deadline = dt.datetime.combine(dt.date.fromisoformat(a["promised_deadline"]), dt.time(23, 59), TZ)
        issued = dt.datetime.fromisoformat(a["submitted_at"].replace("Z", "+00:00"))
        return self.signer.sign_code({"app": a["application_no"]}, aud=city_of(a["region"]), typ=codes.RECEIPT,
                                     exp_s=int((deadline + dt.timedelta(days=RECEIPT_VALID_AFTER_DAYS)).timestamp()),
                                     now_s=int(min(issued, self.clock.now()).timestamp()))

    def _holds_receipt(self, a: dict, text: object) -> bool:
        """True if ``text`` is a genuine, current receipt code of application ``a``."""
        if self.signer is None:
            return text == a["application_no"]
        try:
            code = codes.verify(text, self.signer.own_keyset(), city_of(a["region"]), self.clock.now().timestamp(),
                                typ=codes.RECEIPT)
        except codes.CodeRejected:
            return False
        return code.claims.get("app") == a["application_no"]

    def _ticket(self, terminal: str, hall: str, line: str, window: str | None, **extra) -> dict:
        date = self.clock.today().isoformat()
        seq = self.store.next_seq(hall, line, date)
        prefix = seed.line_prefix(line)
        windows = seed.catalogue()["line_windows"][line]
        t = {"hall": hall, "line": line, "date": date, "seq": seq,
             "queue_no": f"{prefix}{seq:03d}", "window": window or windows[(seq - 1) % len(windows)],
             "terminal": terminal, "created_at": iso_utc(self.clock.now()), **extra}
        t["people_ahead"] = self.store.add_ticket(t)  # from the running count, not a COUNT(*)
        return t

    def op_ticket_walkin(self, terminal: str, body: dict) -> dict:
        """ticket.walkin: the next number of a business line in the terminal's hall."""
        if body["line"] not in seed.catalogue()["line_windows"]:
            raise OpError("not_found", f"unknown business line {body['line']}")
        who = self._citizen(body["citizen_ref"]) if body.get("citizen_ref") else None
        min_age = seed.line_min_age(body["line"])
        if min_age is not None:
            self._prove_age(who, min_age)
        t = self._ticket(terminal, seed.DEFAULT_HALL, body["line"], None, citizen_ref=body.get("citizen_ref"))
        return {"queue_no": t["queue_no"], "window": t["window"], "line": t["line"],
                "people_ahead": self._ahead(t), "follow_token": self.follow_token(t)}

    def _prove_age(self, who: dict | None, min_age: int) -> None:
        """``forbidden`` unless citizen row ``who`` is register-linked (card-identified: the
        register's name matched) and the register's birth date makes them ``min_age`` today.

        Why the register and not the terminal's word: a terminal sends only a reference (no birth
        date crosses the network) and a typed number proves nothing; nothing new is stored (the
        row's kind and index lead to the register's entry).
        """
        born = seed.register_birth_date(who["kind"], who["idx"]) if who else None
        today = self.clock.today()
        if born is None or today.year - born.year - ((today.month, today.day) < (born.month, born.day)) < min_age:
            raise OpError("forbidden", f"a priority line for citizens aged {min_age} and over: the walk-in needs the "
                                       "citizen_ref of a card-identified citizen of that age")

    def follow_token(self, t: dict) -> str:
        """The token a ticket's QR code carries to the city's portal: an HMAC of the ticket under a
        secret of this service, so it cannot be guessed from hall, date or number, and the same
        ticket (a replayed check-in) always gets the same token without storing one."""
        secret = self.store.meta_get("follow_secret")
        if secret is None:
            secret = secrets.token_hex(32)
            self.store.meta_set("follow_secret", secret)
        mac = hmac.new(bytes.fromhex(secret), f"{t['hall']}|{t['line']}|{t['date']}|{t['seq']}".encode(),
                       hashlib.sha256).digest()[:16]  # 128 bits
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def _ahead(self, t: dict) -> int:
        """People waiting before ticket ``t``: known for a new ticket, counted for an older one."""
        if "people_ahead" in t:
            return t["people_ahead"]
        return self.store.people_ahead(t["hall"], t["line"], t["date"], t["seq"])

    def _application_view(self, a: dict, receipt: bool = False) -> dict:
        """What a terminal shows of application ``a``; ``receipt``: with its receipt code, only for
        its own citizen (identified) or a new application (the receipt is printed then)."""
        today = self.clock.today()
        deadline = dt.date.fromisoformat(a["promised_deadline"])
        days_left = working_days_between(today, deadline)
        if deadline < today:
            days_left = min(days_left, -1)
        flag = "green" if a["status"] in ("done", "rejected") else \
            "red" if days_left < 0 else "yellow" if days_left <= YELLOW_DAYS else "green"
        # English beside the Chinese: stored with the steps since they carry it; for an older row,
        # from the seed's route of the same item and region.
        route = {s["level"]: s for s in seed.application_steps(a["item_code"], a["region"])}
        stored = [{**route.get(s["level"], {}), **s} for s in a["steps"]]
        cur = stored[min(a["current"], len(stored) - 1)]
        steps = [dict(s, status="done" if (k < a["current"] or a["status"] == "done") else
                      "current" if k == a["current"] else "pending") for k, s in enumerate(stored)]
        return {"application_no": a["application_no"], "item_code": a["item_code"],
                **seed.item_names(a["item_code"]), "status": a["status"],
                "submitted_at": a["submitted_at"], "promised_deadline": a["promised_deadline"],
                "days_left": days_left, "flag": flag, "current_level": cur["level"],
                "current_agency": cur["agency"], "current_agency_en": cur.get("agency_en", ""),
                "collect_at": a["collect_at"], "collect_at_en": seed.collect_at(a["item_code"], a["region"])[1],
                "steps": steps,
                **({"receipt_code": self.receipt_code(a)} if receipt else {})}

    def op_applications_list(self, terminal: str, body: dict) -> dict:
        """applications.list."""
        self._citizen(body["citizen_ref"])
        return {"applications": [self._application_view(a, receipt=True)
                                 for a in self.store.applications_of(body["citizen_ref"])]}

    def op_application_get(self, terminal: str, body: dict) -> dict:
        """application.get."""
        a = self.store.application(body["application_no"])
        if a is None:
            raise OpError("not_found", "unknown application number")
        return {"application": self._application_view(a)}

    def advance_application(self, no: str) -> dict:
        """Move an application to its next level (or finish it); returns its new view."""
        a = self.store.application(no)
        if a is None:
            raise OpError("not_found", "unknown application number")
        if a["status"] in ("done", "rejected"):
            raise OpError("closed", f"application already {a['status']}")
        steps = a["steps"]
        steps[a["current"]]["at"] = iso_utc(self.clock.now())
        if a["current"] + 1 >= len(steps):
            self.store.update_application(no, steps=steps, status="done")
        else:
            self.store.update_application(no, steps=steps, current=a["current"] + 1, status="in_progress")
        updated = self.store.application(no)
        assert updated is not None  # read above, updated in this transaction
        return self._application_view(updated)

    def op_feedback_submit(self, terminal: str, body: dict) -> dict:
        """feedback.submit."""
        if body["kind"] == "rate" and "rating" not in body:
            raise OpError("invalid", "a rating needs rating 1..5")
        target = body["target"]
        no = target.get("application_no")
        if no and body["kind"] == "rate":
            # A rating counts in the department's good/bad record (好差评): only from the
            # application's citizen (identified) or the holder of its receipt, and only once it is
            # finished. The proof is judged first and an unknown number gets the very same answer
            # (NOT_THEIRS): before, not_found for none and forbidden for another's told a terminal
            # which of the predictable numbers exist, and not_finished told their state.
            a = self.store.application(no)
            if a is None or not (target.get("citizen_ref") == a["citizen_ref"]
                                 or self._holds_receipt(a, target.get("receipt"))):
                raise OpError(*NOT_THEIRS)
            if a["status"] not in ("done", "rejected"):
                raise OpError("not_finished", "only a finished application can be rated")
        # A complaint or a question about an application is taken whatever its number: nobody is
        # kept from complaining, and no answer tells whether a number exists (staff read the number
        # as given).
        fid = "FB" + uuid.uuid4().hex[:16].upper()
        self.store.add_feedback(fid, terminal, body["kind"], body, iso_utc(self.clock.now()))
        return {"feedback_id": fid, "status": "received"}


def handler_name(op: str) -> str:
    """The method of :class:`Domain` that handles ``op``: ``op_`` and the name with dots as
    underscores (``appointments.list`` -> ``op_appointments_list``)."""
    return "op_" + op.replace(".", "_")


def check_handlers(cls: type, ops: list[str]) -> dict[str, str]:
    """Operation -> handler method of ``cls``, or TypeError unless every operation of the contract
    has exactly one handler and every handler (``op_*`` method) handles one of them."""
    table = {op: handler_name(op) for op in ops}
    methods = {n for n in dir(cls) if n.startswith("op_") and callable(getattr(cls, n))}
    names = list(table.values())
    found = (("operations without a handler", sorted(op for op, m in table.items() if m not in methods)),
             ("handlers of no operation of the contract", sorted(methods - set(names))),
             ("operations sharing a handler", sorted(op for op, m in table.items() if names.count(m) > 1)))
    problems = [f"{what}: {which}" for what, which in found if which]
    if problems:
        raise TypeError(f"{cls.__name__} and the contract (kiosk/network/schemas/ops/) disagree: " + "; ".join(problems))
    return table


#: The dispatch table, checked when the central service is imported: a contract operation without
#: a handler (or a handler left behind) stops the service at start instead of answering invalid.
HANDLERS = check_handlers(Domain, list(schemas.operations()))
