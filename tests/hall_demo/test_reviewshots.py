"""hall_demo.reviewshots: which states get review screenshots, their names, and the index page.
Plain files here (no Kivy); the real tour's pictures are checked in test_layoutcheck.py."""
from __future__ import annotations

import re

from hall_demo.reviewshots import ReviewShots, folder


def _play(shots: ReviewShots, lang: str, steps: list[tuple[str, str, str]]) -> None:
    """Play a tour's steps (screen, step name, what it shows) as the inspector would: a picture in
    each type size for every step ``take`` names."""
    for screen, step, key in steps:
        name = shots.take(lang, screen, step, key)
        if name is not None:
            for elder in (False, True):
                shots.path(lang, elder, name).write_bytes(f"{lang} {elder} {key}".encode())


def test_every_language_and_type_size_gets_every_state_with_copies_for_repeats(tmp_path):
    """zh: the home screen the citizen leaves is the plain home screen (a repeat); en: it shows the
    terminal's language, a state of its own. Both folders get it, the Chinese one as a copy."""
    shots = ReviewShots(tmp_path)
    _play(shots, "zh_CN", [("home", "home", "zh home"), ("identify", "identify", "zh id"),
                           ("home", "card removed", "zh home"), ("home", "home", "zh home")])
    _play(shots, "en", [("home", "home", "en home"), ("identify", "identify", "en id"),
                        ("home", "card removed", "zh home"), ("home", "home", "en home")])
    names = shots.finish("t")
    assert names == ["01-home-home.png", "02-identify-identify.png", "03-home-card-removed.png"]
    for lang in ("zh_CN", "en"):
        for elder in (False, True):
            d = tmp_path / folder(lang, elder)
            assert sorted(p.name for p in d.iterdir()) == names   # no provisional names left
    zh = tmp_path / "zh_CN-elder"
    assert (zh / "03-home-card-removed.png").read_bytes() == (zh / "01-home-home.png").read_bytes()
    assert (tmp_path / "en-elder" / "03-home-card-removed.png").read_bytes() == b"en True zh home"
    assert shots.same_as == {("zh_CN-standard", "03-home-card-removed.png"): "01-home-home.png",
                             ("zh_CN-elder", "03-home-card-removed.png"): "01-home-home.png"}


def test_the_index_shows_each_state_in_the_four_combinations(tmp_path):
    shots = ReviewShots(tmp_path)
    _play(shots, "zh_CN", [("home", "home", "a"), ("home", "card removed", "a")])
    _play(shots, "en", [("home", "home", "b"), ("home", "card removed", "c")])
    shots.finish("Kiosk screens")
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr><th class=\"state\">(.*?)</th>(.*?)</tr>", page)
    assert [r[0] for r in rows] == ["01-home-home", "02-home-card-removed"]
    for state, cells in rows:
        assert re.findall(r'<img src="([^"]+)"', cells) == [
            f"{c}/{state}.png" for c in ("zh_CN-standard", "zh_CN-elder", "en-standard", "en-elder")]
    assert "same as 01" in rows[1][1] and 'class="missing"' not in page


def test_a_tour_stopped_short_leaves_a_gap_the_index_shows(tmp_path):
    shots = ReviewShots(tmp_path)
    _play(shots, "zh_CN", [("home", "home", "a"), ("guide", "guide", "g")])
    _play(shots, "en", [("home", "home", "b")])
    assert shots.finish() == ["01-home-home.png", "02-guide-guide.png"]
    assert not (tmp_path / "en-standard" / "02-guide-guide.png").exists()
    assert (tmp_path / "index.html").read_text(encoding="utf-8").count('class="missing"') == 2


def test_a_tour_stopped_between_a_states_two_type_sizes_names_what_it_took(tmp_path):
    """The tour failed in the inspector after the standard picture and before the elder one:
    ``finish`` raised FileNotFoundError, and the demo printed that instead of the tour's failure."""
    shots = ReviewShots(tmp_path)
    _play(shots, "en", [("home", "home", "a")])
    name = shots.take("en", "book_slot", "book slot", "s")
    assert name is not None
    shots.path("en", False, name).write_bytes(b"standard only")
    assert shots.finish() == ["01-home-home.png", "02-book_slot-book-slot.png"]
    assert (tmp_path / "en-standard" / "02-book_slot-book-slot.png").read_bytes() == b"standard only"
    assert not (tmp_path / "en-elder" / "02-book_slot-book-slot.png").exists()
    assert 'class="missing"' in (tmp_path / "index.html").read_text(encoding="utf-8")
