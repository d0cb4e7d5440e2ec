"""The catalogue cache: storage across restarts, unchanged answers, search by Chinese and pinyin."""
from __future__ import annotations

from kiosk.network.catalogue import CatalogueCache
from kiosk.network.schemas import validate_result

from .conftest import sample_result


def test_store_search_and_reopen(tmp_path):
    cat = CatalogueCache(tmp_path)
    assert cat.version == 0 and cat.items() == [] and cat.search("lnyd") == []  # works with nothing synced
    result = sample_result("catalogue.sync", {})
    validate_result("catalogue.sync", result)
    assert cat.store(result) is True
    assert cat.version == 3
    assert [c["code"] for c in cat.categories()] == ["C1"]
    assert cat.item("I-002")["name"] == "社会保障卡申领" and cat.item("nope") is None
    assert [i["code"] for i in cat.search("lnyd")] == ["I-001"]
    assert [i["code"] for i in cat.search("老年")] == ["I-001"]
    assert [i["code"] for i in cat.search("shbzk")] == ["I-002"]
    assert [i["code"] for i in cat.search("shehui")] == ["I-002"]
    assert [i["code"] for i in cat.search("Senior citizen")] == ["I-001"]
    assert cat.search("  ") == []
    cat.close()
    again = CatalogueCache(tmp_path)
    assert again.version == 3 and len(again.items()) == 2 and again.search("lnyd")
    assert again.store({"version": 3, "unchanged": True, "categories": [], "departments": [], "lines": [],
                        "items": []}) is False
    assert len(again.items()) == 2
    again.close()


def test_the_terminal_loads_no_pinyin_dictionary():
    # The central service sends the search keys; a terminal must not carry pypinyin's ~50 MiB.
    import subprocess
    import sys
    code = ("import sys, tempfile; import kiosk.runtime, kiosk.network.gateway; "
            "from kiosk.network.catalogue import CatalogueCache; "
            "c = CatalogueCache(tempfile.mkdtemp()); c.search('lnyd'); "
            "assert 'pypinyin' not in sys.modules, 'pypinyin imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_localized_records_take_the_english_and_chinese_stays_chinese(tmp_path):
    cat = CatalogueCache(tmp_path)
    cat.store(sample_result("catalogue.sync", {}))
    en, zh = cat.item("I-001", lang="en"), cat.item("I-001", lang="zh_CN")
    assert (en["name"], en["agency"], en["legal_basis"]) == (
        "Senior citizen card", "County civil affairs bureau", "Law on the Protection of the Rights and Interests of the Elderly")
    assert en["materials"][0]["name"] == "ID card" and en["fee"]["note"] == "Free"
    assert en["steps"] == ["Accepted", "Reviewed", "Issued"] and en["stages"][1]["agency"] == "County civil affairs bureau"
    assert en["faq"] == [{"q": "Must I come in person?", "a": "Yes.", "q_en": "Must I come in person?", "a_en": "Yes."}]
    assert (zh["name"], zh["agency"], zh["steps"]) == ("老年优待证办理", "县民政局", ["受理", "审核", "发证"])
    assert [c["name"] for c in cat.categories(lang="en")] == ["Social security"]
    assert [i["name"] for i in cat.search("lnyd", lang="en")] == ["Senior citizen card"]
    assert cat.item("I-001")["name"] == "老年优待证办理"  # no language: the record as stored
    cat.close()


def test_a_text_without_english_stays_chinese_and_is_reported_as_a_gap(tmp_path, caplog):
    result = sample_result("catalogue.sync", {})
    result["items"][0]["agency_en"] = ""          # the central service lacks this one in English
    result["items"][0]["faq"][0]["a_en"] = ""
    validate_result("catalogue.sync", result)
    cat = CatalogueCache(tmp_path)
    cat.store(result)
    assert cat.english_gaps() == ["items[I-001].agency: 县民政局", "items[I-001].faq[0].a: 需要。"]
    with caplog.at_level("WARNING", logger="kiosk.network.catalogue"):
        assert cat.item("I-001", lang="en")["agency"] == "县民政局"
        cat.item("I-001", lang="en")
    assert sum("items[I-001].agency: 县民政局" in r.getMessage() for r in caplog.records) <= 1  # logged once, not per redraw
    cat.close()


def test_a_reader_during_a_refresh_sees_the_old_catalogue_never_an_empty_one(tmp_path, monkeypatch):
    # A fresh-clone run under load: the runtime's own sync stored the catalogue again while a test
    # read the walk-in lines, and got none: the lists were emptied, then filled in place.
    from kiosk.network import catalogue
    cat = CatalogueCache(tmp_path)
    result = sample_result("catalogue.sync", {})
    validate_result("catalogue.sync", result)
    cat.store(result)
    lines = len(cat.lines())
    assert lines > 0
    seen: list[int] = []
    real_loads = catalogue.json.loads

    def loads_and_look(text, *a, **k):   # a reader's look while the refresh builds its lists
        if not seen:
            seen.append(len(cat.lines()))
        return real_loads(text, *a, **k)
    monkeypatch.setattr(catalogue.json, "loads", loads_and_look)
    cat.store(result)
    monkeypatch.undo()
    assert seen == [lines] and len(cat.lines()) == lines
