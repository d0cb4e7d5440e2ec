"""A label and its value are joined the way the language writes it (kiosk.screens.i18n.colon):
the full-width "：" in Chinese, as the translated messages have it (姓名：王*兰), ": " in English.

Found off the script: the screens that joined a translated label with a literal ": " showed
身份证号码: 410104, 咨询: 民族成分变更, 请选择日期: …, 搜索: mz, 网上可办: 是, 设定依据: …, 办件编号:
and 回访电话（可不填）: next to 姓名：… and 受理编号：… on the same flows.
"""
from __future__ import annotations

import re
from pathlib import Path

from kiosk.screens.i18n import colon

SCREENS = Path(__file__).resolve().parents[3] / "kiosk" / "screens"
#: A translated label followed by a literal colon: app.tr("…", app.lang) + ": " (or ":\n…).
LITERAL_COLON = re.compile(r"""app\.tr\([^()]*\)\s*\+\s*["']:""")


def test_the_colon_is_the_languages_own():
    assert colon("zh_CN") == "："
    assert colon("en") == ": "


def test_no_screen_joins_a_label_to_its_value_with_a_literal_colon():
    found = [f"{kv.relative_to(SCREENS)}:{n}: {line.strip()}"
             for kv in sorted(SCREENS.rglob("*.kv"))
             for n, line in enumerate(kv.read_text(encoding="utf-8").splitlines(), 1)
             if LITERAL_COLON.search(line)]
    assert not found, "labels joined with a literal colon (use colon(app.lang)):\n" + "\n".join(found)


def test_the_consult_screens_questions_and_answers_use_the_languages_colon():
    source = (SCREENS / "feedback.py").read_text(encoding="utf-8")
    assert "{q}: " not in source and "{a}: " not in source
