"""tools/i18n: .po parsing, .mo compiling (read back by Python's gettext), completeness of zh_CN."""
from __future__ import annotations

import gettext

from tools import i18n


def test_compiled_mo_is_read_by_gettext(tmp_path):
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", "Call staff": "呼叫工作人员",
               "Window {w}": "{w}号窗口", "untranslated": ""}
    (tmp_path / "zh_CN" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "zh_CN" / "LC_MESSAGES" / "kiosk.mo").write_bytes(i18n.compile_mo(entries))
    t = gettext.translation("kiosk", str(tmp_path), languages=["zh_CN"])
    assert t.gettext("Call staff") == "呼叫工作人员"
    assert t.gettext("Window {w}").format(w=3) == "3号窗口"
    assert t.gettext("untranslated") == "untranslated"


def test_po_round_trip_keeps_quotes_and_newlines(tmp_path):
    p = tmp_path / "x.po"
    i18n.write_po(p, "zh_CN", {"": "", 'say "hi"\nnow': '说"你好"\n现在'})
    assert i18n.parse_po(p.read_text(encoding="utf-8"))['say "hi"\nnow'] == '说"你好"\n现在'


def test_every_screen_string_has_a_chinese_translation():
    assert i18n.check() == []


def test_compiled_catalogues_are_up_to_date():
    for lang in i18n.LANGS:
        entries = i18n.parse_po(i18n.po_path(lang).read_text(encoding="utf-8"))
        t = gettext.GNUTranslations(open(i18n.po_path(lang).with_suffix(".mo"), "rb"))
        for k, v in entries.items():
            if k and v:
                assert t.gettext(k) == v, (lang, k)
