"""The runtime's typed errors: the base and the configuration error live on the ground floor
(:mod:`hall_common.errors`, shared with the codecs); runtime-only errors are added here."""
from __future__ import annotations

from hall_common.errors import ConfigError, KioskError

__all__ = ["ConfigError", "KioskError"]
