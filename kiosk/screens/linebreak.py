"""Where a Chinese name breaks when it does not fit on one line (no Kivy here: pure text).

Kivy breaks Chinese between any two characters (it has no word list), so a department's name
came out as 郑州市人力资源和社会保|障局. A name should break between words; the kiosk carries no
dictionary (jieba's costs ~50 MiB), so :func:`break_name` uses the shape of Chinese names of
offices and procedures: after a conjunction, after the place that starts the name, before the
kind of office or procedure that ends it. ``kiosk check-layout`` judges the result with a real
dictionary. Running text is left alone: it may break anywhere (ordinary Chinese typesetting).
"""
from __future__ import annotations

import re

#: Where a name may break, best first: after a conjunction, after the place that starts it
#: (郑州市|, 中牟县|), before the kind of office or procedure that ends it (|委员会, |办理).
_NAME_BREAKS = (   # (pattern, the latest break first?)
    (re.compile(r"[和与及、](?=.)"), True),
    # two characters at least: a place is named by two or more (新郑市, 刁家乡); 城乡居民 is no place
    (re.compile(r"^.{2,6}?[省市县区乡镇](?=.)"), True),
    (re.compile(r".(?=(?:委员会|联合会|管理中心|管理局|服务中心|中心|办公室|事务局|局|有限公司|总公司|公司|"
                r"办理|申请|认定|领取|登记|变更|补领|审批|证明|备案|注销)$)"), False),
)
CJK = re.compile(r"[\u3400-\u9fff]")
#: A number in groups (an ID or phone number as typed: 410104 19920927 3156): see mend_breaks.
GROUPED_NUMBER = re.compile(r"\d \d")


def break_name(line: str, width: float, measure) -> str:
    """``line`` with one newline at the best name break (``_NAME_BREAKS``: the break follows the
    match) where both parts fit ``width`` as ``measure(text) -> px`` measures them; unchanged
    when it fits or no break fits."""
    if not CJK.search(line) or measure(line) <= width:
        return line
    for pattern, latest in _NAME_BREAKS:
        cuts = sorted({_settle(line, m.end()) for m in pattern.finditer(line)} - {0, len(line)}, reverse=latest)
        for cut in cuts:
            head, tail = line[:cut], line[cut:]
            if measure(head) <= width and measure(tail) <= width:
                return head + "\n" + tail
    return line


#: Closing punctuation that must not start a line (避头点): it goes back to the line before.
NO_LINE_START = "，。、；：？！）》」』】〉”’,.;:?!)%"
#: Units written after a number, which stay with it (a cold try: 约10厘|米处 in the scan hint on the
#: identify screen): a break inside one takes the number and its unit down together. Longest first.
UNITS = ("个工作日", "工作日", "厘米", "毫米", "公里", "分钟", "小时", "平方米")
_NUMBER_UNIT = re.compile(r"\d+(?:" + "|".join(UNITS) + ")")
#: Opening punctuation that must not end a line (避尾点): it goes down with the word it opens
#: (the help text ended a line with “ and began the next with 呼叫工作人员”).
NO_LINE_END = "（(《「『【〈“‘"
_OPEN, _CLOSE = "（(《「『【〈", "）)》」』】〉"


def _settle(line: str, cut: int) -> int:
    """``cut`` moved out of a bracket it falls in (乡（镇、|街道）: after the closing bracket) and
    past closing punctuation (村（社区|）: the bracket stays on the line it closes)."""
    depth = sum(ch in _OPEN for ch in line[:cut]) - sum(ch in _CLOSE for ch in line[:cut])
    while cut < len(line) and (depth > 0 or line[cut] in NO_LINE_START):
        depth -= line[cut] in _CLOSE
        depth += line[cut] in _OPEN
        cut += 1
    return cut


def _alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _orphan(line: str) -> bool:
    """One Chinese character alone on its line (closing punctuation after it allowed)."""
    return bool(CJK.match(line)) and all(ch in NO_LINE_START for ch in line[1:])


def _unit_around(text: str, cut: int, start: int) -> int | None:
    """Where a number with its unit starts when the break at ``cut`` falls inside the unit or
    between the two (10厘|米, 10|厘米: at the 1), None when it does not or the number starts its
    line (nothing to move)."""
    if not CJK.match(text[cut]):
        return None
    for m in _NUMBER_UNIT.finditer(text, max(start, cut - 24), cut + 4):
        if m.start() < cut < m.end():
            first = m.start()
            while first > start and text[first - 1].isdigit():   # the search began inside the number
                first -= 1
            return first if first > start else None
    return None


def mend_breaks(text: str, lines: list[str]) -> str:
    """``text`` with newlines that move the bad breaks Kivy's wrap (``lines``, as drawn) makes
    (six kinds): a line starting with closing punctuation (the character before goes down with it: the
    usual 避头点 rule), a line ending with opening punctuation (it goes down: 避尾点), a
    paragraph's last line holding a single Chinese character (an orphan: the character before goes
    down with it, 城乡居民基本养老保险待遇的年度复|核 in the progress list in large type), a number or
    Latin word split in two ("约1|0厘米": the whole word goes down), and a number in groups split
    between its groups ("身份证号码：410104 19920927 | 3156", in any language: the whole number
    goes down; it is read and checked group by group), and a unit split after its number (10厘|米:
    the number and its unit go down). Unchanged when there is none or the lines
    do not match the text."""
    cuts, cursor, start = [], 0, 0
    for i, line in enumerate(lines):
        line = line.strip()
        idx = text.find(line, cursor) if line else -1
        if idx < 0:
            return text
        gap = text[cursor:idx]
        if i > 0 and gap and not gap.strip(" ") and text[cursor - 1].isdigit() and text[idx].isdigit():
            number = cursor - 1
            while number > start and (text[number - 1].isdigit()
                                      or (text[number - 1] == " " and text[number - 2].isdigit())):
                number -= 1
            if number > start:
                cuts.append(number)
            start, cursor = idx, idx + len(line)
            continue
        soft = i > 0 and idx == cursor and idx >= 2 and text[idx - 1] != "\n"
        if soft and line[0] in NO_LINE_START:
            cut = idx - 1
            # the character going down must not be left alone on the paragraph's last line
            # (…扫描回执二维码 | 。 became …二维 | 码。 in the progress hint, portrait, large type):
            # the one before it goes down too
            if _orphan(text[cut:idx + len(line)]) and text[idx + len(line):idx + len(line) + 1] in ("", "\n") \
                    and cut - 1 > start + 1 and CJK.match(text[cut - 1]) and text[cut - 2] not in NO_LINE_END:
                cut -= 1
            cuts.append(_unit_around(text, cut, start) or cut)
        elif soft and text[idx - 1] in NO_LINE_END:
            opening = idx - 1
            while opening > start + 1 and text[opening - 1] in NO_LINE_END:
                opening -= 1
            if opening > start:
                cuts.append(opening)
        elif soft and (unit := _unit_around(text, idx, start)) is not None:
            cuts.append(unit)
        elif soft and _orphan(line) and text[idx + len(line):idx + len(line) + 1] in ("", "\n"):
            # a paragraph's last line holding one Chinese character: the one before goes down too
            # (not after closing punctuation: taking it down would break inside what it closes)
            if idx - 1 > start + 1 and CJK.match(text[idx - 1]) and text[idx - 2] not in NO_LINE_END:
                cuts.append(_unit_around(text, idx - 1, start) or idx - 1)   # 10厘米|处。: not 10厘|米处。
        elif soft and _alnum(text[idx - 1]) and _alnum(text[idx]):
            word = idx - 1
            while word > start and _alnum(text[word - 1]):
                word -= 1
            if word > start:
                cuts.append(word)
        start = idx
        cursor = idx + len(line)
    for cut in reversed(cuts):
        text = text[:cut] + "\n" + text[cut:]
    return text
