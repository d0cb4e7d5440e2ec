"""The review screenshots: every screen state the tour reaches, per language and type size, one
folder each, and an index page that shows the four side by side (issue 12).

Layout under a chosen folder (``demo-out/screens`` for ``make demo``, ``<size>/shots`` for
``kiosk check-layout --shots``)::

    zh_CN-standard/NN-<screen>-<state>.png   zh_CN-elder/...   en-standard/...   en-elder/...
    index.html                               one row per state, one column per folder

A state is a (screen, tour step) pair, met for the first time in that language's tour: the same
names in every language, because each language plays the same steps (hall_demo.tour_steps), so
a row of the index always has its four pictures. The folder is the tour's language, not the one on
screen: the home screen a citizen leaves behind shows the terminal's language whatever the tour's
is, and its English picture says so. What the pictures are taken of, and how the type size is
switched and the layout waited for, is hall_demo.layoutprobe.Inspector's; this module only names
and lists.
"""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

#: The type sizes, as folder suffixes (``app.elder`` False, True).
MODES = ("standard", "elder")


def slug(text: str) -> str:
    """A file-name part: lower case, runs of anything but letters and digits as one hyphen."""
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")


def folder(lang: str, elder: bool) -> str:
    """``<lang>-<mode>``."""
    return f"{lang}-{MODES[int(elder)]}"


class ReviewShots:
    """Which tour states get review screenshots, and their names (see the module docstring).

    During the tour, :meth:`take` is told every step of each language's tour with the key of what
    it shows: a step showing something new to that language's tour is photographed under a
    provisional name (its place in the tour); one showing what an earlier step of it showed is
    noted as the same. :meth:`finish` then names the states: every step that was new in some
    language, numbered in tour order. A state new in one language's tour but a repeat in another's
    (the home screen a citizen leaves is the terminal's language, Chinese: new in the English
    tour, the plain home screen in the Chinese one) gets, in that other language, a copy of the
    picture it repeats, so that every folder has every state."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # lang -> the steps of its tour so far: (screen, step name, the earlier place it repeats or None)
        self._steps: dict[str, list[tuple[str, str, int | None]]] = {}
        self._first: dict[str, dict[str, int]] = {}    # lang -> key -> first place showing it
        self.same_as: dict[tuple[str, str], str] = {}  # (folder, name) -> the name it is a copy of

    def take(self, lang: str, screen: str, step: str, key: str) -> str | None:
        """Note the next step of ``lang``'s tour; the provisional file name to photograph it
        under when it shows something new to that tour, else None."""
        steps, first = self._steps.setdefault(lang, []), self._first.setdefault(lang, {})
        place = len(steps)
        earlier = first.setdefault(key, place)
        steps.append((screen, step, None if earlier == place else earlier))
        return f"step-{place:03d}.png" if earlier == place else None

    def path(self, lang: str, elder: bool, name: str) -> Path:
        """Where ``name`` of ``lang`` in that type size goes (its folder made)."""
        target = self.root / folder(lang, elder) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def finish(self, title: str = "Kiosk screens") -> list[str]:
        """Give the pictures their names (``NN-<screen>-<step>.png``), fill each language's
        repeats with copies and write the index page; the names, in order."""
        places = sorted({i for steps in self._steps.values() for i, s in enumerate(steps) if s[2] is None})
        names: list[str] = []
        final: dict[str, dict[int, str]] = {lang: {} for lang in self._steps}
        for n, place in enumerate(places, 1):
            screen, step = next(steps[place][:2] for steps in self._steps.values()
                                if len(steps) > place and steps[place][2] is None)
            name = f"{n:02d}-{slug(screen)}-{slug(step)}.png"
            names.append(name)
            for lang, steps in self._steps.items():
                if len(steps) <= place:
                    continue   # that language's tour stopped short: the index shows the gap
                earlier = steps[place][2]
                final[lang][place] = name
                for elder in (False, True):
                    d = self.root / folder(lang, elder)
                    # A picture may be missing: a tour that stopped between a state's two type
                    # sizes took only the first. The index shows the gap; the tour's own failure
                    # is what gets reported (a FileNotFoundError here used to hide it).
                    source = d / (f"step-{place:03d}.png" if earlier is None else final[lang][earlier])
                    if not source.exists():
                        continue
                    if earlier is None:
                        source.replace(d / name)
                    else:
                        shutil.copyfile(source, d / name)
                        self.same_as[(folder(lang, elder), name)] = final[lang][earlier]
        write_index(self.root, tuple(self._steps), title, self.same_as)
        return names


def _order(name: str) -> tuple[int, str]:
    number = name.split("-", 1)[0]
    return (int(number) if number.isdigit() else 10**6, name)


def write_index(root: Path, langs=("zh_CN", "en"), title: str = "Kiosk screens",
                same_as: dict[tuple[str, str], str] | None = None) -> Path:
    """Write ``root/index.html`` from the folders' files: one row per state (file name), one
    column per language and type size; a picture missing from a folder shows as "missing", one
    that repeats an earlier state (``same_as``: (folder, name) -> name) says which."""
    same_as = same_as or {}
    root = Path(root)
    columns = [folder(lang, elder) for lang in langs for elder in (False, True)]
    names = sorted({p.name for c in columns for p in (root / c).glob("*.png")}, key=_order)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for name in names:
        cells = []
        for c in columns:
            if (root / c / name).exists():
                src = html.escape(f"{c}/{name}", quote=True)
                note = same_as.get((c, name))
                caption = f'<div class="same">same as {html.escape(note.split("-", 1)[0])}</div>' if note else ""
                cells.append(f'<td><a href="{src}"><img src="{src}" loading="lazy" alt="{src}"></a>{caption}</td>')
            else:
                cells.append('<td class="missing">missing</td>')
        rows.append(f'<tr><th class="state">{html.escape(name.removesuffix(".png"))}</th>{"".join(cells)}</tr>')
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 8px; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: 4px; vertical-align: top; }}
thead th {{ position: sticky; top: 0; background: #fff; }}
th.state {{ text-align: left; font-weight: normal; font-size: 12px; width: 9em; word-break: break-all; }}
img {{ width: 100%; height: auto; display: block; }}
td.missing {{ color: #b00; text-align: center; }}
div.same {{ font-size: 12px; color: #555; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{len(names)} states; each row: the same state in each language and type size (click for full size).</p>
<table><thead><tr><th>state</th>{head}</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
    out = root / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
