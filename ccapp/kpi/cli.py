"""``ccapp kpi``: a KPI report from the database as a table, CSV, JSON or an HTML page.

Options are plain strings checked by `ccapp.kpi.query`, so a mistake gets one line naming the
option and exit status 2. The database URL comes from ``--db`` or from the configuration (like
``ccapp ivr report``); thresholds and the default time zone from the configuration's ``kpi``
section (``--db`` without ``--config``: the defaults).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any, TextIO

from ccapp.config.settings import KpiSettings
from ccapp.errors import ConfigError, StorageError
from ccapp.kpi.definitions import Report, ReportRequest
from ccapp.kpi.query import QueryError, build_request

EXIT_ERROR = 1
EXIT_USAGE = 2
FORMATS = ("table", "csv", "json", "html")


def add_kpi_parser(sub: Any) -> None:
    """The ``kpi`` subcommand's options."""
    kpi = sub.add_parser(
        "kpi",
        help="KPI report over a period: table, CSV, JSON or a self-contained HTML page",
        description=(
            "KPIs of [--from, --to): --to is excluded, so --from 2026-11-01 --to 2026-11-08 is the "
            "seven days of 1 to 7 November. Dates are local to --tz (docs/kpi.md)."
        ),
    )
    kpi.add_argument("--from", dest="start", metavar="DATE", help="first day or local time, included")
    kpi.add_argument("--to", dest="end", metavar="DATE", help="end day or local time, excluded")
    kpi.add_argument("--tz", metavar="ZONE", help="IANA time zone (default: kpi.time_zone of the config)")
    kpi.add_argument("--by", metavar="LIST", help="queue, agent, skill, topic, campaign and/or an interval")
    kpi.add_argument("--kpis", metavar="LIST", help="KPI names, comma-separated (docs/kpi.md)")
    kpi.add_argument(
        "--where", action="append", default=[], metavar="DIM=VALUE", help="only this value, e.g. queue=sales"
    )
    kpi.add_argument("--format", choices=FORMATS, default="table")
    kpi.add_argument("--output", "-o", type=Path, metavar="FILE", help="write here instead of stdout")
    kpi.add_argument("--db", metavar="URL", help="database URL (default: database.url of the config)")
    kpi.add_argument("--raw", action="store_true", help="compute from the call tables, not the roll-ups")
    # SUPPRESS: leaving it out must not overwrite a --config given before "kpi".
    kpi.add_argument("--config", "-c", type=Path, default=argparse.SUPPRESS, help="ccapp.yaml")


class ProgressBar:
    """``[#####.....] 50%`` redrawn in place on a terminal; silent on anything else."""

    def __init__(self, stream: TextIO, width: int = 20) -> None:
        self._stream = stream
        self._width = width
        self._shown: int | None = None
        self.active = stream.isatty()

    def __call__(self, fraction: float) -> None:
        if not self.active:
            return
        percent = round(min(max(fraction, 0.0), 1.0) * 100)
        if percent == self._shown:
            return
        filled = percent * self._width // 100
        self._stream.write(f"\r[{'#' * filled}{'.' * (self._width - filled)}] {percent}%")
        self._stream.flush()
        self._shown = percent

    def clear(self) -> None:
        """Erase the bar (the report follows on stdout)."""
        if self.active and self._shown is not None:
            self._stream.write("\r" + " " * (self._width + 8) + "\r")
            self._stream.flush()
            self._shown = None


def render(report: Report, fmt: str) -> str:
    """``report`` as table, csv or json text (html needs the database: see `ccapp.kpi.html`)."""
    from ccapp.kpi.render import render_csv, render_json, render_table

    renderers = {"table": render_table, "csv": render_csv, "json": render_json}
    return renderers[fmt](report)


async def produce(
    url: str, request: ReportRequest, fmt: str, *, use_rollups: bool, progress: ProgressBar | None = None
) -> str:
    """Compute the report (and, for html, the charts' extra reports) and render it."""
    from ccapp.kpi.engine import build_report
    from ccapp.kpi.html import html_report
    from ccapp.storage import Database

    db = Database(url)
    try:
        report = await build_report(db, request, progress=progress, use_rollups=use_rollups)
        if fmt == "html":
            return await html_report(db, report, use_rollups=use_rollups)
        return render(report, fmt)
    finally:
        await db.dispose()


def _settings(args: argparse.Namespace, config_path: Path, stderr: TextIO) -> tuple[str, KpiSettings] | None:
    explicit = getattr(args, "config", None) is not None
    if args.db and not explicit:
        return args.db, KpiSettings()
    from ccapp.config import load_settings

    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=stderr)
        return None
    return args.db or settings.database.url, settings.kpi


def kpi_command(args: argparse.Namespace, config_path: Path, stdout: TextIO, stderr: TextIO) -> int:
    """Run ``ccapp kpi``: 0 on success, 2 on a bad option or configuration, 1 when the database or
    the output file fails."""
    found = _settings(args, config_path, stderr)
    if found is None:
        return EXIT_USAGE
    url, settings = found
    try:
        request = build_request(
            settings, start=args.start, end=args.end, tz=args.tz, by=args.by, kpis=args.kpis, where=args.where
        )
    except QueryError as exc:
        print(f"error: --{exc.field}: {exc}", file=stderr)
        return EXIT_USAGE
    bar = ProgressBar(stderr)
    try:
        text = asyncio.run(produce(url, request, args.format, use_rollups=not args.raw, progress=bar))
    except StorageError as exc:
        bar.clear()
        print(f"error: {exc}", file=stderr)
        return EXIT_ERROR
    except ValueError as exc:  # the engine refusing a combination of options
        bar.clear()
        print(f"error: {exc}", file=stderr)
        return EXIT_USAGE
    bar.clear()
    if args.output is None:
        stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=stderr)
        return EXIT_ERROR
    return 0
