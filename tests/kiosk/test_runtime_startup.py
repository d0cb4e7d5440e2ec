"""Start-up caches of the runtime: python-escpos's printer profiles kept in the state directory."""
from __future__ import annotations

import os

from kiosk import runtime


def test_printer_profiles_are_cached_in_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ESCPOS_CAPABILITIES_PICKLE_DIR", raising=False)
    runtime._cache_printer_profiles(str(tmp_path / "state"))
    assert os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] == str(tmp_path / "state" / "cache" / "escpos")
    assert (tmp_path / "state" / "cache" / "escpos").is_dir()


def test_an_operators_own_cache_dir_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCPOS_CAPABILITIES_PICKLE_DIR", str(tmp_path / "mine"))
    runtime._cache_printer_profiles(str(tmp_path / "state"))
    assert os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] == str(tmp_path / "mine")
    assert not (tmp_path / "state").exists()


def test_a_read_only_state_dir_only_costs_time(tmp_path, monkeypatch):
    monkeypatch.delenv("ESCPOS_CAPABILITIES_PICKLE_DIR", raising=False)
    (tmp_path / "state").write_text("not a directory")
    runtime._cache_printer_profiles(str(tmp_path / "state"))  # no exception
    assert "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ
