"""The machine a benchmark ran on: CPU model, cores, Python, library and broker versions."""
from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata

#: The libraries whose speed the figures depend on (distribution names on PyPI).
LIBRARIES = ("zxing-cpp", "opencv-python-headless", "numpy", "paho-mqtt", "pyserial", "kivy",
             "jsonschema", "psutil", "python-escpos", "pillow")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or platform's guess elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mosquitto_version() -> str:
    """The Mosquitto broker's version line, or "" if it is not installed."""
    from hall_central.broker_profile import find_mosquitto
    try:
        out = subprocess.run([find_mosquitto(), "-h"], capture_output=True, text=True, timeout=5)
    except (OSError, FileNotFoundError, subprocess.TimeoutExpired):
        return ""
    first = (out.stdout or out.stderr).splitlines()
    return first[0].strip() if first else ""


def describe() -> dict:
    """The machine's description for the report."""
    libs = {}
    for name in LIBRARIES:
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = "not installed"
    libs["sqlite"] = sqlite3.sqlite_version
    libs["mosquitto"] = mosquitto_version()
    affinity: int | None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        affinity = os.cpu_count()
    return {"cpu_model": cpu_model(), "cpus": os.cpu_count(), "cpus_usable": affinity,
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(terse=True), "libraries": libs}
