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
