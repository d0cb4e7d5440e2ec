"""What goes on paper: queue tickets, booking slips, progress slips, guides, test pages.

Builds printer-independent ``TicketDoc`` documents (firmware_bridge.escpos.document); the printer
driver encodes them. Paper is a public thing (tickets are left on counters): names are masked,
ID numbers never printed, and a QR code carries no citizen's data and nothing guessable.

Every document is written in the session's language (``lang``): the labels go through the
touchscreen's translation catalogues (message ids in English, kiosk/screens/locale), catalogue
texts use their ``<field>_en`` twin in English where the catalogue has one.

QR codes a citizen follows on a phone open the configured ``ui.follow_url`` (the city's portal;
a neutral ``example.invalid`` address by default) with a parameter the kiosk also understands
when the code is scanned at a terminal (:func:`parse_follow`):

- ``?t=<token>`` on a queue ticket: an unguessable token the central service issues with the
  ticket (``follow_token``); no token, no QR code (never a hall/date/number link);
- ``?a=<application number>`` on a progress slip: the number printed on the slip beside it, which
  shows the progress (as the keypad does) and grants nothing more.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from firmware_bridge.escpos.document import TicketDoc
from kiosk.config import SCHEMA

if TYPE_CHECKING:
    from kiosk.i18n import Translator

#: The default of ``ui.follow_url``: a reserved name (RFC 2606) that reaches nobody.
DEFAULT_FOLLOW_URL = SCHEMA["ui"]["follow_url"].default
#: Characters per line of an 80 mm roll at the normal font (12 dots per half-width char, 576 dots):
#: 48 half-width or 24 Chinese characters. Longer lines are wrapped to this.
LINE_CJK = 24
#: A follow token as the central service issues it (base64url, at least 96 bits).
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_APPLICATION_RE = re.compile(r"^SQ\d{14,18}$")


def N_(msgid: str) -> str:
    """Mark a message id for extraction (translated where it is printed)."""
    return msgid


#: The four levels as printed (the same message ids as the progress screen's).
LEVEL_NAMES = {"village": N_("Village"), "township": N_("Township"), "county": N_("County"), "city": N_("City")}
STEP_MARKS = {"done": N_("[done]"), "current": N_("[now]")}
STEP_TODO = N_("[to come]")


@functools.lru_cache(maxsize=1)
def _translator() -> Translator:
    from kiosk.i18n import Translator
    return Translator()


def translator(lang: str) -> Callable[[str], str]:
    """``tr(msgid)`` in ``lang`` (the id itself where a catalogue lacks it)."""
    cat = _translator()
    return lambda msgid: cat.tr(msgid, lang)


def field(entry: dict[str, Any], key: str, lang: str) -> Any:
    """``entry[key]`` in ``lang``: its ``<key>_en`` twin in English where the catalogue has one."""
    if lang == "en" and entry.get(f"{key}_en"):
        return entry[f"{key}_en"]
    return entry.get(key, "")


# -- the codes a citizen follows on a phone ---------------------------------------------------------
def follow_ticket_url(base: str, token: str | None) -> str | None:
    """The QR text of a queue ticket: the portal with the central service's token, or None."""
    if not token or not _TOKEN_RE.match(token):
        return None
    return f"{base}?t={quote(token)}"


def follow_application_url(base: str, application_no: str) -> str:
    """The QR text of a progress slip: the portal with the application number printed beside it."""
    return f"{base}?a={quote(application_no)}"


def parse_follow(text: str, base: str) -> tuple[str, str] | None:
    """What a scanned follow code of this kiosk's portal names: ("ticket", token) or
    ("application", number); None when ``text`` is not one (another site, another shape)."""
    b, t = urlsplit(base), urlsplit(text or "")
    if (t.scheme.lower(), (t.hostname or "").lower(), t.path.rstrip("/")) != \
            (b.scheme.lower(), (b.hostname or "").lower(), b.path.rstrip("/")) or t.port != b.port:
        return None
    q = parse_qs(t.query)
    if list(q) == ["t"] and len(q["t"]) == 1 and _TOKEN_RE.match(q["t"][0]):
        return "ticket", q["t"][0]
    if list(q) == ["a"] and len(q["a"]) == 1 and _APPLICATION_RE.match(q["a"][0]):
        return "application", q["a"][0]
    return None


# -- layout helpers ----------------------------------------------------------------------------
def _cells(ch: str) -> int:
    """Printed width of one character in half-width cells: the printer's Chinese mode prints every
    double-byte GB18030 character full width, "→", "×" and "·" included (firmware_bridge.escpos.render)."""
    return 1 if ord(ch) < 0x80 else (2 if len(ch.encode("gb18030", errors="replace")) >= 2 else 1)


#: What a line breaks between: runs of ASCII letters, digits and signs (a word, a number) stay
#: whole; any other character (Han, punctuation) may end a line on its own.
_TOKENS = re.compile(r"[!-~]+|\s+|.", re.DOTALL)


def _wrap(text: str, width: int = LINE_CJK) -> list[str]:
    """Lines of at most ``width`` Chinese characters (``2 * width`` half-width cells), broken at
    spaces and between Chinese characters, never inside an English word unless it is longer than
    a line. Why cells by the printer's own rule: counting "→" as half a character let a line of
    the English guide's steps run one cell past the paper, and the printer put that one letter on
    a line of its own; breaking inside words cut "an|d" and "cou|nty"."""
    cols = width * 2
    lines: list[str] = []
    cur, used = "", 0
    for tok in _TOKENS.findall(text):
        w = sum(_cells(c) for c in tok)
        if tok.isspace():
            if cur and used + w < cols:
                cur, used = cur + tok, used + w
            elif cur:   # a break: the space is not printed at the end of a line
                lines.append(cur.rstrip())
                cur, used = "", 0
            continue
        if used + w > cols and cur.strip():
            lines.append(cur.rstrip())
            cur, used = "", 0
        for ch in tok if w > cols else (tok,):   # a word longer than a line is cut where it must be
            cw = sum(_cells(c) for c in ch)
            if used + cw > cols:
                lines.append(cur)
                cur, used = "", 0
            cur, used = cur + ch, used + cw
    if cur.strip():
        lines.append(cur.rstrip())
    return lines or [""]


def _lines(doc: TicketDoc, text: str, **kw: Any) -> None:
    for line in _wrap(text):
        doc.text(line, **kw)


# -- the documents ---------------------------------------------------------------------------
def checkin_ticket(*, hall: str, terminal: str, masked_name: str, item_name: str, queue_no: str, window: str,
                   people_ahead: int, when: dt.datetime, follow_url: str | None = None, kind: str = "checkin",
                   lang: str = "zh_CN") -> TicketDoc:
    """The queue ticket of a check-in (``kind`` checkin) or a walk-in (``kind`` walkin)."""
    tr = translator(lang)
    doc = TicketDoc()
    doc.text(hall, size=(1, 1), bold=True, align="center")
    doc.text(tr("Appointment ticket") if kind == "checkin" else tr("Queue ticket"), align="center")
    doc.rule()
    doc.text(queue_no, size=(3, 3), bold=True, align="center")
    doc.text(tr("Please go to window {w}").format(w=window), size=(1, 2), align="center")
    doc.text(tr("{n} people ahead of you").format(n=people_ahead), align="center")
    doc.rule()
    if masked_name:  # a walk-in without identification has no name: no empty line
        doc.text(tr("Name: {name}").format(name=masked_name))
    _lines(doc, tr("Service: {item}").format(item=item_name))
    doc.text(tr("Time: {t}").format(t=f"{when:%Y-%m-%d %H:%M}"))
    doc.text(tr("Terminal: {t}").format(t=terminal))
    if follow_url:
        doc.qr(follow_url, size=6)
        doc.text(tr("Scan to follow the queue on your phone"), align="center")
    doc.feed(2)
    doc.cut()
    return doc


def booking_slip(*, hall: str, terminal: str, masked_name: str, item_name: str, date: str, start: str,
                 end: str, window: str, checkin_code: str, when: dt.datetime, place: str = "",
                 lang: str = "zh_CN") -> TicketDoc:
    """The booking slip: day, time, hall (``place``, where known), window, the check-in rule and a
    QR code to check in with."""
    tr = translator(lang)
    doc = TicketDoc()
    doc.text(hall, size=(1, 1), bold=True, align="center")
    doc.text(tr("Booking slip"), size=(2, 2), bold=True, align="center")
    doc.rule()
    if masked_name:
        doc.text(tr("Name: {name}").format(name=masked_name))
    _lines(doc, tr("Service: {item}").format(item=item_name))
    doc.text(tr("Day: {d}").format(d=date), size=(1, 2), bold=True)
    doc.text(tr("Time: {start}-{end}").format(start=start, end=end), size=(1, 2), bold=True)
    if place:
        _lines(doc, tr("Where: {hall}").format(hall=place))
    doc.text(tr("Window {window}").format(window=window), bold=True)
    _lines(doc, tr("Check in from 30 minutes before to 15 minutes after the start."))
    doc.rule()
    if checkin_code:
        doc.qr(checkin_code, size=6)
        _lines(doc, tr("At the hall, scan this code at a kiosk to check in."), align="center")
    else:
        _lines(doc, tr("At the hall, check in with your ID card."), align="center")
    doc.text(f"{terminal}  {when:%Y-%m-%d %H:%M}", align="center")
    doc.feed(2)
    doc.cut()
    return doc


def progress_slip(*, hall: str, terminal: str, application: dict[str, Any], when: dt.datetime,
                  follow_url: str | None = None, lang: str = "zh_CN") -> TicketDoc:
    """A progress slip: the application's number, the steps across the levels and the deadline."""
    tr = translator(lang)
    a = application
    doc = TicketDoc()
    doc.text(hall, bold=True, align="center")
    doc.text(tr("Progress slip"), size=(2, 2), bold=True, align="center")
    doc.rule()
    doc.text(tr("Application number: {no}").format(no=a.get("application_no", "")))
    _lines(doc, tr("Service: {item}").format(item=field(a, "item_name", lang)))
    _lines(doc, promised_text(a, tr))
    _lines(doc, tr("Now at: {agency}").format(agency=field(a, "current_agency", lang)))
    doc.rule()
    for s in a.get("steps", []):
        level = tr(LEVEL_NAMES.get(s.get("level", ""), s.get("level", "")))
        mark = tr(STEP_MARKS.get(s.get("status"), STEP_TODO))
        _lines(doc, f"{mark} {level} {field(s, 'agency', lang)} {field(s, 'action', lang)}".rstrip())
    doc.rule()
    _lines(doc, tr("Collect the result at: {place}").format(place=field(a, "collect_at", lang)))
    if follow_url:
        doc.qr(follow_url, size=5)
        doc.text(tr("Scan to follow this application on your phone"), align="center")
    doc.text(f"{terminal}  {when:%Y-%m-%d %H:%M}", align="center")
    doc.feed(2)
    doc.cut()
    return doc


def promised_text(application: dict[str, Any], tr: Callable[[str], str]) -> str:
    """The promised completion date with what is left of it (screen and slip say the same)."""
    a = application
    d, days = a.get("promised_deadline", ""), int(a.get("days_left", 0) or 0)
    if a.get("status") in ("done", "rejected"):
        return tr("Promised by {d}: finished").format(d=d)
    # 0 and 1 have their own words: "0 working days left" read as a riddle to a cold try (due
    # today), and English says "1 working day".
    if days == 0:
        return tr("Promised by {d}: due today").format(d=d)
    if days == 1:
        return tr("Promised by {d}: 1 working day left").format(d=d)
    if days > 0:
        return tr("Promised by {d}: {n} working days left").format(d=d, n=days)
    return tr("Promised by {d}: overdue by {n} days").format(d=d, n=-days)


def guide_slip(*, hall: str, terminal: str, item: dict[str, Any], department: str, when: dt.datetime,
               lang: str = "zh_CN") -> TicketDoc:
    """The service guide of one item on paper: agency, basis, time limits, fee, materials, steps, window."""
    tr = translator(lang)
    it = item
    fee = it.get("fee") or {}
    doc = TicketDoc()
    doc.text(hall, bold=True, align="center")
    doc.text(tr("Service guide"), size=(2, 2), bold=True, align="center")
    for line in _wrap(field(it, "name", lang), LINE_CJK // 2):
        doc.text(line, size=(2, 2), bold=True, align="center")
    doc.rule()
    fee_text = tr("free") if not fee.get("amount_yuan") else \
        f"{fee['amount_yuan']:.2f} {tr('yuan')} {field(fee, 'note', lang)}".rstrip()
    rows = [(tr("Handled by"), field(it, "agency", lang) or department), (tr("Department"), department),
            (tr("Legal basis"), field(it, "legal_basis", lang)),
            (tr("Time limits"), tr("statutory {a} working days, promised {b}").format(
                a=it.get("statutory_days", ""), b=it.get("promised_days", ""))),
            (tr("Fee"), fee_text),
            (tr("Where"), tr("window {w}, {place}").format(w=it.get("window", ""), place=field(it, "location", lang))),
            (tr("Apply online"), tr("yes") if it.get("online") else tr("no"))]
    for k, v in rows:
        _lines(doc, f"{k}: {v}" if lang == "en" else f"{k}：{v}")
    doc.text(tr("Materials"), bold=True)
    for m in it.get("materials", []):
        original = f" ({tr('original')})" if m.get("original") else ""
        _lines(doc, f"· {field(m, 'name', lang)} ×{m.get('copies', 1)}{original}")
    doc.text(tr("Steps"), bold=True)
    _lines(doc, " → ".join(field(it, "steps", lang) or []))
    doc.rule()
    doc.text(f"{terminal}  {when:%Y-%m-%d %H:%M}", align="center")
    doc.feed(2)
    doc.cut()
    return doc


def test_page(*, hall: str, terminal: str, when: dt.datetime, follow_url: str = DEFAULT_FOLLOW_URL) -> TicketDoc:
    """A test page: Chinese text in every size, and a QR code."""
    doc = TicketDoc()
    doc.text("打印测试页 / Test page", size=(2, 2), bold=True, align="center")
    doc.text(hall, align="center")
    doc.text(f"终端 {terminal}  {when:%Y-%m-%d %H:%M:%S}")
    doc.text("中文字符测试：郑州市政务服务网 四级联动")
    doc.qr(f"{follow_url}?test={quote(terminal)}", size=6)
    doc.feed(2)
    doc.cut()
    return doc
