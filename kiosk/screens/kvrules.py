"""kv rules of a freed widget: skipped, not raised into whatever changed the property they watch.

Owns one fix to Kivy's kv language (2.3.1), installed by :func:`install` before any kv file loads
(import it only after :func:`kiosk.screens.kivyenv.prepare`, like every module importing Kivy).

Why: a kv rule such as ``font_size: app.k * self.font_ref`` is bound to ``app.k`` and holds its
widget only through a weak proxy; Kivy unbinds the rule from the weak reference's callback once
the widget is freed. The demo tour met a rule still bound after its widget was gone (a booking-slot
button, its grid rebuilt, reached by the elder-mode switch; once in five tours on a loaded
machine): evaluating ``self`` raised ``ReferenceError`` out of the property's dispatch into the
code that set ``k``, the tour stopped, and every rule after it missed the new value. How Kivy left
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

    kivy_call_fn = builder.call_fn

    def call_fn(args: Any, instance: Any, value: Any) -> None:
        # args: (element, key, value, rule, idmap); element and idmap["self"] are weak proxies (one
        # and the same for a widget's own rules), checked before the rule is evaluated: calling
        # a freed one's __ref__ raises. Inline, one check when they are one proxy: a helper called
        # twice cost 240 ns per evaluation, a third of Kivy's own 714 ns under python -O and a
        # sixth of 1,733 ns without (tools/time_kvrules.py); this costs half that.
        element, this = args[0], args[4].get("self")
        try:
            if isinstance(element, WeakProxy):
                element.__ref__()
            if this is not element and isinstance(this, WeakProxy):
                this.__ref__()
        except ReferenceError:
            global skipped
            skipped += 1
            log.debug("kv rule of a freed widget skipped", extra={"key": args[1]})
            return
        kivy_call_fn(args, instance, value)

    builder.call_fn = call_fn
    _installed = True
