"""`AmiMessage`: one AMI response or event, copied out of panoramisk once at the edge."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """Headers by lower-cased name (AMI names are case-insensitive); a header may repeat
    (``Output``, ``ChanVariable``), so each holds a tuple. ``content`` is the body of old-style
    ``Response: Follows`` replies."""

    fields: Mapping[str, tuple[str, ...]]
    names: Mapping[str, str] = field(default_factory=dict)
    content: str = ""

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str | list[str] | tuple[str, ...]], content: str = ""
    ) -> AmiMessage:
        fields: dict[str, tuple[str, ...]] = {}
        names: dict[str, str] = {}
        for key, value in headers.items():
            values = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
            fields[key.lower()] = fields.get(key.lower(), ()) + values
            names[key.lower()] = key
        return cls(fields=fields, names=names, content=content)

    @classmethod
    def from_panoramisk(cls, message: Any) -> AmiMessage:
        """Copy a ``panoramisk.message.Message`` (the only place its dynamic API is touched)."""
        headers = {str(key): value for key, value in message.items() if key != "content"}
        content = message.get("content", "") or ""
        return cls.from_headers(headers, str(content))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of a header, or ``default``."""
        values = self.fields.get(name.lower())
        return values[0] if values else default

    def __getitem__(self, name: str) -> str:
        values = self.fields.get(name.lower())
        if not values:
            raise KeyError(name)
        return values[0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.fields

    def get_all(self, name: str) -> tuple[str, ...]:
        """Every value of a repeated header, in order."""
        return self.fields.get(name.lower(), ())

    def items(self) -> Iterator[tuple[str, str]]:
        """(name as Asterisk spelled it, first value) pairs."""
        for key, values in self.fields.items():
            yield self.names.get(key, key), values[0]

    @property
    def event(self) -> str:
        """The event name, or "" for a response."""
        return self.get("Event", "") or ""

    @property
    def response(self) -> str:
        return self.get("Response", "") or ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    @property
    def success(self) -> bool:
        return self.response in ("Success", "Follows", "Goodbye")

    @property
    def message(self) -> str:
        return self.get("Message", "") or ""
