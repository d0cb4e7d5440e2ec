"""The guide's item page on a real Kivy window (Xvfb, 1280x800, the real stack): taken in at a glance
in standard type and in elder mode: fee and time limits as figures, this hall's window, what to
bring as a checklist, the route as the progress screen's own timeline widget, the answers below,
and a scroll bar and a "more below" sign while there is more below. Every text in the session's
language (English here: no Chinese on the page)."""
from __future__ import annotations

import json

import pytest

from hall_central import seed
from tests.kiosk.screens.conftest import finish_tour, start_tour

pytestmark = [pytest.mark.ui, pytest.mark.integration]


@pytest.fixture(scope="module", params=["en", "zh_CN"])
def run(request, display, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"guide-{request.param}")
    rc, result, output = finish_tour(start_tour(display, base, tour="tests.kiosk.screens.guide_tour:steps",
                                                langs=request.param), base)
    assert rc == 0, output[-6000:]
    return request.param, json.loads((base / "out" / "facts.json").read_text(encoding="utf-8"))


def test_fee_and_time_limits_are_figures_and_the_window_is_this_halls(run):
    lang, facts = run
    item = seed.item("MZ001")
    for mode in ("standard", "elder"):
        f = facts[mode]["figures"]
        assert f["promised"]["value"] == str(item["promised_days"]) and f["promised"]["unit"] in ("working days", "个工作日")
        assert f["statutory"]["value"] == str(item["statutory_days"])
        assert f["fee"]["value"] == ("Free" if lang == "en" else "免费")
        assert f["window"]["value"] == item["window"]
        hall = "Diaojia Township Service Centre" if lang == "en" else "中牟县刁家乡便民服务中心"
        zone = "Zone C, 2F" if lang == "en" else "二楼C区"
        assert f["window"]["note"] == f"{zone}\n{hall}"  # this hall (the terminal's config), not the city centre
        assert all(fig["fits"] for fig in f.values()), f


def test_what_to_bring_is_a_checklist_and_the_answers_are_below(run):
    lang, facts = run
    item = seed.item("MZ001")
    mats = facts["standard"]["checklist"]
    assert len(mats) == len(item["materials"]) == 5
    name = "name_en" if lang == "en" else "name"
    assert [m.split("  ×")[0] for m in mats] == [m[name] for m in item["materials"]]
    q, a = ("q_en", "a_en") if lang == "en" else ("q", "a")
    assert facts["standard"]["faq"] == [[f[q], f[a]] for f in item["faq"]]


def test_the_steps_are_the_progress_screens_timeline(run):
    lang, facts = run
    tl = facts["standard"]["timeline"]
    assert tl["is_the_widget"] and tl["class"] == facts["progress_timeline"] == "kiosk.screens.timeline.Timeline"
    village, township, county, city = tl["columns"]   # MZ001: accepted at the township, decided at the county
    assert ("not involved" if lang == "en" else "不涉及") in village and city
    stages = seed.item("MZ001")["stages"]
    assert (stages[0]["agency_en"] if lang == "en" else stages[0]["agency"]) in township
    assert (stages[1]["steps_en"] if lang == "en" else stages[1]["steps"])[-1] in county


def test_long_content_scrolls_with_a_visible_bar_and_a_sign_in_elder_mode(run):
    _, facts = run
    std, elder, end = facts["standard"], facts["elder"], facts["elder_end"]
    assert std["window"] == [1280, 800] and not std["elder"] and elder["elder"] and elder["k"] > std["k"]
    for f in (std, elder):
        s = f["scroll"]
        assert s["content_h"] > s["view_h"]                 # longer than the page: it scrolls
        assert f["more_below_shown"] and f["first_figure_in_view"] and not f["last_answer_in_view"]
        assert s["bar_width"] >= 10 * f["k"] and s["bar_inactive_alpha"] >= 0.5 and "bars" in s["scroll_type"]
        assert f["overflow"] == []
    assert end["last_answer_in_view"] and not end["more_below_shown"]


def test_every_text_on_the_page_is_in_the_sessions_language(run):
    lang, facts = run
    if lang == "en":
        assert [f["chinese"] for f in facts.values() if isinstance(f, dict)] == [[], [], []]
        assert facts["standard"]["title"] == "Minimum living allowance (dibao) approval"
    else:
        assert facts["standard"]["title"] == "最低生活保障待遇认定"
