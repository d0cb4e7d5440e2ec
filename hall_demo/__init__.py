"""Demo, tour and test-harness tools that drive the kiosk from outside its runtime.

Nothing in ``kiosk`` imports this package (the ``kiosk`` CLI imports it lazily, inside the handler
of a developer's subcommand such as ``kiosk check-layout``).
"""
