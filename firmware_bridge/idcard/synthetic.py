"""Made-up but valid identities for the simulator, tests, demos and benchmarks (never real people).

ID numbers carry a real Zhengzhou region code, the birth date, a sequence whose parity matches
the sex and a correct GB 11643 check digit; names and addresses look like 河南省郑州市 ones.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

from firmware_bridge.idcard.codes import NATIONS
from firmware_bridge.idcard.identity import Identity, id_check_digit, replace

#: GB/T 2260 codes of Zhengzhou's districts and counties, with the police branch that issues cards.
_DISTRICTS = (
    ("410102", "中原区"), ("410103", "二七区"), ("410104", "管城回族区"), ("410105", "金水区"),
    ("410106", "上街区"), ("410108", "惠济区"), ("410122", "中牟县"), ("410181", "巩义市"),
    ("410182", "荥阳市"), ("410183", "新密市"), ("410184", "新郑市"), ("410185", "登封市"),
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红梅志文玉晓"
_ROADS = ("花园路", "文化路", "经三路", "农业路", "金水路", "中州大道", "嵩山路", "建设路", "商都路", "大学路")
_FOREIGN = (("SMITH", "JOHN", "USA", "史密斯"), ("MÜLLER", "ANNA", "DEU", "安娜"),
            ("TANAKA", "HIRO", "JPN", "田中"), ("KIM", "MINJUN", "KOR", "金民俊"))


def _rng(rng_or_seed: Any) -> random.Random:
    return rng_or_seed if isinstance(rng_or_seed, random.Random) else random.Random(rng_or_seed)


def make_id_number(region: str, birth: dt.date, male: bool, rng: random.Random) -> str:
    """An 18-character ID number with the sex parity and check digit right."""
    seq = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


def _validity(birth: dt.date, issued: dt.date) -> dt.date | None:
    # Why: GB 11643 validity depends on age at issue: <16 5y, 16-25 10y, 26-45 20y, 46+ long-term.
    age = issued.year - birth.year
    years = 5 if age < 16 else 10 if age <= 25 else 20 if age <= 45 else None
    return None if years is None else add_years(issued, years)


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` moved by whole years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def make_identity(rng_or_seed: Any = None, **overrides: Any) -> Identity:
    """A valid identity; ``card_type`` may be resident, foreign_permanent or hkmotw_permit."""
    rng = _rng(rng_or_seed)
    card_type = overrides.get("card_type", "resident")
    male = overrides.get("sex", rng.choice(("男", "女"))) == "男"
    birth = overrides.get("birth_date") or dt.date(rng.randint(1940, 2015), rng.randint(1, 12), rng.randint(1, 28))
    issued = birth + dt.timedelta(days=rng.randint(16 * 365, 60 * 365))
    if issued > dt.date(2024, 12, 31):
        issued = max(birth + dt.timedelta(days=30), dt.date(2024, 12, 31) - dt.timedelta(days=rng.randint(0, 3000)))
    code, district = rng.choice(_DISTRICTS)
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
    address = (f"河南省郑州市{district}{rng.choice(_ROADS)}{rng.randint(1, 299)}号"
               f"{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{rng.randint(101, 2604)}号")
    base: dict[str, Any] = dict(card_type=card_type, name=name, sex="男" if male else "女", birth_date=birth,
                                valid_from=issued, valid_to=_validity(birth, issued),
                                photo=bytes(rng.getrandbits(8) for _ in range(1024)))
    if card_type == "foreign_permanent":
        family, given, nationality, cname = rng.choice(_FOREIGN)
        number = f"{nationality}4100{birth:%y%m%d}{rng.randint(0, 99):02d}"
        base.update(english_name=f"{family}, {given}", name=cname, nationality=nationality,
                    id_number=number, authority="1500", valid_to=add_years(issued, 10))
    elif card_type == "hkmotw_permit":
        prefix = rng.choice(("810000", "820000", "830000"))
        letter = {"810000": "H", "820000": "M", "830000": ""}[prefix]
        base.update(id_number=make_id_number(prefix, birth, male, rng), address=address,
                    authority=f"郑州市公安局{district[:2]}分局",
                    pass_number=letter + "".join(str(rng.randrange(10)) for _ in range(8)),
                    issue_count=f"{rng.randint(1, 5):02d}", valid_to=add_years(issued, 5))
    else:
        base.update(id_number=make_id_number(code, birth, male, rng), address=address,
                    nation=NATIONS[rng.choice(("01",) * 8 + ("03", "11", "02"))],
                    authority=f"郑州市公安局{district[:2]}分局")
    identity = Identity(**base)
    extra = {k: v for k, v in overrides.items() if k != "card_type"}
    if "birth_date" in extra and "id_number" not in extra and card_type != "foreign_permanent":
        extra["id_number"] = make_id_number(identity.id_number[:6], extra["birth_date"], male, rng)
    if "sex" in extra and "id_number" not in extra and card_type != "foreign_permanent":
        extra["id_number"] = make_id_number(identity.id_number[:6], identity.birth_date if "birth_date" not in extra
                                            else extra["birth_date"], male, rng)
    return replace(identity, **extra) if extra else identity


def synthetic_identity(rng_or_seed: Any = None, **overrides: Any) -> Identity:
    """A valid, made-up identity (correct check digit; 河南省郑州市 addresses) for tests and demos."""
    return make_identity(rng_or_seed, **overrides)
