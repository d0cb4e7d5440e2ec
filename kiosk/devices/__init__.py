"""Drivers for the terminal's hardware: one module per role, built by name from the registry."""
