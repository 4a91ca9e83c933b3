"""Lead import: read CSV rows into validated leads, and say why every other row was rejected.

Pure: the caller passes an open text stream (or already-parsed rows) and stores the result itself, in one
transaction, so a bad file never leaves a partial import.

Time zone of a lead, in order:

1. the mapped time-zone column, when the row has a value there: it must be an IANA name
   (``America/Chicago``), else the row is rejected;
2. the number itself: ``phonenumbers.timezone.time_zones_for_number`` maps the country and, for some
   countries (US/Canada area codes, ...), the area code to zones; used only when it names exactly one zone;
3. otherwise the campaign's default zone; such leads have ``zone_source == "default"`` and are listed in
   :attr:`ImportResult.defaulted` so that the import report can name them.
"""

from __future__ import annotations

import csv
import functools
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, TextIO, cast

from phonenumbers import timezone as pn_timezone

from ccapp.dialer.phone import PhoneNumberError, parse_number, to_e164
from ccapp.errors import CcappError

ZoneSource = Literal["column", "number", "default"]

#: what ``time_zones_for_number`` answers when it knows nothing about the number
_UNKNOWN_ZONE = "Etc/Unknown"


class LeadFileError(CcappError, ValueError):
    """The lead file as a whole cannot be imported (no header, or mapped columns missing from it)."""

    error_id = "lead_file_invalid"


class MissingColumnsError(LeadFileError):
    """The header lacks mapped columns; ``missing`` names them in mapping order."""

    error_id = "lead_columns_missing"

    def __init__(self, missing: list[str], header: list[str]) -> None:
        super().__init__(
            f"lead file header lacks column(s) {', '.join(missing)} (header: {', '.join(header) or 'empty'})"
        )
        self.missing = missing
        self.header = header


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Which CSV column holds what. Only ``phone`` is required; ``None`` means "not in this file"."""

    phone: str
    time_zone: str | None = None
    name: str | None = None
    external_id: str | None = None
    #: further columns copied verbatim into :attr:`Lead.extra` (e.g. for the agent's preview screen)
    extra: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        """Every mapped column name, in a stable order, without repeats."""
        names = [self.phone, self.time_zone, self.name, self.external_id, *self.extra]
        return list(dict.fromkeys(n for n in names if n is not None))


@dataclass(frozen=True, slots=True)
class Lead:
    """One importable lead."""

    line: int
    phone: str  # E.164
    zone: str  # IANA name
    zone_source: ZoneSource
    #: True when the zone was inferred from the number (not given, not the campaign default)
    zone_guessed: bool
    name: str | None = None
    external_id: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that was not imported: its line in the file, why, and the row as read."""

    line: int
    reason: str
    raw: Mapping[str, str | None]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Valid leads (file order) and rejected rows (file order)."""

    leads: list[Lead]
    rejected: list[Rejected]

    @property
    def defaulted(self) -> list[Lead]:
        """Leads whose zone is the campaign default because neither column nor number gave one."""
        return [lead for lead in self.leads if lead.zone_source == "default"]

    @property
    def rows(self) -> int:
        """Data rows read (imported + rejected)."""
        return len(self.leads) + len(self.rejected)


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_iana_zone(name: str) -> bool:
    """True when ``name`` is a time zone of the installed IANA database."""
    return name in _iana_zones()


def parse_leads(
    rows: Iterable[Mapping[str, str]] | TextIO,
    mapping: ColumnMapping,
    *,
    default_region: str,
    default_zone: str,
) -> ImportResult:
    """Validate lead rows; return the leads and a rejection (line, reason, raw row) for every bad row.

    ``rows`` is a CSV text stream with a header line, or rows already keyed by column name (line numbers
    are then counted as if a header were line 1). Line numbers are those of the file: the header is
    line 1, and a record spanning several lines (quoted newline) is numbered by its first line.
    ``default_region`` (ISO country, e.g. ``"US"``) reads national numbers; ``default_zone`` is the
    campaign's zone for leads whose zone neither the file nor the number gives.

    Raises :class:`MissingColumnsError` when the header lacks mapped columns, :class:`LeadFileError` for a
    file with no header, and :class:`ValueError` for a ``default_zone`` that is not an IANA name.
    """
    if not is_iana_zone(default_zone):
        raise ValueError(f"default zone {default_zone!r} is not an IANA time zone")
    numbered = (
        _read_csv(cast(TextIO, rows), mapping)
        if hasattr(rows, "read")  # a text stream; rows of mappings have no read()
        else _number_rows(rows)
    )
    leads: list[Lead] = []
    rejected: list[Rejected] = []
    first_line: dict[str, int] = {}
    for line, row in numbered:
        outcome = _parse_row(line, row, mapping, default_region, default_zone)
        if isinstance(outcome, str):
            rejected.append(Rejected(line, outcome, row))
            continue
        seen = first_line.get(outcome.phone)
        if seen is not None:
            rejected.append(Rejected(line, f"duplicate of line {seen} ({outcome.phone})", row))
            continue
        first_line[outcome.phone] = line
        leads.append(outcome)
    return ImportResult(leads, rejected)


def _number_rows(rows: Iterable[Mapping[str, str]]) -> Iterator[tuple[int, Mapping[str, str | None]]]:
    for index, row in enumerate(rows):
        yield index + 2, row


def _read_csv(stream: TextIO, mapping: ColumnMapping) -> Iterator[tuple[int, Mapping[str, str | None]]]:
    reader = csv.reader(stream)
    header: list[str] | None = None
    previous_end = 0
    for record in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # blank line
        if header is None:
            header = [name.strip().lstrip("\ufeff") for name in record]
            missing = [c for c in mapping.columns() if c not in header]
            if missing:
                raise MissingColumnsError(missing, header)
            continue
        # a short row leaves its last columns None, which _parse_row reports as missing
        row: dict[str, str | None] = {name: None for name in header}
        row.update(zip(header, record, strict=False))
        yield start, row
    if header is None:
        raise LeadFileError("lead file is empty: no header line")


def _parse_row(
    line: int, row: Mapping[str, str | None], mapping: ColumnMapping, default_region: str, default_zone: str
) -> Lead | str:
    """The lead, or the reason the row is rejected."""
    values: dict[str, str] = {}
    for column in mapping.columns():
        value = row.get(column)
        if value is None:
            return f"missing column {column!r}"
        values[column] = value.strip()
    raw_phone = values[mapping.phone]
    if not raw_phone:
        return f"empty phone number (column {mapping.phone!r})"
    try:
        number = parse_number(raw_phone, default_region)
    except PhoneNumberError as exc:
        return f"{exc.reason} {raw_phone!r}"
    zone_source: ZoneSource
    zone = values[mapping.time_zone] if mapping.time_zone is not None else ""
    if zone:
        if not is_iana_zone(zone):
            return f"unknown time zone {zone!r}"
        zone_source = "column"
    else:
        zones = pn_timezone.time_zones_for_number(number)
        if len(zones) == 1 and zones[0] != _UNKNOWN_ZONE and is_iana_zone(zones[0]):
            zone, zone_source = zones[0], "number"
        else:
            zone, zone_source = default_zone, "default"
    return Lead(
        line=line,
        phone=to_e164(number),
        zone=zone,
        zone_source=zone_source,
        zone_guessed=zone_source == "number",
        name=(values[mapping.name] or None) if mapping.name is not None else None,
        external_id=(values[mapping.external_id] or None) if mapping.external_id is not None else None,
        extra={column: values[column] for column in mapping.extra},
    )
