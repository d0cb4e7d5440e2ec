"""Deterministic seed data of the reference central service: Zhengzhou's regions and halls, the
service catalogue (15 livelihood categories, 46 items incl. the four-level linkage items and the
three showcase services of 郑政文〔2016〕38号), business lines, the demo citizens, synthetic
citizens for the fleet and the application plans of the demo.

Every text a citizen reads comes with its English (``name_en``, ``agency_en``, ``steps_en``...):
the data files carry both, and this module passes both on (tests/hall_central/test_catalogue_english.py
walks every record).

Everything here is pure (no database): :mod:`hall_central.store` writes what it needs.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path

from hall_central import idcard
from hall_central.clock import subtract_working_days

DATA_DIR = Path(__file__).with_name("data")
#: The order of the four levels, bottom up (accept at the bottom, decide higher up).
LEVELS = ["village", "township", "county", "city"]
#: The hall every appointment and check-in of the reference service belongs to.
DEFAULT_HALL = "H410100"
#: Bookable half-hour slots of a working day (hall opening hours; lunch break 12:00-13:30).
SLOT_STARTS = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
               "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]
#: Citizens one window serves per half hour (a typical counter handles 4-6 cases).
SLOT_CAPACITY = 4
#: What a level's office does with an application as it climbs the four levels (Chinese, English).
LEVEL_ACTIONS = {"village": ("受理初审", "Acceptance and first check"), "township": ("审核", "Review"),
                 "county": ("审批", "Approval"), "city": ("复核备案", "Re-check and record")}
#: The office of a level where the item names no region (the service guide): Chinese, English.
LEVEL_OFFICES = {"village": ("村（社区）便民服务点", "Village (community) service point"),
                 "township": ("乡（镇、街道）便民服务中心", "Township (subdistrict) service centre")}


@functools.cache
def _load(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def regions() -> dict:
    """City, counties, pilot townships and villages, halls (GB/T 2260 based codes)."""
    return _load("regions.json")


def region_name(code: str, english: bool = False) -> str:
    """The name of a region code, Chinese or English (empty when unknown)."""
    r = regions()
    for entry in [r["city"]] + r["counties"] + r["townships"] + r["villages"]:
        if entry["code"] == code:
            return entry["name_en" if english else "name"]
    return ""


def _linkage(raw: dict) -> dict:
    if "four_level" in raw:
        accept, decide = raw["four_level"]
        levels = LEVELS[LEVELS.index(accept):LEVELS.index(decide) + 1]
        return {"four_level": True, "levels": levels, "accept_level": accept, "decide_level": decide}
    levels = raw.get("levels", ["city"])
    return {"four_level": False, "levels": levels, "accept_level": levels[0], "decide_level": levels[-1]}


@functools.cache
def search_keys(name: str) -> dict:
    """The keypad search keys of an item name: full pinyin and initials (老年 -> laonian, ln).

    Why here: the central service makes them once per catalogue version; a terminal then needs no
    pinyin dictionary (pypinyin's is about 50 MiB of a kiosk's memory).
    """
    from pypinyin import Style, lazy_pinyin

    def keep(parts):
        return "".join(c for c in "".join(parts).lower() if c.isascii() and c.isalnum())
    return {"pinyin": keep(lazy_pinyin(name, errors="ignore")),
            "initials": keep(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore"))}


#: The fee note of an item without a fee (Chinese, English): none, the amount 0 says it all.
NO_FEE = ("", "")


def _steps(raw: dict, r: dict, link: dict) -> list[tuple[str, str, str]]:
    """(level, Chinese, English) of each step of item ``r`` at the levels it involves: a template
    step names its level, or null for the level that decides (every step of a one-level item)."""
    template = raw["step_templates"][r["steps"]] if isinstance(r["steps"], str) else r["steps"]
    steps = [(level or link["decide_level"], zh, en) for level, zh, en in template]
    return [s for s in steps if s[0] in link["levels"]]


def _stages(r: dict, link: dict, steps: list, dept: dict) -> list[dict]:
    """The item's four-level timeline for the service guide: at each level it involves, the office
    (the item's own agency where it decides; no region here, so generic offices below) and what
    happens there (its steps at that level)."""
    offices = dict(LEVEL_OFFICES, county=("县（市、区）" + _short(dept["name"]), "County (district) " + _short(dept["name_en"])),
                   city=(dept["name"], dept["name_en"]))
    offices[link["decide_level"]] = (r["agency"], r["agency_en"])
    out = []
    for level in link["levels"]:
        here = [(zh, en) for lv, zh, en in steps if lv == level]
        out.append({"level": level, "agency": offices[level][0], "agency_en": offices[level][1],
                    "steps": [zh for zh, _ in here], "steps_en": [en for _, en in here]})
    return out


def _short(department: str) -> str:
    """A city department's name without the city (郑州市民政局 -> 民政局, Zhengzhou X -> X)."""
    return department.removeprefix("郑州市").removeprefix("郑州").removeprefix("Zhengzhou ").strip()


def _material(m: dict) -> dict:
    return {k: m[k] for k in ("name", "name_en", "copies", "original", "note", "note_en")}


@functools.lru_cache(maxsize=1)
def catalogue() -> dict:
    """The full catalogue: categories, departments, lines and items with every contract field.

    Built once per process and shared: callers must not change what it returns. Why cached: it runs
    pypinyin over every item name, about 30 ms, and every check-in asks for its item (a check-in
    that rebuilt it ran at 33/s instead of 1,000/s).
    """
    raw = _load("catalogue.json")
    hall = next(h for h in regions()["halls"] if h["code"] == DEFAULT_HALL)
    # min_age: a priority line's age (老年人优先: 60, the Law on the Protection of the Rights and
    # Interests of the Elderly, art. 2), hall_central.domain.Domain.op_ticket_walkin.
    ages = raw.get("line_min_age", {})
    lines = {c: {"code": c, "name": n, "name_en": e, "prefix": p, **({"min_age": ages[c]} if c in ages else {}),
                 "windows": w, "zone": z, "zone_en": ze}
             for c, n, e, p, w, z, ze in raw["lines"]}
    depts = {c: {"name": n, "name_en": e} for c, n, e in raw["departments"]}
    items = []
    for r in raw["items"]:
        line = lines[r["line"]]
        link = _linkage(r)
        materials = [_material(raw["common_materials"][m] if isinstance(m, str) else m) for m in r["materials"]]
        steps = _steps(raw, r, link)
        amount, note, note_en = r.get("fee", [0, *NO_FEE])
        items.append({
            "code": r["code"], "name": r["name"], "name_en": r["name_en"], "category": r["category"],
            "department": r["department"], "agency": r["agency"], "agency_en": r["agency_en"],
            "legal_basis": r["legal_basis"], "legal_basis_en": r["legal_basis_en"],
            "statutory_days": r["statutory_days"], "promised_days": r["promised_days"],
            "fee": {"amount_yuan": amount, "note": note, "note_en": note_en}, "materials": materials,
            "steps": [zh for _, zh, _ in steps], "steps_en": [en for _, _, en in steps],
            "stages": _stages(r, link, steps, depts[r["department"]]),
            "window": line["windows"][0], "location": f"{hall['name']}{line['zone']}",
            "location_en": f"{line['zone_en']}, {hall['name_en']}",
            "online": r["online"], "line": r["line"], "linkage": link,
            "faq": [{"q": q, "a": a, "q_en": qe, "a_en": ae} for q, a, qe, ae in r["faq"]],
            "search_keys": search_keys(r["name"]),
        })
    named = lambda rows: [{"code": c, "name": n, "name_en": e} for c, n, e in rows]  # noqa: E731
    return {"categories": named(raw["categories"]), "departments": named(raw["departments"]),
            "lines": [{k: v for k, v in ln.items() if k != "windows"} for ln in lines.values()],
            "items": items, "line_windows": {c: ln["windows"] for c, ln in lines.items()}}


@functools.lru_cache(maxsize=1)
def _index() -> tuple[dict[str, dict], dict[str, str], dict[str, str]]:
    """Items by code, department names by code, queue prefixes by line (one dict look-up each)."""
    cat = catalogue()
    return ({i["code"]: i for i in cat["items"]}, {d["code"]: d["name"] for d in cat["departments"]},
            {ln["code"]: ln["prefix"] for ln in cat["lines"]})


def item(code: str) -> dict | None:
    """One catalogue item by code (shared: do not change it)."""
    return _index()[0].get(code)


def item_names(code: str) -> dict:
    """An item's name in both languages, as every answer that names an item carries it."""
    it = _index()[0][code]
    return {"item_name": it["name"], "item_name_en": it["name_en"]}


def department_name(code: str, english: bool = False) -> str:
    """A department's name by code, Chinese or English."""
    if english:
        return next((d["name_en"] for d in catalogue()["departments"] if d["code"] == code), code)
    return _index()[1].get(code, code)


def line_min_age(line: str) -> int | None:
    """The age a priority line is for (None: a line for everyone)."""
    return next((ln.get("min_age") for ln in catalogue()["lines"] if ln["code"] == line), None)


def register_birth_date(kind: str, idx: int | None) -> dt.date | None:
    """The birth date the population register holds for a register-linked citizen row (``kind``
    demo or synthetic and its index; None for anyone else: a typed number or another name)."""
    if idx is None or kind not in ("demo", "synthetic"):
        return None
    cards = demo_citizens()
    if kind == "demo" and not 0 <= idx < len(cards):
        return None
    card = cards[idx] if kind == "demo" else synthetic_citizen(idx)
    return dt.date.fromisoformat(card["birth_date"])


def line_prefix(line: str) -> str | None:
    """The queue-number prefix of a business line (None for an unknown line)."""
    return _index()[2].get(line)


# --- citizens ---------------------------------------------------------------------------------

_DEMO = [
    # (region, birth, sequence, name, sex, nation, address, authority, valid_from, valid_to)
    ("410122", dt.date(1981, 5, 12), 246, "王秀兰", "F", "01", "河南省郑州市中牟县刁家乡付李庄社区12号",
     "中牟县公安局", "2016-05-20", "2036-05-20"),
    ("410184", dt.date(1958, 2, 3), 157, "李建国", "M", "01", "河南省郑州市新郑市孟庄镇鸡王社区3排8号",
     "新郑市公安局", "2010-03-01", "长期"),
    ("410104", dt.date(1992, 9, 27), 315, "马晓东", "M", "03", "河南省郑州市管城回族区航东路街道中鼎社区5号楼",
     "郑州市公安局管城回族区分局", "2019-10-08", "2029-10-08"),
]
#: Demo appointments per demo citizen (item codes); the first citizen has one, the second two.
DEMO_APPOINTMENTS = {0: ["GJJ001"], 1: ["GJ001", "RS002"], 2: []}
#: Demo applications: (citizen index, item, level index reached, working days since submission).
#: Chosen so that the elder's list shows one green, one yellow and one red supervision flag.
DEMO_APPLICATIONS = [(1, "LL001", 1, 0), (1, "WJ001", 2, 8), (1, "MZ005", 1, 12), (0, "RS001", 1, 1)]


def application_no(filed: dt.date, region: str, serial: int) -> str:
    """An application number as the central service issues it: "SQ", the date it was filed (as
    the citizen reads it: a number dated today is an application filed today), the region, a serial."""
    return f"SQ{filed:%Y%m%d}{region}{serial:04d}"


def demo_filed(k: int, today: dt.date) -> dt.date:
    """The day demo application ``k`` was filed, seen from ``today``: its working days back. A time
    limit counts in working days from filing (add_working_days), so the demo's flags hold every day."""
    return subtract_working_days(today, DEMO_APPLICATIONS[k][3])


def demo_application_no(k: int, today: dt.date) -> str:
    """The number of demo application ``k`` on ``today`` (dated the day it was filed)."""
    who = DEMO_APPLICATIONS[k][0]
    return application_no(demo_filed(k, today), demo_citizens()[who]["id_number"][:6], k + 1)


def demo_citizens() -> list[dict]:
    """The fixed demo citizens (card data as an ID-card reader would deliver it)."""
    out = []
    for region, birth, seq, name, sex, nation, address, authority, vf, vt in _DEMO:
        seq = seq - seq % 2 + (1 if sex == "M" else 0)  # GB 11643: odd sequence = male
        out.append({"id_number": idcard.make_id(region, birth, seq), "name": name, "sex": sex,
                    "nation": nation, "birth_date": birth.isoformat(), "address": address,
                    "authority": authority, "valid_from": vf, "valid_to": vt})
    return out


_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰华建国红玉梅志丹萍鹏飞"
#: Synthetic birth dates count days from here; the 3-digit sequence is 500 + i % 500 (the demo
#: citizens use sequences below 500, so the two never collide) and lets the service recognise a
#: synthetic number and recover i (see :func:`synthetic_index`).
_SYN_EPOCH = dt.date(1950, 1, 1)
_SYN_REGIONS = ["410102", "410103", "410104", "410105", "410122", "410181", "410182", "410183",
                "410184", "410185"]


def synthetic_citizen(i: int) -> dict:
    """Synthetic citizen number ``i`` (valid ID number, Chinese name); the service gives them an
    appointment today with an open check-in window when they are looked up."""
    if not 0 <= i < 10_000_000:
        raise ValueError("synthetic citizen index out of range")
    birth = _SYN_EPOCH + dt.timedelta(days=i // 500)
    region = _SYN_REGIONS[(i // 500) % len(_SYN_REGIONS)]
    seq = 500 + i % 500
    name = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i // 7) % len(_GIVEN)] + _GIVEN[(i // 3) % len(_GIVEN)]
    return {"id_number": idcard.make_id(region, birth, seq), "name": name, "sex": "M" if seq % 2 else "F",
            "nation": "01", "birth_date": birth.isoformat(), "address": f"河南省郑州市{region_name(region)}",
            "authority": f"郑州市公安局{region_name(region)}分局", "valid_from": "2020-01-01",
            "valid_to": "2040-01-01"}


def synthetic_index(id_number: str) -> int | None:
    """``i`` when ``id_number`` is synthetic citizen i's number, else None."""
    try:
        birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        seq = int(id_number[14:17])
        if seq < 500:
            return None
        i = (birth - _SYN_EPOCH).days * 500 + seq - 500
    except (ValueError, IndexError):
        return None
    if i < 0 or i >= 10_000_000 or synthetic_citizen(i)["id_number"] != id_number:
        return None
    return i


def person(id_number: str) -> tuple[str, int, dict] | None:
    """The population register of the reference service: ("demo", index, card) or ("synthetic", i, card)."""
    for n, c in enumerate(demo_citizens()):
        if c["id_number"] == id_number:
            return "demo", n, c
    i = synthetic_index(id_number)
    return ("synthetic", i, synthetic_citizen(i)) if i is not None else None


def application_steps(item_code: str, region: str) -> list[dict]:
    """The route of an application through the levels of its item, with the agency at each level
    and what it does there (each in Chinese and English)."""
    it = item(item_code)
    assert it is not None, item_code  # routes are asked for catalogue items only
    county = region[:6]
    township = next((t for t in regions()["townships"] if t["county"] == county), None)
    village = next((v for v in regions()["villages"] if township and v["township"] == township["code"]), None)
    dept = _short(department_name(it["department"]))
    dept_en = _short(department_name(it["department"], english=True))
    agencies = {"village": (f"{village['name']}便民服务点", f"{village['name_en']} Service Point") if village
                else LEVEL_OFFICES["village"],
                "township": (f"{township['name']}便民服务中心", f"{township['name_en']} Service Centre") if township
                else LEVEL_OFFICES["township"],
                "county": (f"{region_name(county)}{dept}", f"{region_name(county, english=True)} {dept_en}"),
                "city": (department_name(it["department"]), department_name(it["department"], english=True))}
    return [{"level": lvl, "agency": agencies[lvl][0], "agency_en": agencies[lvl][1],
             "action": LEVEL_ACTIONS[lvl][0], "action_en": LEVEL_ACTIONS[lvl][1]}
            for lvl in it["linkage"]["levels"]]


def collect_at(item_code: str, region: str) -> tuple[str, str]:
    """Where a citizen collects the result of an application (Chinese, English): the office that
    accepted it, or the item's window in the hall."""
    it, first = item(item_code), application_steps(item_code, region)[0]
    assert it is not None, item_code  # application_steps checked it
    return (f"{first['agency']}（或{it['location']}{it['window']}号窗口）",
            f"{first['agency_en']} (or window {it['window']}, {it['location_en']})")
