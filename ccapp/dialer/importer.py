"""``ccapp campaign import``: a lead CSV into a campaign, all or nothing, with a report of every row left out.

Steps: read the header and build the column mapping (``--map`` wins, else well-known column names; every
other column is kept as the lead's extra data), parse and validate the rows (`ccapp.dialer.leads`), then
write the valid leads, minus numbers the campaign already has, in one transaction
(`ccapp.storage.dialer_leads.store_import`). A crash at any point leaves the campaign as it was, so the
same command can simply be run again.

Progress goes to stderr: a bar redrawn in place on a terminal, a plain line every 10 % otherwise (logs).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from ccapp.dialer.leads import ColumnMapping, ImportResult, Lead, LeadFileError, Rejected, parse_leads
from ccapp.storage.db import Database
from ccapp.storage.dialer_leads import ImportCounts, record_failed_import, store_import

#: ``--map`` keys and the ColumnMapping field each sets
MAP_KEYS = {"phone": "phone", "zone": "time_zone", "name": "name", "id": "external_id"}
#: header names recognised without ``--map`` (case-insensitive), per key
KNOWN_COLUMNS = {
    "phone": ("phone", "phone_number", "number", "telephone", "tel", "mobile"),
    "zone": ("time_zone", "timezone", "tz", "zone"),
    "name": ("name", "full_name"),
    "id": ("id", "external_id", "customer_id", "lead_id"),
}
DUPLICATE_PREFIX = "duplicate of line"

log = logging.getLogger(__name__)


class LeadFileUnreadable(LeadFileError):
    """The file cannot be read at all (not text in the expected encoding, or not a file)."""

    error_id = "lead_file_unreadable"


def parse_map(text: str | None) -> dict[str, str]:
    """``phone=Phone,zone=TZ`` → ``{"phone": "Phone", "zone": "TZ"}``; raises ValueError naming a bad item."""
    spec: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, column = item.partition("=")
        key = key.strip().lower()
        if not sep or not column.strip():
            raise ValueError(f"--map item {item!r}: expected KEY=COLUMN")
        if key not in MAP_KEYS:
            raise ValueError(f"--map key {key!r}: expected one of {', '.join(MAP_KEYS)}")
        spec[key] = column.strip()
    return spec


def build_mapping(header: list[str], spec: dict[str, str]) -> ColumnMapping:
    """The mapping for this header: ``spec`` columns, else known names; the rest are extra columns.

    Columns named in ``spec`` but absent from the header are kept, so that `parse_leads` reports them
    as missing (with the header it found).
    """
    lowered = {name.lower(): name for name in header}
    chosen: dict[str, str | None] = {}
    for key in MAP_KEYS:
        if key in spec:
            chosen[key] = spec[key]
        else:
            chosen[key] = next((lowered[n] for n in KNOWN_COLUMNS[key] if n in lowered), None)
    phone = chosen["phone"] or "phone"
    used = {phone, *(c for c in chosen.values() if c)}
    return ColumnMapping(
        phone=phone,
        time_zone=chosen["zone"],
        name=chosen["name"],
        external_id=chosen["id"],
        extra=tuple(name for name in header if name and name not in used),
    )


def read_header(path: Path, encoding: str) -> list[str]:
    """The first non-blank CSV record of the file (empty when there is none)."""
    with path.open("rb") as stream:
        for record in csv.reader(_LineReader(stream, path.name, encoding)):
            if record and any(cell.strip() for cell in record):
                return [cell.strip().lstrip("\ufeff") for cell in record]
    return []


class Progress:
    """Import progress on stderr: a bar on a terminal, a line per 10 % step elsewhere."""

    def __init__(self, stream: TextIO, *, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._tty = stream.isatty()
        self._shown: tuple[str, int] | None = None

    def __call__(self, phase: str, fraction: float, detail: str = "") -> None:
        percent = round(min(max(fraction, 0.0), 1.0) * 100)
        step = percent if self._tty else percent // 10 * 10
        if self._shown == (phase, step):
            return
        self._shown = (phase, step)
        if self._tty:
            filled = percent * self._width // 100
            bar = "#" * filled + "." * (self._width - filled)
            self._stream.write(f"\r{phase:<8} [{bar}] {percent:3d}% {detail:<24}")
        else:
            self._stream.write(f"{phase} {step}% {detail}".rstrip() + "\n")
        self._stream.flush()

    def done(self) -> None:
        """End the bar's line so the report starts on a fresh one."""
        if self._tty and self._shown is not None:
            self._stream.write("\n")
            self._stream.flush()


class _LineReader:
    """The file's lines decoded one by one, for `csv.reader`.

    Decoding line by line (not in 8 KiB blocks) lets a bad byte be reported with its line number; the
    bytes read and lines counted drive the progress. Encodings must keep ``\n`` a single byte (UTF-8,
    Latin-1, cp1252…; not UTF-16).
    """

    def __init__(
        self,
        stream: BinaryIO,
        name: str,
        encoding: str,
        size: int = 0,
        report: Callable[[float, int], None] | None = None,
    ) -> None:
        self._stream = stream
        self._name = name
        self._encoding = encoding
        self._decoder = codecs.getincrementaldecoder(encoding)()
        self._size = max(size, 1)
        self._report = report
        self.read_bytes = 0
        self.lines = 0

    def read(self, n: int = -1) -> str:  # parse_leads tells a stream from rows by ``read``
        return "".join(self)

    def __iter__(self) -> Iterator[str]:
        for raw in self._stream:
            self.lines += 1
            self.read_bytes += len(raw)
            try:
                line = self._decoder.decode(raw)
            except UnicodeDecodeError as exc:
                raise LeadFileUnreadable(
                    f"{self._name} line {self.lines}: not {self._encoding} text ({exc.reason}, "
                    f"byte {exc.start + 1} of the line); save the file as UTF-8 or pass --encoding "
                    "(e.g. latin-1)"
                ) from exc
            if self._report is not None and self.lines % 2000 == 0:
                self._report(self.read_bytes / self._size, self.lines)
            yield line


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One row that did not become a new lead as it stood: rejected, duplicate, or zone defaulted."""

    line: int
    outcome: str  # rejected | duplicate | defaulted_zone
    reason: str
    phone: str


@dataclass(slots=True)
class ImportReport:
    """What an import did; `lines` lists every row left out or defaulted, in file order."""

    campaign: str
    file_name: str
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    defaulted_zone: int = 0
    default_zone: str = ""
    import_id: str | None = None
    seconds: float = 0.0
    lines: list[ReportLine] = field(default_factory=list)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def classify(result: ImportResult, mapping: ColumnMapping) -> tuple[list[ReportLine], int, int]:
    """Report lines of the parse (rejected and in-file duplicates), and their counts (rejected, dups)."""
    lines: list[ReportLine] = []
    duplicates = 0
    for rejected in result.rejected:
        is_dup = rejected.reason.startswith(DUPLICATE_PREFIX)
        duplicates += is_dup
        lines.append(
            ReportLine(
                rejected.line,
                "duplicate" if is_dup else "rejected",
                rejected.reason,
                _raw_phone(rejected, mapping),
            )
        )
    return lines, len(result.rejected) - duplicates, duplicates


def _raw_phone(rejected: Rejected, mapping: ColumnMapping) -> str:
    return (rejected.raw.get(mapping.phone) or "").strip()


def parse_file(
    path: Path,
    spec: dict[str, str],
    *,
    default_region: str,
    default_zone: str,
    encoding: str = "utf-8-sig",
    progress: Callable[[float, int], None] | None = None,
) -> tuple[ImportResult, ColumnMapping]:
    """Read and validate the lead file; raises `LeadFileError` (missing columns, empty, unreadable)."""
    try:
        mapping = build_mapping(read_header(path, encoding), spec)
        with path.open("rb") as stream:
            lines = _LineReader(stream, path.name, encoding, path.stat().st_size, progress)
            result = parse_leads(
                lines,  # type: ignore[arg-type]  # decoded lines with read(): all csv.reader needs
                mapping,
                default_region=default_region,
                default_zone=default_zone,
            )
    except OSError as exc:
        raise LeadFileUnreadable(f"cannot read {path}: {exc.strerror or exc}") from exc
    return result, mapping


async def import_file(
    db: Database,
    path: Path,
    *,
    campaign: str,
    spec: dict[str, str],
    default_region: str,
    default_zone: str,
    now: Callable[[], datetime],
    progress: Callable[[str, float, str], None] | None = None,
    encoding: str = "utf-8-sig",
    actor: str | None = None,
) -> ImportReport:
    """Parse ``path`` and store its valid leads in ``campaign`` in one transaction; return the report.

    Raises `LeadFileError` (missing columns, empty or unreadable file) before writing anything. Any
    error while writing rolls the import back and is journalled as a failed import, then re-raised.
    """
    started, clock_start = now(), time.perf_counter()
    report = ImportReport(campaign, path.name, default_zone=default_zone)

    def step(phase: str, fraction: float, detail: str = "") -> None:
        if progress is not None:
            progress(phase, fraction, detail)

    # parsing is CPU work with blocking reads: a thread keeps the event loop free
    result, mapping = await asyncio.to_thread(
        parse_file,
        path,
        spec,
        default_region=default_region,
        default_zone=default_zone,
        encoding=encoding,
        progress=lambda f, n: step("reading", f, f"{n} lines"),
    )
    step("reading", 1.0, f"{result.rows} rows")
    lines, rejected, file_dups = classify(result, mapping)
    report.rows, report.rejected = result.rows, rejected
    counts = ImportCounts(rows=result.rows, rejected=rejected, file_duplicates=file_dups)
    if result.leads:
        try:
            stored = await store_import(
                db,
                campaign,
                result.leads,
                counts,
                file_name=path.name,
                started_at=started,
                now=now,
                actor=actor,
                progress=lambda done, total: step("writing", done / max(total, 1), f"{done}/{total} leads"),
            )
        except Exception as exc:
            await _journal_failure(db, campaign, path.name, started, now(), result.rows, actor, exc)
            raise
        existing = {lead.line: line for lead, line in stored.existing}
        report.imported, report.import_id = stored.imported, stored.import_id
        report.duplicates = file_dups + len(existing)
        report.defaulted_zone = stored.defaulted_zone
        lines.extend(_stored_lines(result.leads, existing, default_zone))
    else:
        report.duplicates = file_dups
    report.lines = sorted(lines, key=lambda item: item.line)
    report.seconds = time.perf_counter() - clock_start
    return report


async def _journal_failure(
    db: Database,
    campaign: str,
    file_name: str,
    started: datetime,
    finished: datetime,
    rows: int,
    actor: str | None,
    exc: Exception,
) -> None:
    """Journal a rolled-back import; best effort, so the caller re-raises the import's own error even
    when the database that failed the import fails this too."""
    try:
        await record_failed_import(
            db,
            campaign,
            file_name=file_name,
            started_at=started,
            finished_at=finished,
            rows=rows,
            actor=actor,
            error=f"{type(exc).__name__}: {exc}",
        )
    except Exception as journal_exc:  # the import's error is the one to report
        log.warning("could not journal the failed import of %s: %s", file_name, journal_exc)


def _stored_lines(leads: list[Lead], existing: dict[int, int | None], zone: str) -> Iterator[ReportLine]:
    for lead in leads:
        if lead.line in existing:
            where = existing[lead.line]
            seen = f"line {where} of an earlier import" if where is not None else "an earlier import"
            yield ReportLine(lead.line, "duplicate", f"already in the campaign ({seen})", lead.phone)
        elif lead.zone_source == "default":
            yield ReportLine(
                lead.line, "defaulted_zone", f"zone unknown, campaign default {zone}", lead.phone
            )


def format_summary(report: ImportReport, *, limit: int | None = None, report_path: Path | None = None) -> str:
    """The printed summary, then the report lines (the first ``limit`` when given)."""
    out = [
        f"campaign {report.campaign}: {report.rows} rows read from {report.file_name}"
        f" in {report.seconds:.1f} s ({report.rows_per_s:,.0f} rows/s)",
        f"  imported        {report.imported:>8}",
        f"  duplicates      {report.duplicates:>8}",
        f"  rejected        {report.rejected:>8}",
        f"  zone defaulted  {report.defaulted_zone:>8}  (imported with {report.default_zone})",
    ]
    if report.import_id:
        out.append(f"  import id       {report.import_id}")
    shown = report.lines if limit is None else report.lines[:limit]
    for item in shown:
        phone = f" [{item.phone}]" if item.phone else ""
        out.append(f"line {item.line}: {item.outcome}: {item.reason}{phone}")
    hidden = len(report.lines) - len(shown)
    if hidden > 0:
        where = f" (all in {report_path})" if report_path is not None else ""
        out.append(f"... and {hidden} more{where}")
    return "\n".join(out) + "\n"


def write_report_csv(report: ImportReport, stream: TextIO) -> None:
    """Every report line as CSV: line, outcome, reason, phone."""
    writer = csv.writer(stream)
    writer.writerow(["line", "outcome", "reason", "phone"])
    for item in report.lines:
        writer.writerow([item.line, item.outcome, item.reason, item.phone])
