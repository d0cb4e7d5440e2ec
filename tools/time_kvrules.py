"""Time the kv-rule guard (kiosk.screens.kvrules) against Kivy's bare ``call_fn``: a measurement to
run by hand, never a test (speed is measured, not asserted).

``python -m tools.time_kvrules [--n 200000] [--repeats 9]`` prints the best of ``repeats`` runs of
``n`` evaluations of one simple rule (``width: app.k * self.ref``), two ways: the rule's callback
called directly (the function alone: Kivy's eval and setattr, plus the guard), and the watched
property set (the whole dispatch a kv rule costs, with the widget's own ``width`` dispatch after
it). Both callbacks are timed in one process, their runs interleaved, so that the machine's drift
and the process's memory layout weigh on both alike (two processes, one per mode, gave overheads
from 4 % to 24 % for the same code). The bare rule is applied before the guard is installed: a rule
binds the ``call_fn`` the builder had when the rule was applied.

A Kivy widget insists on a window (``Widget.__init__`` calls ``EventLoop.ensure_window``, which
exits the process without one): the child opens one on a private Xvfb (hall_demo.xvfb), or on
``$DISPLAY`` with ``--display``; nothing is drawn while timing (no event loop runs).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from kiosk.screens import kivyenv
kivyenv.prepare()
from kivy.event import EventDispatcher
from kivy.lang import Builder, global_idmap
from kivy.properties import NumericProperty
from kivy.uix.widget import Widget
from kiosk.screens import kvrules
n, repeats = int(sys.argv[1]), int(sys.argv[2])
class App_(EventDispatcher):
    k = NumericProperty(1.0)   # watched by the bare rule
    j = NumericProperty(1.0)   # watched by the guarded rule
app = App_()
global_idmap["app"] = app
class Bare(Widget):
    ref = NumericProperty(10)
class Guarded(Widget):
    ref = NumericProperty(10)
Builder.load_string("<Bare>:\\n    width: app.k * self.ref\\n")
bare = Bare()
kvrules.install()
Builder.load_string("<Guarded>:\\n    width: app.j * self.ref\\n")
guarded = Guarded()
def callback(prop):
    (fn, largs, _kw, _is_ref, _uid), = app.get_property_observers(prop, args=True)
    return fn, largs[0]
def direct(prop, widget):
    fn, args = callback(prop)
    t = time.perf_counter_ns()
    for _ in range(n):
        fn(args, None, None)
    return time.perf_counter_ns() - t
def dispatch(prop, widget):
    t = time.perf_counter_ns()
    for i in range(n):
        setattr(app, prop, i)  # a new value each time, so the property dispatches
    took = time.perf_counter_ns() - t
    assert widget.width == (n - 1) * 10, widget.width   # the rule ran every time
    return took
out = {"fn": {m: "{0.__module__}.{0.__qualname__}".format(callback(p)[0]) for m, p in (("bare", "k"), ("guarded", "j"))}}
for way, run in (("direct", direct), ("dispatch", dispatch)):
    best = {"bare": float("inf"), "guarded": float("inf")}
    for _ in range(repeats):
        best["bare"] = min(best["bare"], run("k", bare) / n)
        best["guarded"] = min(best["guarded"], run("j", guarded) / n)
    out[way] = best
assert kvrules.skipped == 0
print(json.dumps(out))
"""


def _measure(n: int, repeats: int, display: str, optimize: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               DISPLAY=display)  # the rest of Kivy's environment: kiosk.screens.kivyenv.prepare
    if optimize:  # Kivy's call_fn formats a trace line under __debug__, eagerly: -O drops it
        env["PYTHONOPTIMIZE"] = "1"
    done = subprocess.run([sys.executable, "-c", CHILD, str(n), str(repeats)], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=600)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000, help="evaluations per run")
    ap.add_argument("--repeats", type=int, default=9, help="runs per way and callback; the best counts")
    ap.add_argument("--display", action="store_true", help="use $DISPLAY instead of a private Xvfb")
    ap.add_argument("-O", dest="optimize", action="store_true", help="run the child under python -O")
    args = ap.parse_args(argv)
    if args.display:
        out = _measure(args.n, args.repeats, os.environ["DISPLAY"], args.optimize)
    else:
        from hall_demo.xvfb import Xvfb
        with Xvfb() as x:
            out = _measure(args.n, args.repeats, x.display, args.optimize)
    print(f"{args.n} evaluations, best of {args.repeats}; python {sys.version.split()[0]}"
          f"{' -O' if args.optimize else ''}")
    for way in ("direct", "dispatch"):
        b, g = out[way]["bare"], out[way]["guarded"]
        print(f"{way:9} bare {b:7.0f} ns  guarded {g:7.0f} ns  overhead {g - b:+6.0f} ns ({(g - b) / b:+.1%})")
    print(f"callbacks: {out['fn']['bare']} / {out['fn']['guarded']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
