"""The speech adapters' errors, in ccapp's one tree (`ccapp.errors.CcappError`)."""

from __future__ import annotations

from ccapp.errors import CcappError


class SpeechError(CcappError):
    """Synthesis or recognition failed (a missing binary, a timeout, a word the dictionary lacks)."""

    error_id = "speech_error"
