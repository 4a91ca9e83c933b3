"""Phone-number normalisation to E.164, shared by lead import and do-not-call lists."""

from __future__ import annotations

import phonenumbers


class PhoneNumberError(ValueError):
    """A phone number could not be read, or it is not a valid number; ``reason`` says which."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{reason}: {raw!r}")
        self.raw = raw
        self.reason = reason


def parse_number(raw: str, default_region: str) -> phonenumbers.PhoneNumber:
    """Parse ``raw`` (national numbers read in ``default_region``) and check that it is a valid number.

    Raises :class:`PhoneNumberError` with reason ``"unparseable number"`` or ``"invalid number"``.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneNumberError(raw, "unparseable number") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneNumberError(raw, "invalid number")
    return number


def to_e164(number: phonenumbers.PhoneNumber) -> str:
    """The number in E.164 form (``+`` and digits)."""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_e164(raw: str, default_region: str) -> str:
    """``raw`` as an E.164 string; raises :class:`PhoneNumberError` when it is not a valid number."""
    return to_e164(parse_number(raw, default_region))
