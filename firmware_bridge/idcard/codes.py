"""Code tables printed on Chinese ID cards, as data: GB 3304 nationalities, GB/T 2261.1 sex.

GB 3304 lists the 56 ethnic groups (01-56) and two extra codes: 97 其他 (other, not yet
recognised) and 98 外国血统中国籍人士 (Chinese citizens of foreign origin).
"""
from __future__ import annotations

_ETHNIC_GROUPS = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 "
    "满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 傈僳族 "
    "佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 "
    "达斡尔族 仫佬族 羌族 布朗族 撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 "
    "塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 "
    "独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族"
).split()

#: Two-digit GB 3304 code -> name. 56 groups in the standard's order, then 97 and 98.
NATIONS: dict[str, str] = {f"{i:02d}": name for i, name in enumerate(_ETHNIC_GROUPS, start=1)}
NATIONS["97"] = "其他"
NATIONS["98"] = "外国血统中国籍人士"

#: GB/T 2261.1 sex code -> the word printed on the card.
SEXES: dict[str, str] = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

assert len(_ETHNIC_GROUPS) == 56  # why: a typo in the list above must fail at import, not on a card
