"""Translation catalogues of the touchscreens, through Babel (a thin wrapper over ``pybabel``).

``python -m tools.i18n update``  pybabel extract (babel.cfg, keywords tr / N_ / say) into each
                                 domain's template (<package>/locale/<domain>.pot), then pybabel
                                 update of every language's .po; does nothing when no message changed;
``python -m tools.i18n compile`` every .po -> its .mo, through Babel (what the terminal reads with
                                 Python's gettext, kiosk.i18n). The .mo files are build outputs, not
                                 committed: scripts/setup.sh and the test session run this, and the
                                 wheel's build compiles its own copies (setup.py);
``python -m tools.i18n check``   exit 1 on a stale template, a message zh_CN lacks, leaves
                                 untranslated or fuzzy, or whose {placeholders} differ
                                 (tests/tools/test_i18n.py runs it).

Two gettext domains: ``kiosk`` (kiosk/screens) and ``mobile`` (kiosk/screens/mobile). Message ids
are the English texts; the en catalogues may leave a message empty (gettext then shows the id).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "babel.cfg"
#: domain -> the package whose files carry its messages (its catalogues are in <package>/locale).
DOMAINS = {"kiosk": ROOT / "kiosk" / "screens", "mobile": ROOT / "kiosk" / "screens" / "mobile"}
#: Files outside a domain's package whose messages belong to it: the paper a citizen reads (slips
#: and tickets print in the session's language through the kiosk's catalogues).
EXTRA_SOURCES = {DOMAINS["kiosk"]: (ROOT / "kiosk" / "services" / "tickets.py",)}
LANGS = ("zh_CN", "en")
#: What marks a message: tr(...) (app.tr / self.tr), N_(...) (marked where defined, translated
#: where shown, e.g. ``spoken_prompt = N_("...")``) and say(...) (spoken in elder mode).
KEYWORDS = ("tr", "N_", "say")
#: Why --sort-output, file-only locations and no wrapping: several people add strings at once;
#: sorted, line-number-free entries keep their diffs small and their merges clean.
EXTRACT_OPTS = ("--no-default-keywords", *(f"--keyword={k}" for k in KEYWORDS), "--sort-output",
                "--add-location=file", "--no-wrap", "--charset=utf-8", "--project=hall-kiosk",
                "--copyright-holder=the hall-kiosk authors",
                "--header-comment=# Messages of the hall-kiosk touchscreens (made by python -m tools.i18n update).")
#: str.format fields of a message ("{n}", "{start}"): a translation must keep every one of them.
FIELD_RE = re.compile(r"\{(\w*)(?:[:!][^}]*)?\}")


def pybabel(*args: str) -> None:
    """Run one pybabel command in this process, from the repository's root (so the catalogues
    name source files by their path in the repository); raises SystemExit on a usage error."""
    with contextlib.chdir(ROOT):
        CommandLineInterface().run(["pybabel", "--quiet", *args])


def _rel(path: Path) -> str:
    """``path`` as pybabel is given it: relative to the repository when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def locale_dir(domain: str) -> Path:
    """Where the catalogues of ``domain`` live."""
    return DOMAINS[domain] / "locale"


def template(domain: str) -> Path:
    """The committed template (.pot) of ``domain``."""
    return locale_dir(domain) / f"{domain}.pot"


def po_path(lang: str, domain: str = "kiosk") -> Path:
    """The catalogue of ``lang`` in ``domain``."""
    return locale_dir(domain) / lang / "LC_MESSAGES" / f"{domain}.po"


def extract(src: Path, out: Path) -> Path:
    """pybabel extract of the package ``src`` (its own files, not subfolders) into ``out``."""
    extra = [_rel(f) for f in EXTRA_SOURCES.get(src, ())]
    pybabel("extract", "-F", str(MAPPING), *EXTRACT_OPTS, "-o", str(out), _rel(src), *extra)
    # Babel skips a file that no section of babel.cfg matches, without a word: an extra source
    # that yields no message is a mapping error, not an empty file (tickets.py was lost so once).
    used = {loc for m in _messages(out).values() for loc, _ in m.locations}
    for f in extra:
        if f not in used:
            raise SystemExit(f"i18n: no message extracted from {f}: does a babel.cfg section match it?")
    return out


def _messages(pot_or_po: Path) -> dict:
    """msgid -> Message of a catalogue file (the header left out)."""
    with open(pot_or_po, "rb") as f:
        return {m.id: m for m in read_po(f) if m.id}


def _entries(path: Path) -> list:
    """What a template says, without its header dates: (id, where it is used) in order."""
    return [(m.id, sorted({loc for loc, _ in m.locations})) for m in _messages(path).values()]


def update(domains=tuple(DOMAINS)) -> list[Path]:
    """Extract and merge new messages into every catalogue; the files changed."""
    changed = []
    for domain in domains:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = extract(DOMAINS[domain], Path(tmp) / f"{domain}.pot")
            pot = template(domain)
            if pot.exists() and _entries(pot) == _entries(fresh):
                continue  # nothing new: leave the files (and their dates) alone
            pot.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fresh, pot)
        changed.append(pot)
        for lang in LANGS:
            po = po_path(lang, domain)
            verb = "update" if po.exists() else "init"
            pybabel(verb, "-i", str(pot), "-d", str(locale_dir(domain)), "-D", domain, "-l", lang, "--no-wrap",
                    *(("--ignore-obsolete",) if verb == "update" else ()))
            changed.append(po)
    return changed


def compile_all(domains=tuple(DOMAINS)) -> list[Path]:
    """Compile every language of every domain (.po -> .mo beside it); the .mo files written."""
    return [po.with_suffix(".mo") for domain in domains for lang in LANGS
            if (po := po_path(lang, domain)).exists() and compile_po(po)]


def compile_po(po: Path) -> bool:
    """``po`` -> the .mo beside it, as ``pybabel compile`` makes it (fuzzy entries left out).
    Written only when its bytes change, and atomically: a test run or a kiosk reading it meanwhile
    sees the old file or the new one, never half of one (several test sessions compile at once).
    True when it was written."""
    with open(po, "rb") as f:
        catalog = read_po(f)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.read_bytes() == buf.getvalue():
        return False
    tmp = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, mo)
    return True


def check(domains=tuple(DOMAINS)) -> list[str]:
    """Every problem of the catalogues, as lines a person can act on (empty: all good)."""
    problems = []
    for domain in domains:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = _messages(extract(DOMAINS[domain], Path(tmp) / "fresh.pot"))
        pot = template(domain)
        if not pot.exists() or set(_messages(pot)) != set(fresh):
            problems.append(f"{domain}: {_rel(pot)} is stale: run python -m tools.i18n update")
        zh = _messages(po_path("zh_CN", domain))
        for msgid in fresh:
            m = zh.get(msgid)
            if m is None or not m.string:
                problems.append(f"{domain} zh_CN: no translation for {msgid!r}")
            elif m.fuzzy:
                problems.append(f"{domain} zh_CN: fuzzy (check it, then drop the fuzzy flag): {msgid!r}")
            elif set(FIELD_RE.findall(msgid)) != set(FIELD_RE.findall(m.string)):
                problems.append(f"{domain} zh_CN: the placeholders differ in {msgid!r} -> {m.string!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """CLI."""
    p = argparse.ArgumentParser(description="the touchscreens' translation catalogues (Babel)")
    p.add_argument("command", choices=("update", "compile", "check"))
    p.add_argument("--domain", choices=tuple(DOMAINS), action="append", help="default: every domain")
    a = p.parse_args(argv)
    domains = tuple(a.domain or DOMAINS)
    if a.command == "update":
        for path in update(domains):
            print(f"updated {_rel(path)}")
    elif a.command == "compile":
        for path in compile_all(domains):
            print(f"compiled {_rel(path)}")
    else:
        problems = check(domains)
        print("\n".join(problems) or "ok")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
