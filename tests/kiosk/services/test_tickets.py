"""What goes on paper and what its QR codes open (kiosk.services.tickets), through the services
on real parts (tests/kiosk/services/conftest.py: Mosquitto, the reference central service):
slips in the session's language, no empty name line, a walk-in ticket titled as one, queue
tickets whose QR code carries the central service's unguessable token under the configured
address, and the walk-in and feedback requests as one attempt each."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from hall_central.seed import demo_application_no, demo_citizens
from kiosk import config
from kiosk.network.errors import Timeout
from kiosk.runtime import Runtime
from kiosk.services import tickets
from kiosk.services.session import Citizen
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def _qr(doc) -> list[str]:
    return [e.data for e in doc.elements if type(e).__name__ == "QR"]


def _printed(rt) -> str:
    """The last document's text, with its wrapped lines joined (a long name wraps on paper)."""
    return " ".join(rt.services.checkin.printer.docs[-1].plain_text().split())


def test_a_walk_in_ticket_is_titled_as_one_and_prints_no_empty_name_line(stack):
    rt, _, _ = stack
    s = rt.services
    line = s.walkin.lines()[0]["code"]
    result = s.walkin.take(line)
    assert s.walkin.print_ticket(result).printed
    text = _printed(rt)
    assert "排队取号凭条" in text and "预约取号凭条" not in text
    assert "姓名" not in text and result["queue_no"] in text
    assert s.walkin.line_name(line) in text

    # An identified citizen's check-in ticket keeps its title and names them (masked).
    s.sessions.begin(Citizen(id_number=demo_citizens()[0]["id_number"], name=demo_citizens()[0]["name"],
                             source="idcard"))
    appt = s.checkin.appointments_today()[0]
    checked = s.checkin.check_in(appt["appointment_id"], appt["item_code"])
    assert s.checkin.print_ticket(checked).printed
    text = _printed(rt)
    assert "预约取号凭条" in text and "姓名：王*兰" in text and demo_citizens()[0]["name"] not in text


def test_queue_ticket_codes_open_the_configured_address_with_the_central_token(stack):
    rt, _, _ = stack
    s = rt.services
    assert s.checkin.follow_url == tickets.DEFAULT_FOLLOW_URL
    assert urlsplit(tickets.DEFAULT_FOLLOW_URL).hostname.endswith(".invalid")
    s.checkin.follow_url = "https://portal.example.invalid/follow"
    line = s.walkin.lines()[0]["code"]
    first, second = s.walkin.take(line), s.walkin.take(s.walkin.lines()[1]["code"])
    for result in (first, second):
        s.walkin.print_ticket(result)
        [code] = _qr(rt.services.checkin.printer.docs[-1])
        url = urlsplit(code)
        assert (url.scheme, url.hostname, url.path) == ("https", "portal.example.invalid", "/follow")
        assert parse_qs(url.query) == {"t": [result["follow_token"]]}
        # Nothing of hall, date or number in it, and no way to guess one token from another.
        for guessable in (result["queue_no"], rt.clock.today().isoformat(), rt.clock.today().strftime("%Y%m%d"),
                          s.info.hall_code, "zhengzhou.gov.cn"):
            assert guessable not in code
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", result["follow_token"])
        assert tickets.parse_follow(code, s.checkin.follow_url) == ("ticket", result["follow_token"])
    assert first["follow_token"] != second["follow_token"]

    # No token from the central service (an older one): no code at all, never a guessable link.
    s.walkin.print_ticket({k: v for k, v in first.items() if k != "follow_token"})
    assert _qr(rt.services.checkin.printer.docs[-1]) == []


def test_the_follow_address_is_a_config_key():
    cfg = config.from_dict({"terminal": {"id": "ZM-CFG-0001", "region": {"city": "410100"}},
                            "network": {"broker": "mqtt://127.0.0.1:1"},
                            "ui": {"follow_url": "https://zwfw.example.invalid/q"}})
    rt = Runtime(cfg, devices={})
    try:
        assert rt.services.checkin.follow_url == "https://zwfw.example.invalid/q"
    finally:
        rt.gateway.outbox.close()
        rt.gateway.catalogue.close()
    with pytest.raises(Exception, match="follow_url"):
        config.from_dict({"terminal": {"id": "ZM-CFG-0001", "region": {"city": "410100"}},
                          "ui": {"follow_url": "not a url"}})


def test_follow_codes_are_read_back_only_for_this_address_and_shape():
    base = "https://portal.example.invalid/follow"
    app_no = "SQ202603184101220001"
    assert tickets.parse_follow(tickets.follow_application_url(base, app_no), base) == ("application", app_no)
    assert tickets.parse_follow(f"{base}?t=" + "A" * 22, base) == ("ticket", "A" * 22)
    for other in (f"https://evil.example/follow?a={app_no}", f"http://portal.example.invalid/follow?a={app_no}",
                  f"{base}/x?a={app_no}", f"{base}?a={app_no}&t=" + "A" * 22, f"{base}?a=SQ1", f"{base}?t=short",
                  f"https://portal.example.invalid:8443/follow?a={app_no}", "garbage", ""):
        assert tickets.parse_follow(other, base) is None, other


def test_guide_and_progress_slips_print_in_the_session_language(stack):
    rt, _, _ = stack
    s = rt.services
    code = s.guide.items()[0]["code"]
    item = s.guide.item(code)

    assert s.print_guide(code).printed
    zh = _printed(rt)
    assert "办事指南" in zh and item["name"] in zh and "申请材料" in zh

    s.sessions.set_language("en")
    assert s.print_guide(code).printed
    en = _printed(rt)
    assert "Service guide" in en and item["name_en"] in en and "Materials" in en and "Handled by" in en
    assert not re.search(r"办事指南|申请材料|办理流程|实施机构|收费标准", en)

    a = s.progress.by_number(demo_application_no(0, rt.clock.today()))
    assert s.progress.print_slip(a).printed
    en = _printed(rt)
    assert "Progress slip" in en and "Application number: " + a["application_no"] in en
    assert "Promised by " + a["promised_deadline"] in en
    assert not re.search(r"办件进度查询单|申请号|承诺办结|当前办理|领取地点|\[已办\]|\[待办\]", en)
    [qr] = _qr(rt.services.checkin.printer.docs[-1])
    assert tickets.parse_follow(qr, s.checkin.follow_url) == ("application", a["application_no"])

    s.sessions.set_language("zh_CN")
    assert s.progress.print_slip(a).printed
    assert "办件进度查询单" in _printed(rt) and "Progress slip" not in _printed(rt)


def test_a_walk_in_retried_after_no_answer_is_one_ticket_a_new_visit_is_another(stack, broker):
    rt, central, _ = stack
    s = rt.services
    line = s.walkin.lines()[0]["code"]
    s.checkin.wait_s = 0.3
    broker.stop()
    wait_for(lambda: not rt.gateway.online, 15, "the gateway to see the broker gone")
    for _ in range(2):
        with pytest.raises(Timeout):
            s.walkin.take(line)
    s.end_visit()   # the kiosk went back home: the next citizen
    with pytest.raises(Timeout):
        s.walkin.take(line)
    keys = [r.idem for r in rt.gateway.outbox.pending()]
    assert len(keys) == 3 and keys[0] == keys[1] != keys[2]
    broker.start()
    wait_for(lambda: rt.gateway.outbox_depth() == 0, 30, "the outbox to drain")
    # Two tickets were issued: the retried attempt once, the next visit's once. That visit's
    # citizen, trying again now, gets the number their attempt was given; the next one a new one.
    assert s.walkin.take(line)["queue_no"] == "A002"
    s.end_visit()
    assert s.walkin.take(line)["queue_no"] == "A003"


@pytest.mark.parametrize("kind, fields", [
    ("consult", {"callback_phone": "13812345678", "text": "call-back request"}),
    ("rate", {"rating": 4}),
    ("complain", {"reasons": ["waiting"], "callback_phone": "13812345678"}),
])
def test_each_feedback_kind_reaches_the_central_service_with_a_reference(stack, kind, fields):
    rt, central, _ = stack
    receipt = rt.services.feedback.submit(kind, **fields)
    assert receipt["status"] == "received" and re.fullmatch(r"FB[0-9A-F]{16}", receipt["feedback_id"])
    assert len(rt.services.checkin.attempts) == 0


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_guide_slip_lines_fit_the_paper_and_break_between_words(lang):
    """Every line the slip lays out prints as one line (the printer never wraps it again), and no
    English word is cut: the English guide's steps printed "accepts an|d", a lone "s", "n", "e"
    (a line with "→" counted half a character ran one cell past the paper)."""
    import datetime as dt

    from firmware_bridge.escpos import parser as P
    from firmware_bridge.escpos.encoder import encode
    from firmware_bridge.escpos.render import Renderer
    from hall_central import seed
    item = seed.item("MZ001")
    doc = tickets.guide_slip(hall="Diaojia Township Service Centre", terminal="ZM-DJX-DEMO1", item=item,
                             department="Zhengzhou Office of the Committee on Ageing",
                             when=dt.datetime(2026, 12, 3, 10, 6), lang=lang)
    printer = Renderer("default-80mm")
    printer.feed(P.Parser().feed(encode(doc)))
    laid_out = doc.plain_text().split("\n")
    printed = [line for line in printer.text_lines if not line.startswith("[") and line.strip("-")]  # no QR, rules
    assert printed == laid_out
    if lang == "en":
        words = " → ".join(s for s in tickets.field(item, "steps", lang)).split()
        for m in item["materials"]:
            words += tickets.field(m, "name", lang).split()
        for w in words:
            assert any(w in line.split() for line in printed), (w, printed)


def test_wrap_counts_double_byte_signs_full_width_and_cuts_only_overlong_words():
    lines = tickets._wrap("ab → cd", width=3)   # 6 cells: "ab → " is 6 with the arrow counted 2
    assert lines == ["ab →", "cd"]
    assert tickets._wrap("x" * 50, width=24) == ["x" * 48, "xx"]
    assert tickets._wrap("办理地点：郑州市政务服务中心一楼G区G01号窗口", width=10) == \
        ["办理地点：郑州市政务", "服务中心一楼G区G01号", "窗口"]


def test_the_promised_date_says_due_today_and_one_day_in_words_in_both_languages():
    # A cold try read "承诺 2026-12-04 前办结：剩余 0 个工作日" on the progress screen.
    from kiosk.i18n import Translator
    from kiosk.services.tickets import promised_text
    t = Translator()
    zh, en = (lambda s: t.tr(s, "zh_CN")), (lambda s: t.tr(s, "en"))
    app = {"promised_deadline": "2026-12-04", "status": "in_progress"}
    assert promised_text({**app, "days_left": 0}, zh) == "承诺 2026-12-04 前办结：今日到期"
    assert promised_text({**app, "days_left": 0}, en) == "Promised by 2026-12-04: due today"
    assert promised_text({**app, "days_left": 1}, en) == "Promised by 2026-12-04: 1 working day left"
    assert promised_text({**app, "days_left": 3}, zh) == "承诺 2026-12-04 前办结：剩余 3 个工作日"
    assert promised_text({**app, "days_left": -2}, en) == "Promised by 2026-12-04: overdue by 2 days"
