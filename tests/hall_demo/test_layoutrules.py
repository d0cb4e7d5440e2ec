"""The layout rules on hand-made snapshots (hall_demo.layoutrules; no Kivy, no window)."""
from __future__ import annotations

import itertools

from hall_demo import layoutrules as rules

_uid = itertools.count(1)
DPI = 150.0


def widget(rect, *, role="screen", button=False, filled=None, text=None, lines=None, clip=None, ancestors=(),
           tour_id="", fonts=(24.0,), shortened=False, uid=None):
    """One widget record as hall_demo.layoutprobe.snapshot writes it."""
    t = None
    if text is not None:
        lines = lines if lines is not None else [(text, rect)]
        t = {"text": text, "lines": [{"text": s, "rect": r} for s, r in lines], "fonts": list(fonts),
             "texture": rect, "shortened": shortened, "wraps": True, "halign": "center"}
    return {"uid": uid or next(_uid), "cls": "KButton" if button else "KLabel", "tour_id": tour_id, "role": role,
            "rect": rect, "seen": rect, "clip": clip, "ancestors": list(ancestors), "interactive": button,
            "button": button, "filled": button if filled is None else filled, "text": t}


def snap(*widgets, lang="zh_CN", elder=False, k=1.0, scrolls=(), citizen=""):
    return {"screen": "s", "window": (1280.0, 800.0), "k": k, "elder": elder, "lang": lang, "citizen_text": citizen,
            "screen_area": (0.0, 0.0, 1280.0, 716.0), "header": (0.0, 716.0, 1280.0, 84.0),
            "widgets": list(widgets), "scrolls": list(scrolls)}


def rules_of(findings):
    return sorted(f["rule"] for f in findings)


def test_text_outside_its_box_does_not_fit():
    inside = widget((0, 0, 200, 80), button=True, text="OK", lines=[("OK", (80, 25, 40, 30))])
    spilling = widget((300, 0, 200, 80), button=True, text="three\nline\nname",
                      lines=[("three", (320, 70, 60, 35)), ("line", (320, 35, 60, 35)), ("name", (320, 0, 60, 35))])
    found = rules.text_fit(snap(inside, spilling))
    assert [f["widget"] for f in found] == [rules.name_of(spilling)]


def test_shortened_or_dropped_text_is_cut():
    hall = widget((0, 720, 300, 32), role="header", text="中牟县刁家乡便民服务中心",
                  lines=[("中牟县刁家...民服务中心", (0, 720, 290, 32))], shortened=True)
    dropped = widget((0, 0, 300, 40), text="two\nlines", lines=[("two", (0, 0, 40, 35))])
    assert rules_of(rules.text_cut(snap(hall, dropped))) == ["text-cut", "text-cut"]


def test_overlaps_between_unrelated_things_but_not_a_button_and_its_own_text():
    title = widget((20, 600, 600, 60), text="办件进度查询", lines=[("办件进度查询", (20, 600, 240, 60))])
    label = widget((20, 560, 400, 60), text="办件编号:", lines=[("办件编号:", (20, 590, 150, 40))])
    key = widget((20, 400, 100, 80), button=True, text="1", lines=[("1", (60, 420, 20, 40))], tour_id="key_1")
    found = rules.overlaps(snap(title, label, key))
    assert len(found) == 1 and "text over text" in found[0]["detail"]


def test_a_banner_over_a_button_overlaps_and_a_child_in_its_card_does_not():
    card = widget((0, 0, 400, 300), filled=True)
    inner = widget((10, 10, 100, 40), text="ID card", lines=[("ID card", (10, 10, 100, 40))], ancestors=[card["uid"]])
    finish = widget((20, 0, 1240, 100), button=True, text="结束", lines=[("结束", (600, 30, 48, 40))], tour_id="home",
                    uid=999)
    countdown = widget((0, 0, 1280, 64), role="banner", filled=True)
    found = rules.overlaps(snap(card, inner, countdown, finish))
    names = {f["widget"] for f in found}
    assert any("home" in n for n in names) and not any("ID card" in n for n in names if "KLabel" in n and "CardPicture" in n)


def test_screen_widgets_above_the_screen_area_sit_under_the_header():
    key = widget((20, 690, 100, 80), button=True, tour_id="key_1")
    off = widget((1200, 100, 200, 40), text="不涉及", lines=[("不涉及", (1200, 100, 200, 40))])
    found = rules.placement(snap(key, off))
    assert rules_of(found) == ["outside-window", "under-header"]


def test_touch_targets_9_mm_and_60_dp_in_elder_mode():
    # 150 dpi: 9 mm = 53 px; 44 dp = 41 px; 60 dp = 56 px
    ok = widget((0, 0, 60, 60), button=True, tour_id="ok")
    small = widget((100, 0, 50, 50), button=True, tour_id="small")
    assert [f["widget"] for f in rules.targets(snap(ok, small), DPI)] == ["small"]
    mid = widget((0, 0, 54, 54), button=True, tour_id="mid")
    assert rules.targets(snap(mid), DPI) == []
    assert [f["widget"] for f in rules.targets(snap(mid, elder=True), DPI)] == ["mid"]


def test_a_list_longer_than_its_view_must_show_its_bar():
    scroll = {"rect": (0, 0, 300, 400), "content": (300, 900.0), "do_scroll_y": True, "bar_width": 2.0,
              "bar_inactive_alpha": 0.2, "bar_alpha": 0.9}
    assert rules_of(rules.scroll_hints(snap(scrolls=[scroll]), DPI)) == ["scroll-hint"]
    shown = dict(scroll, bar_width=12.0, bar_inactive_alpha=0.7)
    assert rules.scroll_hints(snap(scrolls=[shown]), DPI) == []
    short = dict(scroll, content=(300, 300.0))
    assert rules.scroll_hints(snap(scrolls=[short]), DPI) == []


def test_chinese_on_an_english_screen_only_for_names_without_english():
    allowed = {"中牟县刁家乡便民服务中心"}
    hall = widget((0, 0, 300, 40), role="header", text="中牟县刁家乡便民服务中心")
    item = widget((0, 100, 300, 40), text="Service: 住房公积金提取")
    toggle = widget((0, 200, 100, 60), button=True, text="中文", tour_id="lang")
    citizen = widget((0, 300, 100, 40), role="header", text="李*国")
    found = rules.cjk_on_english(snap(hall, item, toggle, citizen, lang="en", citizen="李*国"), allowed)
    assert [f["widget"] for f in found] == [rules.name_of(item)]
    assert rules.cjk_on_english(snap(item, lang="zh_CN"), allowed) == []


def test_words_broken_across_lines():
    english = widget((0, 0, 100, 80), button=True, text="Very dissatisfied",
                     lines=[("Very dissatis", (0, 40, 100, 40)), ("fied", (0, 0, 40, 40))])
    boundary = lambda text, i: text[:i] in ("郑州市人力资源和",)  # noqa: E731
    good = widget((0, 100, 200, 80), button=True, text="郑州市人力资源和社会保障局",
                  lines=[("郑州市人力资源和", (0, 140, 160, 40)), ("社会保障局", (0, 100, 100, 40))])
    bad = widget((0, 200, 200, 80), button=True, text="郑州市人力资源和社会保障局",
                 lines=[("郑州市人力资源和社会保", (0, 240, 200, 40)), ("障局", (0, 200, 40, 40))])
    sentence = widget((0, 300, 200, 80), text="请在右侧键盘输入身份证号码。",
                      lines=[("请在右侧键盘输入身份证号", (0, 340, 200, 40)), ("码。", (0, 300, 40, 40))])
    found = rules.line_breaks(snap(english, good, bad, sentence), boundary)
    assert sorted(f["widget"] for f in found) == sorted([rules.name_of(english), rules.name_of(bad)])
    punct = widget((0, 0, 200, 80), text="请输入编号，或扫描回执二维码。",
                   lines=[("请输入编号，或扫描回执二维码", (0, 40, 200, 40)), ("。", (0, 0, 20, 40))])
    assert "starts with" in rules.line_breaks(snap(punct), boundary)[0]["detail"]


def test_a_line_ends_with_no_opening_quote_and_starts_with_no_closing_one():
    # the help text in large type at 1280x800: 需要帮助请触摸“ | 呼叫工作人员”。
    boundary = lambda text, i: True  # noqa: E731
    text = "需要帮助请触摸“呼叫工作人员”。"
    opening = widget((0, 0, 200, 80), text=text, lines=[("需要帮助请触摸“", (0, 40, 200, 40)),
                                                         ("呼叫工作人员”。", (0, 0, 200, 40))])
    assert "ends with '“'" in rules.line_breaks(snap(opening), boundary)[0]["detail"]
    closing = widget((0, 0, 200, 80), text=text, lines=[("需要帮助请触摸“呼叫工作人员", (0, 40, 200, 40)),
                                                         ("”。", (0, 0, 40, 40))])
    assert "starts with '”'" in rules.line_breaks(snap(closing), boundary)[0]["detail"]
    kept = widget((0, 0, 200, 80), text=text, lines=[("需要帮助请触摸", (0, 40, 200, 40)),
                                                      ("“呼叫工作人员”。", (0, 0, 200, 40))])
    assert rules.line_breaks(snap(kept), boundary) == []


def test_elder_mode_enlarges_every_text_to_the_miit_figures():
    body_std = widget((0, 0, 300, 40), text="正文", fonts=(24.0,), uid=1)
    small_std = widget((0, 50, 300, 40), text="提示", fonts=(20.0,), uid=2)
    number_std = widget((0, 100, 300, 200), text="A001", fonts=(168.0,), uid=3)
    std = snap(body_std, small_std, number_std, k=1.0)
    body = dict(body_std, text=dict(body_std["text"], fonts=[31.2]))
    small = dict(small_std, text=dict(small_std["text"], fonts=[20.0]))          # not enlarged
    number = dict(number_std, text=dict(number_std["text"], fonts=[168.0]))     # display type: exempt
    elder = snap(body, small, number, k=1.3, elder=True)
    found = rules.elder_scale(std, elder, DPI, 1.3, 24)
    assert [(f["rule"], f["widget"]) for f in found] == [("elder-scale", rules.name_of(small))]
    # main text below 30 dp (28 px at 150 dpi) in elder mode
    low = snap(dict(body_std, text=dict(body_std["text"], fonts=[26.0])), k=1.3, elder=True)
    assert "elder-type" in rules_of(rules.elder_scale(snap(body_std), low, DPI, 1.0, 24))


def test_a_number_in_groups_does_not_wrap_between_its_groups():
    # the identify screen in large type at 1280x800: 身份证号码：410104 19920927 | 3156
    boundary = lambda text, i: True  # noqa: E731
    text = "身份证号码：410104 19920927 3156"
    split = widget((0, 0, 470, 90), text=text, lines=[("身份证号码：410104 19920927", (0, 45, 440, 45)),
                                                       ("3156", (0, 0, 60, 45))])
    found = rules.line_breaks(snap(split), boundary)
    assert len(found) == 1 and "number broken between its groups" in found[0]["detail"], found
    own_line = "身份证号码：\n410104 19920927 3156"
    kept = widget((0, 0, 470, 90), text=own_line, lines=[("身份证号码：", (0, 45, 120, 45)),
                                                          ("410104 19920927 3156", (0, 0, 300, 45))])
    english = widget((0, 100, 300, 90), text="Promised by 2026-12-02: overdue by 2 days",
                     lines=[("Promised by 2026-12-02: overdue by", (0, 145, 300, 45)), ("2 days", (0, 100, 60, 45))])
    assert rules.line_breaks(snap(kept, english), boundary) == []
    # a hard line break between two numbers is the text's own
    two = widget((0, 0, 200, 90), text="E001\n2", lines=[("E001", (0, 45, 80, 45)), ("2", (0, 0, 20, 45))])
    assert rules.line_breaks(snap(two), boundary) == []


def test_a_colon_after_chinese_is_full_width():
    half = widget((0, 0, 400, 40), text="身份证号码: 410104")
    full = widget((0, 50, 400, 40), text="身份证号码：410104")
    times = widget((0, 100, 400, 40), text="时段：09:00-09:30")
    english = widget((0, 150, 400, 40), text="camera: ready")
    bracket = widget((0, 200, 400, 40), text="维护模式（仅限工作人员）: 0")
    found = rules.check_mode(snap(half, full, times, english, bracket), DPI, set(), lambda t, i: True)
    assert sorted((f["rule"], f["widget"]) for f in found) == [
        ("half-width-colon", rules.name_of(bracket)), ("half-width-colon", rules.name_of(half))]


def test_large_type_never_makes_a_key_smaller():
    # the progress keypad at 1280x800 (a cold try): 114x86 px in standard type, 149x62 in large type
    key_std = widget((20, 100, 114, 86), button=True, tour_id="key_1", uid=41)
    ok_std = widget((600, 20, 300, 84), button=True, tour_id="lookup", uid=42)
    reason_std = widget((20, 400, 500, 117), button=True, tour_id="reason_waiting", uid=43)
    std = snap(key_std, ok_std, reason_std)
    shrunk = snap(dict(key_std, rect=(20, 100, 149, 62)), dict(ok_std, rect=(600, 20, 390, 109)),
                  dict(reason_std, rect=(20, 400, 650, 97)), k=1.3, elder=True)
    found = rules.elder_targets(std, shrunk)
    assert [(f["rule"], f["widget"]) for f in found] == [("elder-target", "key_1")], found
    assert "149x62" in found[0]["detail"] and "114x86" in found[0]["detail"]
    # every touch target, asked for: the reason that gave height too
    assert sorted(f["widget"] for f in rules.elder_targets(std, shrunk, keys_only=False)) == ["key_1", "reason_waiting"]
    # as large or larger both ways: nothing; a target only one mode shows is not compared
    grown = snap(dict(key_std, rect=(20, 100, 149, 111)), dict(ok_std, rect=(600, 20, 390, 109)), k=1.3, elder=True)
    assert rules.elder_targets(std, grown) == []
    extra = widget((0, 0, 10, 10), button=True, tour_id="key_9")
    assert rules.elder_targets(std, snap(extra, k=1.3, elder=True)) == []
