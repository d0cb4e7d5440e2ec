"""Translation catalogues of the touchscreen: extract, update, compile (.po -> .mo), check.

``python -m tools.i18n update``  adds new message ids from kiosk/screens (*.py, *.kv) to every
                                 catalogue (kiosk/screens/locale/<lang>/LC_MESSAGES/kiosk.po);
``python -m tools.i18n compile`` writes the .mo files (GNU gettext format, little endian);
``python -m tools.i18n check``   fails when a zh_CN message is missing or untranslated.
Message ids are the English strings passed to ``tr(...)`` / ``N_(...)``. The compiler follows the
layout of CPython's Tools/i18n/msgfmt.py (a header, two sorted string tables, no hash table).
"""
from __future__ import annotations

import argparse
import ast
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "kiosk" / "screens"
#: Outside the screens, what else a citizen reads in the session's language: paper.
PAPER_SOURCES = (ROOT / "kiosk" / "services" / "tickets.py",)
LOCALE = SOURCES / "locale"
LANGS = ("zh_CN", "en")
#: tr("..."), N_("..."), say("...") calls and ``spoken_prompt = "..."`` with one plain double-quoted
#: literal (what the extractor understands).
CALL_RE = re.compile(r'(?:\b(?:tr|N_|say)\(\s*|\bspoken_prompt\s*=\s*)("(?:[^"\\\n]|\\.)*")')
HEADER = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
          '"Content-Transfer-Encoding: 8bit\\n"\n"Language: {lang}\\n"\n\n')


def extract(src: Path = SOURCES) -> list[str]:
    """Every message id used in the screens' Python and kv files, in first-seen order."""
    seen: dict[str, None] = {}
    for path in sorted(list(src.glob("*.py")) + list(src.glob("*.kv"))) + list(PAPER_SOURCES if src == SOURCES else ()):
        for m in CALL_RE.finditer(path.read_text(encoding="utf-8")):
            seen.setdefault(ast.literal_eval(m.group(1)), None)
    return list(seen)


def _unquote(s: str) -> str:
    return ast.literal_eval(s)


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file (header entry included under the key "")."""
    out: dict[str, str] = {}
    msgid = msgstr = None
    section = None
    for raw in text.splitlines() + [""]:
        line = raw.strip()
        if not line or line.startswith("#"):
            if msgid is not None and msgstr is not None:
                out[msgid] = msgstr
            if not line:
                msgid = msgstr = section = None
            continue
        if line.startswith("msgid "):
            if msgid is not None and msgstr is not None:
                out[msgid] = msgstr
            msgid, msgstr, section = _unquote(line[6:]), None, "id"
        elif line.startswith("msgstr "):
            msgstr, section = _unquote(line[7:]), "str"
        elif line.startswith('"'):
            if section == "id":
                msgid += _unquote(line)
            elif section == "str":
                msgstr += _unquote(line)
    return out


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_po(path: Path, lang: str, entries: dict[str, str]) -> None:
    """Write a .po file (header + entries in the given order)."""
    body = "".join(f"msgid {_quote(k)}\nmsgstr {_quote(v)}\n\n" for k, v in entries.items() if k)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(lang=lang) + body, encoding="utf-8")


def compile_mo(entries: dict[str, str]) -> bytes:
    """The bytes of a GNU .mo file for ``entries`` (untranslated entries are left out)."""
    items = sorted((k.encode(), v.encode()) for k, v in entries.items() if v)
    ids = b"".join(k + b"\0" for k, _ in items)
    strs = b"".join(v + b"\0" for _, v in items)
    n = len(items)
    keystart = 7 * 4 + 16 * n
    valuestart = keystart + len(ids)
    koffsets, voffsets, ko, vo = [], [], 0, 0
    for k, v in items:
        koffsets += [len(k), keystart + ko]
        voffsets += [len(v), valuestart + vo]
        ko += len(k) + 1
        vo += len(v) + 1
    header = struct.pack("<7I", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    return header + struct.pack(f"<{2 * n}I", *koffsets) + struct.pack(f"<{2 * n}I", *voffsets) + ids + strs


def po_path(lang: str) -> Path:
    """The catalogue of ``lang``."""
    return LOCALE / lang / "LC_MESSAGES" / "kiosk.po"


def update() -> None:
    """Add new ids to every catalogue (keeping translations; dropping ids no longer used)."""
    ids = extract()
    for lang in LANGS:
        p = po_path(lang)
        old = parse_po(p.read_text(encoding="utf-8")) if p.exists() else {}
        write_po(p, lang, {"": old.get("", "")} | {i: old.get(i, i if lang == "en" else "") for i in ids})


def compile_all() -> None:
    """Compile every .po next to itself."""
    for lang in LANGS:
        p = po_path(lang)
        entries = parse_po(p.read_text(encoding="utf-8"))
        entries[""] = "Content-Type: text/plain; charset=UTF-8\nLanguage: %s\n" % lang
        p.with_suffix(".mo").write_bytes(compile_mo(entries))


def check() -> list[str]:
    """Problems: ids used in code but missing or untranslated in zh_CN."""
    zh = parse_po(po_path("zh_CN").read_text(encoding="utf-8"))
    return [f"zh_CN: no translation for {i!r}" for i in extract() if not zh.get(i)]


def main(argv: list[str] | None = None) -> int:
    """CLI."""
    p = argparse.ArgumentParser(description="kiosk touchscreen catalogues")
    p.add_argument("command", choices=("update", "compile", "check", "extract"))
    a = p.parse_args(argv)
    if a.command == "extract":
        print("\n".join(extract()))
    elif a.command == "update":
        update()
    elif a.command == "compile":
        compile_all()
    else:
        problems = check()
        print("\n".join(problems) or "ok")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
