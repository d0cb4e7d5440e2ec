"""The codecs' own error base: every typed error a codec, a card profile or a simulator raises.

A :class:`CodecError` is a :class:`hall_common.errors.KioskError` (code, reason, action, what the
citizen is told), so the drivers above hand it on as it is; the codecs import nothing of the
runtime and stand alone.
"""
from __future__ import annotations

from hall_common.errors import ConfigError, KioskError


class CodecError(KioskError):
    """Base of the codecs' errors: bytes or data that a device's protocol does not allow."""

    code = "codec"


class ProfileError(ConfigError):
    """A card profile or printer profile (data shipped with the codecs) is malformed or unknown."""
