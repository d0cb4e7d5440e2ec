"""kv rules of a freed widget: skipped, not raised into whatever changed the property they watch.

Owns one fix to Kivy's kv language (2.3.1), installed by :func:`install` before any kv file loads
(import it only after :func:`kiosk.screens.kivyenv.prepare`, like every module importing Kivy).

Why: a kv rule such as ``font_size: app.k * self.font_ref`` is bound to ``app.k`` and holds its
widget only through a weak proxy; Kivy unbinds the rule from the weak reference's callback once
the widget is freed. The demo tour met a rule still bound after its widget was gone (a booking-slot
button, its grid rebuilt, reached by the elder-mode switch; once in five tours on a loaded
machine): evaluating ``self`` raised ``ReferenceError`` out of the property's dispatch into the
code that set ``k``, the tour stopped, and every rule after it missed the new value. Later the
same with ``root`` (a label of a freed identify screen, at a session's end). How Kivy left
that rule bound is not known (a widget freed during a dispatch has its rule skipped: checked with
Kivy 2.3.1). A freed widget needs no new value: its rule is skipped and counted, and the dispatch
goes on.
"""
from __future__ import annotations

import logging
from typing import Any

from kivy.weakproxy import WeakProxy

log = logging.getLogger("kiosk.screens.kvrules")

#: How many rules of freed widgets were skipped in this process (for tests and the log).
skipped = 0
_installed = False


def install() -> None:
    """Wrap Kivy's rule evaluation (idempotent). Must run before widgets are built: a rule's
    binding looks up the builder's ``call_fn`` when the rule is applied."""
    global _installed
    if _installed:
        return
    from kivy.lang import builder

    def call_fn(args: Any, instance: Any, value: Any) -> None:
        # Kivy's call_fn (kivy/lang/builder.py: count, eval, setattr) less its debug trace, with the
        # rule's widget checked first (a freed one's __ref__ raises; the value would go nowhere)
        # and the expression's own ReferenceError taken as "a widget it reads was freed": the demo
        # tour met both, a freed booking-slot button (self) on the elder switch, then a freed
        # identify screen (root, in ``app.tr(root.problem, app.lang)``) at a session's end, whose
        # label still lived. setattr stays outside: a live widget's handlers are theirs to answer.
        # Cost: below Kivy's own call (its trace line alone is ~1 us; tools/time_kvrules.py).
        element, key, code, rule, idmap = args
        try:
            if isinstance(element, WeakProxy):
                element.__ref__()
            rule.count += 1
            e_value = eval(code, idmap)
        except ReferenceError:
            global skipped
            skipped += 1
            log.debug("kv rule of a freed widget skipped", extra={"key": key})
            return
        setattr(element, key, e_value)

    builder.call_fn = call_fn
    _installed = True
