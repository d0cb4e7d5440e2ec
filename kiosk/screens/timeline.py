"""The four-level timeline (village -> township -> county -> city, left to right, or top to bottom
where four columns do not fit): one widget for
the progress screen (an application's steps: done, handling now, to come) and the service guide
(an item's stages: the office at each level and what happens there).

A stage is ``{"level", "agency", "action" or "steps", "status"?}`` with its texts already in the
session's language (kiosk.network.catalogue.localize); a level the stages do not name shows as
not involved. Without a status (the guide) a stage is a plain step of the route.
"""
from __future__ import annotations

from kivy.app import App
from kivy.graphics import Color, Line
from kivy.properties import BooleanProperty, ListProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens import theme
from kiosk.screens.i18n import N_
from kiosk.screens.widgets import KLabel

#: The four levels in the order a file moves up (the timeline reads left to right).
LEVELS = ("village", "township", "county", "city")
#: The four levels of the service network, as shown.
LEVEL_NAMES = {"village": N_("Village"), "township": N_("Township"), "county": N_("County"), "city": N_("City")}
#: A column narrower than this many characters of its type turns the four columns into four rows
#: (the portrait panel, elder mode): in a column that narrow an office's name broke inside its
#: words and a level's name ("乡|镇") split. 12: the common names of offices fit on two lines.
MIN_COLUMN_CHARS = 12
#: Mark and state line of each status (an application's step); None: the guide's plain route.
STATES = {"done": ("✓", N_("done")), "current": ("●", N_("handling now")), "pending": ("○", N_("to come"))}


class Timeline(BoxLayout):
    """Four columns, one per level, drawn by :meth:`show` (and :meth:`refresh` after a language
    switch); four rows (``rows``) where a column would be too narrow. With ``size_hint_y: None``
    its height follows its tallest column, or all its rows (in a ScrollView)."""

    stages = ListProperty([])
    rows = BooleanProperty(False)
    #: Each column's state on a line of its own, under its level (:meth:`_want_split`).
    split = BooleanProperty(False)

    def __init__(self, **kw) -> None:
        kw.setdefault("spacing", 8)
        self._heads: list[str] = []   # each column's first line, level and state on one line
        super().__init__(**kw)
        self.bind(pos=self._draw, size=self._draw, rows=self._draw, width=self._on_width)
        # Elder mode changes the type size: redraw (a bound method: Kivy holds it weakly, so a
        # dropped screen's timeline is not kept alive by the app).
        App.get_running_app().bind(k=self._on_scale)

    def _on_scale(self, *_) -> None:
        if self.stages:
            self.refresh()

    def _want_rows(self) -> bool:
        k = App.get_running_app().k
        return (self.width - 3 * self.spacing) / 4 < MIN_COLUMN_CHARS * k * theme.FONT_SMALL

    def _on_width(self, *_) -> None:
        if self._want_rows() != self.rows or self._want_split() != self.split:
            self.refresh()

    def _want_split(self) -> bool:
        """Whether a column's head ("● Township · handling now") is wider than its column: then
        every head puts its state on a line of its own, instead of one wrapping inside its words
        (English beside the citizen's list of applications, at 1280x800 and 1080x1920)."""
        if self.rows or not self.children or not self._heads:
            return False
        column = (self.width - 3 * self.spacing) / 4
        core = self.children[0]._label    # the columns' own font options
        return any(core.get_extents(h)[0] > column for h in self._heads)

    def show(self, stages: list[dict]) -> None:
        """Draw ``stages`` (texts in the session's language)."""
        self.stages = list(stages)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the columns from ``stages`` in the app's language."""
        app = App.get_running_app()
        tr, k = app.tr, app.k
        self.rows = self._want_rows()
        self.orientation = "vertical" if self.rows else "horizontal"
        # rows: the route's line runs down the left edge, the text beside it
        self.padding = (k * 16, 0, 0, 0) if self.rows else (0, 0, 0, 0)
        self.clear_widgets()
        self._heads = []
        if not self.stages:     # nothing shown yet (the number entry): not four "not involved" levels
            self._fit()
            self._draw()
            return
        by_level = {s.get("level"): s for s in self.stages}
        columns: list[tuple[KLabel, str, str, list[str]]] = []   # label, level, state, the lines under them
        for level in LEVELS:
            s = by_level.get(level)
            if s is None:
                head, state, rest, colour = f"—  {tr(LEVEL_NAMES[level])}", "", [tr("not involved")], theme.MUTED
            else:
                status = s.get("status")
                mark, state = STATES.get(status, ("○", ""))
                head, state = f"{mark} {tr(LEVEL_NAMES[level])}", tr(state) if status else ""
                lines = s.get("steps") or [s.get("action", "")]
                rest = [s.get("agency", ""), *[t for t in lines if t]]
                colour = theme.PRIMARY if status == "current" else theme.TEXT
            # columns start at the top, level beside level (a shorter one sat lower, its level too)
            label = KLabel(halign="left" if self.rows else "center", font_size=k * theme.FONT_SMALL,
                           color=colour, pos_hint={"top": 1})
            label.bind(height=self._fit)
            self.add_widget(label)
            columns.append((label, head, state, rest))
        self._heads = [f"{head} · {state}" for _, head, state, _ in columns if state]
        self.split = self._want_split()
        for label, head, state, rest in columns:
            first = [head, state] if (self.split and state) else [f"{head} · {state}" if state else head]
            label.text = "\n".join(first + rest)
        self._fit()

    def _fit(self, *_) -> None:
        if self.size_hint_y is None:
            heights = [c.height for c in self.children]    # none: no stages, no height
            self.height = (sum(heights) + self.spacing * max(0, len(heights) - 1) if self.rows
                           else max(heights + [0]))

    def _draw(self, *_) -> None:
        """A thin line above the columns, or left of the rows: the route the file takes."""
        self.canvas.before.clear()
        if not self.stages:
            return
        # From y + height and x + width, never ``top`` and ``right``: those are cached aliases that
        # Kivy brings up to date only after the ``size`` handlers have run, so a redraw on a new
        # height read the previous one's top. After switching to English (re-wrapped rows, a taller
        # timeline) the line started one line below the first level (a cold try's finding).
        top, right = self.y + self.height, self.x + self.width
        with self.canvas.before:
            Color(*theme.MUTED[:3], 0.5)
            if self.rows:
                Line(points=[self.x + 2, self.y, self.x + 2, top], width=1.2)
            else:
                Line(points=[self.x, top - 2, right, top - 2], width=1.2)
