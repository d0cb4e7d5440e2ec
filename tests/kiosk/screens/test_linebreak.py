"""Chinese names break between words, not inside one (kiosk.screens.linebreak)."""
from __future__ import annotations

import pytest

from kiosk.screens.linebreak import break_name

#: One character = 20 px: a line of 10 characters fits 200 px.
measure = lambda text: 20 * len(text)  # noqa: E731


@pytest.mark.parametrize("name, broken", [
    # Kivy broke these as 郑州市人力资源和社会保|障局 and 郑州市卫生和计划生育委|员会
    ("郑州市人力资源和社会保障局", "郑州市人力资源和\n社会保障局"),
    ("郑州市卫生和计划生育委员会", "郑州市卫生和\n计划生育委员会"),
    ("新郑市老龄工作委员会办公室", "新郑市\n老龄工作委员会办公室"),
    ("郑州住房公积金管理中心", "郑州住房公积金\n管理中心"),
    ("郑州市自来水投资控股有限公司", "郑州市自来水投资控股\n有限公司"),
])
def test_a_long_name_breaks_between_words(name, broken):
    assert break_name(name, 200, measure) == broken


def test_what_fits_or_has_no_known_break_is_left_to_the_label():
    assert break_name("郑州市民政局", 200, measure) == "郑州市民政局"
    assert break_name("Zhengzhou Civil Affairs Bureau", 100, measure) == "Zhengzhou Civil Affairs Bureau"
    assert break_name("城乡居民基本养老保险待遇的年度复核", 200, measure) == "城乡居民基本养老保险待遇的年度复核"


def test_closing_punctuation_goes_down_with_the_character_before_it():
    from kiosk.screens.linebreak import mend_breaks
    text = "请输入受理回执上的办件编号，或扫描回执二维码。"
    drawn = ["请输入受理回执上的办件编号，或扫描回执二维码", "。"]
    # two characters go down: one would be left alone on the last line (an orphan)
    assert mend_breaks(text, drawn) == "请输入受理回执上的办件编号，或扫描回执二\n维码。"
    assert mend_breaks("请输入编号，或扫描回执二维码。", ["请输入编号，或扫描", "回执二维码", "。"]) \
        == "请输入编号，或扫描回执二\n维码。"
    assert mend_breaks(text, [text]) == text
    assert mend_breaks("第一行\n。", ["第一行", "。"]) == "第一行\n。"  # an explicit break is the author's


def test_an_opening_quote_goes_down_with_the_words_it_opens():
    # the help text in large type at 1280x800 ended its first line with “
    from kiosk.screens.linebreak import mend_breaks
    text = "预约签到请放置身份证。需要帮助请触摸“呼叫工作人员”。"
    drawn = ["预约签到请放置身份证。需要帮助请触摸“", "呼叫工作人员”。"]
    assert mend_breaks(text, drawn) == "预约签到请放置身份证。需要帮助请触摸\n“呼叫工作人员”。"
    assert mend_breaks("请看（《办法》第二条）", ["请看（《", "办法》第二条）"]) == "请看\n（《办法》第二条）"


def test_a_closing_quote_does_not_start_a_line():
    from kiosk.screens.linebreak import mend_breaks
    text = "需要帮助请触摸“呼叫工作人员”。"
    assert mend_breaks(text, ["需要帮助请触摸“呼叫工作人员", "”。"]) == "需要帮助请触摸“呼叫工作\n人员”。"


def test_a_number_is_not_split():
    from kiosk.screens.linebreak import mend_breaks
    text = "请将二维码对准扫码口约10厘米处。"
    assert mend_breaks(text, ["请将二维码对准扫码口约1", "0厘米处。"]) == "请将二维码对准扫码口约\n10厘米处。"


@pytest.mark.parametrize("name, width, broken", [
    # the place rule cut 村（社区|）便民服务点: a line began with the closing bracket
    ("村（社区）便民服务点", 160, "村（社区）\n便民服务点"),
    # the conjunction rule cut 乡（镇、|街道）: the bracket's words went apart
    ("乡（镇、街道）便民服务中心审核", 200, "乡（镇、街道）\n便民服务中心审核"),
    ("县（市、区）老龄工作委员会办公室", 200, "县（市、区）\n老龄工作委员会办公室"),
])
def test_a_break_stays_out_of_brackets_and_before_closing_punctuation(name, width, broken):
    assert break_name(name, width, measure) == broken


def test_a_place_is_two_characters_or_more():
    # 城乡 is no place: the place rule broke 城乡|居民基本养老保险参保登记 (jieba: 城乡居民 is one word)
    assert break_name("城乡居民基本养老保险参保登记", 240, measure) == "城乡居民基本养老保险参保\n登记"


@pytest.mark.parametrize("text, drawn, mended", [
    # the identify keypad in large type at 1280x800 wrapped the typed ID number between its groups
    ("身份证号码：410104 19920927 3156", ["身份证号码：410104 19920927", "3156"], "身份证号码：\n410104 19920927 3156"),
    ("ID number: 410104 19920927 3156", ["ID number: 410104 19920927", "3156"], "ID number: \n410104 19920927 3156"),
    ("ID number: 410104 19920927 3156", ["ID number: 410104", "19920927 3156"], "ID number: \n410104 19920927 3156"),
    # what fits, words between numbers, and a number alone on its line are left alone
    ("ID number: 410104 1992", ["ID number: 410104 1992"], "ID number: 410104 1992"),
    ("Promised by 2026-12-02: overdue by 2 days", ["Promised by 2026-12-02: overdue by", "2 days"],
     "Promised by 2026-12-02: overdue by 2 days"),
    ("410104 19920927 3156 7", ["410104 19920927 3156", "7"], "410104 19920927 3156 7"),
])
def test_a_number_in_groups_goes_down_whole(text, drawn, mended):
    from kiosk.screens.linebreak import mend_breaks
    assert mend_breaks(text, drawn) == mended


@pytest.mark.parametrize("text, drawn, mended", [
    # the progress list in large type: a service's last character alone on its line
    ("城乡居民基本养老保险待遇的年度复核", ["城乡居民基本养老保险待遇的年度复", "核"], "城乡居民基本养老保险待遇的年度\n复核"),
    ("城乡居民基本养老保险待遇的年度复核\nSQ 20261201 410100 0001", ["城乡居民基本养老保险待遇的年度复", "核", "SQ 20261201 410100 0001"],
     "城乡居民基本养老保险待遇的年度\n复核\nSQ 20261201 410100 0001"),
    ("请到窗口办理复核。", ["请到窗口办理复", "核。"], "请到窗口办理\n复核。"),
    # nor by the closing mark's rule: the character before "。" going down left it alone (the
    # progress hint, portrait, large type: …扫描回执二维 | 码。)
    ("请输入受理回执上的办件编号，或扫描回执二维码。", ["请输入受理回执上的办件编号，或扫描回执二维码", "。"],
     "请输入受理回执上的办件编号，或扫描回执二\n维码。"),
    ("请到窗口（三楼）核。", ["请到窗口（三楼）核", "。"], "请到窗口（三楼）\n核。"),
    # after a closing mark it stays (taking that down would break inside the bracket); an explicit
    # break is the author's
    ("请到窗口（三楼）核", ["请到窗口（三楼）", "核"], "请到窗口（三楼）核"),
    ("第一行\n核", ["第一行", "核"], "第一行\n核"),
    # two characters, or a Latin letter, are no orphan
    ("城乡居民基本养老保险待遇的年度复核", ["城乡居民基本养老保险待遇的年度", "复核"], "城乡居民基本养老保险待遇的年度复核"),
    ("Pension review a", ["Pension review", "a"], "Pension review a"),
])
def test_a_last_chinese_character_is_not_left_alone_on_its_line(text, drawn, mended):
    from kiosk.screens.linebreak import mend_breaks
    assert mend_breaks(text, drawn) == mended


@pytest.mark.parametrize("drawn, mended", [
    # a cold try: the identify screen's scan hint drew 约10厘 | 米处 at 1280x800, standard type
    (["请将二维码对准扫码口约10厘", "米处。"], "请将二维码对准扫码口约\n10厘米处。"),
    (["请将二维码对准扫码口约10", "厘米处。"], "请将二维码对准扫码口约\n10厘米处。"),
    # the orphan rule takes the character before down, here the unit's last: the whole goes down
    (["请将二维码对准扫码口约10厘米", "处。"], "请将二维码对准扫码口约\n10厘米处。"),
])
def test_a_unit_goes_down_with_its_number(drawn, mended):
    from kiosk.screens.linebreak import mend_breaks
    assert mend_breaks("请将二维码对准扫码口约10厘米处。", drawn) == mended
