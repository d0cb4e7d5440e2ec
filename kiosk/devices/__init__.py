"""Drivers for the terminal's hardware: one module per role (kiosk/roles.py lists the roles), each on
the driver skeleton (skeleton.py), built by name from the registry (entry points ``kiosk.drivers``);
virtual.py holds every role's in-memory driver."""
