# Two commands (README): `make demo` and `make test`; both go through `make setup`.
# All three are idempotent: set-up installs only what is missing or changed.
.PHONY: setup demo test bench fuzz contract clean

VENV := .venv
PY := $(VENV)/bin/python

setup:
	@./scripts/setup.sh

# With a display: the kiosk window. Without (or DEMO_HEADLESS=1): the scripted tour under Xvfb,
# screenshots and tickets in demo-out/.
demo: setup
	@$(PY) -m kiosk demo --config config/demo.toml --out demo-out $(if $(DEMO_HEADLESS),--headless,)

test: setup
	@$(PY) -m pytest -q $(PYTEST_ARGS)

# Measured speed with same-run baselines (demo/hall_demo/bench; README "Measured speed").
bench: setup
	@$(PY) -m kiosk bench $(BENCH_ARGS)

fuzz: setup
	@$(PY) -m tools.fuzz_codecs --inputs 20000

# After changing the contract (kiosk/network/schemas/): regenerate what is made from it, the
# AsyncAPI document and the typed operations (docs/ARCHITECTURE.md "How to add a central operation").
contract: setup
	@$(PY) -m tools.gen_asyncapi
	@$(PY) -m tools.gen_operations

clean:
	rm -rf .run demo-out .pytest_cache
