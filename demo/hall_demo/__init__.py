"""The demo, tours, explorer, layout check, benchmarks and test harness of the hall kiosk: a whole
terminal on one machine (private broker, reference central service, simulators, Xvfb) for people
and tests. Never installed on a terminal; the runtime (``kiosk``) never imports it."""

from pathlib import Path

#: The checkout this package runs from (demo/hall_demo/__init__.py): config/, the tests' data.
ROOT = Path(__file__).resolve().parents[2]
