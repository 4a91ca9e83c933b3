"""The bodies of ``ccapp campaign import`` and ``campaign amd-report`` (their parsers: `ccapp.dialer.cli`)."""

from __future__ import annotations

import argparse
import asyncio
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from ccapp.dialer.leads import LeadFileError, MissingColumnsError, is_iana_zone

EXIT_ERROR = 1
EXIT_USAGE = 2
#: rejected rows printed when they also go to a --report file (all of them are printed otherwise)
PRINTED_WITH_REPORT = 20


def import_command(
    args: argparse.Namespace,
    url: str,
    campaign: Any,
    actor: str | None,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """Import ``args.file``: 0 when leads were imported, 1 when none were or the file is unusable, 2 for
    a bad option. ``campaign`` is the campaign's settings (None when not configured)."""
    from ccapp.dialer.importer import Progress, format_summary, import_file, parse_map, write_report_csv
    from ccapp.storage.db import Database

    try:
        spec = parse_map(args.map)
    except ValueError as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_USAGE
    region = args.default_region or getattr(campaign, "default_region", None) or "US"
    zone = args.default_zone or getattr(campaign, "default_zone", None) or "America/New_York"
    if not is_iana_zone(zone):
        print(f"error: --default-zone {zone!r} is not an IANA time zone (e.g. America/Chicago)", file=stderr)
        return EXIT_USAGE
    if args.report is not None:
        try:  # before importing: an unwritable report must not follow an import that went in
            args.report.open("a", encoding="utf-8").close()
        except OSError as exc:
            print(f"error: --report {args.report}: {exc.strerror or exc}", file=stderr)
            return EXIT_USAGE
    progress = Progress(stderr)

    async def run() -> Any:
        db = Database(url)
        try:
            return await import_file(
                db,
                args.file,
                campaign=args.campaign,
                spec=spec,
                default_region=region,
                default_zone=zone,
                now=lambda: datetime.now(UTC),
                progress=progress,
                encoding=args.encoding,
                actor=actor,
            )
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except MissingColumnsError as exc:
        progress.done()
        found = ", ".join(exc.header) or "none"
        print(f"error: {args.file.name} has no column {', '.join(map(repr, exc.missing))}", file=stderr)
        print(f"  columns found: {found}", file=stderr)
        print("  name the columns with --map phone=COLUMN,zone=COLUMN,name=COLUMN,id=COLUMN", file=stderr)
        return EXIT_ERROR
    except (LeadFileError, LookupError) as exc:  # LookupError: an unknown --encoding
        progress.done()
        print(f"error: {exc}", file=stderr)
        return EXIT_ERROR
    progress.done()
    limit = PRINTED_WITH_REPORT if args.report else None
    stdout.write(format_summary(report, limit=limit, report_path=args.report))
    if args.report is not None:
        with args.report.open("w", encoding="utf-8", newline="") as out:
            write_report_csv(report, out)
    if report.imported == 0:
        print("error: nothing imported", file=stderr)
        return EXIT_ERROR
    return 0


def parse_day(text: str) -> datetime:
    """``YYYY-MM-DD`` or an ISO date-time (UTC unless it has an offset)."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_truth(path: Path) -> dict[str, str]:
    """``phone,truth`` CSV rows (header optional) → {phone: human|machine}."""
    truth: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as stream:
        for row in csv.reader(stream):
            if len(row) >= 2 and row[1].strip().lower() in ("human", "machine"):
                truth[row[0].strip()] = row[1].strip().lower()
    return truth


def amd_report_command(args: argparse.Namespace, url: str, stdout: TextIO, stderr: TextIO) -> int:
    """Print the AMD vs dispositions report of the attempts started in [--from, --to)."""
    from ccapp.dialer.amd_report import RENDERERS, amd_report
    from ccapp.storage.db import Database
    from ccapp.storage.dialer_store import amd_attempts

    try:
        start = parse_day(args.start) if args.start else datetime(1970, 1, 1, tzinfo=UTC)
        end = parse_day(args.end) if args.end else datetime.now(UTC) + timedelta(seconds=1)
    except ValueError as exc:
        print(f"error: --from/--to: {exc} (expected YYYY-MM-DD)", file=stderr)
        return EXIT_USAGE
    truth = read_truth(args.truth) if args.truth else None

    async def load() -> Any:
        db = Database(url)
        try:
            return await amd_attempts(db, start, end, args.campaign)
        finally:
            await db.dispose()

    rows = amd_report(asyncio.run(load()), truth)
    stdout.write(RENDERERS[args.format](rows))
    return 0
