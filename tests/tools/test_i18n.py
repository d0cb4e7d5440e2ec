"""tools/i18n (Babel): what pybabel extracts from screens (.py and .kv), that zh_CN translates every
message of both domains with its placeholders, and that the .mo files (build outputs, not
committed) are compiled from the .po files, here and in the wheel's build (setup.py)."""
from __future__ import annotations

import gettext
import runpy
import shutil

import pytest
from babel.messages.pofile import read_po

from tools import i18n


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway screen package with its own catalogues, registered as a domain."""
    src = tmp_path / "screens"
    (src / "sub").mkdir(parents=True)
    (src / "demo.py").write_text(
        'from kiosk.screens.i18n import N_\n'
        'LEVELS = {"city": N_("City")}\n'
        'class S:\n'
        '    spoken_prompt = N_("Choose a day.")\n'
        '    def f(self):\n'
        '        self.app.say("Elder mode is on.")\n'
        '        return self.tr("Window {w}").format(w=3)\n', encoding="utf-8")
    (src / "demo.kv").write_text(
        '#:import theme kiosk.screens.theme\n'
        '<S>:\n'
        '    KLabel:\n'
        '        text: app.tr("Back to home", app.lang) if root.x else app.tr("Day: {d}", app.lang).format(d=1)\n',
        encoding="utf-8")
    (src / "sub" / "other.py").write_text('tr("Not this domain")\n', encoding="utf-8")
    monkeypatch.setitem(i18n.DOMAINS, "demo", src)
    return src


def _ids(path) -> set:  # message ids: a str, a (singular, plural) pair for plurals
    with open(path, "rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_babel_extracts_tr_n_say_and_kv_rules_of_the_package_only(package, tmp_path):
    ids = _ids(i18n.extract(package, tmp_path / "demo.pot"))
    assert ids == {"City", "Choose a day.", "Elder mode is on.", "Window {w}", "Back to home", "Day: {d}"}


def test_update_makes_the_catalogues_and_check_names_what_is_missing(package):
    changed = i18n.update(("demo",))
    assert i18n.po_path("zh_CN", "demo") in changed and i18n.template("demo").exists()
    assert i18n.update(("demo",)) == []  # nothing new: no file rewritten
    problems = i18n.check(("demo",))
    assert "demo zh_CN: no translation for 'Window {w}'" in problems
    assert all(p.startswith("demo zh_CN:") for p in problems)   # no .mo asked for: they are built, not committed


def _translate(po, table: dict) -> None:
    text = po.read_text(encoding="utf-8")
    for msgid, msgstr in table.items():
        text = text.replace(f'msgid "{msgid}"\nmsgstr ""', f'msgid "{msgid}"\nmsgstr "{msgstr}"')
    po.write_text(text, encoding="utf-8")


ZH = {"City": "市", "Choose a day.": "请选择日期。", "Elder mode is on.": "已开启大字模式。",
      "Window {w}": "{w}号窗口", "Back to home": "返回首页", "Day: {d}": "日期：{d}"}


def test_compiled_catalogue_is_read_by_gettext_and_check_passes(package):
    i18n.update(("demo",))
    _translate(i18n.po_path("zh_CN", "demo"), ZH)
    i18n.compile_all(("demo",))
    assert i18n.check(("demo",)) == []
    t = gettext.translation("demo", str(i18n.locale_dir("demo")), languages=["zh_CN"])
    assert t.gettext("Window {w}").format(w=3) == "3号窗口"
    assert gettext.translation("demo", str(i18n.locale_dir("demo")), languages=["en"]).gettext("City") == "City"


def test_check_catches_a_lost_placeholder_a_fuzzy_entry_and_a_new_string(package):
    i18n.update(("demo",))
    _translate(i18n.po_path("zh_CN", "demo"), {**ZH, "Window {w}": "窗口"})
    assert i18n.check(("demo",)) == ["demo zh_CN: the placeholders differ in 'Window {w}' -> '窗口'"]
    po = i18n.po_path("zh_CN", "demo")
    po.write_text(po.read_text(encoding="utf-8").replace('"Window {w}"\nmsgstr "窗口"', '"Window {w}"\nmsgstr "{w}号窗口"')
                  .replace('msgid "City"', '#, fuzzy\nmsgid "City"'), encoding="utf-8")
    assert [p for p in i18n.check(("demo",)) if "fuzzy" in p] == [
        "demo zh_CN: fuzzy (check it, then drop the fuzzy flag): 'City'"]
    (package / "demo.py").write_text((package / "demo.py").read_text() + 'tr("A new string")\n', encoding="utf-8")
    assert any("stale" in p for p in i18n.check(("demo",)))


def test_compile_rewrites_a_mo_only_when_its_po_says_something_new_and_leaves_fuzzy_out(package):
    i18n.update(("demo",))
    po = i18n.po_path("zh_CN", "demo")
    _translate(po, ZH)
    mo = po.with_suffix(".mo")
    assert mo in i18n.compile_all(("demo",)) and i18n.compile_all(("demo",)) == []   # current: not rewritten
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "市"', 'msgstr "城市"')
                  .replace('msgid "Day: {d}"', '#, fuzzy\nmsgid "Day: {d}"'), encoding="utf-8")
    assert i18n.compile_all(("demo",)) == [mo]
    t = gettext.translation("demo", str(i18n.locale_dir("demo")), languages=["zh_CN"])
    assert t.gettext("City") == "城市" and t.gettext("Day: {d}") == "Day: {d}"   # a fuzzy entry is not shipped
    assert not list(mo.parent.glob(".*.tmp"))


def test_the_wheels_build_compiles_the_same_catalogues(tmp_path):
    """setup.py's build step compiles every .po copied into the build directory into the very .mo
    a checkout gets from tools.i18n (the wheel ships them; tests/test_wheel.py opens a real one)."""
    compile_catalogues = runpy.run_path(str(i18n.ROOT / "setup.py"), run_name="setup")["compile_catalogues"]
    for domain in i18n.DOMAINS:
        for lang in i18n.LANGS:
            po = i18n.po_path(lang, domain)
            copy = tmp_path / po.relative_to(i18n.ROOT)
            copy.parent.mkdir(parents=True)
            shutil.copyfile(po, copy)
    written = compile_catalogues(tmp_path)
    assert len(written) == len(i18n.DOMAINS) * len(i18n.LANGS)
    i18n.compile_all()
    for mo in written:
        assert mo.read_bytes() == (i18n.ROOT / mo.relative_to(tmp_path)).read_bytes(), mo


@pytest.mark.parametrize("domain", list(i18n.DOMAINS))
def test_every_screen_string_is_translated(domain):
    """The real catalogues: template current, zh_CN complete, placeholders kept."""
    assert i18n.check((domain,)) == []


def test_the_printed_slips_messages_are_in_the_kiosk_template():
    """tickets.py lies outside kiosk/screens: Babel skipped it without a word until babel.cfg
    matched it, and the slips printed half in English on a Chinese terminal."""
    locations = set()
    with open(i18n.template("kiosk"), "rb") as f:
        for m in read_po(f):
            locations.update(loc for loc, _ in m.locations)
    assert "kiosk/services/tickets.py" in locations


def test_an_extra_source_no_section_matches_is_an_error(tmp_path, monkeypatch):
    cfg = tmp_path / "babel.cfg"
    cfg.write_text("[python: *.py]\n", encoding="utf-8")   # the old map: no section for tickets.py
    monkeypatch.setattr(i18n, "MAPPING", cfg)
    with pytest.raises(SystemExit, match="tickets.py"):
        i18n.extract(i18n.DOMAINS["kiosk"], tmp_path / "k.pot")
