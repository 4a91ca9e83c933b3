"""Lenient conversions of journal event data (plain JSON) into column values: anything odd becomes
None ("no news" to the projections' merge rules) rather than a failed batch."""

from __future__ import annotations

from typing import Any


def as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
